"""Question-answering evaluation: fact accuracy, survey/compare coverage, abstention, citations and timings."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

from assistant.evaluation.datasets import QACase
from assistant.evidence import is_contribution
from assistant.survey import claims
from assistant.types import Answer

SET_KINDS = ("survey", "compare")


class QARecord(BaseModel):
    """One question's outcome."""

    id: str
    kind: str
    answer_kind: str = "fact"  # the kind the chain told the question apart as
    near_miss: bool = False
    refused: bool
    correct: bool  # a gold answer string is in the answer (fact questions only)
    gold_cited: bool  # the gold paper is among the citations (fact questions only)
    mode: str
    strength: float
    removed_citations: int
    outside_citations: int  # citations to papers not in the context (must be 0)
    sentences: int
    supported_sentences: int
    total_s: float
    first_token_s: float | None
    completion_tokens: int
    answer: str
    # survey and compare questions (None for the other kinds)
    gold_recall: float | None = None  # cited gold / gold
    gold_recall_capped: float | None = None  # cited gold / min(gold, survey cap)
    gold_precision: float | None = None  # cited gold / cited (answered questions)
    bullets: int = 0  # claim lines of the answer
    contribution_bullets: int = 0  # of them, the paper's own contribution/method sentences
    sides_cited: bool | None = None  # compare: a gold paper of each side is cited


class QASummary(BaseModel):
    """Figures over a whole QA dev set for one back-end."""

    backend: str
    n_fact: int
    n_unanswerable: int
    fact_accuracy: float  # correct / fact questions (a refusal counts as wrong)
    gold_cited: float
    abstention_unanswerable: float
    abstention_answerable: float
    removed_citations: int
    outside_citations: int
    sentences_supported: float
    modes: dict[str, int]
    total_s_p50: float
    total_s_p95: float
    first_token_s_p50: float | None
    first_token_s_p95: float | None
    threshold: float
    sweep: list[dict[str, float]] = Field(default_factory=list)  # abstention at other gate thresholds
    n_near_miss: int = 0
    abstention_near_miss: float = 0.0
    sets: dict[str, dict[str, float | int]] = Field(default_factory=dict)  # survey / compare figures


def normalise(text: str) -> str:
    """Case-folded, whitespace-collapsed text for answer matching."""
    return " ".join(text.casefold().split())


def is_correct(answer: Answer, case: QACase) -> bool:
    """True when the answer is not a refusal and holds one of the case's answer strings."""
    if answer.refused or not case.answers:
        return False
    text = normalise(answer.answer)
    # whole-token containment: "5%" must not match inside "33.5%"
    return any(re.search(rf"(?<![\w.]){re.escape(normalise(a))}(?!\w)", text) for a in case.answers)


def record(answer: Answer, case: QACase, cap: int) -> QARecord:
    """The figures of one answer (`cap`: the most papers a survey answer may list)."""
    context_ids = {s.paper_id for s in answer.contexts}
    rec = QARecord(
        id=case.id, kind=case.kind, answer_kind=answer.kind, near_miss=case.near_miss, refused=answer.refused,
        correct=is_correct(answer, case),
        gold_cited=bool(case.gold) and any(c.title in case.gold for c in answer.citations),
        mode=answer.mode, strength=answer.strength, removed_citations=answer.removed_citations,
        outside_citations=sum(1 for c in answer.citations if c.paper_id not in context_ids),
        sentences=len(answer.sentences), supported_sentences=sum(s.supported for s in answer.sentences),
        total_s=round(answer.timings.total_s, 4),
        first_token_s=None if answer.timings.first_token_s is None else round(answer.timings.first_token_s, 4),
        completion_tokens=answer.usage.completion_tokens, answer=answer.answer,
    )
    if case.kind in SET_KINDS:
        gold = {normalise(t) for t in case.gold}
        cited = {normalise(c.title) for c in answer.citations}
        hits = len(gold & cited)
        rec.gold_recall = round(hits / len(gold), 4)
        rec.gold_recall_capped = round(hits / min(len(gold), cap), 4)
        rec.gold_precision = round(hits / len(cited), 4) if cited else None
        lines = [ln for ln in claims(answer.answer).splitlines() if ln.strip()] if not answer.refused else []
        rec.bullets = len(lines)
        rec.contribution_bullets = sum(is_contribution(ln) for ln in lines)
        if case.kind == "compare" and case.sides:
            rec.sides_cited = all({normalise(t) for t in side} & cited for side in case.sides)
    return rec


def _rate(xs: Sequence[bool]) -> float:
    return round(sum(xs) / len(xs), 4) if xs else 0.0


def _pct(values: Sequence[float], q: float) -> float:
    if len(values) == 1:
        return round(values[0], 4)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 4)


def summarise(records: Sequence[QARecord], backend: str, threshold: float) -> QASummary:
    """Rates and percentiles over the records."""
    facts = [r for r in records if r.kind == "fact"]
    unans = [r for r in records if r.kind == "unanswerable"]
    answered = [r for r in records if not r.refused]
    first = [r.first_token_s for r in answered if r.first_token_s is not None]
    totals = [r.total_s for r in answered] or [0.0]
    sweep = [
        {
            "threshold": t,
            "abstention_unanswerable": _rate([r.strength < t for r in unans]),
            "abstention_answerable": _rate([r.strength < t for r in facts]),
        }
        for t in (1.0, 1.1, 1.15, 1.2, 1.25, 1.3, 1.4, 1.5)
    ]
    n_sent = sum(r.sentences for r in answered)
    near = [r for r in unans if r.near_miss]
    return QASummary(
        backend=backend, n_fact=len(facts), n_unanswerable=len(unans),
        fact_accuracy=_rate([r.correct for r in facts]), gold_cited=_rate([r.gold_cited for r in facts]),
        abstention_unanswerable=_rate([r.refused for r in unans]),
        abstention_answerable=_rate([r.refused for r in facts]),
        removed_citations=sum(r.removed_citations for r in records),
        outside_citations=sum(r.outside_citations for r in records),
        sentences_supported=round(sum(r.supported_sentences for r in answered) / n_sent, 4) if n_sent else 0.0,
        modes=dict(Counter(r.mode for r in records)),
        total_s_p50=_pct(totals, 50), total_s_p95=_pct(totals, 95),
        first_token_s_p50=_pct(first, 50) if first else None, first_token_s_p95=_pct(first, 95) if first else None,
        threshold=threshold, sweep=sweep, n_near_miss=len(near),
        abstention_near_miss=_rate([r.refused for r in near]),
        sets={kind: set_figures([r for r in records if r.kind == kind]) for kind in SET_KINDS
              if any(r.kind == kind for r in records)},
    )


def _mean(xs: Sequence[float | None]) -> float:
    vals = [x for x in xs if x is not None]
    return round(sum(vals) / len(vals), 4) if vals else 0.0


def set_figures(records: Sequence[QARecord]) -> dict[str, float | int]:
    """Survey/compare figures: refusals, gold recall (plain and capped; a refusal counts as 0), precision
    among cited papers (answered questions), the share of bullets that are contribution/method sentences,
    how often the kind was told apart right, and (compare) how often both sides were cited."""
    answered = [r for r in records if not r.refused]
    n_bullets = sum(r.bullets for r in answered)
    out: dict[str, float | int] = {
        "questions": len(records),
        "refused": _rate([r.refused for r in records]),
        "gold_recall": _mean([r.gold_recall for r in records]),
        "gold_recall_capped": _mean([r.gold_recall_capped for r in records]),
        "gold_precision": _mean([r.gold_precision for r in answered]),
        "papers_cited_mean": round(n_bullets / len(answered), 2) if answered else 0.0,
        "contribution_share": round(sum(r.contribution_bullets for r in answered) / n_bullets, 4) if n_bullets else 0.0,
        "kind_accuracy": _rate([r.answer_kind == r.kind for r in records]),
    }
    sides = [r.sides_cited for r in records if r.sides_cited is not None]
    if sides:
        out["both_sides_cited"] = _rate(sides)
    return out
