"""Library maintenance: check, rebuild, backup, restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from assistant.cli.common import app, err, finish, out, print_json, progress_bar, workspace

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")]


def _busy(msg: str) -> None:
    err.print(msg, markup=False, highlight=False)


@app.command()
def check(as_json: JsonFlag = False) -> None:
    """Verify the library: SQLite, paper records, chunks, vector index, BM25 cache, embedding model."""
    from assistant.integrity import check_library

    report = check_library(workspace())
    if as_json:
        print_json({**report.model_dump(mode="json"), "ok": report.ok})
    else:
        for line in report.passed:
            out.print(f"ok       {escape(line)}", highlight=False)
        for p in report.problems:
            out.print(f"[red]problem[/red]  {escape(p.what)} — fix: {escape(p.fix)}", highlight=False)
        out.print(f"{report.library}: " + ("no problems found" if report.ok else f"{len(report.problems)} problem(s)"),
                  highlight=False, markup=False)
    finish(not report.ok)


@app.command()
def rebuild() -> None:
    """Rebuild the vector index (re-embedding the stored chunks) and the BM25 cache; no paper is lost."""
    from assistant.integrity import rebuild as rebuild_library

    ws = workspace()
    with progress_bar() as bar:
        report = rebuild_library(ws, bar, on_wait=_busy)
    extra = f", {len(report.rechunked)} papers chunked again from their records" if report.rechunked else ""
    dropped = f", {report.orphans_dropped} chunks without a paper dropped" if report.orphans_dropped else ""
    out.print(f"rebuilt: {report.papers} papers, {report.chunks} chunks re-embedded{extra}{dropped}; "
              f"BM25 cache rebuilt; the papers as they were are kept in {report.snapshot}", highlight=False,
              markup=False)


@app.command()
def backup(
    out_file: Annotated[Path | None, typer.Option("--out", help="Where to write it (default: HOME/backups/).")] = None,
) -> None:
    """Write a consistent snapshot of the library (papers, chunks, settings) while it stays in use."""
    from assistant.backup import backup as backup_library

    ws = workspace()
    path, snap = backup_library(ws.library, ws.settings, out_file, on_wait=_busy)
    out.print(f"backup: {snap.header['papers']} papers, {snap.header['chunks']} chunks → {path}",
              highlight=False, markup=False)


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A backup written by `litreview backup` (or an automatic one).")],
    replace: Annotated[bool, typer.Option(
        "--replace", help="Move the current (damaged) library aside first; it is kept, not deleted.")] = False,
) -> None:
    """Restore a backup into an empty library, re-embedding its chunks."""
    from assistant.backup import move_aside, read_snapshot
    from assistant.backup import restore as restore_library

    read_snapshot(file)  # refuse a damaged backup before anything is moved
    ws = workspace()
    if replace:
        moved = move_aside(ws.settings)
        if moved:
            err.print(f"the current library was moved to {moved}", highlight=False, markup=False)
    with progress_bar() as bar:
        report = restore_library(file, ws.library, ws.embedder, ws.settings, bar)
    out.print(f"restored {report.papers} papers ({report.chunks} chunks embedded with {report.embedding_model})"
              + (f"; {report.skipped} were already there" if report.skipped else "")
              + ("; config.toml written" if report.config_written else ""), highlight=False, markup=False)
    if report.backup_model != report.embedding_model:
        err.print(f"note: the backup was made with {report.backup_model}; its chunks were embedded anew with "
                  f"{report.embedding_model}", highlight=False, markup=False)
