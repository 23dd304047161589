"""The abstention gate, one for answers and writing jobs: does the library cover a question?

A fact (or open) question is covered when one paper matches it well: the top hybrid score plus the
share of the question's idf weight that the best paper holds reaches `answer.min_strength`. A survey
or compare question (or a writing job's topic) is about a set of papers, and a long topical question
is never covered by one paper's words: it is covered when several papers *each* match it
(`answer.survey_min_papers` papers whose own score + coverage reaches `answer.survey_paper_strength`),
or when one paper clears the single-paper bar. Thresholds are calibrated on evals/qa_dev.jsonl
(docs/qa.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.errors import LitReviewError
from assistant.evidence import TermWeights, paper_coverage
from assistant.kinds import QuestionKind
from assistant.retrieval import Candidate
from assistant.settings import AnswerSettings

if TYPE_CHECKING:
    from assistant.store import Library

EMPTY_LIBRARY = "the library is empty: add papers first (litreview ingest --sample)"
NOT_COVERED = "The library does not cover this question."
WEAK_MATCH = "no paper in the library matches the question well enough"
FEW_PAPERS = "too few papers in the library match the question"


def require_papers(library: Library) -> None:
    """An error naming the fix when the library holds no paper."""
    if library.count() == 0:
        raise LitReviewError(EMPTY_LIBRARY)


@dataclass(frozen=True)
class Verdict:
    """The gate's decision and the figures behind it."""

    covered: bool
    strength: float  # what was compared with the threshold (single: top score + best coverage)
    matching: tuple[Candidate, ...] = ()  # set level: the papers that each match the question, best first
    reason: str = ""


def is_set_question(kind: QuestionKind) -> bool:
    """Survey and compare questions are judged on a set of papers."""
    return kind in ("survey", "compare")


class Gate:
    """Decides whether retrieved papers cover a question."""

    def __init__(self, weights: TermWeights, settings: AnswerSettings) -> None:
        self.weights = weights
        self.settings = settings

    def paper_strength(self, query: str, cand: Candidate) -> float:
        """One paper's match: its hybrid score plus the share of the query's weight it holds."""
        if cand.paper is None:
            return cand.score
        return cand.score + paper_coverage(query, cand.paper, self.weights)

    def single(self, query: str, top: Sequence[Candidate]) -> Verdict:
        """Covered when the top score plus the best paper's coverage reaches answer.min_strength."""
        papers = [c.paper for c in top if c.paper is not None]
        coverage = max((paper_coverage(query, p, self.weights) for p in papers), default=0.0)
        strength = (top[0].score if top else 0.0) + coverage
        ok = strength >= self.settings.min_strength
        return Verdict(ok, round(strength, 4), tuple(top[:1]) if ok else (), "" if ok else WEAK_MATCH)

    def set_level(self, query: str, ranked: Sequence[Candidate]) -> Verdict:
        """Covered when several papers each match the query (or one matches it as a fact would)."""
        s = self.settings
        scored = [(self.paper_strength(query, c), c) for c in ranked[: s.survey_cap] if c.paper is not None]
        scored.sort(key=lambda x: -x[0])
        matching = tuple(c for v, c in scored if v >= s.survey_paper_strength)
        need = s.survey_min_papers
        strength = scored[need - 1][0] if len(scored) >= need else 0.0
        if len(matching) >= need:
            return Verdict(True, round(strength, 4), matching)
        single = self.single(query, ranked[:1])
        if single.covered:
            return Verdict(True, single.strength, single.matching)
        return Verdict(False, round(strength, 4), matching, FEW_PAPERS if matching else WEAK_MATCH)

    def judge(self, query: str, ranked: Sequence[Candidate], kind: QuestionKind, k: int) -> Verdict:
        """The verdict for a question of this kind over the ranked papers (the top k for a fact)."""
        if is_set_question(kind):
            return self.set_level(query, ranked)
        return self.single(query, ranked[:k])
