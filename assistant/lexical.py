"""BM25 over whole papers (title + abstract) with bm25s, and its on-disk cache per library state.

The saved index may also carry the papers' vectors in its own row order (`paper_vectors`), so a search
reads a candidate's paper vector, and whether it is stored at all, from the snapshot instead of Chroma.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import uuid
from array import array
from collections.abc import Iterable, Sequence
from functools import cache
from hashlib import sha1
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from assistant.types import Paper

INDEX_FORMAT = 2  # 2: paper vectors saved beside the index
_LEXICON = "lexicon.json"
_MODEL = "bm25s"
_VECTORS = "paper_vectors.npy"


@cache
def _stemmer() -> Any:
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # stemming is a nicety; BM25 still works on surface forms
        return None


def query_terms(text: str) -> list[str]:
    """The query's distinct index terms (lower-cased, stop words dropped, stemmed)."""
    tokens = bm25s.tokenize([text], stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False)
    return list(dict.fromkeys(tokens[0]))


Page = Sequence[tuple[str, str, str]]  # (paper id, title, abstract) of some papers


class BM25Index:
    """A BM25 index of papers; search returns (paper_id, score) best first."""

    def __init__(self, papers: Sequence[Paper] = ()) -> None:
        self.paper_ids: list[str] = []
        self._model = bm25s.BM25()
        self._lock = threading.Lock()
        self._idf: dict[str, float] = {}
        self._rows: dict[str, int] | None = None  # paper id → row, built on first use
        self.paper_vectors: np.ndarray | None = None  # one unit vector per paper, in paper_ids' order
        if papers:
            self._index([[(p.paper_id, p.title, p.abstract) for p in papers]], by_title=False)

    @classmethod
    def build(cls, pages: Iterable[Page]) -> BM25Index:
        """The index of a library read a page at a time, its papers in title order (as list_papers gives them).

        Only each paper's token ids are kept between pages, never every text or Paper at once.
        """
        index = cls()
        index._index(pages, by_title=True)
        return index

    def _index(self, pages: Iterable[Page], by_title: bool) -> None:
        vocab: dict[str, int] = {}
        docs: list[tuple[str, str, array[int]]] = []  # (title key, paper id, token ids: 4 bytes each)
        for page in pages:
            words = bm25s.tokenize([f"{title}\n{abstract}" for _, title, abstract in page], stopwords="en",
                                   stemmer=_stemmer(), show_progress=False, return_ids=False)
            for (pid, title, _), doc in zip(page, words, strict=True):
                docs.append((title.casefold() if by_title else "", pid,
                             array("i", [vocab.setdefault(w, len(vocab)) for w in doc])))
        if by_title:
            docs.sort(key=lambda d: d[0])  # stable: ties keep the library's order, as list_papers' sort does
        self.paper_ids = [pid for _, pid, _ in docs]
        rows = [ids for _, _, ids in docs]
        del docs
        if not rows:
            return
        df = np.zeros(len(vocab), dtype=np.int64)
        for ids in rows:
            df[np.unique(np.frombuffer(ids, dtype=np.int32))] += 1
        n = len(rows)
        self._idf = {t: math.log(1 + (n - df[i] + 0.5) / (df[i] + 0.5)) for t, i in vocab.items()}
        self._model.index(bm25s.tokenization.Tokenized(ids=rows, vocab=vocab), show_progress=False)

    def __len__(self) -> int:
        return len(self.paper_ids)

    def ideal_score(self, query: str) -> float:
        """The score of an average-length paper holding each query term once.

        bm25s's default (Lucene) form scores a term idf * tf / (tf + k1 * length_norm), which is
        idf / (1 + k1) for tf = 1 at average length.
        """
        return sum(self._idf.get(t, 0.0) for t in query_terms(query)) / (1.0 + self._model.k1)

    def idf(self, term: str) -> float | None:
        """The idf of an index term (stemmed), or None when no paper holds it."""
        return self._idf.get(term)

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """The n best papers for the query with positive BM25 scores."""
        known = [t for t in query_terms(query) if t in self._idf]
        if not known or not self.paper_ids:
            return []
        with self._lock:
            docs, scores = self._model.retrieve(
                [known], k=min(n, len(self.paper_ids)), show_progress=False, n_threads=0  # 0: no thread pool per query
            )
        out = [(self.paper_ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True)]
        return [(pid, s) for pid, s in out if s > 0]

    def scores(self, query: str, paper_ids: Sequence[str]) -> dict[str, float]:
        """The BM25 score of each of these papers (0.0 for one holding no query term; unknown ids left out).

        Read from the index's term columns for these papers only (bm25s' get_scores adds up every paper:
        linear in the library). The sums are bm25s' own: float32, term by term in query order.
        """
        known = [t for t in query_terms(query) if t in self._idf]
        if not known or not self.paper_ids:
            return {}
        rows = self.rows()
        wanted = [pid for pid in dict.fromkeys(paper_ids) if pid in rows]
        model = self._model
        if model.nonoccurrence_array is not None:  # variants scoring absent terms: only the whole sum is right
            every = model.get_scores(known)
            return {pid: float(every[rows[pid]]) for pid in wanted}
        matrix = model.scores
        # plain views of the memory-mapped arrays: each slice of a memmap is a new memmap object (~0.5 ms a search)
        data, indices, indptr = (np.asarray(matrix[k]) for k in ("data", "indices", "indptr"))
        docs = np.fromiter((rows[pid] for pid in wanted), dtype=indices.dtype, count=len(wanted))
        out = np.zeros(len(docs), dtype=model.dtype)
        for term in model.get_tokens_ids(known):
            start, end = int(indptr[term]), int(indptr[term + 1])
            column = indices[start:end]  # the papers holding the term, in row order
            at = np.minimum(np.searchsorted(column, docs), max(end - start - 1, 0))
            held = (column[at] == docs) if end > start else np.zeros(len(docs), dtype=bool)
            out[held] += data[start:end][at[held]]
        return {pid: float(v) for pid, v in zip(wanted, out, strict=True)}

    def rows(self) -> dict[str, int]:
        """Each indexed paper's row."""
        with self._lock:
            if self._rows is None or len(self._rows) != len(self.paper_ids):
                self._rows = {pid: i for i, pid in enumerate(self.paper_ids)}
            return self._rows

    def vectors_of(self, paper_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The saved vectors of these papers (none when the index carries no vectors; unknown ids left out)."""
        if self.paper_vectors is None:
            return {}
        rows = self.rows()
        known = [pid for pid in paper_ids if pid in rows]
        block = np.asarray(self.paper_vectors[[rows[pid] for pid in known]])  # one read, not a memmap view per row
        return dict(zip(known, block, strict=True))

    def save(self, folder: Path, key: str) -> None:
        """Write the index to `folder` (which must not exist yet), labelled with the library state `key`."""
        folder.mkdir(parents=True)
        if self.paper_ids:
            self._model.save(str(folder / _MODEL), show_progress=False)
        if self.paper_vectors is not None:
            np.save(folder / _VECTORS, np.ascontiguousarray(self.paper_vectors, dtype=np.float32))
        lexicon = {"format": INDEX_FORMAT, "key": key, "paper_ids": self.paper_ids, "idf": self._idf}
        (folder / _LEXICON).write_text(json.dumps(lexicon, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, key: str) -> BM25Index | None:
        """The index saved in `folder` for the library state `key`; None when it is missing or for another state."""
        try:
            lexicon = json.loads((folder / _LEXICON).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(lexicon, dict) or lexicon.get("format") != INDEX_FORMAT or lexicon.get("key") != key:
            return None
        index = cls()
        index.paper_ids = [str(pid) for pid in lexicon["paper_ids"]]
        index._idf = {str(t): float(v) for t, v in lexicon["idf"].items()}
        if index.paper_ids:  # the score matrix is memory-mapped: opening costs no time, pages load on use
            index._model = bm25s.BM25.load(str(folder / _MODEL), mmap=True, show_progress=False)
        if (folder / _VECTORS).exists():
            vectors = np.load(folder / _VECTORS, mmap_mode="r")
            if vectors.shape[0] != len(index.paper_ids):
                return None
            index.paper_vectors = vectors
        return index


class IndexCache:
    """BM25 indexes of one library kept on disk, one per library state; only the newest is kept.

    A state is the library's fingerprint, which changes on every write by any process, so an index
    is reused only for the very papers it was built from. Writes go to a private folder renamed into
    place, so a reader never sees half an index; a damaged or unreadable cache is rebuilt, never fatal.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self, key: str) -> Path:
        return self.root / sha1(key.encode()).hexdigest()[:16]

    def load(self, key: str) -> BM25Index | None:
        """The saved index for this library state, if there is a readable one."""
        try:
            return BM25Index.load(self._folder(key), key)
        except Exception:  # bm25s/numpy raise many types on damaged files; the index is rebuilt instead
            return None

    def save(self, key: str, index: BM25Index) -> None:
        """Keep the index for this library state, and drop those of older states (best effort)."""
        target = self._folder(key)
        tmp = self.root / f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            index.save(tmp, key)
            if target.exists() and self.load(key) is None:  # an older format's (or a damaged) index of this state
                shutil.rmtree(target, ignore_errors=True)
            os.rename(tmp, target)  # fails if another process saved the same state first: theirs is kept
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            return
        for old in self.root.iterdir():
            if old != target and not old.name.startswith(".tmp-"):
                shutil.rmtree(old, ignore_errors=True)
