"""Abstracts cut into overlapping, token-bounded chunks that fit MiniLM's input."""

from __future__ import annotations

import itertools

import pytest
from helpers import SAMPLE_FILES

from assistant.chunking import chunk_paper
from assistant.embeddings import MiniLMEmbeddings, NamedEmbeddings
from assistant.identity import PaperIndex, paper_id_for
from assistant.settings import ChunkSettings
from assistant.sources.listing import parse_listing
from assistant.tokens import count_tokens
from assistant.types import Paper

TITLE = "Sparse Mixture Adapters for Multilingual Fine-Tuning"
SENTENCES = [f"Finding number {i} concerns adapter {i} and language group {i % 7}." for i in range(60)]


def paper(abstract: str, title: str = TITLE) -> Paper:
    return Paper(paper_id=paper_id_for(title), title=title, abstract=abstract)


def test_short_abstract_is_one_chunk() -> None:
    p = paper("A short abstract about adapters.")
    [chunk] = chunk_paper(p, ChunkSettings())
    assert (chunk.chunk_id, chunk.index, chunk.n_chunks) == (f"{p.paper_id}:0", 0, 1)
    assert (chunk.paper_id, chunk.title, chunk.text) == (p.paper_id, TITLE, p.abstract)
    assert chunk.embedding_text() == f"{TITLE}\n\nA short abstract about adapters."


def test_empty_abstract_gives_the_title() -> None:
    [chunk] = chunk_paper(paper(""), ChunkSettings())
    assert chunk.text == TITLE and chunk.n_chunks == 1


def test_long_abstract_is_cut_into_bounded_overlapping_chunks() -> None:
    p = paper(" ".join(SENTENCES))
    settings = ChunkSettings(chunk_tokens=80, overlap_tokens=20)
    chunks = chunk_paper(p, settings)
    assert len(chunks) >= 5
    assert [c.chunk_id for c in chunks] == [f"{p.paper_id}:{i}" for i in range(len(chunks))]
    assert all(c.n_chunks == len(chunks) and c.title == TITLE for c in chunks)
    assert all(count_tokens(c.text) <= 80 and c.text in p.abstract for c in chunks)
    for sentence in SENTENCES:  # nothing is lost
        assert any(sentence in c.text for c in chunks)
    for prev, nxt in itertools.pairwise(chunks):  # each chunk starts inside the previous one
        first_sentence = nxt.text.split(". ")[0]
        assert first_sentence in prev.text
        assert nxt.text not in prev.text


def test_no_overlap_when_overlap_is_zero() -> None:
    p = paper(" ".join(SENTENCES))
    chunks = chunk_paper(p, ChunkSettings(chunk_tokens=80, overlap_tokens=0))
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.text.split(". ")[0] not in prev.text
    assert " ".join(c.text for c in chunks) == p.abstract


# --------------------------------------------------------------------------- the sample library


@pytest.fixture(scope="module")
def sample_papers() -> list[Paper]:
    index = PaperIndex(p for path in SAMPLE_FILES for p in parse_listing(path).papers)
    return list(index.papers.values())


def test_every_sample_chunk_fits_minilm(sample_papers: list[Paper], embedder: NamedEmbeddings) -> None:
    assert isinstance(embedder, MiniLMEmbeddings)
    limit = min(256, embedder.max_seq_length)
    sizes = [
        embedder.count_word_pieces(c.embedding_text())
        for p in sample_papers
        for c in chunk_paper(p, ChunkSettings())
    ]
    assert len(sizes) > len(sample_papers)
    assert max(sizes) <= limit


def test_sample_long_abstracts_have_several_chunks(sample_papers: list[Paper]) -> None:
    longest = max(sample_papers, key=lambda p: count_tokens(p.abstract))
    chunks = chunk_paper(longest, ChunkSettings())
    assert count_tokens(longest.abstract) > 2 * 160 and len(chunks) >= 3
    assert [c.chunk_id for c in chunks] == [f"{longest.paper_id}:{i}" for i in range(len(chunks))]
    multi = [p for p in sample_papers if len(chunk_paper(p, ChunkSettings())) > 1]
    assert len(multi) > 100
    for p in multi:
        for c in chunk_paper(p, ChunkSettings()):
            assert c.text in p.abstract and c.title == p.title
