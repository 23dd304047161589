"""Synthetic libraries for the scale benchmark, and the sentence-mean stand-in for MiniLM encode.

A synthetic paper is a random draw of 5-9 sentences from the sample library's abstracts (read with
the project's own listing parser), titled after a random sample title plus a unique serial. The
corpus is written as JSONL parts of 10,000 papers; part 0 starts with the 282 sample papers, so the
10k library is part 0 and the 100k library is parts 0-9 (same seed, same papers).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.embeddings import MINILM_NAME, NamedEmbeddings
from assistant.ingest import sample_dir
from assistant.sources.listing import parse_listing
from assistant.text import quick_sentences
from assistant.types import Paper

PART_SIZE = 10_000
SEED = 20261130
_SERIAL = re.compile(r" — S\d{6}$")
_CLEAN_START = re.compile(r"^[A-Z0-9(\"']")


def sample_papers() -> list[Paper]:
    """The bundled sample library, parsed as `ingest --sample` parses it."""
    papers: dict[str, Paper] = {}
    for path in sorted(sample_dir().glob("*.txt")):
        for p in parse_listing(path).papers:
            papers.setdefault(p.paper_id, p)
    return list(papers.values())


def sentence_pool(papers: Sequence[Paper]) -> list[str]:
    """Whole sentences of the sample abstracts that re-split exactly when joined with a space."""
    pool: dict[str, None] = {}
    for p in papers:
        for s in quick_sentences(p.abstract):
            if len(s) >= 20 and s[-1] in ".!?" and _CLEAN_START.match(s):
                pool.setdefault(s, None)
    return list(pool)


@dataclass(frozen=True)
class Corpus:
    """Where the JSONL parts are, and what the synthetic papers were made of."""

    parts: list[Path]
    sentences: list[str]
    titles: list[str]
    papers: int


def write_corpus(folder: Path, total: int, seed: int = SEED) -> Corpus:
    """Write `total` papers (the sample first, then synthetic ones) as JSONL parts of PART_SIZE."""
    folder.mkdir(parents=True, exist_ok=True)
    sample = sample_papers()
    pool = sentence_pool(sample)
    titles = [p.title for p in sample]
    rng = random.Random(seed)
    records: list[dict[str, object]] = [
        {"title": p.title, "abstract": p.abstract, "authors": list(p.authors), "year": p.year} for p in sample
    ]
    serial = 0
    while len(records) < total:
        serial += 1
        sentences = rng.sample(pool, rng.randint(5, 9))
        records.append({
            "title": f"{rng.choice(titles)} — S{serial:06d}",
            "abstract": " ".join(sentences),
            "authors": [f"Author {rng.randint(1, 5000)}", f"Author {rng.randint(1, 5000)}"],
            "year": rng.choice([2023, 2024, 2025]),
        })
    parts = []
    for n, start in enumerate(range(0, total, PART_SIZE)):
        path = folder / f"part-{n:02d}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for rec in records[start : start + PART_SIZE]:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        parts.append(path)
    return Corpus(parts=parts, sentences=pool, titles=titles, papers=len(records))


class SentenceMeanEmbeddings(NamedEmbeddings):
    """A stand-in for MiniLM encode at 100k papers: a chunk's vector is the normalised mean of the
    real MiniLM vectors of its sentences and of the sample title its title was drawn from.

    Every sample sentence and title is encoded once, for real; a piece of a chunk that is not a
    known sentence (a chunk cut inside a sentence) is encoded for real too and counted. Queries go
    to the real model. It carries MiniLM's name, so the library it builds is a MiniLM library.
    """

    name = MINILM_NAME
    dimension = 384

    def __init__(self, real: NamedEmbeddings, sentences: Sequence[str], titles: Sequence[str]) -> None:
        self.real = real
        t0 = time.perf_counter()
        keys = list(dict.fromkeys([*sentences, *titles]))
        vectors = np.asarray(real.embed_documents(keys), dtype=np.float32)
        self.table: dict[str, np.ndarray] = dict(zip(keys, vectors, strict=True))
        self.table_s = time.perf_counter() - t0
        self.table_size = len(keys)
        self.seconds = 0.0  # wall time spent inside embed_documents
        self.cpu_seconds = 0.0  # and the process's CPU time meanwhile
        self.pieces = 0
        self.unknown = 0  # pieces encoded for real
        self.unknown_s = 0.0

    def _vector(self, text: str) -> np.ndarray:
        title, _, body = text.partition("\n\n")
        parts = [_SERIAL.sub("", title), *quick_sentences(body)]
        vecs = []
        for piece in parts:
            self.pieces += 1
            vec = self.table.get(piece)
            if vec is None:
                t0 = time.perf_counter()
                vec = np.asarray(self.real.embed_query(piece), dtype=np.float32)
                self.unknown_s += time.perf_counter() - t0
                self.table[piece] = vec
                self.unknown += 1
            vecs.append(vec)
        mean = np.mean(vecs, axis=0)
        return mean / (float(np.linalg.norm(mean)) or 1.0)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Stand-in vectors for chunk texts (title, blank line, chunk)."""
        t0, c0 = time.perf_counter(), time.process_time()
        out = [self._vector(t).tolist() for t in texts]
        self.seconds += time.perf_counter() - t0
        self.cpu_seconds += time.process_time() - c0
        return out

    def embed_query(self, text: str) -> list[float]:
        """The real MiniLM query vector."""
        return self.real.embed_query(text)
