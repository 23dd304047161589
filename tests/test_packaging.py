"""What the wheel carries, checked fast in the checkout (tests/test_wheel.py builds and installs the real one)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from assistant.cli.ui import CONFIG, streamlit_options
from assistant.prompts import PACKAGED_PROMPTS

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_sees_every_top_level_prompt_file() -> None:
    assert PACKAGED_PROMPTS.resolve() == (ROOT / "prompts").resolve()
    top = sorted(p.name for p in (ROOT / "prompts").glob("*.toml"))
    assert top and sorted(p.name for p in PACKAGED_PROMPTS.glob("*.toml")) == top


def test_package_data_globs_cover_prompts_and_the_app_config() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = data["tool"]["setuptools"]["package-data"]["assistant"]
    assert "prompt_files/*.toml" in globs and "app/streamlit.toml" in globs


def test_ui_passes_the_packaged_streamlit_config() -> None:
    assert CONFIG.resolve() == (ROOT / ".streamlit" / "config.toml").resolve()
    options = streamlit_options()
    assert options["theme.primaryColor"] == "#1f6f8b" and options["client.showErrorDetails"] == "none"
    assert options["browser.gatherUsageStats"] == "false" and options["server.headless"] == "true"
