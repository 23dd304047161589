"""Running the `litreview` command inside a test, and its one-line error contract."""

from __future__ import annotations

import re

import pytest

from assistant.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `litreview ARGV`."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    """The only non-blank stderr line, which must be an "error: ..." line without a traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def usage_error(err: str) -> str:
    """The message of a usage error (exit 2) as one line, without the panel Typer draws around it."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", err).split())
