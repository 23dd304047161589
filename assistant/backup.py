"""Backups of a library: papers, chunks and settings (no vectors: they are re-made), and restoring them.

A backup is a gzip'd JSON-lines file: a header (counts, embedding model, chunking, settings), one
line per paper with its chunks, and an end line with the counts and the SHA-256 of every line
before it, so a cut or altered file is refused before anything is written. Files are written under
a temporary name and renamed into place: a backup that exists is whole.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assistant import __version__
from assistant.embeddings import NamedEmbeddings
from assistant.errors import StoreError
from assistant.locking import write_lock
from assistant.settings import CONFIG_NAME, Settings
from assistant.store import Library, embedding_name
from assistant.types import Chunk, Paper, Progress

FORMAT = "litreview-backup"
VERSION = 1
SUFFIX = ".litreview.gz"
AUTO_PREFIX = "auto-"
EMBED_BATCH = 128
_SECRET_LINE = re.compile(r"^\s*api_key\s*=.*$", re.MULTILINE)


@dataclass(frozen=True)
class Snapshot:
    """What a backup file holds."""

    header: dict[str, Any]
    papers: list[Paper]
    chunks: dict[str, list[Chunk]]  # by paper id, in order


def backup_dir(settings: Settings) -> Path:
    """Where automatic snapshots (and backups without --out) go."""
    return settings.home / "backups"


def stamp() -> str:
    """A UTC time stamp for file names, sortable."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def read_library(library: Library) -> Snapshot:
    """Every paper with its chunks, read so that no paper is half there (retried when a writer interleaves)."""
    for _ in range(5):
        before = library.fingerprint()
        papers = library.list_papers()
        chunks: dict[str, list[Chunk]] = {}
        for chunk in library.all_chunks():
            chunks.setdefault(chunk.paper_id, []).append(chunk)
        if library.fingerprint() == before:
            kept = {p.paper_id for p in papers}
            ordered = {pid: sorted(cs, key=lambda c: c.index) for pid, cs in chunks.items() if pid in kept}
            orphans = sum(len(cs) for pid, cs in chunks.items() if pid not in kept)
            return Snapshot(header={"fingerprint": before, "orphan_chunks": orphans}, papers=papers, chunks=ordered)
        time.sleep(0.5)
    raise StoreError(f"the library at {library.where} kept changing while it was read; try again when it is idle")


def _config_text(settings: Settings) -> str | None:
    path = settings.home / CONFIG_NAME
    if not path.is_file():
        return None
    return _SECRET_LINE.sub("# api_key left out of the backup", path.read_text(encoding="utf-8"))


def write_snapshot(library: Library, settings: Settings, out: Path, snap: Snapshot | None = None) -> Snapshot:
    """Write the library as it is now (or as just read) to `out`, atomically; the caller holds the write lock."""
    snap = snap or read_library(library)
    header = {
        "format": FORMAT, "version": VERSION, "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "litreview": __version__, "library": library.where, "fingerprint": snap.header["fingerprint"],
        "embedding_model": library.model_name, "chunking": settings.chunking.model_dump(),
        "settings": settings.model_dump(mode="json", exclude={"home": True, "llm": {"api_key"}}),
        "config_toml": _config_text(settings), "papers": len(snap.papers),
        "chunks": sum(len(cs) for cs in snap.chunks.values()),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            lines = [header] + [
                {"paper": p.model_dump(mode="json"),
                 "chunks": [c.model_dump(mode="json") for c in snap.chunks.get(p.paper_id, [])]}
                for p in snap.papers
            ]
            for item in lines:
                line = json.dumps(item, ensure_ascii=False) + "\n"
                digest.update(line.encode())
                fh.write(line)
            fh.write(json.dumps({"end": True, "papers": header["papers"], "sha256": digest.hexdigest()}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"cannot write the backup {out}: {exc.strerror or exc}") from None
    return Snapshot(header=header, papers=snap.papers, chunks=snap.chunks)


def backup(library: Library, settings: Settings, out: Path | None = None,
           on_wait: Callable[[str], None] | None = None) -> tuple[Path, Snapshot]:
    """A consistent backup while the library is in use: writers wait (the write lock) while it is read."""
    out = out or backup_dir(settings) / f"backup-{stamp()}{SUFFIX}"
    with write_lock(settings, on_wait):
        return out, write_snapshot(library, settings, out)


def auto_snapshot(library: Library, settings: Settings) -> Path | None:
    """Before a write: snapshot the library unless it is empty or unchanged since the last one; keep the newest N."""
    keep = settings.store.snapshots
    if keep == 0 or library.count() == 0:
        return None
    folder = backup_dir(settings)
    tag = re.sub(r"[^0-9A-Za-z]+", "", f"{library.identity()[:8]}{library.fingerprint()}")
    existing = snapshots(settings)
    if existing and existing[-1].name.endswith(f"-{tag}{SUFFIX}"):
        return existing[-1]  # nothing was written since: the newest snapshot is this very state
    path = folder / f"{AUTO_PREFIX}{stamp()}-{tag}{SUFFIX}"
    write_snapshot(library, settings, path)
    for old in snapshots(settings)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def snapshots(settings: Settings) -> list[Path]:
    """The automatic snapshots, oldest first."""
    folder = backup_dir(settings)
    return sorted(folder.glob(f"{AUTO_PREFIX}*{SUFFIX}")) if folder.is_dir() else []


def newest_backup(settings: Settings) -> Path | None:
    """The most recent backup or snapshot under the home, for messages that point at one."""
    folder = backup_dir(settings)
    found = [p for p in folder.glob(f"*{SUFFIX}")] if folder.is_dir() else []
    return max(found, key=lambda p: p.stat().st_mtime, default=None)


def _lines(path: Path) -> Iterator[str]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            yield from fh
    except FileNotFoundError:
        raise StoreError(f"no backup at {path}") from None
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise StoreError(f"the backup {path} is damaged or cut short ({exc}); use another backup") from None


def read_snapshot(path: Path) -> Snapshot:
    """Read and verify a backup file; a cut, altered or foreign file is refused with one line."""
    digest = hashlib.sha256()
    header: dict[str, Any] | None = None
    papers: list[Paper] = []
    chunks: dict[str, list[Chunk]] = {}
    end: dict[str, Any] | None = None
    for n, line in enumerate(_lines(path), start=1):
        try:
            item = json.loads(line)
        except ValueError:
            raise StoreError(f"the backup {path} is damaged at line {n}; use another backup") from None
        if n == 1:
            if not isinstance(item, dict) or item.get("format") != FORMAT:
                raise StoreError(f"{path} is not a litreview backup")
            if item.get("version") != VERSION:
                raise StoreError(f"{path} is a version {item.get('version')} backup; this litreview reads {VERSION}")
            header = item
        elif isinstance(item, dict) and item.get("end"):
            end = item
            break
        else:
            try:
                paper = Paper.model_validate(item["paper"])
                chunks[paper.paper_id] = [Chunk.model_validate(c) for c in item["chunks"]]
            except (KeyError, TypeError, ValueError):
                raise StoreError(f"the backup {path} holds an unreadable paper at line {n}; use another one") from None
            papers.append(paper)
        digest.update(line.encode())
    if header is None or end is None or end.get("sha256") != digest.hexdigest() or end.get("papers") != len(papers):
        raise StoreError(f"the backup {path} is incomplete or altered (its checksum does not match); use another one")
    return Snapshot(header=header, papers=papers, chunks=chunks)


def write_papers(library: Library, embedder: NamedEmbeddings, papers: Sequence[tuple[Paper, Sequence[Chunk]]],
                 progress: Progress | None = None) -> int:
    """Embed the given chunks and write each paper whole (chunks, then its record); returns chunks written."""
    total = sum(len(cs) for _, cs in papers)
    done = 0
    batch: list[tuple[Paper, Sequence[Chunk]]] = []

    def flush() -> None:
        nonlocal done
        texts = [c.embedding_text() for _, cs in batch for c in cs]
        vectors = np.asarray(embedder.embed_documents(texts), dtype=np.float32)
        items, at = [], 0
        for paper, cs in batch:
            items.append((paper, cs, vectors[at : at + len(cs)]))
            at += len(cs)
        library.add_papers(items)
        done += len(texts)
        batch.clear()
        if progress:
            progress("embedding", done, total)

    for paper, cs in papers:
        batch.append((paper, cs))
        if sum(len(c) for _, c in batch) >= EMBED_BATCH:
            flush()
    if batch:
        flush()
    return done


@dataclass(frozen=True)
class RestoreReport:
    """What a restore wrote."""

    papers: int
    chunks: int
    skipped: int  # already there (a restore that was stopped and run again)
    embedding_model: str
    backup_model: str
    config_written: bool


def restore(path: Path, library: Library, embedder: NamedEmbeddings, settings: Settings,
            progress: Progress | None = None) -> RestoreReport:
    """Restore a backup into an empty library (or finish a restore that was cut off), re-embedding every chunk."""
    snap = read_snapshot(path)
    with write_lock(settings):
        present = set(library.paper_ids())
        foreign = present - {p.paper_id for p in snap.papers}
        if foreign:
            raise StoreError(
                f"restore needs an empty library, but {library.where} holds {len(present)} papers "
                f"({len(foreign)} not in the backup); restore into a new LITREVIEW_HOME, or use --replace "
                "(the current library is kept aside, not deleted)"
            )
        library.repair()
        todo = [(p, snap.chunks[p.paper_id]) for p in snap.papers if p.paper_id not in present]
        written = write_papers(library, embedder, todo, progress)
    config = settings.home / CONFIG_NAME
    wrote_config = False
    if snap.header.get("config_toml") and not config.exists():
        config.write_text(snap.header["config_toml"], encoding="utf-8")
        wrote_config = True
    return RestoreReport(papers=len(todo), chunks=written, skipped=len(snap.papers) - len(todo),
                         embedding_model=embedding_name(settings), backup_model=str(snap.header.get("embedding_model")),
                         config_written=wrote_config)


def move_aside(settings: Settings) -> Path | None:
    """Rename the embedded library (and its caches) out of the way, never deleting it; returns where it went."""
    if settings.store.chroma_url:
        raise StoreError("--replace moves an embedded library aside; on a Chroma server, restore into a new "
                         "store.collection_prefix instead")
    if not settings.data_dir.exists():
        return None
    from chromadb.api.client import SharedSystemClient

    target = settings.home / f"library.replaced-{stamp()}"
    with write_lock(settings):
        SharedSystemClient.clear_system_cache()  # this process must not keep writing to the moved files
        os.rename(settings.data_dir, target)
        bm25 = settings.cache_dir / "bm25"
        if bm25.exists():
            os.rename(bm25, settings.cache_dir / f"bm25.replaced-{stamp()}")
    return target
