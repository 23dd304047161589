"""BM25 over whole papers (title + abstract) with bm25s."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from functools import cache
from typing import Any

import bm25s
import numpy as np

from assistant.types import Paper


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


class BM25Index:
    """A BM25 index of papers; search returns (paper_id, score) best first."""

    def __init__(self, papers: Sequence[Paper]) -> None:
        self.paper_ids = [p.paper_id for p in papers]
        self._model = bm25s.BM25()
        self._lock = threading.Lock()
        self._idf: dict[str, float] = {}
        if papers:
            tok = bm25s.tokenize(
                [f"{p.title}\n{p.abstract}" for p in papers], stopwords="en", stemmer=_stemmer(), show_progress=False
            )
            self._model.index(tok, show_progress=False)
            df = np.zeros(len(tok.vocab), dtype=np.int64)
            for ids in tok.ids:
                df[np.unique(np.asarray(ids, dtype=np.int64))] += 1
            n = len(papers)
            self._idf = {t: math.log(1 + (n - df[i] + 0.5) / (df[i] + 0.5)) for t, i in tok.vocab.items()}

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
                [known], k=min(n, len(self.paper_ids)), show_progress=False, n_threads=1
            )
        out = [(self.paper_ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True)]
        return [(pid, s) for pid, s in out if s > 0]
