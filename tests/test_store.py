"""The Chroma library (real; embedded and on a `chroma run` server): whole-paper writes, reads, repair."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import SampleBuild

from assistant.chunking import chunk_paper
from assistant.embeddings import MINILM_NAME, NamedEmbeddings
from assistant.errors import EmbeddingMismatchError, StoreError
from assistant.settings import Settings, load_settings
from assistant.store import Library, make_client
from assistant.types import Chunk, Paper
from assistant.workspace import Workspace

Item = tuple[Paper, list[Chunk], np.ndarray]


def embedded(papers: list[Paper], embedder: NamedEmbeddings, settings: Settings) -> list[Item]:
    """Papers chunked and embedded, ready for Library.add_papers."""
    items = []
    for p in papers:
        chunks = chunk_paper(p, settings.chunking)
        vectors = np.asarray(embedder.embed_documents([c.embedding_text() for c in chunks]), dtype=np.float32)
        items.append((p, chunks, vectors))
    return items


@pytest.fixture
def library() -> Library:
    return Library(load_settings())


def test_add_get_list_delete(library: Library, small_papers: list[Paper], fake_embedder: NamedEmbeddings,
                             store_mode: str) -> None:
    items = embedded(small_papers, fake_embedder, library.settings)
    assert library.count() == 0 and library.list_papers() == []
    library.add_papers(items)
    assert library.count() == len(small_papers)
    assert sorted(library.paper_ids()) == sorted(p.paper_id for p in small_papers)
    assert library.list_papers() == sorted(small_papers, key=lambda p: p.title.casefold())
    first, second = small_papers[0], small_papers[1]
    assert library.get_papers([first.paper_id, "p-unknown", first.paper_id]) == {first.paper_id: first}
    assert library.chunks_of(first.paper_id) == items[0][1]
    vec = library.paper_vectors([first.paper_id])[first.paper_id]
    assert vec.shape == (fake_embedder.dimension,) and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4

    assert library.delete_papers([second.paper_id, "p-unknown"]) == 1
    assert library.count() == len(small_papers) - 1
    assert library.get_papers([second.paper_id]) == {}
    assert library.chunks_of(second.paper_id) == []
    assert library.delete_papers([second.paper_id]) == 0
    stats = library.stats()
    assert stats.chunks == sum(len(c) for p, c, _ in items if p.paper_id != second.paper_id)
    assert (stats.backend, stats.embedding_model) == (f"chroma-{store_mode}", MINILM_NAME)


def test_rewriting_a_paper_drops_its_stale_chunks(library: Library, small_papers: list[Paper],
                                                  fake_embedder: NamedEmbeddings) -> None:
    paper = small_papers[0]
    [(p, chunks, vectors)] = embedded([paper], fake_embedder, library.settings)
    assert len(chunks) > 1
    library.add_papers([(p, chunks, vectors)])
    shorter = paper.model_copy(update={"abstract": paper.abstract[:200]})
    library.add_papers(embedded([shorter], fake_embedder, library.settings))
    assert [c.text for c in library.chunks_of(paper.paper_id)] == [shorter.abstract]
    assert library.get_papers([paper.paper_id])[paper.paper_id].abstract == shorter.abstract
    assert library.stats().chunks == 1


def test_chunks_and_vectors_must_match(library: Library, small_papers: list[Paper],
                                       fake_embedder: NamedEmbeddings) -> None:
    [(p, chunks, vectors)] = embedded(small_papers[:1], fake_embedder, library.settings)
    with pytest.raises(StoreError, match="chunks but"):
        library.add_papers([(p, chunks, vectors[:-1])])
    assert library.count() == 0 and library.stats().chunks == 0


def test_update_records_keeps_vectors(library: Library, small_papers: list[Paper],
                                      fake_embedder: NamedEmbeddings) -> None:
    library.add_papers(embedded(small_papers[:2], fake_embedder, library.settings))
    paper = small_papers[0]
    before = library.paper_vectors([paper.paper_id])[paper.paper_id]
    library.update_records([paper.model_copy(update={"doi": "10.1/test", "sources": ("a.txt", "b.bib")})])
    stored = library.get_papers([paper.paper_id])[paper.paper_id]
    assert (stored.doi, stored.sources) == ("10.1/test", ("a.txt", "b.bib"))
    assert np.allclose(library.paper_vectors([paper.paper_id])[paper.paper_id], before)
    assert library.stats().sources == {"a.txt": 1, "b.bib": 1, small_papers[1].sources[0]: 1}


def test_fingerprint_changes_after_each_write(library: Library, small_papers: list[Paper],
                                              fake_embedder: NamedEmbeddings) -> None:
    seen = [library.fingerprint()]
    library.add_papers(embedded(small_papers[:2], fake_embedder, library.settings))
    seen.append(library.fingerprint())
    library.list_papers()
    assert library.fingerprint() == seen[-1]  # reading changes nothing
    library.update_records([small_papers[0].model_copy(update={"year": 2020})])
    seen.append(library.fingerprint())
    library.delete_papers([small_papers[1].paper_id])
    seen.append(library.fingerprint())
    assert len(set(seen)) == 4
    assert Library(library.settings).fingerprint() == seen[-1]  # another handle sees the same


def test_other_embedding_model_configured(small_ws: Workspace) -> None:
    other = small_ws.settings.with_overrides(embedding={"provider": "openai"})
    with pytest.raises(EmbeddingMismatchError, match="built with embedding model 'sentence-transformers"):
        Library(other)


def test_library_built_by_another_model(small_ws: Workspace) -> None:
    settings = small_ws.settings.with_overrides(store={"collection_prefix": "other"})
    client = make_client(settings)
    meta = {"hnsw:space": "cosine", "embedding_model": "openai/text-embedding-3-large", "schema": 1}
    client.get_or_create_collection("other-papers", embedding_function=None, metadata=meta)
    with pytest.raises(EmbeddingMismatchError, match="'openai/text-embedding-3-large' but"):
        Library(settings)
    assert small_ws.library.count() == 5  # the default collections are unaffected


def test_repair_removes_orphan_chunks(small_ws: Workspace, embedder: NamedEmbeddings) -> None:
    """Chunks written by an ingest killed before the paper record are never shown, then swept."""
    lib = small_ws.library
    chunks_before = lib.stats().chunks
    orphan_text = "Orphaned chunk about zebra migration telemetry in the Serengeti."
    vector = embedder.embed_query(orphan_text)
    prefix = small_ws.settings.store.collection_prefix
    chroma_chunks = make_client(small_ws.settings).get_collection(f"{prefix}-chunks")
    chroma_chunks.add(
        ids=["porphan00000:0", "porphan00000:1"], embeddings=[vector, vector], documents=[orphan_text] * 2,
        metadatas=[{"paper_id": "porphan00000", "title": "Zebra", "index": i, "n_chunks": 3} for i in (0, 1)],
    )
    assert lib.query_chunks(vector, 1)[0].paper_id == "porphan00000"  # really there, and nearest
    for mode in ("dense", "hybrid", "rrf", "bm25"):
        hits = small_ws.search(orphan_text, k=10, mode=mode)  # type: ignore[arg-type]
        assert all(h.paper_id != "porphan00000" for h in hits)
    assert lib.count() == 5
    assert lib.repair() == 2
    assert lib.stats().chunks == chunks_before
    assert lib.query_chunks(vector, 1)[0].paper_id != "porphan00000"
    assert lib.repair() == 0


def test_copied_sample_library_is_whole(sample_ws: Workspace, sample_build: SampleBuild) -> None:
    lib = sample_ws.library
    assert lib.count() == 282 and lib.stats().chunks == sample_build.report.chunks_added
    assert lib.list_papers() == list(sample_build.papers)
    for paper in sample_build.papers[::40]:
        chunk = lib.chunks_of(paper.paper_id)[-1]
        vector = sample_ws.embedder.embed_documents([chunk.embedding_text()])[0]
        best = lib.query_chunks(vector, 1)[0]
        assert (best.chunk_id, best.text) == (chunk.chunk_id, chunk.text)
        assert best.similarity > 0.999
