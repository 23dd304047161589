"""The abstention gate, one for answers and writing jobs: does the library cover a question?

A fact (or open) question is covered when one paper matches it well: the top hybrid score plus the
share of the question's idf weight that the best paper holds reaches `answer.min_strength`. A survey
question is about a set of papers, and a long topical question
is never covered by one paper's words: it is covered when several papers *each* match it in meaning,
i.e. `answer.survey_min_papers` of the first `answer.survey_pool` papers each hold a sentence whose
cosine to the question reaches `answer.survey_match_similarity`, a bar raised by
`answer.survey_unseen_penalty` times the share of the question's idf weight held by words no paper of
the library contains. Sentence similarity holds up when the question uses other words than the
abstracts, where shared-term coverage does not; a neighbouring topic (federated fine-tuning when the
library only has fine-tuning) reaches it less often, and its missing words ("federated", "clients")
raise the bar. A compare side or a
writing job's topic needs one such paper (or a top paper clearing the fact gate). Thresholds are chosen
on the dev split of evals/qa_*.jsonl (docs/qa.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from assistant.errors import LitReviewError
from assistant.evidence import EvidencePicker, Sentence, TermWeights, paper_coverage, points_to_link
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
    matching: tuple[Candidate, ...] = ()  # set level: the papers that each match the question, in search order
    reason: str = ""
    evidence: tuple[Sentence, ...] = ()  # set level: the pool's sentences ranked for the question


def is_set_question(kind: QuestionKind) -> bool:
    """Survey and compare questions are judged on a set of papers."""
    return kind in ("survey", "compare")


class Gate:
    """Decides whether retrieved papers cover a question."""

    def __init__(self, weights: TermWeights, settings: AnswerSettings, picker: EvidencePicker | None = None) -> None:
        self.weights = weights
        self.settings = settings
        self.picker = picker

    def single(self, query: str, top: Sequence[Candidate]) -> Verdict:
        """Covered when the top score plus the best paper's coverage reaches answer.min_strength."""
        papers = [c.paper for c in top if c.paper is not None]
        coverage = max((paper_coverage(query, p, self.weights) for p in papers), default=0.0)
        strength = (top[0].score if top else 0.0) + coverage
        ok = strength >= self.settings.min_strength
        return Verdict(ok, round(strength, 4), tuple(top[:1]) if ok else (), "" if ok else WEAK_MATCH)

    def set_level(self, query: str, ranked: Sequence[Candidate], need: int | None = None) -> Verdict:
        """Covered when several papers of the pool each hold a sentence close in meaning to the query."""
        if self.picker is None:
            raise ValueError("the set-level gate needs an evidence picker")
        s = self.settings
        pool = [c for c in ranked[: s.survey_pool] if c.paper is not None]
        evidence = tuple(self.picker.rank(query, [c.paper for c in pool if c.paper is not None], self.weights))
        best = best_similarity(evidence)
        sims = sorted((best.get(c.paper_id, -1.0) for c in pool), reverse=True)
        need = need or s.survey_min_papers
        penalty = s.survey_unseen_penalty * self.weights.unseen_share(query)
        strength = round(sims[need - 1] - penalty, 4) if len(sims) >= need else 0.0
        matching = tuple(c for c in pool if best.get(c.paper_id, -1.0) - penalty >= s.survey_match_similarity)
        if len(matching) >= need:
            return Verdict(True, strength, matching, evidence=evidence)
        reason = FEW_PAPERS if matching else WEAK_MATCH
        if penalty > 0:
            reason += "; no paper mentions " + ", ".join(f"'{w}'" for w in self.weights.unseen_words(query)[:5])
        return Verdict(False, strength, matching, reason, evidence)

    def topic(self, query: str, ranked: Sequence[Candidate]) -> Verdict:
        """A compare side (often one named method) or a writing job's topic: one paper matching it in meaning,
        or the top paper clearing the fact gate ("CLEX" is a name, which a sentence vector barely sees)."""
        verdict = self.set_level(query, ranked, need=1)
        if verdict.covered:
            return verdict
        single = self.single(query, ranked[:1])
        return replace(single, evidence=verdict.evidence) if single.covered else verdict

    def judge(self, query: str, ranked: Sequence[Candidate], kind: QuestionKind, k: int) -> Verdict:
        """The verdict for a question of this kind over the ranked papers (the top k for a fact)."""
        if is_set_question(kind):
            return self.set_level(query, ranked)
        return self.single(query, ranked[:k])


def usable(sentence: Sentence) -> bool:
    """A sentence that can speak for its paper."""
    return not points_to_link(sentence.text)


def best_similarity(evidence: Sequence[Sentence]) -> dict[str, float]:
    """Each paper's closest usable sentence to the question (cosine)."""
    best: dict[str, float] = {}
    for sent in evidence:
        if usable(sent) and sent.similarity > best.get(sent.paper_id, -2.0):
            best[sent.paper_id] = sent.similarity
    return best
