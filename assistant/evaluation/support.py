"""The support suite: claims about the sample abstracts (faithful paraphrases and corruptions of five kinds),
each checked against its numbered sources; how many faithful claims are kept, how many corrupted ones caught."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.evaluation.base import Metrics, Suite, check_titles, percentile
from assistant.evidence import TermWeights
from assistant.support import SupportChecker
from assistant.types import Source

KINDS = ("number", "polarity", "scope", "novel", "attribution")  # the corruptions, as the checks are named


class SupportCase(BaseModel):
    """A claim citing [n] of its numbered sources (paper titles); faithful or corrupted in one way."""

    id: str
    kind: Literal["faithful", "number", "polarity", "scope", "novel", "attribution"]
    claim: str
    sources: list[str] = Field(min_length=1)
    style: str = ""  # how it was written (faithful: compressed, reordered, reports, combined, gpt, hand)
    made: str = "rule"  # rule or hand
    cited: list[int] = Field(default_factory=list)
    origin: list[str] = Field(default_factory=list, alias="from")  # the abstract sentences it retells


class SupportSuite(Suite[SupportCase]):
    """Faithful kept, corrupted caught per kind, and each named check's precision; the check's time per claim."""

    name = "support"
    case_model = SupportCase
    files = ("support.jsonl", "support_dev.jsonl")
    uses_llm = False

    def check(self, cases: Sequence[SupportCase]) -> None:
        """Every source title must be a paper of this library."""
        check_titles(self.ws, {c.id: c.sources for c in cases})

    def key_settings(self) -> dict[str, Any]:
        """The embedding, the index and the support thresholds shape these figures."""
        return {**super().key_settings(), "answer": self.ws.settings.answer.model_dump(mode="json")}

    def warm_up(self, cases: Sequence[SupportCase]) -> dict[str, Any]:
        """Load MiniLM and the BM25 index; check one claim unrecorded."""
        t = time.perf_counter()
        self.papers = {p.title: p for p in self.ws.papers()}
        self.checker = SupportChecker(self.ws.embedder, TermWeights(self.ws.retriever.bm25()),
                                      self.ws.settings.answer)
        self.run_case(cases[0])
        return {"warm_up_s": round(time.perf_counter() - t, 3)}

    def run_case(self, case: SupportCase) -> dict[str, Any]:
        """The verdicts on the claim against its whole abstracts, numbered as a generated answer's are."""
        sources = [Source(n=i, paper_id=self.papers[t].paper_id, title=t, text=self.papers[t].abstract)
                   for i, t in enumerate(case.sources, start=1)]
        t = time.perf_counter()
        checks = self.checker.check(case.claim, sources)
        seconds = time.perf_counter() - t
        failed = [c for c in checks if not c.supported]
        return {"id": case.id, "kind": case.kind, "style": case.style, "made": case.made,
                "kept": bool(checks) and not failed, "checks": [c.check for c in failed],
                "reasons": [c.reason for c in failed], "check_ms": round(seconds * 1000, 2)}

    def summarise(self, records: Sequence[dict[str, Any]]) -> tuple[Metrics, dict[str, Any]]:
        """Faithful kept and caught per kind (recall); per named check, the share of its rejections that were
        corruptions (precision)."""
        faithful = [r for r in records if r["kind"] == "faithful"]
        bad = [r for r in records if r["kind"] != "faithful"]
        metrics: Metrics = {
            "faithful_kept": _rate(faithful, lambda r: r["kept"]),
            "caught": _rate(bad, lambda r: not r["kept"]),
        }
        for kind in KINDS:
            metrics[f"caught.{kind}"] = _rate([r for r in bad if r["kind"] == kind], lambda r: not r["kept"])
        named = sorted({c for r in records for c in r["checks"][:1]})
        for check in named:
            fired = [r for r in records if r["checks"][:1] == [check]]
            metrics[f"precision.{check}"] = _rate(fired, lambda r: r["kind"] != "faithful")
        ms = [r["check_ms"] for r in records]
        metrics["check_ms_p50"] = percentile(ms, 50)
        metrics["check_ms_p95"] = percentile(ms, 95)
        metrics["claims"] = len(records)
        styles = sorted({r["style"] for r in faithful})
        by_style = {s: _rate([r for r in faithful if r["style"] == s], lambda r: r["kept"]) for s in styles}
        counts = {k: sum(1 for r in records if r["kind"] == k) for k in ("faithful", *KINDS)}
        dropped = [{"id": r["id"], "reason": r["reasons"][0] if r["reasons"] else ""}
                   for r in faithful if not r["kept"]]
        missed = [r["id"] for r in bad if r["kept"]]
        return metrics, {"counts": counts, "faithful_kept_by_style": by_style, "faithful_dropped": dropped,
                         "missed": missed}


def _rate(records: Sequence[dict[str, Any]], hit: Any) -> float | None:
    return round(sum(1 for r in records if hit(r)) / len(records), 4) if records else None
