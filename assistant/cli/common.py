"""What every command module shares: the Typer app, consoles and JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from assistant.choices import Provider

if TYPE_CHECKING:
    from assistant.workspace import Workspace

app = typer.Typer(
    name="litreview",
    help="An offline-first literature-review assistant over your own papers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# The back-end flags every model-using command takes (ask, chat, summarize, compare, related-work, eval)
LlmFlag = Annotated[Provider | None, typer.Option("--llm", help="Back-end (default: llm.provider, extractive).")]
ModelFlag = Annotated[str | None, typer.Option("--model", help="Model name for the back-end.")]
UrlFlag = Annotated[str | None, typer.Option("--base-url", help="Server URL for openai-compatible.")]
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def finish(failed: bool) -> None:
    """End a command with exit status 1 when part of its work failed."""
    if failed:
        raise typer.Exit(1)


def workspace(**sections: dict[str, Any]) -> Workspace:
    """A workspace from settings plus CLI overrides."""
    from assistant.settings import load_settings
    from assistant.workspace import Workspace

    return Workspace(load_settings(**sections) if sections else load_settings())


def print_json(data: Any) -> None:
    """Write JSON to stdout (pydantic models dumped as JSON-able data)."""
    sys.stdout.write(json.dumps(to_data(data), ensure_ascii=False, indent=2) + "\n")


def print_json_line(data: Any) -> None:
    """Write one compact JSON line to stdout."""
    sys.stdout.write(json.dumps(to_data(data), ensure_ascii=False) + "\n")
    sys.stdout.flush()


def to_data(data: Any) -> Any:
    """Plain data for json.dumps."""
    from pydantic import BaseModel

    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list | tuple):
        return [to_data(x) for x in data]
    if isinstance(data, dict):
        return {k: to_data(v) for k, v in data.items()}
    return data


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Any]:
    """A (stage, done, total) callback drawing a progress bar on stderr while it is used."""
    if not enabled or not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update
