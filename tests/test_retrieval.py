"""Search over the sample library in every mode: ranking, scores, snippets, limits and errors."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, get_args

import numpy as np
import pytest

from assistant.choices import SearchMode
from assistant.errors import LitReviewError
from assistant.evaluation.datasets import RetrievalCase, load_jsonl, project_evals_dir
from assistant.retrieval import Candidate, snippet
from assistant.store import SEARCH_EF
from assistant.text import split_sentences
from assistant.types import SearchHit
from assistant.workspace import Workspace

MODES = get_args(SearchMode)
QUERY = "how can a small model learn to call external tools"


def check_hits(ws: Workspace, hits: list[SearchHit], k: int) -> None:
    assert len(hits) == k
    assert [h.rank for h in hits] == list(range(1, k + 1))
    assert len({h.paper_id for h in hits}) == k
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    papers = ws.get_papers([h.paper_id for h in hits])
    for h in hits:
        paper = papers[h.paper_id]
        assert h.title == paper.title and h.year == paper.year
        assert h.snippet and len(h.snippet) <= 300
        assert h.snippet.removesuffix("…") in paper.abstract


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_ranks_papers(sample_ws: Workspace, mode: str) -> None:
    hits = sample_ws.search(QUERY, k=5, mode=mode)  # type: ignore[arg-type]
    check_hits(sample_ws, hits, 5)
    if mode in ("dense", "hybrid"):
        assert all(h.dense_score is not None and -1.0 <= h.dense_score <= 1.0 for h in hits)
    if mode == "dense":
        assert [h.score for h in hits] == [h.dense_score for h in hits]
    if mode == "bm25":
        assert all(h.bm25_score is not None and h.bm25_score > 0 and h.dense_score is None for h in hits)
        assert [h.score for h in hits] == [h.bm25_score for h in hits]
    tool_papers = [h for h in hits if "tool" in h.title.casefold()]
    assert tool_papers, [h.title for h in hits]


def test_verbatim_sentences_put_their_paper_first(sample_ws: Workspace) -> None:
    papers = sample_ws.papers()
    chosen = papers[::12]  # a fixed spread over the library: the longest sentence of each abstract
    assert len(chosen) >= 20
    for paper in chosen:
        sentence = max(split_sentences(paper.abstract), key=len)
        for mode in ("bm25", "hybrid"):
            hits = sample_ws.search(sentence, k=3, mode=mode)  # type: ignore[arg-type]
            assert hits[0].paper_id == paper.paper_id, (mode, sentence, [h.title for h in hits])
        bm25_hit = sample_ws.search(sentence, k=1, mode="bm25")[0]
        assert sentence.startswith(bm25_hit.snippet.removesuffix("…"))  # the matching sentence is the snippet


def test_query_variants_that_mean_the_same(sample_ws: Workspace) -> None:
    a = sample_ws.search(QUERY, k=5)
    b = sample_ws.search(f"  {QUERY.upper()}\n\t ", k=5)
    assert [h.paper_id for h in a] == [h.paper_id for h in b]


def test_the_pool_holds_the_exact_nearest_chunks(sample_ws: Workspace) -> None:
    """Chroma's approximate search misses a few of the nearest chunks, not the same ones in every process;
    the pool (and so every hybrid score standardised over it) must not depend on those misses."""
    stored = sample_ws.library._chunks.get(include=["embeddings"])
    vectors = np.asarray(stored["embeddings"], dtype=np.float32)
    retriever = sample_ws.retriever
    wanted = retriever.settings.candidates * 3
    cases = load_jsonl(project_evals_dir() / "retrieval_dev.jsonl", RetrievalCase)
    for case in cases[::2]:  # 51 queries: with the former search beam (200) about one in ten missed a chunk
        q = np.asarray(retriever.embedder.embed_query(case.query), dtype=np.float32)
        exact = {stored["ids"][i] for i in np.argsort(-(vectors @ q))[:wanted]}
        pool = retriever.pool(case.query, "dense", retriever.settings.candidates)
        assert {m.chunk_id for c in pool for m in c.chunks} == exact, case.query


def test_a_library_made_with_a_narrower_search_beam_is_widened_when_opened() -> None:
    Workspace().library._chunks._collection.modify(configuration={"hnsw": {"ef_search": 200}})
    assert Workspace().library._chunks._collection.configuration["hnsw"]["ef_search"] == SEARCH_EF


@pytest.mark.parametrize("k", [1, 3, 17, 60])
def test_k_is_respected(sample_ws: Workspace, k: int) -> None:
    check_hits(sample_ws, sample_ws.search(QUERY, k=k, mode="hybrid"), k)


def test_default_k_and_mode_come_from_settings(sample_ws: Workspace) -> None:
    settings = sample_ws.settings.with_overrides(retrieval={"k": 7, "mode": "bm25"})
    hits = Workspace(settings).search(QUERY)
    assert len(hits) == 7 and all(h.dense_score is None for h in hits)


@pytest.mark.parametrize("query", ["", "   ", "\n\t  \n"])
def test_empty_query_is_an_error(sample_ws: Workspace, query: str) -> None:
    with pytest.raises(LitReviewError, match="empty"):
        sample_ws.search(query)


def test_huge_query_is_a_clear_error(sample_ws: Workspace) -> None:
    with pytest.raises(LitReviewError, match=r"50000 characters long; the limit is \d+"):
        sample_ws.search("x" * 50_000)


@pytest.mark.parametrize("mode", MODES)
def test_search_on_an_empty_library(mode: str) -> None:
    ws = Workspace()
    assert ws.search(QUERY, mode=mode) == []  # type: ignore[arg-type]
    assert ws.library.count() == 0


def test_a_query_matching_no_word_in_bm25_mode(sample_ws: Workspace) -> None:
    assert sample_ws.search("qwxzv plmkj", mode="bm25") == []
    assert len(sample_ws.search("qwxzv plmkj", k=3, mode="dense")) == 3


def test_search_follows_library_changes(sample_ws: Workspace) -> None:
    top = sample_ws.search(QUERY, k=1, mode="bm25")[0]
    assert sample_ws.delete([top.paper_id]) == 1
    for mode in MODES:
        hits = sample_ws.search(QUERY, k=10, mode=mode)  # type: ignore[arg-type]
        assert top.paper_id not in {h.paper_id for h in hits}


SNAPSHOT_QUERIES = ["transformers", "low-rank adaptation of large language models",
                    "benchmarks for agents that use tools", "scaling laws for compute"]


def _ranked(ws: Workspace, query: str) -> list[tuple[str, float, float | None]]:
    return [(c.paper_id, c.rank_score, c.paper_sim) for c in ws.retriever.rank(query, "hybrid", 50, records=0)]


def test_the_saved_paper_vectors_change_no_search(sample_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    index = sample_ws.retriever.bm25()
    assert index.paper_vectors is not None and index.paper_vectors.shape[0] == len(index.paper_ids)
    fast = {q: _ranked(sample_ws, q) for q in SNAPSHOT_QUERIES}
    monkeypatch.setattr(index, "paper_vectors", None)  # the old path: ids and vectors read from Chroma
    assert {q: _ranked(sample_ws, q) for q in SNAPSHOT_QUERIES} == fast


def test_a_warm_hybrid_search_reads_no_ids_or_vectors_from_chroma(
    sample_ws: Workspace, monkeypatch: pytest.MonkeyPatch,
) -> None:
    library = sample_ws.retriever.library
    sample_ws.retriever.bm25()

    def refuse(*_: object) -> None:
        raise AssertionError("read from Chroma")

    monkeypatch.setattr(library, "existing", refuse)
    monkeypatch.setattr(library, "paper_vectors", refuse)
    assert sample_ws.search("low-rank adaptation of large language models", k=10)



def test_the_ids_only_chunk_query_changes_no_search(sample_ws: Workspace) -> None:
    """A search asks Chroma for the nearest chunks' ids and distances only (their paper read from the id), then
    reads the texts of the shown papers' nearest chunks: the same chunks, papers and similarities as the query
    that read every chunk's text and metadata, and each snippet from the nearest of them, as before."""
    library = sample_ws.library
    retriever = sample_ws.retriever
    cases = load_jsonl(project_evals_dir() / "retrieval_dev.jsonl", RetrievalCase)
    checked = 0
    for query in [c.query for c in cases[::6]] + SNAPSHOT_QUERIES:
        vector = retriever.embedder.embed_query(query)
        full = library.query_chunks(vector, 150)
        assert len(full) == 150
        assert [(m.chunk_id, m.paper_id, m.similarity) for m in full] == [
            (h.chunk_id, h.paper_id, h.similarity) for h in library.nearest_chunks(vector, 150)]
        for mode in ("hybrid", "dense", "rrf"):
            hits = sample_ws.search(query, k=10, mode=mode)  # type: ignore[arg-type]
            papers = sample_ws.get_papers([h.paper_id for h in hits])
            for h in hits:
                own = [m for m in full if m.paper_id == h.paper_id]
                text = max(own, key=lambda m: m.similarity).text if own else None
                checked += text is not None
                expected = snippet(query, Candidate(h.paper_id, best_text=text), papers[h.paper_id])
                assert h.snippet == expected, (query, mode, h.title)
    assert checked > 100  # most shown papers had a chunk among the nearest


def test_reads_run_beside_each_other_change_no_search(sample_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """A search's independent reads overlap on a second thread (assistant/threads.py): run one after another on
    the caller's thread instead, every mode gives the same papers, scores and snippets."""
    import assistant.retrieval as retrieval

    queries = [c.query for c in load_jsonl(project_evals_dir() / "retrieval_dev.jsonl", RetrievalCase)[::9]]
    modes = get_args(SearchMode)
    overlapped = {(q, m): sample_ws.search(q, k=10, mode=m) for q in queries for m in modes}
    ran_here: list[str] = []

    def in_turn(fn: Any, *args: Any) -> Future[Any]:
        ran_here.append(fn.__name__)
        done: Future[Any] = Future()
        done.set_result(fn(*args))
        return done

    monkeypatch.setattr(retrieval, "beside", in_turn)
    assert {(q, m): sample_ws.search(q, k=10, mode=m) for q in queries for m in modes} == overlapped
    assert {"chunk_texts", "_papers_and_bm25"} <= set(ran_here)  # both overlaps were taken back
