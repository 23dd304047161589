"""Evidence chosen in code: the abstract sentences that best answer a question.

A sentence scores by its embedding similarity to the question plus how much of the question's
weight (idf of its stemmed content terms) it holds. Terms the library has never seen weigh the
most: a question about a method the library lacks cannot be covered, which is what abstention needs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from assistant.embeddings import CachedEmbeddings, NamedEmbeddings
from assistant.lexical import BM25Index, query_terms
from assistant.text import split_sentences
from assistant.types import Paper

# Words that frame a question but say nothing about its subject.
_QUESTION_TEXT = """how what which who whom whose when where why much many does do did is are was were can could
should would will there their its it this that these those i me my we our you your up about between
doe mani"""  # the last two are the stems of "does" and "many"
QUESTION_WORDS = frozenset(_QUESTION_TEXT.split())
_NUMBER = re.compile(r"(?<![A-Za-z])\d+(?:[.,]\d+)*")  # "V2P" is a name, not the number 2
_WORDS = re.compile(r"[\w-]+")
COVERAGE_WEIGHT = 0.5
# A sentence stating what the paper itself does ("we propose…", "this paper studies…").
CONTRIBUTION_CUE = re.compile(
    r"\b(?:we|this (?:paper|work|study)|in this (?:paper|work)|our (?:work|paper))\b[^.]{0,60}?\b"
    r"(?:propose|introduce|present|develop|design|build|describe|study|investigate|show|"
    r"demonstrate|find|explore|address|tackle|curate|construct|create|offer|establish|studie)(?:s|d|ed)?\b",
    re.IGNORECASE,
)
# A sentence about the paper's own method or findings, without a full contribution cue.
_OWN_WORK = re.compile(
    r"^(?:we|our|this (?:paper|work|study|approach|method|framework)|the proposed|specifically|"
    r"to (?:this end|address|tackle|overcome|mitigate|bridge|fill|solve)|in this (?:paper|work|study))\b|"
    r"\b(?:we|our (?:method|approach|model|framework|results?|experiments?|analysis|findings))\b",
    re.IGNORECASE,
)


def points_to_link(sentence: str) -> bool:
    """A sentence pointing at a link ("code is at https://…") says nothing of the work itself."""
    return "://" in sentence


def is_contribution(sentence: str) -> bool:
    """True for a sentence about the paper's own contribution, method or result, not background."""
    return bool(CONTRIBUTION_CUE.search(sentence) or _OWN_WORK.search(sentence))


@dataclass(frozen=True)
class Sentence:
    """One sentence of one paper's abstract, scored against a question."""

    paper_id: str
    title: str
    index: int  # position in the abstract
    text: str
    similarity: float  # cosine to the question
    coverage: float  # share of the question's term weight the sentence holds

    @property
    def score(self) -> float:
        """The ranking score: similarity plus weighted coverage."""
        return self.similarity + COVERAGE_WEIGHT * self.coverage


@lru_cache(maxsize=20_000)
def _content_terms(text: str) -> tuple[str, ...]:
    """Remembered per process: evidence ranking and the support check read the same sentences again and again."""
    return tuple(t for t in query_terms(text) if t not in QUESTION_WORDS and not t.isdigit())


class TermWeights:
    """Idf weights of stemmed terms; unseen terms weigh the most."""

    def __init__(self, index: BM25Index) -> None:
        self.index = index
        n = max(len(index), 1)
        self.unseen = math.log(1 + (n + 0.5) / 0.5)

    def terms(self, text: str) -> list[str]:
        """The text's content terms, stemmed, question words dropped."""
        return list(_content_terms(text))

    def weight(self, term: str) -> float:
        """The term's idf in the library."""
        w = self.index.idf(term)
        return self.unseen if w is None else w

    def unseen_share(self, text: str) -> float:
        """The share of the text's idf weight held by terms no paper of the library contains."""
        terms = self.terms(text)
        total = sum(self.weight(t) for t in terms)
        return sum(self.weight(t) for t in terms if self.index.idf(t) is None) / total if total > 0 else 0.0

    def unseen_words(self, text: str) -> list[str]:
        """The text's words (as written) that no paper of the library contains."""
        words = dict.fromkeys(w for w in _WORDS.findall(text) if any(self.index.idf(t) is None for t in self.terms(w)))
        return list(words)

    def coverage(self, question_terms: Sequence[str], text_terms: set[str]) -> float:
        """The share of the question's weight found among the text's terms."""
        total = sum(self.weight(t) for t in question_terms)
        if total <= 0:
            return 0.0
        return sum(self.weight(t) for t in question_terms if t in text_terms) / total


class EvidencePicker:
    """Splits abstracts into sentences and ranks them for a question (their vectors remembered per process)."""

    def __init__(self, embedder: NamedEmbeddings) -> None:
        self.embedder = CachedEmbeddings(embedder)

    def _sentences(self, papers: Sequence[Paper]) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
        texts = [split_sentences(p.abstract) or (p.title,) for p in papers]
        vecs = self.embedder.vectors([s for sents in texts for s in sents])  # the unseen ones in one batch
        out: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
        start = 0
        for p, sents in zip(papers, texts, strict=True):
            out[p.paper_id] = (sents, np.stack(vecs[start : start + len(sents)]))
            start += len(sents)
        return out

    def sentence_vectors(self, papers: Sequence[Paper]) -> dict[str, np.ndarray]:
        """Each abstract sentence's vector (embedded once, as rank() does): the support check reuses them."""
        return {text: vec for sents, vecs in self._sentences(papers).values() for text, vec in zip(sents, vecs,
                                                                                                    strict=True)}

    def rank(self, question: str, papers: Sequence[Paper], weights: TermWeights) -> list[Sentence]:
        """Every sentence of the papers, best evidence for the question first."""
        if not papers:
            return []
        q = np.asarray(self.embedder.embed_query(question), dtype=np.float32)
        q_terms = weights.terms(question)
        by_paper = self._sentences(papers)
        out: list[Sentence] = []
        for p in papers:
            sents, vecs = by_paper[p.paper_id]
            sims = vecs @ q
            title_terms = set(weights.terms(p.title))
            for i, (text, sim) in enumerate(zip(sents, sims, strict=True)):
                cov = weights.coverage(q_terms, set(weights.terms(text)) | title_terms)
                out.append(Sentence(p.paper_id, p.title, i, text, float(sim), cov))
        out.sort(key=lambda s: -s.score)
        return out


def paper_coverage(question: str, paper: Paper, weights: TermWeights) -> float:
    """The share of the question's weight found anywhere in the paper's title and abstract."""
    return weights.coverage(weights.terms(question), set(weights.terms(f"{paper.title}\n{paper.abstract}")))


_QUANTITY = re.compile(
    r"(?<![A-Za-z])(\d+(?:[.,]\d+)*)\s?-?\s?(%|×|x|k|m|b|t|billion|million|trillion|thousand|times|fold|percent|points)?\b",
    re.IGNORECASE,
)


def quantities_in(text: str) -> dict[str, set[str]]:
    """Each number in the text with the scale words written after it ("" when bare)."""
    out: dict[str, set[str]] = {}
    for num, scale in _QUANTITY.findall(text):
        out.setdefault(num.replace(",", ""), set()).add(scale.casefold())
    return out


def numbers_in(text: str) -> set[str]:
    """The numbers written in a text, normalised ("1,000" → "1000")."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}
