"""The compare command: papers × fields, each cell a span of that paper's abstract or "not stated"."""

from __future__ import annotations

import sys
from collections import Counter
from typing import TYPE_CHECKING, Annotated

import typer

from assistant.cli.common import LlmFlag, ModelFlag, UrlFlag, app, err, progress_bar, workspace
from assistant.errors import LitReviewError
from assistant.writing.compare_fields import DEFAULT_FIELDS

if TYPE_CHECKING:
    from assistant.writing.models import ComparisonTable

FORMATS = ("md", "csv", "json")
FIELDS_HELP = f"Comma-separated columns (default: '{','.join(DEFAULT_FIELDS)}')."


@app.command()
def compare(
    papers: Annotated[
        list[str] | None,
        typer.Option("--papers", "-p", help="A paper id or (unique part of a) title; repeat for more papers."),
    ] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="Compare the library's best papers for a topic.")] = None,
    max_papers: Annotated[int, typer.Option("--max-papers", help="At most this many papers for --topic.")] = 8,
    fields: Annotated[str | None, typer.Option("--fields", help=FIELDS_HELP)] = None,
    fmt: Annotated[str, typer.Option("--format", help="md (default), csv or json.")] = "md",
    provenance: Annotated[
        bool, typer.Option("--provenance", help="Quote each cell's source sentence (md footnotes, csv columns).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    llm: LlmFlag = None,
    model: ModelFlag = None,
    base_url: UrlFlag = None,
) -> None:
    """Compare papers in a table: one row per paper, one column per field, every cell from its own abstract."""
    from assistant.writing.compare import compare_papers, render_csv, render_json, render_markdown

    fmt = "json" if as_json else fmt.strip().lower()
    if fmt not in FORMATS:
        raise LitReviewError(f"unknown format '{fmt}': use md, csv or json")
    if bool(papers) == bool(topic):
        raise LitReviewError("give --papers ID_OR_TITLE (repeatable) or --topic QUERY, not both and not neither")
    ws = workspace(llm={"provider": llm, "model": model, "base_url": base_url})
    ws.backend()  # a missing key or model file is reported before any work
    with progress_bar() as bar:
        table = compare_papers(ws, papers or (), topic, max_papers, fields, progress=bar)
    if fmt == "json":
        sys.stdout.write(render_json(table))
    elif fmt == "csv":
        sys.stdout.write(render_csv(table, provenance))
    else:
        sys.stdout.write(render_markdown(table, provenance))
    sys.stdout.flush()
    err.print(_footer(table), style="dim", highlight=False, markup=False)


def _footer(table: ComparisonTable) -> str:
    from assistant.types import backend_label, usage_parts

    modes = Counter(c.mode for row in table.rows for c in row.cells)
    parts = [
        backend_label(table.backend, table.model),
        f"{len(table.rows)} papers × {len(table.fields)} fields",
        ", ".join(f"{n} {mode.replace('_', ' ')}" for mode, n in sorted(modes.items())),
        f"{table.seconds:.1f} s",
    ]
    return " · ".join([*parts, *usage_parts(table.usage)])
