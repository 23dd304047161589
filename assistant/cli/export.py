"""`litreview export`: the library (or some of its papers) as BibTeX, RIS, CSL-JSON or CSV."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from assistant.choices import RefFormat
from assistant.cli.common import app, err, workspace
from assistant.errors import LitReviewError

if TYPE_CHECKING:  # pydantic, Chroma and the writing jobs load only when a command runs
    from assistant.types import Paper
    from assistant.workspace import Workspace


@app.command()
def export(
    fmt: Annotated[RefFormat, typer.Option("--format", help="bib, ris, csljson (CSL JSON) or csv.")] = "bib",
    papers: Annotated[list[str] | None, typer.Option(
        "--papers", help="A paper id or (unique part of a) title; repeat the option for several papers.")] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="The library's best papers on a topic.")] = None,
    max_papers: Annotated[int, typer.Option("--max-papers", help="At most this many papers for --topic.")] = 8,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to this file (default: stdout).")] = None,
) -> None:
    """Write references for Zotero, Mendeley, EndNote or a .bib: the whole library, --papers or a --topic."""
    from assistant.export import export_papers

    ws = workspace()
    chosen = choose(ws, papers or (), topic, max_papers)
    text = export_papers(chosen, fmt)
    if out_file is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_file(out_file, text)
    err.print(f"{len(chosen)} papers written to {escape(str(out_file))} ({fmt})", highlight=False)


def choose(ws: Workspace, papers: list[str] | tuple[str, ...], topic: str | None, max_papers: int) -> list[Paper]:
    """The named papers, the papers for a topic, or (neither given) the whole library."""
    if papers and topic:
        raise LitReviewError("give --papers or --topic, not both")
    if topic:
        from assistant.writing.common import select_papers

        return select_papers(ws, topic=topic, max_papers=max_papers)
    chosen = ws.resolve_papers(papers) if papers else ws.papers()
    if not chosen:
        raise LitReviewError("the library is empty: nothing to export (litreview ingest FILES)")
    return chosen


def write_file(path: Path, text: str) -> None:
    """Write text atomically: a failed write leaves any earlier file as it was."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LitReviewError(f"cannot write {path}: {exc.strerror or exc}") from None
