"""The support check: is each sentence of an answer backed by the sources it cites?

Each claim is aligned with its best one to three sentences of the cited sources (MiniLM cosine plus the
share of its content terms they hold, stems and synonyms matched). It passes when it cites a source,
its content is covered there (most of its terms, or half when it also means nearly the same as one
cited sentence) and no named meaning check fires: number (a value or scale the source lacks), novel
specific (a name no cited source contains), polarity (a negation or direction word the aligned source
text does not carry), scope (all/every, significantly, state-of-the-art beyond the source) and
attribution (another source of the context fits it clearly better). Thresholds are calibrated on
evals/support_dev.jsonl (docs/support.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.citations import cited_in, strip_markers
from assistant.embeddings import CachedEmbeddings, NamedEmbeddings
from assistant.evidence import TermWeights
from assistant.settings import AnswerSettings
from assistant.support_checks import (
    canonical,
    lexicon,
    novel_problem,
    number_problem,
    polarity_problem,
    scope_problem,
)
from assistant.text import split_sentences
from assistant.types import SentenceCheck, Source

_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'“\[*])|\n+")
_ONLY_MARKERS = re.compile(r"^(?:\[[^\]]*\]\s*)+[.!?]?$")
_LEADING_MARKERS = re.compile(r"^(?:\[[^\]]*\]\s*)+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_LIST_NUMBER = re.compile(r"^\d+[.)]$")  # "1." cut off a numbered list item by the split
MAX_ALIGNED = 3  # a claim may retell up to this many sentences of its sources
MIN_GAIN = 0.1  # a further sentence joins the alignment when it covers this much more of the claim


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


@dataclass
class _Unit:
    """One sentence of a source (or its title), embedded and cut into terms."""

    text: str
    vec: np.ndarray
    terms: frozenset[str]


@dataclass
class _Alignment:
    """A claim's best sentences in one or more sources, and how well they cover it."""

    units: list[_Unit]
    coverage: float
    similarity: float

    @property
    def score(self) -> float:
        """How well the sources fit the claim (for attribution)."""
        return self.coverage + self.similarity

    @property
    def text(self) -> str:
        """The aligned sentences as one text (the polarity and scope checks read this)."""
        return " ".join(u.text for u in self.units)


class SupportChecker:
    """Checks answer sentences against the sources they cite."""

    def __init__(self, embedder: NamedEmbeddings, weights: TermWeights, settings: AnswerSettings) -> None:
        self.embedder = CachedEmbeddings(embedder)  # sentences the evidence picker embedded are not encoded again
        self.weights = weights
        self.settings = settings
        self._terms: dict[str, frozenset[str]] = {}
        self._units: dict[int, list[_Unit]] = {}

    def check(self, text: str, sources: Sequence[Source]) -> list[SentenceCheck]:
        """A verdict for every sentence of the text."""
        sentences = answer_sentences(text)
        if not sentences:
            return []
        by_n = {s.n: s for s in sources}
        bare = [strip_markers(s) for s in sentences]
        vecs = self._embed([b or "-" for b in bare], [s for src in sources for s in self._parts(src)])
        self._units = {
            src.n: [_Unit(p, vecs[p], self._terms_of(p)) for p in self._parts(src)] for src in sources
        }
        return [
            self._verdict(sentence, plain, vecs[plain or "-"], by_n)
            for sentence, plain in zip(sentences, bare, strict=True)
        ]

    @staticmethod
    def _parts(src: Source) -> list[str]:
        return [src.title, *(split_sentences(src.text) or [src.text])]

    def _embed(self, claims: list[str], parts: list[str]) -> dict[str, np.ndarray]:
        """Vectors of the claims and of the source sentences (those seen before are remembered): one batch."""
        texts = list(dict.fromkeys([*claims, *parts]))
        return dict(zip(texts, self.embedder.vectors(texts), strict=True))

    def _terms_of(self, text: str) -> frozenset[str]:
        got = self._terms.get(text)
        if got is None:
            got = self._terms[text] = frozenset(self.weights.terms(text))
        return got

    def _claim_terms(self, plain: str) -> list[str]:
        framing = lexicon().framing
        return [t for t in dict.fromkeys(self.weights.terms(plain)) if t not in framing]

    def _verdict(self, sentence: str, plain: str, vec: np.ndarray, by_n: dict[int, Source]) -> SentenceCheck:
        cites = [n for n in cited_in(sentence) if n in by_n]
        if not cites:
            return _fail(sentence, [], "citation", "cites no source")
        claim = _without_paper_count(plain, len(set(cites)))
        terms = self._claim_terms(claim)
        if not terms:
            return _fail(sentence, cites, "coverage", "states nothing checkable")
        cited_text = "\n".join(by_n[n].title + "\n" + by_n[n].text for n in cites)
        aligned = self._align(terms, vec, [u for n in cites for u in self._units[n]])
        s = self.settings
        check, reason = "", ""
        untitled = _without_titles(claim, [by_n[n].title for n in cites])
        rival = self._rival(terms, vec, aligned, [n for n in by_n if n not in cites])
        if rival is not None:
            check, reason = "attribution", f"attribution: it fits source [{rival}] better than the one it cites"
        elif problem := number_problem(claim, cited_text):
            check, reason = "number", problem
        elif problem := novel_problem(claim, cited_text):
            check, reason = "novel", problem
        elif problem := polarity_problem(*_shared_free(untitled, aligned.text, cited_text)):
            check, reason = "polarity", problem
        elif problem := scope_problem(untitled, aligned.text):
            check, reason = "scope", problem
        elif not (aligned.coverage >= s.min_overlap
                  or (aligned.similarity >= s.min_similarity and aligned.coverage >= s.min_overlap_paraphrase)):
            check, reason = "coverage", (f"too little of it is in the cited source (overlap {aligned.coverage:.2f}, "
                                         f"similarity {aligned.similarity:.2f})")
        return SentenceCheck(
            text=sentence, cites=cites, supported=not reason, check=check,
            similarity=round(aligned.similarity, 4), overlap=round(aligned.coverage, 4), reason=reason,
        )

    def _align(self, terms: list[str], vec: np.ndarray, units: list[_Unit]) -> _Alignment:
        """The claim's best one to three sentences among the units, and the share of its term weight they hold."""
        if not units:
            return _Alignment([], 0.0, 0.0)
        weight = {t: self.weights.weight(t) for t in terms}
        total = sum(weight.values()) or 1.0
        sims = np.asarray([u.vec for u in units]) @ vec
        title = units[0].terms  # every source's first unit is its title: its words are free to use
        covers = [_covered(terms, u.terms | title) for u in units]
        gains = [sum(weight[t] for t in c) / total for c in covers]
        best = max(range(len(units)), key=lambda i: gains[i] + float(sims[i]))
        chosen, covered = [best], set(covers[best])
        while len(chosen) < MAX_ALIGNED:
            extra = [(sum(weight[t] for t in covers[i] - covered) / total, i) for i in range(len(units))
                     if i not in chosen]
            if not extra:
                break
            gain, i = max(extra)
            if gain < MIN_GAIN:
                break
            chosen.append(i)
            covered |= covers[i]
        coverage = sum(weight[t] for t in covered) / total
        return _Alignment([units[i] for i in chosen], coverage, float(np.max(sims)))

    def _rival(self, terms: list[str], vec: np.ndarray, aligned: _Alignment, others: list[int]) -> int | None:
        """Another source of the context that fits the claim clearly better than the cited ones, if any."""
        margin = self.settings.attribution_margin
        best: tuple[float, int] | None = None
        for n in others:
            a = self._align(terms, vec, self._units.get(n, []))
            fits = a.score - aligned.score >= margin and a.coverage >= self.settings.min_overlap_paraphrase
            if fits and (best is None or a.score > best[0]):
                best = (a.score, n)
        return None if best is None else best[1]


def _covered(terms: list[str], source: frozenset[str]) -> set[str]:
    """The claim terms the source holds: the same stem, a synonym, or a stem sharing a long prefix."""
    groups = {canonical(t) for t in source}
    out = set()
    for t in terms:
        if t in source or canonical(t) in groups or _prefix_match(t, source):
            out.add(t)
    return out


def _prefix_match(term: str, source: frozenset[str]) -> bool:
    if len(term) < 5:
        return False
    for s in source:
        n = min(len(s), len(term))
        if n >= 5 and term[:n - 1] == s[:n - 1] and (n - 1) / max(len(s), len(term)) >= 0.7:
            return True
    return False


def _without_titles(claim: str, titles: list[str]) -> str:
    """The claim without the cited papers' titles: "Doesn't Always …" in a quoted title is no claim of its own."""
    for title in titles:
        claim = claim.replace(title, " ")
    return claim


_FREE = re.compile(r"\b([\w-]+)-free\b", re.IGNORECASE)


def _shared_free(claim: str, aligned: str, cited: str) -> tuple[str, str]:
    """Claim and aligned text with the "X-free" words the claim shares with the cited text written as one
    word: "a Dropout-free LoRA" names the method and negates nothing, on either side."""
    shared = {m.group(0).lower() for m in _FREE.finditer(claim)} & {m.group(0).lower() for m in _FREE.finditer(cited)}
    if not shared:
        return claim, aligned

    def join(m: re.Match[str]) -> str:
        return m.group(1) + "free" if m.group(0).lower() in shared else m.group(0)

    return _FREE.sub(join, claim), _FREE.sub(join, aligned)


_COUNT_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_N = "|".join([*_COUNT_WORDS, r"\d+"])
_PAPER_COUNT = re.compile(
    rf"\b(?:(both)|all\s+(?:the\s+)?({_N})|the\s+({_N})|({_N})\s+of\s+the(?:\s+(?:{_N}))?)"
    r"\s+(?:papers|works|studies|articles)\b", re.IGNORECASE)


def _without_paper_count(claim: str, n_cited: int) -> str:
    """The claim without a count of the papers it cites that the citations bear out ("All four papers study X
    [1, 2, 3, 4]", "Two of the papers …"): the number and the "all" are about the citations, not the sources."""
    def drop(m: re.Match[str]) -> str:
        said = m.group(1) or m.group(2) or m.group(3) or m.group(4)
        count = 2 if said.lower() == "both" else _COUNT_WORDS.get(said.lower()) or int(said)
        return "the papers" if count == n_cited else m.group(0)

    return _PAPER_COUNT.sub(drop, claim)


def _fail(sentence: str, cites: list[int], check: str, reason: str) -> SentenceCheck:
    return SentenceCheck(text=sentence, cites=cites, supported=False, check=check, reason=reason)
