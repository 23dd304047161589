"""The `litreview` command: thin commands over assistant.workspace; errors become one line."""

from __future__ import annotations

import os

import typer
from rich.markup import escape

from assistant.cli.common import app, err
from assistant.errors import LitReviewError, first_line, redact

# Importing the command modules registers their commands on `app`; each imports what is heavy (torch,
# Chroma, LangChain, scikit-learn) inside its command, so `--help` and `papers` start fast.
from assistant.cli import library as _library  # noqa: F401  isort: skip
from assistant.cli import qa as _qa  # noqa: F401  isort: skip
from assistant.cli import summarize as _summarize  # noqa: F401  isort: skip
from assistant.cli import compare as _compare  # noqa: F401  isort: skip
from assistant.cli import related as _related  # noqa: F401  isort: skip
from assistant.cli import ui as _ui  # noqa: F401  isort: skip
from assistant.cli import eval as _eval  # noqa: F401  isort: skip
from assistant.cli import export as _export  # noqa: F401  isort: skip
from assistant.cli import doctor as _doctor  # noqa: F401  isort: skip
from assistant.cli import maintain as _maintain  # noqa: F401  isort: skip


def main(argv: list[str] | None = None) -> int:
    """Entry point: run a command; turn every failure into one line on stderr and an exit code."""
    try:
        app(args=argv, prog_name="litreview")  # usage errors: Typer prints them and exits 2
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except LitReviewError as exc:

        err.print(f"[red]error:[/red] {escape(redact(str(exc)))}", highlight=False, markup=True)
        return 1
    except Exception as exc:
        if os.environ.get("LITREVIEW_DEBUG"):
            raise
        err.print(
            f"[red]error:[/red] unexpected {type(exc).__name__}: {escape(first_line(exc))} "
            "(run with LITREVIEW_DEBUG=1 to see the traceback)",
            highlight=False,
        )
        return 1
    return 0


__all__ = ["app", "main", "typer"]
