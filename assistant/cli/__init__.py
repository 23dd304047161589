"""The `litreview` command: thin commands over assistant.workspace; errors become one line."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn

import typer
from rich.markup import escape

from assistant import threads
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


def run() -> NoReturn:
    """The console script: main(), then exit without tearing every imported module down.

    Python's own exit frees each module, array and Chroma handle one by one: ~0.4 s of a cold `search` that
    nobody waits for. A process that wrote to Chroma, or has a thread still working, exits the usual way.
    """
    code = main()
    store = sys.modules.get("assistant.store")
    # the second thread's work is in memory only: a search's reads are awaited, the encoder's weight copies can go
    working = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon
               and t.is_alive() and not t.name.startswith(threads.PREFIX)]
    if working or (store is not None and store.wrote_to_chroma()):
        sys.exit(code)
    atexit._run_exitfuncs()  # what Python's exit runs first (the local model's shutdown registers here)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that stopped early (`| head`), a closed stream
            stream.flush()
    os._exit(code)


__all__ = ["app", "main", "run", "typer"]
