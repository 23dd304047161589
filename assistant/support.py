"""The support check: is each sentence of an answer backed by the sources it cites?

A sentence passes when it cites at least one source, every number it states appears in a cited
source, and its content terms are found there: most of them, or half of them when the sentence
also means nearly the same as one cited sentence (MiniLM cosine). Copying passes; paraphrase passes
when it keeps the meaning; an invented number, name or link fails.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from assistant.citations import cited_in, strip_markers
from assistant.embeddings import NamedEmbeddings
from assistant.evidence import TermWeights, numbers_in, quantities_in
from assistant.settings import AnswerSettings
from assistant.text import split_sentences
from assistant.types import SentenceCheck, Source

_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'“\[*])|\n+")
_ONLY_MARKERS = re.compile(r"^(?:\[[^\]]*\]\s*)+[.!?]?$")
_LEADING_MARKERS = re.compile(r"^(?:\[[^\]]*\]\s*)+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_LIST_NUMBER = re.compile(r"^\d+[.)]$")  # "1." cut off a numbered list item by the split


def answer_sentences(text: str) -> list[str]:
    """An answer cut into sentences; a trailing "[1]." stays with the sentence before it.

    Markers written after the full stop ("One. [1] Two. [2]") belong to the sentence before them too.
    """
    out: list[str] = []
    for raw in _SPLIT.split(text):
        part = _BULLET.sub("", raw).strip()
        if not part or _LIST_NUMBER.match(part):
            continue
        if out and _ONLY_MARKERS.match(part):
            out[-1] = f"{out[-1]} {part}"
            continue
        lead = _LEADING_MARKERS.match(part)
        if out and lead:
            out[-1] = f"{out[-1]} {lead.group(0).strip()}"
            part = part[lead.end():].strip()
        out.append(part)
    return out


class SupportChecker:
    """Checks answer sentences against the sources they cite."""

    def __init__(self, embedder: NamedEmbeddings, weights: TermWeights, settings: AnswerSettings) -> None:
        self.embedder = embedder
        self.weights = weights
        self.settings = settings

    def check(self, text: str, sources: Sequence[Source]) -> list[SentenceCheck]:
        """A verdict for every sentence of the text."""
        sentences = answer_sentences(text)
        if not sentences:
            return []
        by_n = {s.n: s for s in sources}
        bare = [strip_markers(s) for s in sentences]
        vecs = np.asarray(self.embedder.embed_documents([b or "-" for b in bare]), dtype=np.float32)
        return [
            self._verdict(sentence, plain, vec, by_n)
            for sentence, plain, vec in zip(sentences, bare, vecs, strict=True)
        ]

    def _verdict(self, sentence: str, plain: str, vec: np.ndarray, by_n: dict[int, Source]) -> SentenceCheck:
        cites = [n for n in cited_in(sentence) if n in by_n]
        if not cites:
            return SentenceCheck(text=sentence, cites=[], supported=False, reason="cites no source")
        cited_text = "\n".join(by_n[n].title + "\n" + by_n[n].text for n in cites)
        missing = sorted(numbers_in(plain) - numbers_in(cited_text))
        rescaled = _rescaled(plain, cited_text)
        terms = list(dict.fromkeys(self.weights.terms(plain)))
        if not terms:
            return SentenceCheck(text=sentence, cites=cites, supported=False, reason="states nothing checkable")
        source_terms = set(self.weights.terms(cited_text))
        overlap = sum(1 for t in terms if t in source_terms) / len(terms)
        similarity = self._similarity(vec, cited_text)
        s = self.settings
        reason = ""
        if missing:
            reason = f"number {missing[0]} is not in the cited source"
        elif rescaled:
            reason = f"{rescaled} does not match how the cited source states that number"
        elif not (overlap >= s.min_overlap or (similarity >= s.min_similarity and overlap >= s.min_overlap_paraphrase)):
            reason = f"too little of it is in the cited source (overlap {overlap:.2f}, similarity {similarity:.2f})"
        return SentenceCheck(
            text=sentence, cites=cites, supported=not reason,
            similarity=round(similarity, 4), overlap=round(overlap, 4), reason=reason,
        )

    def _similarity(self, vec: np.ndarray, cited_text: str) -> float:
        parts = list(split_sentences(cited_text)) or [cited_text]
        src = np.asarray(self.embedder.embed_documents(parts), dtype=np.float32)
        return float(np.max(src @ vec)) if len(src) else 0.0


def _rescaled(sentence: str, source: str) -> str:
    """A number the sentence writes with another scale than the source ("560" for "560 billion"), or ""."""
    src = quantities_in(source)
    for num, scales in quantities_in(sentence).items():
        known = src.get(num)
        if known is None:
            continue
        for scale in scales:
            if scale not in known:
                return f"{num} {scale}".strip()
    return ""
