"""Library commands: ingest, search, papers, stats, remove."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from assistant.choices import SearchMode
from assistant.cli.common import app, err, finish, out, print_json, print_json_line, progress_bar, workspace
from assistant.errors import LitReviewError

if TYPE_CHECKING:
    from assistant.types import IngestReport
    from assistant.workspace import Workspace

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command()
def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders to add.")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="Add the bundled sample library.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Add papers from listings, BibTeX, RIS, CSV, JSON(L), CSL-JSON or PDF files (folders are searched)."""
    from assistant.ingest import sample_dir

    targets = list(paths or []) + ([sample_dir()] if sample else [])
    if not targets:
        raise LitReviewError("nothing to ingest: give files or folders, or --sample")
    ws = workspace()
    with progress_bar(not as_json) as progress:
        report = ws.ingest(targets, progress=progress, on_wait=lambda msg: err.print(msg, markup=False))
    if as_json:
        print_json({**report.model_dump(mode="json"), "papers_found": report.papers_found})
    else:
        _print_report(report, ws)
    finish(report.failed)


def _print_report(report: IngestReport, ws: Workspace) -> None:
    for f in report.files:
        for problem in f.problems:
            err.print(f"[yellow]skipped[/yellow] {escape(f.path)}: {escape(problem)}", highlight=False)
    ok = sum(1 for f in report.files if f.status != "failed")
    line = (
        f"read {ok} of {len(report.files)} files: {report.papers_found} papers found, "
        f"{report.new} new, {report.duplicates} duplicates"
    )
    out.print(line + (f", {report.updated} updated" if report.updated else ""), highlight=False)
    if report.new == 0 and report.papers_found:
        out.print("nothing new: every paper was already in the library", highlight=False)
    out.print(f"library: {ws.library.count()} papers ({report.seconds:.1f} s)", highlight=False)


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for.")] = None,
    k: Annotated[int, typer.Option("-k", min=1, max=200, help="How many papers.")] = 5,
    mode: Annotated[SearchMode, typer.Option(help="How to rank: by meaning, words or both.")] = "hybrid",
    batch: Annotated[Path | None, typer.Option(help='JSONL file of {"id", "query"} lines.')] = None,
    as_json: JsonFlag = False,
) -> None:
    """Find the papers that best match a query."""
    ws = workspace()
    if batch is not None:
        finish(_search_batch(ws, batch, k, mode))
        return
    if query is None:
        raise LitReviewError("give a query, or --batch FILE")
    hits = ws.search(query, k=k, mode=mode)
    if as_json:
        print_json(hits)
        return
    if not hits:
        out.print("no papers found" if ws.library.count() else "the library is empty: run `litreview ingest`")
        return
    for hit in hits:
        out.print(f"[bold]{hit.rank}. {escape(hit.title)}[/bold]  [dim]{hit.paper_id} · score {hit.score:.3f}[/dim]")
        out.print(f"   {hit.snippet}", highlight=False, markup=False)


def _search_batch(ws: Workspace, path: Path, k: int, mode: SearchMode) -> bool:
    failed = False
    for n, line in enumerate(_read_lines(path), start=1):
        if not line.strip():
            continue
        item: Any = None
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("query"), str):
                raise ValueError('expected an object with a "query" string')
            hits = ws.search(item["query"], k=k, mode=mode)
            print_json_line({"id": item.get("id", n), "results": hits})
        except (ValueError, LitReviewError) as exc:
            failed = True
            err.print(f"{path}:{n}: {exc}", highlight=False, markup=False)
            qid = item.get("id", n) if isinstance(item, dict) else n  # keep the query's own id
            print_json_line({"id": qid, "error": str(exc), "results": []})
    return failed


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LitReviewError(f"cannot read {path}: {exc}") from None


@app.command()
def papers(as_json: JsonFlag = False) -> None:
    """List the papers in the library."""
    items = workspace().papers()
    if as_json:
        print_json(items)
        return
    from rich.table import Table

    table = Table("paper_id", "title", "year", "sources", box=None, pad_edge=False)
    for p in items:
        table.add_row(p.paper_id, escape(p.title), str(p.year or ""), escape(", ".join(p.sources)))
    out.print(table)
    out.print(f"{len(items)} papers", highlight=False)


@app.command()
def stats(as_json: JsonFlag = False) -> None:
    """Show counts and where the library lives."""
    st = workspace().stats()
    if as_json:
        print_json(st)
        return
    rows: list[tuple[str, Any]] = [
        ("papers", st.papers), ("chunks", st.chunks), ("library", st.data_dir),
        ("store", st.backend), ("embedding model", st.embedding_model),
    ]
    for key, value in rows:
        out.print(f"{key:<16} {value}", highlight=False, markup=False)
    for src, n in st.sources.items():
        out.print(f"  {n:>5}  {src}", highlight=False, markup=False)


@app.command()
def remove(
    refs: Annotated[list[str], typer.Argument(help="Paper ids or titles to remove.")],
) -> None:
    """Remove papers from the library."""
    ws = workspace()
    found = ws.resolve_papers(refs)
    n = ws.delete([p.paper_id for p in found])
    out.print(f"removed {n} paper{'s' if n != 1 else ''}", highlight=False)
