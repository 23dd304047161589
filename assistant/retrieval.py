"""Find papers for a query: dense (Chroma), lexical (BM25) and their fusion.

Dense evidence is two-level: the cosine of the query to each paper's vector (the mean of its chunks'
vectors: a query about the paper as a whole meets the whole) and to its best chunk. The `hybrid`
order standardises the dense and the BM25 scores over the candidate pool of each query (z-scores) and
adds them, so BM25 counts as much as it separates papers for this query: a verbatim phrase or a long
description sharing many words with one paper lifts it, a near-random BM25 list barely moves anything.
Every candidate also keeps an absolute match score (best-chunk cosine + a bounded BM25 bonus), which
the abstention threshold and the topic floor are calibrated on. Figures: docs/retrieval.md.
"""

from __future__ import annotations

import re
import statistics
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant import paper_list
from assistant.embeddings import NamedEmbeddings
from assistant.lexical import BM25Index, IndexCache
from assistant.settings import RetrievalSettings, SearchMode
from assistant.store import ChunkHit, Library
from assistant.text import quick_sentences
from assistant.threads import beside
from assistant.types import Paper, SearchHit

RRF_K = 60
_WORD = re.compile(r"\w\w+")


@dataclass
class Candidate:
    """A paper under consideration, with its per-retriever evidence."""

    paper_id: str
    dense: float | None = None  # best-chunk cosine
    paper_sim: float | None = None  # cosine to the paper vector
    semantic: float | None = None  # the dense retriever's score: paper and best-chunk cosine combined
    bm25: float | None = None
    bm25_frac: float = 0.0
    lexical: float = 0.0  # the BM25 score even below the BM25 candidates (hybrid order standardises it over the pool)
    chunks: list[ChunkHit] = field(default_factory=list)
    best_text: str | None = None  # the nearest chunk's text, read by rank() for the papers it returns whole
    score: float = 0.0  # absolute match score (abstention and the topic floor are calibrated on it)
    rank_score: float = 0.0  # what orders the results
    paper: Paper | None = None  # the stored record, filled in by rank()


class Retriever:
    """Searches one library; the BM25 index is rebuilt when the library changes."""

    def __init__(self, library: Library, embedder: NamedEmbeddings, settings: RetrievalSettings) -> None:
        self.library = library
        self.embedder = embedder
        self.settings = settings
        self._bm25: BM25Index | None = None
        self._bm25_key: str | None = None
        self._bm25_generation: int | None = None  # the generation the index is known to match (None: check the key)
        self._bm25_stamp: str | None = None  # the paper-list stamp read before that generation (embedded only)
        self._lock = threading.Lock()

    def bm25(self) -> BM25Index:
        """The BM25 index for the library as it is now (from the on-disk cache when it was built before).

        While the paper-list stamp (a small file every write of paper records changes, assistant/paper_list.py)
        holds the one read before the index was last matched to the generation, nothing was written since: no
        Chroma read at all. Otherwise the generation; the whole key (with a count: 25 ms at 100k) when it moved.
        """
        stamp = paper_list.read_stamp(self.library.settings)  # before the generation: a write meanwhile changes it
        with self._lock:
            if self._bm25 is not None and stamp is not None and stamp == self._bm25_stamp:
                return self._bm25
        generation = self.library.generation()
        with self._lock:
            if self._bm25 is None or generation != self._bm25_generation:
                key = self.library.fingerprint()
                settled = True
                if self._bm25 is None or key != self._bm25_key:
                    self._bm25, settled = self._stored_or_built(key)
                    self._bm25_key = key
                self._bm25_generation = generation if settled else None
            self._bm25_stamp = stamp if self._bm25_generation is not None else None
            return self._bm25

    def _stored_or_built(self, key: str) -> tuple[BM25Index, bool]:
        """The index, and whether the library stayed at `key` while it was built.

        Reading every paper and indexing it takes ~40 s at 100k papers; loading a saved index, well under 1 s.
        """
        cache = bm25_cache(self.library)
        index = cache.load(key)
        if index is None:
            index = build_index(self.library)
            if self.library.fingerprint() != key:  # written meanwhile: a snapshot of no state, not kept
                index.paper_vectors = None  # nor trusted for which papers are stored
                return index, False
            cache.save(key, index)
            index = cache.load(key) or index  # memory-mapped, as a later process opens it: the build is freed
        return index, True

    def search(self, query: str, k: int | None = None, mode: SearchMode | None = None) -> list[SearchHit]:
        """The k best papers for the query, best first."""
        k = k or self.settings.k
        mode = mode or self.settings.mode
        ranked = self.rank(query, mode, max(k, self.settings.candidates), records=k)[:k]
        return [
            SearchHit(
                rank=i + 1,
                paper_id=c.paper_id,
                title=c.paper.title,
                score=round(c.rank_score, 6),
                snippet=snippet(query, c, c.paper),
                dense_score=None if c.semantic is None else round(c.semantic, 6),
                bm25_score=None if c.bm25 is None else round(c.bm25, 6),
                year=c.paper.year,
            )
            for i, c in enumerate(ranked)
            if c.paper is not None
        ]

    def rank(self, query: str, mode: SearchMode, n: int, records: int | None = None) -> list[Candidate]:
        """Candidates ordered by the mode's score (papers without a record left out); the first `records`
        of them (all by default) carry their stored paper."""
        if not query.strip():
            return []
        # a pool independent of n: hybrid scores are standardised over it
        pool = self.pool(query, mode, max(n, self.settings.candidates))
        _score(pool, mode, self.settings)
        pool.sort(key=lambda c: (-c.rank_score, c.paper_id))
        top = pool[:n]
        # whole records only for the papers shown: at 100k papers reading ~190 records took 36 ms, 10 took 3 ms
        wanted = top if records is None else top[:records]
        best = {c.paper_id: max(c.chunks, key=lambda m: m.similarity).chunk_id for c in wanted if c.chunks}
        reading = beside(self.library.chunk_texts, list(best.values()))  # the snippets': the dense query read none
        papers = self.library.get_papers([c.paper_id for c in wanted])
        texts = reading.result()
        for c in wanted:
            c.paper = papers.get(c.paper_id)  # None only if deleted this very moment
            c.best_text = texts.get(best.get(c.paper_id, ""))
        return top

    def pool(self, query: str, mode: SearchMode, depth: int) -> list[Candidate]:
        """The query's candidate papers, unscored: the papers of the 3 × depth nearest chunks, the depth nearest
        paper vectors and the depth best BM25 papers, each with the evidence the mode needs."""
        cands: dict[str, Candidate] = {}
        vector: list[float] = []
        found_bm25 = None
        if mode != "bm25":
            vector = self.embedder.embed_query(query)
            # the paper-vector query, then the BM25 part, on the second thread: about as long as the chunk query
            side = beside(self._papers_and_bm25, query, vector, depth, mode != "dense")
            for m in self.library.nearest_chunks(vector, depth * 3):
                c = cands.setdefault(m.paper_id, Candidate(m.paper_id))
                c.chunks.append(m)
                c.dense = max(c.dense if c.dense is not None else -1.0, m.similarity)
            papers, found_bm25 = side.result()
            for pid, sim in papers:
                cands.setdefault(pid, Candidate(pid)).paper_sim = sim
        else:
            found_bm25 = self._bm25_part(query, depth)
        if found_bm25 is not None:
            index, ideal, found = found_bm25
            for pid, s in found:
                c = cands.setdefault(pid, Candidate(pid))
                c.bm25 = s
                c.bm25_frac = s / ideal if ideal > 0 else 0.0
        snapshot = index if mode != "dense" and index.paper_vectors is not None else None
        # drops unfinished papers: the snapshot of this very library state (see bm25()) holds every stored paper
        stored = snapshot.rows() if snapshot is not None else self.library.existing(list(cands))
        pool = [c for c in cands.values() if c.paper_id in stored]
        if mode != "bm25":
            self._paper_sims(pool, vector, snapshot)
        if mode == "hybrid":
            lexical = index.scores(query, [c.paper_id for c in pool if c.bm25 is None])  # the index found above
            for c in pool:
                c.lexical = c.bm25 if c.bm25 is not None else lexical.get(c.paper_id, 0.0)
        return pool

    def _bm25_part(self, query: str, depth: int) -> tuple[BM25Index, float, list[tuple[str, float]]]:
        """The BM25 index, the query's ideal score and its depth best papers."""
        index = self.bm25()
        return index, index.ideal_score(query), index.search(query, depth)

    def _papers_and_bm25(self, query: str, vector: list[float], depth: int, lexical: bool) -> tuple[
            list[tuple[str, float]], tuple[BM25Index, float, list[tuple[str, float]]] | None]:
        """The depth nearest paper vectors, and the BM25 part when the mode uses it."""
        return self.library.query_papers(vector, depth), self._bm25_part(query, depth) if lexical else None

    def _paper_sims(self, pool: list[Candidate], vector: list[float], snapshot: BM25Index | None) -> None:
        """The paper-vector cosine of candidates found by their chunks or by BM25 only."""
        missing = [c for c in pool if c.paper_sim is None]
        if not missing:
            return
        ids = [c.paper_id for c in missing]
        vectors = snapshot.vectors_of(ids) if snapshot is not None else self.library.paper_vectors(ids)
        q = np.asarray(vector, dtype=np.float32)
        for c in missing:
            if c.paper_id in vectors:
                c.paper_sim = float(vectors[c.paper_id] @ q)


def build_index(library: Library) -> BM25Index:
    """The library's BM25 index, carrying its papers' vectors, read a page at a time."""
    index = BM25Index.build(library.lexical_pages())
    index.paper_vectors = library.vector_matrix(index.paper_ids)
    return index


def bm25_cache(library: Library) -> IndexCache:
    """Where this library's BM25 indexes are kept (one folder per library: a library made anew gets a new one)."""
    return IndexCache(library.settings.cache_dir / "bm25" / library.identity())


def _score(pool: list[Candidate], mode: SearchMode, settings: RetrievalSettings) -> None:
    """Each candidate's absolute match score and the score that orders the mode's results."""
    floor = min((c.dense for c in pool if c.dense is not None), default=0.0)
    if mode != "bm25":
        for c in pool:
            c.semantic = _dense(c, floor, settings.paper_weight)
    if mode == "bm25":
        for c in pool:
            c.score = c.bm25 or 0.0
    elif mode == "rrf":
        dense_rank = _ranks(pool, lambda c: c.semantic)
        bm25_rank = _ranks(pool, lambda c: c.bm25)
        for c in pool:
            c.score = sum(1.0 / (RRF_K + r[c.paper_id]) for r in (dense_rank, bm25_rank) if c.paper_id in r)
    else:
        for c in pool:
            dense = c.dense if c.dense is not None else floor  # not among the dense candidates
            c.score = dense + (settings.bm25_weight * min(c.bm25_frac, 3.0) if mode == "hybrid" else 0.0)
    for c in pool:
        c.rank_score = c.score
    if mode == "dense":
        for c in pool:
            c.rank_score = c.semantic or 0.0
    elif mode == "hybrid":
        dense_z = _standardised([c.semantic or 0.0 for c in pool])
        lexical = _standardised([c.lexical for c in pool])
        for c, d, b in zip(pool, dense_z, lexical, strict=True):
            c.rank_score = d + settings.rank_bm25_weight * b


def _dense(c: Candidate, floor: float, paper_weight: float) -> float:
    """Paper-vector and best-chunk cosine combined; a chunk not among the dense hits counts as the pool's floor."""
    chunk = c.dense if c.dense is not None else floor
    paper = c.paper_sim if c.paper_sim is not None else chunk
    return paper_weight * paper + (1.0 - paper_weight) * chunk


def _standardised(values: list[float]) -> list[float]:
    """z-scores over the candidate pool (all zero when the values do not vary)."""
    if len(values) < 2:
        return [0.0] * len(values)
    mean, sd = statistics.fmean(values), statistics.pstdev(values)
    return [(v - mean) / sd if sd > 0 else 0.0 for v in values]


def _ranks(pool: Sequence[Candidate], key: Callable[[Candidate], float | None]) -> dict[str, int]:
    scored = [(s, c.paper_id) for c in pool if (s := key(c)) is not None]
    scored.sort(key=lambda t: -t[0])
    return {pid: i + 1 for i, (_, pid) in enumerate(scored)}


def snippet(query: str, cand: Candidate, paper: Paper, limit: int = 300) -> str:
    """The sentence of the paper that best matches the query, cut to `limit` characters."""
    text = cand.best_text if cand.best_text is not None else paper.abstract
    sentences = quick_sentences(text) or [text]
    words = {w.casefold() for w in _WORD.findall(query)}
    best = max(sentences, key=lambda s: (len(words & {w.casefold() for w in _WORD.findall(s)}), -sentences.index(s)))
    return best if len(best) <= limit else best[: limit - 1].rstrip() + "…"
