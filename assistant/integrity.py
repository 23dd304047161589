"""`check` and `rebuild`: find what is damaged in a library, and rebuild what can be rebuilt from what is intact.

What can be rebuilt: the vector indexes (from the stored chunk texts, re-embedded; a paper whose
chunks are missing is chunked again from its record) and the BM25 cache. What cannot: the paper
records themselves; when they are unreadable, the fix is a backup (`litreview restore`).
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from assistant.backup import (
    SUFFIX,
    Snapshot,
    backup_dir,
    newest_backup,
    read_library,
    read_snapshot,
    stamp,
    write_papers,
    write_snapshot,
)
from assistant.chunking import chunk_paper
from assistant.errors import LitReviewError, StoreError, first_line
from assistant.locking import write_lock
from assistant.retrieval import bm25_cache, build_index
from assistant.store import location
from assistant.types import Chunk, Paper, Progress
from assistant.workspace import Workspace

SAMPLE_PAPERS = 40  # papers whose chunks are re-embedded and looked up by `check`
SELF_SIMILARITY = 0.98  # a chunk re-embedded from its own text is found at ~1.0; damaged vectors fall far below
PENDING = "rebuild-pending"  # a file in the home naming the snapshot an interrupted rebuild was writing from


class Problem(BaseModel):
    """One thing wrong with the library, and what to do about it."""

    what: str
    fix: str


class CheckReport(BaseModel):
    """The outcome of `check`: the checks that passed and one problem per thing found wrong."""

    library: str
    passed: list[str] = []
    problems: list[Problem] = []

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def sqlite_path(ws: Workspace) -> Path:
    """The embedded store's SQLite file."""
    return ws.settings.data_dir / "chroma" / "chroma.sqlite3"


def _restore_fix(ws: Workspace) -> str:
    found = newest_backup(ws.settings)
    where = f"the newest is {found}" if found else f"none under {backup_dir(ws.settings)}: use your own copy"
    return f"restore a backup: `litreview restore --replace FILE` ({where})"


def check_library(ws: Workspace, sample: int = SAMPLE_PAPERS) -> CheckReport:
    """Verify SQLite, paper records, chunks, the vector indexes, the BM25 cache and the recorded model."""
    settings = ws.settings
    report = CheckReport(library=location(settings))
    if (settings.home / PENDING).exists():
        report.problems.append(Problem(what="a rebuild was interrupted; papers missing from the index are in its "
                                            "snapshot", fix="run `litreview rebuild` again"))
    if not settings.store.chroma_url:
        db = sqlite_path(ws)
        if not db.exists():
            report.passed.append("no library yet (nothing to check)")
            return report
        bad = _sqlite_problem(db)
        if bad:
            report.problems.append(Problem(what=f"SQLite integrity check of {db}: {bad}", fix=_restore_fix(ws)))
            return report
        report.passed.append("SQLite integrity_check: ok")
    try:
        library = ws.library
        models = library.recorded_models()
        papers = library.list_papers()
    except LitReviewError as exc:
        readable = _sqlite_readable(ws)
        if readable is not None:
            report.problems.append(Problem(
                what=f"Chroma cannot read the library ({exc}), but the {readable} paper records are intact in SQLite: "
                     "the vector index is damaged", fix="run `litreview rebuild` (re-embeds the stored chunks)"))
        else:
            report.problems.append(Problem(what=f"the paper records cannot be read: {exc}", fix=_restore_fix(ws)))
        return report
    except Exception as exc:  # a damaged record (bad JSON) surfaces as a validation error
        report.problems.append(Problem(what=f"a paper record is unreadable: {type(exc).__name__}: "
                                            f"{first_line(exc)}", fix=_restore_fix(ws)))
        return report
    report.passed.append(f"{len(papers)} paper records readable")
    unrecorded = [name for name, model in models.items() if model is None]
    if unrecorded:
        report.problems.append(Problem(what=f"no embedding model recorded on {', '.join(unrecorded)}",
                                       fix="run `litreview rebuild` (it records the configured model)"))
    else:
        report.passed.append(f"embedding model recorded: {library.model_name}")
    chunks = library.all_chunks()
    _check_chunks(report, papers, chunks)
    _check_vectors(report, ws, papers, chunks, sample)
    _check_bm25(report, ws, papers)
    return report


def _sqlite_readable(ws: Workspace) -> int | None:
    """How many paper records SQLite itself yields (None on a server, or when it yields none)."""
    if ws.settings.store.chroma_url:
        return None
    try:
        return len(read_sqlite(sqlite_path(ws), ws.settings.store.collection_prefix).papers) or None
    except (sqlite3.DatabaseError, KeyError, ValueError):
        return None


def _sqlite_problem(db: Path) -> str | None:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = [str(r[0]) for r in con.execute("PRAGMA integrity_check(20)")]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if rows == ["ok"] else "; ".join(rows)[:400]


def _by_paper(chunks: list[Chunk]) -> dict[str, list[Chunk]]:
    out: dict[str, list[Chunk]] = {}
    for c in chunks:
        out.setdefault(c.paper_id, []).append(c)
    return {pid: sorted(cs, key=lambda c: c.index) for pid, cs in out.items()}


def _complete(chunks: list[Chunk]) -> bool:
    return bool(chunks) and [c.index for c in chunks] == list(range(chunks[0].n_chunks))


def _names(ids: list[str]) -> str:
    return ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")


def _check_chunks(report: CheckReport, papers: list[Paper], chunks: list[Chunk]) -> None:
    grouped = _by_paper(chunks)
    known = {p.paper_id for p in papers}
    broken = [p.paper_id for p in papers if not _complete(grouped.get(p.paper_id, []))]
    orphans = [c.chunk_id for c in chunks if c.paper_id not in known]
    if broken:
        report.problems.append(Problem(what=f"{len(broken)} papers with missing chunks ({_names(broken)})",
                                       fix="run `litreview rebuild` (chunks are made again from the paper records)"))
    if orphans:
        report.problems.append(Problem(
            what=f"{len(orphans)} chunks without a paper record (left by an interrupted write)",
            fix="run `litreview rebuild`, or let the next `litreview ingest` sweep them and write those papers again"))
    if not broken and not orphans:
        report.passed.append(f"every paper's chunks present ({len(chunks)} chunks)")


def _check_vectors(report: CheckReport, ws: Workspace, papers: list[Paper], chunks: list[Chunk],
                   sample: int) -> None:
    """Each sampled chunk, embedded again from its text, must find itself first; likewise each paper's vector."""
    grouped = _by_paper(chunks)
    picked = random.Random(0).sample(papers, min(sample, len(papers)))
    picked = [p for p in picked if _complete(grouped.get(p.paper_id, []))]
    if not picked:
        return
    library = ws.library
    try:
        texts = [c.embedding_text() for p in picked for c in grouped[p.paper_id]]
        vectors = ws.embedder.embed_documents(texts)
        lost_chunks, lost_papers, at = [], [], 0
        for paper in picked:
            own = grouped[paper.paper_id]
            for chunk, vec in zip(own, vectors[at : at + len(own)], strict=True):
                hits = library.query_chunks(vec, 3)
                if not any(h.chunk_id == chunk.chunk_id and h.similarity >= SELF_SIMILARITY for h in hits):
                    lost_chunks.append(chunk.chunk_id)
            mean = [sum(col) / len(own) for col in zip(*vectors[at : at + len(own)], strict=True)]
            at += len(own)
            if paper.paper_id not in {pid for pid, sim in library.query_papers(mean, 3) if sim >= SELF_SIMILARITY}:
                lost_papers.append(paper.paper_id)
    except LitReviewError as exc:
        report.problems.append(Problem(what=f"the vector index cannot be searched: {exc}",
                                       fix="run `litreview rebuild` (re-embeds the stored chunks)"))
        return
    if lost_chunks or lost_papers:
        report.problems.append(Problem(
            what=f"the vector index does not match the stored chunks: {len(lost_chunks)} of {len(texts)} sampled "
                 f"chunks and {len(lost_papers)} of {len(picked)} papers are not their own nearest neighbour "
                 f"({_names(lost_chunks + lost_papers)})",
            fix="run `litreview rebuild` (re-embeds the stored chunks)"))
    else:
        report.passed.append(f"vector index: {len(texts)} sampled chunks and {len(picked)} papers find themselves")


def _check_bm25(report: CheckReport, ws: Workspace, papers: list[Paper]) -> None:
    library = ws.library
    key = library.fingerprint()
    cache = bm25_cache(library)
    saved = [d for d in cache.root.iterdir() if not d.name.startswith(".")] if cache.root.is_dir() else []
    index = cache.load(key)
    if index is None:
        if cache._folder(key) in saved:  # saved for this very state, yet unreadable
            report.problems.append(Problem(what=f"the BM25 cache for the current library state is damaged "
                                                f"({cache.root})", fix="run `litreview rebuild`"))
        else:
            report.passed.append("BM25 cache: none for this library state yet (built on the next search)")
        return
    if index.paper_ids != [p.paper_id for p in papers]:  # built from list_papers(): same papers, same order
        report.problems.append(Problem(what=f"the BM25 cache ({cache.root}) does not match the library: its "
                                            f"{len(index)} rows are not the library's {len(papers)} papers in order, "
                                            "so word matches would be scored to the wrong papers",
                                       fix="run `litreview rebuild`"))
    else:
        report.passed.append(f"BM25 cache matches the library ({len(index)} papers)")


@dataclass
class RebuildReport:
    """What `rebuild` wrote."""

    papers: int = 0
    chunks: int = 0
    rechunked: list[str] = field(default_factory=list)  # papers whose chunks were made again from the record
    orphans_dropped: int = 0
    snapshot: str = ""


def rebuild(ws: Workspace, progress: Progress | None = None,
            on_wait: Callable[[str], None] | None = None) -> RebuildReport:
    """Rebuild the vector indexes and the BM25 cache from the stored papers and chunks; never drops a paper."""
    settings = ws.settings
    pending = settings.home / PENDING
    with write_lock(settings, on_wait):
        if pending.exists():  # the last rebuild was cut off after it emptied the index: its snapshot is the truth
            snap_path = Path(pending.read_text(encoding="utf-8").strip())
            snap = read_snapshot(snap_path)
        else:
            snap = _read_for_rebuild(ws)
            snap_path = backup_dir(settings) / f"rebuild-{stamp()}{SUFFIX}"
            write_snapshot(ws.library, settings, snap_path, snap)
            pending.write_text(str(snap_path), encoding="utf-8")
        report = RebuildReport(papers=len(snap.papers), snapshot=str(snap_path))
        report.orphans_dropped = int(snap.header.get("orphan_chunks", 0))
        todo: list[tuple[Paper, list[Chunk]]] = []
        for paper in snap.papers:
            own = snap.chunks.get(paper.paper_id, [])
            if not _complete(own):
                own = chunk_paper(paper, settings.chunking)
                report.rechunked.append(paper.paper_id)
            todo.append((paper, own))
        library = ws.library
        try:
            stale = bm25_cache(library).root
        except LitReviewError:  # the papers collection may be what is damaged
            stale = None
        library.reset()
        report.chunks = write_papers(library, ws.embedder, todo, progress)
        if library.count() != len(snap.papers):
            raise StoreError(f"the rebuild wrote {library.count()} of {len(snap.papers)} papers; run `litreview "
                             f"rebuild` again (the papers are kept in {snap_path})")
        pending.unlink()
    cache = bm25_cache(library)
    for folder in (stale, cache.root):
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    cache.root.mkdir(parents=True, exist_ok=True)
    cache.save(library.fingerprint(), build_index(library))
    return report


def _read_for_rebuild(ws: Workspace) -> Snapshot:
    """Papers and chunks as stored; refuses, pointing at a backup, when the papers themselves cannot be read."""
    embedded = not ws.settings.store.chroma_url and sqlite_path(ws).exists()
    if embedded:
        bad = _sqlite_problem(sqlite_path(ws))
        if bad:
            raise StoreError(f"cannot rebuild: the paper records are unreadable (SQLite: {bad}); {_restore_fix(ws)}")
    try:
        return read_library(ws.library)
    except Exception as exc:
        first = first_line(exc)
    if embedded:  # Chroma reads through its vector index; the records themselves are plain rows in SQLite
        try:
            return read_sqlite(sqlite_path(ws), ws.settings.store.collection_prefix)
        except (sqlite3.DatabaseError, KeyError, ValueError) as exc:
            first = f"{first}; read from SQLite directly: {exc}"
    raise StoreError(f"cannot rebuild: the paper records are unreadable ({first}); {_restore_fix(ws)}")


def read_sqlite(db: Path, prefix: str) -> Snapshot:
    """Paper records and chunks straight from Chroma's SQLite rows, for when Chroma cannot load its vector index."""
    rows: dict[str, dict[str, dict[str, object]]] = {"papers": {}, "chunks": {}}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        for name in rows:
            found = con.execute(
                "SELECT e.embedding_id, m.key, m.string_value, m.int_value FROM embeddings e "
                "JOIN segments s ON e.segment_id = s.id JOIN collections c ON s.collection = c.id "
                "JOIN embedding_metadata m ON m.id = e.id WHERE c.name = ? AND s.scope = 'METADATA'",
                (f"{prefix}-{name}",))
            for rid, key, text, number in found:
                rows[name].setdefault(rid, {})[key] = text if text is not None else number
    finally:
        con.close()
    papers = sorted((Paper.model_validate_json(str(r["paper_json"])) for r in rows["papers"].values()),
                    key=lambda p: p.title.casefold())
    chunks = [Chunk(chunk_id=cid, paper_id=str(r["paper_id"]), index=int(str(r["index"])),
                    n_chunks=int(str(r["n_chunks"])), title=str(r["title"]), text=str(r["chroma:document"]))
              for cid, r in rows["chunks"].items()]
    kept = {p.paper_id for p in papers}
    grouped = _by_paper(chunks)
    orphans = sum(len(cs) for pid, cs in grouped.items() if pid not in kept)
    return Snapshot(header={"fingerprint": "sqlite", "orphan_chunks": orphans}, papers=papers,
                    chunks={pid: cs for pid, cs in grouped.items() if pid in kept})
