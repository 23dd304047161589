#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: lint, types, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
VENV="${LITREVIEW_VENV:-.venv}"
echo "[test] ruff" >&2
"$VENV/bin/ruff" check assistant tests evals
echo "[test] mypy" >&2
"$VENV/bin/mypy" assistant
bash scripts/setup-browser.sh  # Debian's chromium for tests/test_browser.py
echo "[test] pytest" >&2
"$VENV/bin/python" -m pytest "$@"
