"""A copy of the paper list beside an embedded library, so listing papers need not import Chroma (~1 s CPU).

Only a cache: Chroma stays the one source of truth. Every write to the paper records changes a stamp
file in the library folder: "w-<token>" while it writes, a fresh token once it is done (even when it
failed). A saved list is used only while the stamp still holds the clean token it was read under; a
write begun or finished since, a writer killed mid-write ("w-" stays), a library moved aside or made
anew (no stamp), a Chroma server (no folder) or an unreadable cache file all mean: read Chroma.
Chroma's own files cannot key this: opening the library commits a SQLite transaction even to read.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from assistant.settings import Settings

STAMP = "papers.stamp"
_WRITING = "w-"


def _stamp_path(settings: Settings) -> Path | None:
    return None if settings.store.chroma_url else settings.data_dir / STAMP


def _cache_path(settings: Settings) -> Path:
    return settings.cache_dir / "papers.json"


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_stamp(settings: Settings) -> str | None:
    """The clean stamp of the paper records now; None while a write is under way, or with no stamp."""
    path = _stamp_path(settings)
    try:
        stamp = path.read_text(encoding="utf-8") if path else ""
    except OSError:
        return None
    return stamp if stamp and not stamp.startswith(_WRITING) else None


def start_stamp(settings: Settings) -> None:
    """Give an opened library a stamp if it has none (one made before stamps, or new)."""
    path = _stamp_path(settings)
    if path is None:
        return
    with suppress(OSError), path.open("x", encoding="utf-8") as f:  # never over a writer's stamp
        f.write(uuid.uuid4().hex)


@contextmanager
def changing(settings: Settings) -> Iterator[None]:
    """Around every write to the paper records: saved lists are stale from its first change to its last."""
    path = _stamp_path(settings)
    if path is None:
        yield
        return
    _mark(path, _WRITING + uuid.uuid4().hex)
    try:
        yield
    finally:
        _mark(path, uuid.uuid4().hex)


def _mark(path: Path, stamp: str) -> None:
    try:
        _write_atomically(path, stamp)
    except OSError:  # no stamp at all is safe too: nothing saved is used until a stamp is made again
        with suppress(OSError):
            path.unlink()


def saved(settings: Settings) -> list[dict[str, Any]] | None:
    """The saved paper list (each paper as JSON data), if it was read under the stamp there is now."""
    stamp = read_stamp(settings)
    if stamp is None:
        return None
    try:
        data = json.loads(_cache_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("stamp") != stamp or not isinstance(data.get("papers"), list):
        return None
    return data["papers"]


def save(settings: Settings, stamp: str | None, papers: list[dict[str, Any]]) -> None:
    """Keep the list read from Chroma under `stamp` (read before it), unless a write began since (best effort)."""
    if stamp is None or read_stamp(settings) != stamp:
        return
    with suppress(OSError):
        _write_atomically(_cache_path(settings), json.dumps({"stamp": stamp, "papers": papers}, ensure_ascii=False))
