"""MiniLM run on torch alone gives sentence-transformers' own vectors, so nothing it ranks changes.

sentence-transformers stays installed (requirements.lock) as the reference these tests compare with;
litreview itself imports neither it nor transformers' model code (together ~4-6 s CPU of a cold search).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.embeddings import CachedEmbeddings, MiniLMEmbeddings, NamedEmbeddings
from assistant.offline import MINILM_NAME, minilm_dir
from assistant.workspace import Workspace

# Identity against a second implementation (loading sentence-transformers, encoding everything twice): CI
# runs it (`make test` runs every marker); the quick subset leaves it out.
pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[1] / "assistant" / "data" / "sample"
QUERIES = ("how can a small model learn to call external tools", "transformers", "retrieval augmented generation",
           "Cybench capture the flag tasks", "quantization of large language models to 4 bits",
           "Which benchmarks measure long-context reasoning, and how do models fail on them?")


class SentenceTransformerEmbeddings(NamedEmbeddings):
    """The reference: the same files loaded and encoded by sentence-transformers, as litreview used to."""

    name = MINILM_NAME
    dimension = 384

    def __init__(self, batch_size: int = 16) -> None:
        from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        self.model = SentenceTransformer(str(minilm_dir()), device="cpu", local_files_only=True)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


@pytest.fixture(scope="module")
def reference() -> SentenceTransformerEmbeddings:
    return SentenceTransformerEmbeddings()


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbeddings:
    return MiniLMEmbeddings()


def varied_texts() -> list[str]:
    """Empty, one word, long past 256 word pieces, unicode, whitespace, and mixed lengths (several batches)."""
    words = " ".join(p.read_text(encoding="utf-8") for p in sorted(SAMPLE.glob("*.txt"))[:2]).split()
    texts = ["", "a", "Short.", "transformers", "  leading and trailing spaces  ", "\n\ttabs\nand newlines\n",
             "Café naïve coöperation — 東京 日本語のテキスト 🤖 Ελληνικά Русский اللغة العربية",
             " ".join(words[:400]), " ".join(words[500:1100]), "x" * 3000, "The the the " * 200]
    texts += [" ".join(words[i : i + n]) for i, n in zip(range(0, 4000, 61), [3, 12, 50, 120, 200, 255, 300, 7] * 9,
                                                           strict=False)]
    return texts


def test_vectors_are_sentence_transformers_own_bit_for_bit(minilm: MiniLMEmbeddings,
                                                          reference: SentenceTransformerEmbeddings) -> None:
    texts = varied_texts()
    assert max(minilm.count_word_pieces(t) for t in texts) > 2 * minilm.max_seq_length  # truncation is exercised
    assert minilm.max_seq_length == reference.model.max_seq_length == 256
    together = minilm.encode(texts)
    expected = reference.encode(texts)
    assert together.shape == (len(texts), 384) and together.dtype == np.float32
    assert np.array_equal(together, expected), float(np.abs(together - expected).max())
    for text in (texts[0], texts[3], texts[6], texts[7]):  # one text alone: the query path
        assert np.array_equal(minilm.encode([text]), reference.encode([text])), text[:40]
    assert minilm.embed_query(texts[3]) == reference.embed_query(texts[3])
    assert minilm.embed_documents([]) == [] and minilm.encode([]).shape == (0, 384)


def test_the_sample_library_holds_the_vectors_sentence_transformers_makes(
        module_sample_ws: Workspace, reference: SentenceTransformerEmbeddings) -> None:
    library = module_sample_ws.library
    chunks = {c.chunk_id: c for c in sorted(library.all_chunks(), key=lambda c: c.chunk_id)[:64]}
    got = library._chunks.get(ids=list(chunks), include=["embeddings"])
    stored = np.asarray(got["embeddings"], dtype=np.float32)
    expected = reference.encode([chunks[cid].embedding_text() for cid in got["ids"]])
    # ingest batched these chunks with others: padding differs, so not bit for bit (about 1e-7 apart)
    np.testing.assert_allclose(stored, expected, rtol=0, atol=1e-6)


def test_searches_and_answers_are_those_of_sentence_transformers(
        module_sample_ws: Workspace, reference: SentenceTransformerEmbeddings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CachedEmbeddings, "capacity", 0)  # both share MINILM_NAME's memory: remember nothing

    def run(ws: Workspace) -> tuple[dict[tuple[str, str], object], dict[str, object]]:
        hits = {(q, m): ws.search(q, k=10, mode=m) for q in QUERIES for m in ("hybrid", "dense", "rrf")}
        answers = {q: (a.answer, a.citations, a.sentences, a.refused, a.strength, a.contexts)
                   for q in QUERIES for a in [ws.ask(q)]}
        return hits, answers

    module_sample_ws.embedder.forget()
    ours = run(module_sample_ws)
    assert isinstance(module_sample_ws.embedder.inner, MiniLMEmbeddings)
    theirs = run(Workspace(module_sample_ws.settings, embedder=reference))
    assert ours == theirs
