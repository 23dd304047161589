"""Source files → papers → chunks → library, with a per-file report."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from assistant.backup import auto_snapshot
from assistant.chunking import chunk_paper
from assistant.embeddings import NamedEmbeddings
from assistant.errors import SourceError
from assistant.identity import PaperIndex, merge
from assistant.locking import write_lock
from assistant.settings import Settings
from assistant.sources import expand_paths, parse_file
from assistant.store import Library
from assistant.types import Chunk, FileReport, IngestReport, Paper, Progress

EMBED_BATCH = 128


def sample_dir() -> Path:
    """The bundled sample library (five Hugging Face daily-papers listings)."""
    return Path(__file__).parent / "data" / "sample"


def ingest_paths(
    paths: Iterable[Path],
    library: Library,
    embedder: NamedEmbeddings,
    settings: Settings,
    progress: Progress | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> IngestReport:
    """Read, deduplicate and store papers from files and folders; bad files are reported, not fatal."""
    started = time.perf_counter()
    report = IngestReport()
    files, unusable = expand_paths(paths)
    for path, reason in unusable:
        report.files.append(FileReport(path=str(path), status="failed", problems=[reason]))
    with write_lock(settings, on_wait):
        library.repair()
        index = PaperIndex(library.list_papers())
        stored = set(index.papers)
        pending: dict[str, Paper] = {}
        updated: dict[str, Paper] = {}
        for n, path in enumerate(files):
            if progress:
                progress("reading", n, len(files))
            report.files.append(_read_one(path, index, stored, pending, updated))
        if progress:
            progress("reading", len(files), len(files))
        if pending or updated:
            auto_snapshot(library, settings)
        report.chunks_added = _write_new(list(pending.values()), library, embedder, settings, progress)
        if updated:
            library.update_records(updated.values())
    report.new = len(pending)
    report.updated = len(updated)
    report.duplicates = sum(f.duplicates for f in report.files)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _read_one(
    path: Path, index: PaperIndex, stored: set[str], pending: dict[str, Paper], updated: dict[str, Paper]
) -> FileReport:
    try:
        parsed = parse_file(path)
    except SourceError as exc:
        return FileReport(path=str(path), status="failed", problems=[str(exc)])
    except RecursionError:
        return FileReport(path=str(path), status="failed", problems=["the file is nested too deeply to read"])
    rep = FileReport(path=str(path), status="partial" if parsed.problems else "ok", problems=parsed.problems)
    rep.papers_found = len(parsed.papers)
    for paper in parsed.papers:
        known = index.find(paper)
        if known is None:
            index.put(paper)
            pending[paper.paper_id] = paper
            rep.new += 1
            continue
        rep.duplicates += 1
        merged = merge(known, paper)
        if merged != known:
            index.put(merged)
            if merged.paper_id in stored:
                updated[merged.paper_id] = merged
                rep.updated += 1
            else:
                pending[merged.paper_id] = merged
    return rep


def _write_new(
    papers: Sequence[Paper], library: Library, embedder: NamedEmbeddings, settings: Settings,
    progress: Progress | None,
) -> int:
    """Embed chunks in batches and write each paper whole as soon as its chunks are embedded.

    Papers are chunked as the batches reach them (at 100k papers every chunk held at once was ~0.5 GB);
    for the progress total they are chunked once before, which costs ~0.4 ms a paper.
    """
    total = sum(len(chunk_paper(p, settings.chunking)) for p in papers) if progress else 0
    batch: list[Chunk] = []
    waiting: dict[str, tuple[Paper, list[Chunk], list[np.ndarray]]] = {}  # chunked, not yet written whole
    done = 0

    def embed_and_write() -> None:
        nonlocal done
        embedded = np.asarray(embedder.embed_documents([c.embedding_text() for c in batch]), dtype=np.float32)
        complete = []
        for chunk, vec in zip(batch, embedded, strict=True):
            paper, chunks, got = waiting[chunk.paper_id]
            got.append(vec)
            if len(got) == chunk.n_chunks:
                del waiting[chunk.paper_id]
                complete.append((paper, chunks, np.stack(got)))
        library.add_papers(complete)
        done += len(batch)
        batch.clear()
        if progress:
            progress("embedding", done, total)

    for paper in papers:
        chunks = chunk_paper(paper, settings.chunking)
        waiting[paper.paper_id] = (paper, chunks, [])
        for chunk in chunks:
            batch.append(chunk)
            if len(batch) == EMBED_BATCH:
                embed_and_write()
    if batch:
        embed_and_write()
    return done
