"""Scale: the BM25 index saved beside the library (reused for the same library state, never for another),
reads of the whole library in pages, and search reading only the records it shows."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import SAMPLE_FILES, write_listing

from assistant import lexical, store
from assistant.chunking import chunk_paper
from assistant.embeddings import NamedEmbeddings
from assistant.lexical import BM25Index, IndexCache, query_terms
from assistant.paper_list import STAMP
from assistant.retrieval import Retriever
from assistant.settings import HOME_ENV, load_settings
from assistant.sources.listing import parse_listing
from assistant.store import Library
from assistant.types import Paper
from assistant.workspace import Workspace

QUERY = "how can a small model learn to call external tools"


def cache_root(ws: Workspace) -> Path:
    return ws.settings.cache_dir / "bm25" / ws.library.identity()


def saved_states(ws: Workspace) -> list[Path]:
    root = cache_root(ws)
    return sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.exists() else []


def other_papers(known: list[Paper], n: int) -> list[Paper]:
    """n sample papers that are not among `known`."""
    ids = {p.paper_id for p in known}
    return [p for p in parse_listing(SAMPLE_FILES[0]).papers if p.paper_id not in ids][:n]


def fresh_retriever(monkeypatch: pytest.MonkeyPatch, *, allow_listing: bool) -> tuple[Workspace, Retriever]:
    """A new workspace over the same home, as a new process would open it."""
    ws = Workspace(load_settings())
    if not allow_listing:
        def no_listing() -> list[Paper]:
            raise AssertionError("the index was rebuilt from every paper instead of loaded")

        monkeypatch.setattr(ws.library, "list_papers", no_listing)
    return ws, ws.retriever


def test_index_round_trip(tmp_path: Path, small_papers: list[Paper]) -> None:
    index = BM25Index(small_papers)
    index.save(tmp_path / "ix", "state-1")
    loaded = BM25Index.load(tmp_path / "ix", "state-1")
    assert loaded is not None and loaded.paper_ids == index.paper_ids
    for query in (QUERY, small_papers[2].title, "zzzz unknown words"):
        assert loaded.search(query, 5) == index.search(query, 5)
        assert loaded.ideal_score(query) == pytest.approx(index.ideal_score(query))
    term = next(iter(index._idf))
    assert loaded.idf(term) == index.idf(term)
    assert BM25Index.load(tmp_path / "ix", "state-2") is None  # saved for another library state
    assert BM25Index.load(tmp_path / "missing", "state-1") is None


def test_empty_index_round_trip(tmp_path: Path) -> None:
    BM25Index([]).save(tmp_path / "ix", "k")
    loaded = BM25Index.load(tmp_path / "ix", "k")
    assert loaded is not None and len(loaded) == 0 and loaded.search(QUERY, 5) == []


def test_search_reuses_the_saved_index(small_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    before = small_ws.search(QUERY, k=5, mode="bm25")
    assert before and len(saved_states(small_ws)) == 1
    ws, retriever = fresh_retriever(monkeypatch, allow_listing=False)
    assert ws.search(QUERY, k=5, mode="bm25") == before
    assert ws.search(QUERY, k=5) == small_ws.search(QUERY, k=5)  # hybrid too
    assert retriever.bm25().paper_ids == small_ws.retriever.bm25().paper_ids


def test_a_write_makes_a_new_index_and_drops_the_old(
    small_ws: Workspace, small_papers: list[Paper], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_ws.search(QUERY, mode="bm25")
    first = saved_states(small_ws)
    extra = other_papers(small_papers, 1)
    small_ws.ingest([write_listing(tmp_path / "more.txt", extra)])
    ws, _ = fresh_retriever(monkeypatch, allow_listing=True)
    hits = ws.search(extra[0].title, k=1, mode="bm25")
    assert hits[0].paper_id == extra[0].paper_id  # the new paper is in the index used
    now = saved_states(small_ws)
    assert len(now) == 1 and now != first
    ws.delete([extra[0].paper_id])
    assert extra[0].paper_id not in {h.paper_id for h in ws.search(extra[0].title, k=10, mode="bm25")}
    assert len(ws.retriever.bm25()) == len(small_papers)


def test_damaged_index_is_rebuilt(small_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    before = small_ws.search(QUERY, k=5, mode="bm25")
    (state,) = saved_states(small_ws)
    for npy in (state / "bm25s").glob("*.npy"):
        npy.write_bytes(b"not numpy")
    ws, _ = fresh_retriever(monkeypatch, allow_listing=True)
    assert ws.search(QUERY, k=5, mode="bm25") == before
    (state / "lexicon.json").write_text("{", encoding="utf-8")
    ws, _ = fresh_retriever(monkeypatch, allow_listing=True)
    assert ws.search(QUERY, k=5, mode="bm25") == before


def test_a_library_made_anew_never_reads_the_old_index(
    small_ws: Workspace, small_papers: list[Paper], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_ws.search(QUERY, mode="bm25")
    old_key, old_id = small_ws.library.fingerprint(), small_ws.library.identity()
    # the library folder deleted and made again while the cache stayed: a new home holding the old cache
    home = tmp_path / "again"
    shutil.copytree(small_ws.settings.cache_dir, home / "cache")
    monkeypatch.setenv(HOME_ENV, str(home))
    others = other_papers(small_papers, len(small_papers))
    ws = Workspace(load_settings())
    ws.ingest([write_listing(tmp_path / "others.txt", others)])
    assert ws.library.fingerprint() == old_key  # same count, same generation: the state key alone would clash
    assert ws.library.identity() != old_id
    assert set(ws.retriever.bm25().paper_ids) == {p.paper_id for p in others}


def test_save_keeps_the_first_of_two_writers(tmp_path: Path, small_papers: list[Paper]) -> None:
    cache = IndexCache(tmp_path)
    cache.save("k", BM25Index(small_papers[:2]))
    cache.save("k", BM25Index(small_papers))  # another process saved the same state first: theirs is kept
    loaded = cache.load("k")
    assert loaded is not None and len(loaded) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_an_older_formats_index_of_the_same_state_is_replaced(
    tmp_path: Path, small_papers: list[Paper], monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = IndexCache(tmp_path)
    monkeypatch.setattr(lexical, "INDEX_FORMAT", lexical.INDEX_FORMAT - 1)
    cache.save("k", BM25Index(small_papers[:2]))
    monkeypatch.undo()
    assert cache.load("k") is None  # an upgrade reads no older index...
    cache.save("k", BM25Index(small_papers))
    loaded = cache.load("k")  # ...and the one built next is kept, or every process would build it again
    assert loaded is not None and len(loaded) == len(small_papers)


def test_an_index_carries_its_papers_vectors(tmp_path: Path, small_papers: list[Paper]) -> None:
    index = BM25Index(small_papers)
    index.paper_vectors = np.arange(len(small_papers) * 3, dtype=np.float32).reshape(len(small_papers), 3)
    cache = IndexCache(tmp_path)
    cache.save("k", index)
    loaded = cache.load("k")
    assert loaded is not None and loaded.paper_vectors is not None
    ids = [p.paper_id for p in small_papers]
    assert {k: v.tolist() for k, v in loaded.vectors_of([*ids, "nope"]).items()} == \
        {pid: index.paper_vectors[i].tolist() for i, pid in enumerate(index.paper_ids)}


def test_reads_in_pages_return_everything(small_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = small_ws.library
    ids = lib.paper_ids()
    whole = ([p.paper_id for p in lib.list_papers()], lib.get_papers(ids), lib.existing([*ids, "nope"]),
             {k: v.tolist() for k, v in lib.paper_vectors(ids).items()}, lib.stats())
    monkeypatch.setattr(store, "READ_PAGE", 2)  # 5 papers, 2 per read
    paged = ([p.paper_id for p in lib.list_papers()], lib.get_papers(ids), lib.existing([*ids, "nope"]),
             {k: v.tolist() for k, v in lib.paper_vectors(ids).items()}, lib.stats())
    assert paged == whole and len(paged[0]) == len(ids) == 5 and paged[2] == set(ids)
    assert lib.repair() == 0


def test_rank_reads_records_only_for_the_papers_shown(small_ws: Workspace) -> None:
    full = small_ws.retriever.rank(QUERY, "hybrid", 5)
    light = small_ws.retriever.rank(QUERY, "hybrid", 5, records=2)
    assert [c.paper_id for c in light] == [c.paper_id for c in full] and len(full) == 5
    assert all(c.paper is not None for c in full)
    assert [c.paper is not None for c in light] == [True, True, False, False, False]
    assert light[0].paper == full[0].paper


def test_query_chunks_without_a_count(small_ws: Workspace, embedder: NamedEmbeddings, tmp_path: Path) -> None:
    vector = embedder.embed_query(QUERY)
    assert len(small_ws.library.query_chunks(vector, 1000)) == small_ws.stats().chunks  # more than there are
    empty = Library(small_ws.settings.with_overrides(store={"collection_prefix": "empty"}))
    assert empty.query_chunks(vector, 10) == []


@pytest.mark.slow
def test_a_library_past_sqlites_variable_limit() -> None:
    """Over 32,766 papers, one read of every record failed ('too many SQL variables'): reads are paged."""
    lib = Library(load_settings())
    rng = np.random.default_rng(0)
    n = 33_000
    for start in range(0, n, 3000):
        items = []
        for i in range(start, min(n, start + 3000)):
            paper = Paper(paper_id=f"p{i:06d}", title=f"Paper {i}", abstract=f"About topic {i % 97}.")
            vec = rng.standard_normal((1, 8)).astype(np.float32)  # small vectors: the limit is about records
            items.append((paper, chunk_paper(paper, lib.settings.chunking), vec / np.linalg.norm(vec)))
        lib.add_papers(items)
    assert len(lib.list_papers()) == n
    assert lib.repair() == 0
    assert len(lib.existing([f"p{i:06d}" for i in range(n + 5)])) == n


def sample_papers() -> list[Paper]:
    """The bundled sample's 282 papers, parsed (no library, no model)."""
    papers = {p.paper_id: p for path in SAMPLE_FILES for p in parse_listing(path).papers}
    return sorted(papers.values(), key=lambda p: p.title.casefold())


def test_pool_scores_equal_bm25s_own_scores_bit_for_bit(tmp_path: Path) -> None:
    papers = sample_papers()
    built = BM25Index(papers)
    built.save(tmp_path / "ix", "k")
    loaded = BM25Index.load(tmp_path / "ix", "k")  # memory-mapped, as searches use it
    assert loaded is not None
    rng = np.random.default_rng(7)
    queries = [
        "how can a small model learn to call external tools", "transformers", "retrieval augmented generation",
        "Cybench capture the flag tasks", "language model language model language", "zzzz unknown words",
        "the of and",  # stop words only
        *(papers[i].title for i in rng.choice(len(papers), 8, replace=False)),
        *(" ".join(papers[i].abstract.split()[5:25]) for i in rng.choice(len(papers), 8, replace=False)),
    ]
    ids = [p.paper_id for p in papers]
    some = [ids[i] for i in rng.permutation(len(ids))[:150]] + ["not-a-paper", ids[3], ids[3]]
    checked = 0
    for index in (built, loaded):
        for query in queries:
            known = [t for t in query_terms(query) if index.idf(t) is not None]
            every = index._model.get_scores(known) if known else np.zeros(len(ids), dtype=np.float32)
            expected = {pid: float(every[i]) for i, pid in enumerate(index.paper_ids)} if known else {}
            assert index.scores(query, ids) == expected  # every paper, exactly (float32 sums in the same order)
            assert index.scores(query, some) == {pid: expected[pid] for pid in some if pid in expected}
            checked += sum(v > 0 for v in expected.values())
    assert checked > 1000  # the queries do match many papers


def test_a_warm_search_reads_the_generation_not_the_count(fake_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ws.search(QUERY, k=5)  # builds the index
    library = fake_ws.library
    calls = {"count": 0, "generation": 0}

    def spy(name: str, real: Callable[[], Any]) -> Callable[[], Any]:
        def counted() -> Any:
            calls[name] += 1
            return real()

        return counted

    for name in calls:
        monkeypatch.setattr(library, name, spy(name, getattr(library, name)))
    for mode in ("hybrid", "bm25", "rrf"):
        assert fake_ws.search(QUERY, k=5, mode=mode)
    assert calls == {"count": 0, "generation": 0}  # the paper-list stamp is unchanged: no Chroma read at all
    Path(fake_ws.settings.data_dir, STAMP).unlink()  # no stamp (a server has none): the generation
    for mode in ("hybrid", "bm25", "rrf"):
        assert fake_ws.search(QUERY, k=5, mode=mode)
    assert calls == {"count": 0, "generation": 3}  # the count took 25 ms at 100k papers


def test_a_write_by_another_process_is_seen_though_the_stamp_was_remembered(
    fake_ws: Workspace, small_papers: list[Paper]
) -> None:
    extra = other_papers(small_papers, 1)[0]
    assert extra.paper_id not in {h.paper_id for h in fake_ws.search(extra.title, k=5, mode="bm25")}
    other = Workspace(fake_ws.settings)  # another process: its own Library and Retriever, the same folder
    chunks = chunk_paper(extra, other.settings.chunking)
    vectors = np.asarray(fake_ws.embedder.embed_documents([c.embedding_text() for c in chunks]), dtype=np.float32)
    other.library.add_papers([(extra, chunks, vectors)])
    assert fake_ws.search(extra.title, k=1, mode="bm25")[0].paper_id == extra.paper_id
    assert other.delete([extra.paper_id]) == 1
    assert extra.paper_id not in {h.paper_id for h in fake_ws.search(extra.title, k=5, mode="bm25")}


class Killed(BaseException):
    """The writing process dies here."""


def test_a_writer_killed_before_its_last_bump_is_seen_by_the_next_search(
    fake_ws: Workspace, small_papers: list[Paper], monkeypatch: pytest.MonkeyPatch
) -> None:
    library = fake_ws.library
    extra = other_papers(small_papers, 1)[0]
    assert extra.paper_id not in {h.paper_id for h in fake_ws.search(extra.title, k=5, mode="bm25")}
    real_bump, real_upsert = library._bump_generation, library._papers.upsert
    written: list[int] = []

    def upsert(**kwargs: Any) -> None:
        real_upsert(**kwargs)
        written.append(1)

    def bump() -> None:
        if written:  # after the paper records
            raise Killed
        real_bump()

    monkeypatch.setattr(library._papers, "upsert", upsert, raising=False)
    monkeypatch.setattr(library, "_bump_generation", bump)
    chunks = chunk_paper(extra, fake_ws.settings.chunking)
    vectors = np.asarray(fake_ws.embedder.embed_documents([c.embedding_text() for c in chunks]), dtype=np.float32)
    with pytest.raises(Killed):
        library.add_papers([(extra, chunks, vectors)])  # the paper record is written, the last bump never comes
    assert fake_ws.search(extra.title, k=1, mode="bm25")[0].paper_id == extra.paper_id
