"""Question-answering evaluation: fact accuracy, abstention, citations and timings on a QA dev set."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence

from pydantic import BaseModel, Field

from assistant.chain import Answerer
from assistant.evaluation.datasets import QACase
from assistant.types import Answer


class QARecord(BaseModel):
    """One question's outcome."""

    id: str
    kind: str
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


def record(answer: Answer, case: QACase) -> QARecord:
    """The figures of one answer."""
    context_ids = {s.paper_id for s in answer.contexts}
    return QARecord(
        id=case.id, kind=case.kind, refused=answer.refused, correct=is_correct(answer, case),
        gold_cited=bool(case.gold) and any(c.title in case.gold for c in answer.citations),
        mode=answer.mode, strength=answer.strength, removed_citations=answer.removed_citations,
        outside_citations=sum(1 for c in answer.citations if c.paper_id not in context_ids),
        sentences=len(answer.sentences), supported_sentences=sum(s.supported for s in answer.sentences),
        total_s=round(answer.timings.total_s, 4),
        first_token_s=None if answer.timings.first_token_s is None else round(answer.timings.first_token_s, 4),
        completion_tokens=answer.usage.completion_tokens, answer=answer.answer,
    )


def evaluate_qa(
    answerer: Answerer, cases: Sequence[QACase], on_case: Callable[[QARecord], None] | None = None,
) -> tuple[QASummary, list[QARecord]]:
    """Ask every question once and summarise."""
    records: list[QARecord] = []
    for case in cases:
        rec = record(answerer.ask(case.query), case)
        records.append(rec)
        if on_case:
            on_case(rec)
    return summarise(records, answerer.backend.label, answerer.settings.answer.min_strength), records


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
        threshold=threshold, sweep=sweep,
    )
