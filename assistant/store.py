"""The paper library in Chroma: a papers collection and a chunks collection, written paper-whole.

Write order is what keeps the library whole: a paper's chunks are written first and its paper
record last, so a paper exists only once all of its chunks do. Chunks without a paper record
(left by a killed ingest) are never shown and are swept by `repair()`; re-running the ingest
writes the paper again under the same ids.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant import paper_list
from assistant.errors import EmbeddingMismatchError, StoreError, first_line
from assistant.offline import MINILM_NAME
from assistant.settings import Settings
from assistant.types import Chunk, LibraryStats, Paper, paper_of

SCHEMA_VERSION = 1
# The HNSW search beam. Chroma's approximate search misses some of the nearest items, and not the same ones
# in every process: with a beam of 200, the 150 chunks search asks for differed from the exact nearest for
# 23-28 of the 222 retrieval eval queries (sample library, 729 chunks), so the candidate pool, and the hybrid
# z-scores standardised over it, changed between runs. A beam of 1,000 covers every chunk at the sample's size
# (exact for all 222), at no measurable cost (raw chunk query p50 9.9 -> 9.2 ms); asking for 3x the chunks
# instead doubled the raw query and still missed on a fresh library (docs/retrieval.md).
SEARCH_EF = 1000


def embedding_name(settings: Settings) -> str:
    """The name of the configured embedding model, known without loading it."""
    emb = settings.embedding
    return MINILM_NAME if emb.provider == "minilm" else f"openai/{emb.openai_model}"


def location(settings: Settings) -> str:
    """Where the library lives (its server URL or its folder), for messages; known without opening it."""
    return settings.store.chroma_url or str(settings.data_dir)


def make_client(settings: Settings) -> Any:
    """A Chroma client: embedded under the data dir, or HTTP when a server URL is configured."""
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False, allow_reset=False)
    url = settings.store.chroma_url
    try:
        if url:
            parsed = urlparse(url if "://" in url else f"http://{url}")
            if not parsed.hostname:
                raise StoreError(f"invalid Chroma server URL '{url}'")
            return chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=chroma_settings,
            )
        path = settings.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except StoreError:
        raise
    except Exception as exc:  # chromadb raises many types; the user needs one line
        raise StoreError(
            f"cannot open the Chroma library at {location(settings)}: {first_line(exc)}; {_fix(bool(url))}"
        ) from None


def _fix(server: bool) -> str:
    if server:
        return "check that its `chroma run` server is running and reachable (restart it), then run the command again"
    return "run `litreview check` to see what is damaged and how to repair it"


def _unreachable(exc: BaseException) -> bool:
    """A transport failure (refused, reset, cut mid-response, timed out), not an answer from the server."""
    import httpx

    return isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError)


def _widen_search(col: Any) -> None:
    """Give a collection made with a narrower search beam the current one (a query-time setting: nothing is
    rebuilt). Best effort: a store that refuses the write still searches, only less exactly."""
    try:
        hnsw = (col.configuration or {}).get("hnsw") or {}
        if hnsw.get("ef_search", SEARCH_EF) < SEARCH_EF:
            _wrote.set()
            col.modify(configuration={"hnsw": {"ef_search": SEARCH_EF}})
    except Exception:  # Chroma raises many types (read-only files, older servers)
        return


def store_failure(exc: BaseException, where: str, server: bool) -> StoreError:
    """One line for a failed Chroma call: which library, what happened, what to do."""
    if server and _unreachable(exc):
        return StoreError(
            f"the Chroma server at {where} stopped answering ({type(exc).__name__}: {first_line(exc)}); "
            "restart it (`chroma run`) and try again; papers already stored stay whole"
        )
    return StoreError(f"the Chroma library at {where} failed: {first_line(exc)}; {_fix(server)}")


_WRITES = frozenset({"add", "upsert", "update", "delete", "modify"})
_wrote = threading.Event()


def wrote_to_chroma() -> bool:
    """Whether this process has written to any Chroma collection (the CLI's quick exit is for readers only)."""
    return _wrote.is_set()


class _Guarded:
    """A Chroma collection whose failures become one StoreError line (calls and attributes pass through)."""

    def __init__(self, collection: Any, where: str, server: bool) -> None:
        self._collection = collection
        self._where = where
        self._server = server

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if name in _WRITES:
                _wrote.set()
            try:
                return attr(*args, **kwargs)
            except (StoreError, TypeError):  # ours already, or a programming error to see as it is
                raise
            except Exception as exc:
                raise store_failure(exc, self._where, self._server) from None

        return call


@dataclass(frozen=True)
class ChunkHit:
    """A chunk near a query vector, without its text."""

    chunk_id: str
    paper_id: str
    similarity: float


@dataclass(frozen=True)
class ChunkMatch:
    """A chunk returned by a dense query, with its cosine similarity."""

    chunk_id: str
    paper_id: str
    text: str
    similarity: float


class Library:
    """Papers and their chunks in Chroma; the embedding model is fixed per library."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        self.model_name = embedding_name(settings)
        self._client = client if client is not None else make_client(settings)
        self._lock = threading.RLock()
        prefix = settings.store.collection_prefix
        self._papers = self._collection(f"{prefix}-papers")
        self._chunks = self._collection(f"{prefix}-chunks")
        self._meta = self._collection(f"{prefix}-meta")
        try:
            self._max_batch = int(self._client.get_max_batch_size())
        except Exception:  # older servers do not say; this is well under any limit
            self._max_batch = 1000
        paper_list.start_stamp(settings)

    @property
    def where(self) -> str:
        """Where the library lives, for messages."""
        return location(self.settings)

    def _collection(self, name: str) -> Any:
        # a wide search beam keeps the approximate HNSW search close to exact at these sizes
        meta = {"hnsw:space": "cosine", "hnsw:search_ef": SEARCH_EF, "hnsw:construction_ef": 200,
                "embedding_model": self.model_name, "schema": SCHEMA_VERSION}
        try:
            col = self._client.get_or_create_collection(name, embedding_function=None, metadata=meta)
        except Exception as exc:
            if self.settings.store.chroma_url and _unreachable(exc):
                raise store_failure(exc, self.where, True) from None
            raise StoreError(f"cannot open collection '{name}' at {self.where}: {first_line(exc)}") from None
        built_with = (col.metadata or {}).get("embedding_model")
        if built_with and built_with != self.model_name:
            raise EmbeddingMismatchError(
                f"the library at {self.where} was built with embedding model '{built_with}' but "
                f"'{self.model_name}' is configured; switch back, or use another LITREVIEW_HOME "
                "and ingest again"
            )
        _widen_search(col)
        return _Guarded(col, self.where, bool(self.settings.store.chroma_url))

    # -- reading -----------------------------------------------------------------------------

    def count(self) -> int:
        """Number of papers."""
        return int(self._papers.count())

    def paper_ids(self) -> list[str]:
        """All paper ids."""
        return list(self._papers.get(include=[])["ids"])

    def list_papers(self) -> list[Paper]:
        """All papers, sorted by title."""
        got = _read(self._papers, None, ["metadatas"])
        papers = [Paper.model_validate_json(m["paper_json"]) for m in got["metadatas"]]
        return sorted(papers, key=lambda p: p.title.casefold())

    def lexical_pages(self) -> Iterator[list[tuple[str, str, str]]]:
        """(paper id, title, abstract) of every paper, a page at a time, in list_papers' order before its sort.

        For the BM25 build: at 100k papers holding every Paper at once was most of a 2.9 GB peak.
        """
        ids = list(self._papers.get(include=[])["ids"])
        for start in range(0, len(ids), READ_PAGE):
            got = self._papers.get(ids=ids[start : start + READ_PAGE], include=["documents", "metadatas"])
            yield [(pid, str(m["title"]), doc or "")
                   for pid, doc, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)]

    def get_papers(self, paper_ids: Sequence[str]) -> dict[str, Paper]:
        """Papers by id (unknown ids are left out)."""
        if not paper_ids:
            return {}
        got = _read(self._papers, list(dict.fromkeys(paper_ids)), ["metadatas"])
        return {
            pid: Paper.model_validate_json(meta["paper_json"])
            for pid, meta in zip(got["ids"], got["metadatas"], strict=True)
        }

    def existing(self, paper_ids: Sequence[str]) -> set[str]:
        """Which of these papers have a record (ids only: far cheaper than reading the records)."""
        if not paper_ids:
            return set()
        return set(_read(self._papers, list(dict.fromkeys(paper_ids)), [])["ids"])

    def paper_vectors(self, paper_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Each paper's unit-length vector (the mean of its chunks' vectors)."""
        if not paper_ids:
            return {}
        got = _read(self._papers, list(dict.fromkeys(paper_ids)), ["embeddings"])
        return {pid: np.asarray(v, dtype=np.float32) for pid, v in zip(got["ids"], got["embeddings"], strict=True)}

    def vector_matrix(self, paper_ids: Sequence[str]) -> np.ndarray | None:
        """These papers' vectors as one float32 matrix in their order, a page at a time (None if one is missing)."""
        out: np.ndarray | None = None
        for start in range(0, len(paper_ids), READ_PAGE):
            page = list(paper_ids[start : start + READ_PAGE])
            got = self.paper_vectors(page)
            if len(got) != len(page):
                return None
            block = np.stack([got[pid] for pid in page])
            if out is None:
                out = np.empty((len(paper_ids), block.shape[1]), dtype=np.float32)
            out[start : start + len(page)] = block
        return out

    def chunks_of(self, paper_id: str) -> list[Chunk]:
        """A paper's chunks in order."""
        got = self._chunks.get(where={"paper_id": paper_id}, include=["documents", "metadatas"])
        rows = zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        return sorted((_chunk(cid, doc, m) for cid, doc, m in rows), key=lambda c: c.index)

    def query_chunks(self, vector: Sequence[float], n: int) -> list[ChunkMatch]:
        """The n chunks nearest to a query vector (fewer when the library holds fewer)."""
        # no count() first to cap n: Chroma returns what there is, and count() took 22 ms at 200k chunks
        got = self._chunks.query(
            query_embeddings=[list(vector)], n_results=n, include=["documents", "metadatas", "distances"]
        )
        return [
            ChunkMatch(chunk_id=cid, paper_id=str(m["paper_id"]), text=doc, similarity=1.0 - float(d))
            for cid, doc, m, d in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0],
                                      strict=True)
        ]

    def nearest_chunks(self, vector: Sequence[float], n: int) -> list[ChunkHit]:
        """The n chunks nearest to a query vector, ids and similarities only (fewer when the library holds fewer).

        Chroma then reads no chunk records: at 729 chunks the 150-chunk query took 3 ms instead of 11.5 ms with
        their metadata. The paper comes from the chunk id (assistant/chunking.py).
        """
        got = self._chunks.query(query_embeddings=[list(vector)], n_results=n, include=["distances"])
        return [ChunkHit(chunk_id=cid, paper_id=paper_of(cid), similarity=1.0 - float(d))
                for cid, d in zip(got["ids"][0], got["distances"][0], strict=True)]

    def chunk_texts(self, chunk_ids: Sequence[str]) -> dict[str, str]:
        """The texts of these chunks (unknown ids left out)."""
        if not chunk_ids:
            return {}
        got = _read(self._chunks, list(dict.fromkeys(chunk_ids)), ["documents"])
        return {cid: doc or "" for cid, doc in zip(got["ids"], got["documents"], strict=True)}

    def query_papers(self, vector: Sequence[float], n: int) -> list[tuple[str, float]]:
        """The n papers whose paper vector (the mean of their chunks' vectors) is nearest to a query vector,
        with cosine similarities."""
        got = self._papers.query(query_embeddings=[list(vector)], n_results=n, include=["distances"])
        return [(pid, 1.0 - float(d)) for pid, d in zip(got["ids"][0], got["distances"][0], strict=True)]

    def generation(self) -> int:
        """Bumped before and after every write of paper records, by any process: one cheap read (no count)."""
        got = self._meta.get(ids=["generation"], include=["metadatas"])
        return int(got["metadatas"][0]["value"]) if got["ids"] else 0

    def fingerprint(self) -> str:
        """Changes whenever papers are written or removed, by any process (keys the BM25 cache).

        The count also tells apart a library whose writer was killed mid-write from the one it read before.
        """
        return f"{self.generation()}-{self.count()}"

    def identity(self) -> str:
        """The id Chroma gave the papers collection: a library made anew gets a new one."""
        return str(self._papers.id)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Around every write of paper records: the generation moves before and after (a writer killed mid-write
        still leaves a new one), and the saved paper list's stamp says a write is under way."""
        with paper_list.changing(self.settings):
            self._bump_generation()
            yield
            self._bump_generation()

    def _bump_generation(self) -> None:
        self._meta.upsert(ids=["generation"], embeddings=[[0.0, 0.0]], metadatas=[{"value": self.generation() + 1}])

    def stats(self) -> LibraryStats:
        """Counts of papers and chunks, per source file too."""
        per_source: dict[str, int] = {}
        for paper in self.list_papers():
            for src in paper.sources:
                per_source[src] = per_source.get(src, 0) + 1
        return LibraryStats(
            papers=self.count(),
            chunks=int(self._chunks.count()),
            data_dir=self.where,
            backend="chroma-server" if self.settings.store.chroma_url else "chroma-embedded",
            embedding_model=self.model_name,
            sources=dict(sorted(per_source.items())),
        )

    # -- writing -----------------------------------------------------------------------------

    def add_papers(self, items: Sequence[tuple[Paper, Sequence[Chunk], np.ndarray]]) -> None:
        """Write papers whole: stale chunks removed, all chunks written, then the paper records."""
        if not items:
            return
        for paper, chunks, vectors in items:
            if len(chunks) != len(vectors) or not chunks:
                raise StoreError(f"paper {paper.paper_id}: {len(chunks)} chunks but {len(vectors)} vectors")
        with self._lock:
            ids = [p.paper_id for p, _, _ in items]
            stale = self._chunks.get(where={"paper_id": {"$in": ids}}, include=[])["ids"]
            if stale:
                self._chunks.delete(ids=stale)
            chunks = [c for _, cs, _ in items for c in cs]
            metas = [_chunk_meta(p, c) for p, cs, _ in items for c in cs]
            vectors = np.concatenate([np.asarray(v, dtype=np.float32) for _, _, v in items])
            for start in range(0, len(chunks), self._max_batch):
                end = start + self._max_batch
                self._chunks.upsert(
                    ids=[c.chunk_id for c in chunks[start:end]],
                    embeddings=vectors[start:end],
                    documents=[c.text for c in chunks[start:end]],
                    metadatas=metas[start:end],
                )
            means = []
            for _, _, v in items:
                mean = np.asarray(v, dtype=np.float32).mean(axis=0)
                means.append(mean / (float(np.linalg.norm(mean)) or 1.0))
            self._write_records([p for p, _, _ in items], means)

    def update_records(self, papers: Iterable[Paper]) -> None:
        """Replace the metadata of papers already stored (their text and vectors stay)."""
        papers = list(papers)
        vectors = self.paper_vectors([p.paper_id for p in papers])
        with self._lock:
            self._write_records(papers, [vectors[p.paper_id] for p in papers])

    def _write_records(self, papers: Sequence[Paper], vectors: Sequence[np.ndarray]) -> None:
        stacked = np.stack(vectors).astype(np.float32)
        with self._writing():
            for start in range(0, len(papers), self._max_batch):
                page = papers[start : start + self._max_batch]
                self._papers.upsert(
                    ids=[p.paper_id for p in page],
                    embeddings=stacked[start : start + self._max_batch],
                    documents=[p.abstract for p in page],
                    metadatas=[_paper_meta(p) for p in page],
                )

    def delete_papers(self, paper_ids: Sequence[str]) -> int:
        """Remove papers (record first, then chunks); returns how many existed."""
        existing = list(self.get_papers(paper_ids))
        with self._lock, self._writing():
            for pid in existing:
                self._papers.delete(ids=[pid])
                self._chunks.delete(where={"paper_id": pid})
        return len(existing)

    def repair(self) -> int:
        """Delete chunks whose paper record was never written; returns how many."""
        known = set(self.paper_ids())
        got = _read(self._chunks, None, ["metadatas"])
        orphans = [cid for cid, m in zip(got["ids"], got["metadatas"], strict=True) if m["paper_id"] not in known]
        with self._lock:
            for start in range(0, len(orphans), 1000):
                self._chunks.delete(ids=orphans[start : start + 1000])
        return len(orphans)

    # -- maintenance (assistant/integrity.py, assistant/backup.py) -------------------------------

    def all_chunks(self) -> list[Chunk]:
        """Every stored chunk, with or without a paper record, in no particular order."""
        got = _read(self._chunks, None, ["documents", "metadatas"])
        return [_chunk(cid, doc, m) for cid, doc, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)]

    def recorded_models(self) -> dict[str, str | None]:
        """The embedding model each collection records (None when it records none)."""
        return {str(col.name): (col.metadata or {}).get("embedding_model") for col in (self._papers, self._chunks)}

    def reset(self) -> None:
        """Drop the papers and chunks collections (and their vector indexes) and make them anew, empty."""
        with self._lock, self._writing():
            for col in (self._papers, self._chunks):
                try:
                    _wrote.set()
                    self._client.delete_collection(col.name)
                except Exception as exc:
                    raise store_failure(exc, self.where, bool(self.settings.store.chroma_url)) from None
            prefix = self.settings.store.collection_prefix
            self._papers = self._collection(f"{prefix}-papers")
            self._chunks = self._collection(f"{prefix}-chunks")


READ_PAGE = 5000  # records per read: Chroma binds one SQL variable per record, SQLite allows 32,766


def _read(collection: Any, ids: list[str] | None, include: list[str]) -> dict[str, list[Any]]:
    """Records by id (None: every record) in pages; one read of more than ~32k records fails in SQLite."""
    if ids is None:
        ids = list(collection.get(include=[])["ids"])  # ids alone bind no variables per record
    out: dict[str, list[Any]] = {"ids": [], **{key: [] for key in include}}
    for start in range(0, len(ids), READ_PAGE):
        got = collection.get(ids=ids[start : start + READ_PAGE], include=include)
        out["ids"].extend(got["ids"])
        for key in include:
            out[key].extend(got[key])
    return out


def _paper_meta(paper: Paper) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "paper_json": paper.model_dump_json(),
        "title": paper.title,
        "sources": json.dumps(list(paper.sources)),
    }
    if paper.year is not None:
        meta["year"] = paper.year
    return meta


def _chunk(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(chunk_id=chunk_id, paper_id=str(meta["paper_id"]), index=int(meta["index"]),
                 n_chunks=int(meta["n_chunks"]), title=str(meta["title"]), text=text)


def _chunk_meta(paper: Paper, chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "paper_id": paper.paper_id,
        "title": paper.title,
        "index": chunk.index,
        "n_chunks": chunk.n_chunks,
    }
    if paper.year is not None:
        meta["year"] = paper.year
    return meta
