"""The writing-job suites: comparison tables (cell accuracy, provenance verbatim) and related-work drafts
(citation validity: Markdown markers, LaTeX cites against BibTeX entries, support check, gold papers)."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

import bibtexparser
from pydantic import BaseModel, Field

from assistant.citations import CITE, marker_numbers
from assistant.errors import BackendError, LitReviewError
from assistant.evaluation.base import Metrics, Suite, check_titles, mean, percentile
from assistant.evaluation.compare import (
    CellRecord,
    CompareCase,
    papers_by_title,
    records,
    run_case,
    summarise,
    sweep,
)
from assistant.settings import LLMSettings
from assistant.writing.models import RelatedWorkDraft
from assistant.writing.related import related_work

CITE_KEYS = re.compile(r"\\cite\{([^}]*)\}")


class CompareSuite(Suite[CompareCase]):
    """Cell accuracy (all, stated, not stated, per field), provenance verbatim rate, table time, tokens, and
    the not-stated threshold sweep: each table is also run extractively with every field forced to "stated"
    and each candidate threshold applied to the scores (leave-one-table-out figures beside the best)."""

    name = "compare"
    case_model = CompareCase
    files = ("compare.jsonl", "compare_dev.jsonl")

    def check(self, cases: Sequence[CompareCase]) -> None:
        """Every row's title is in the library and every expected string in that paper's abstract."""
        self.by_title = papers_by_title(cases, self.ws.papers())

    def run_case(self, case: CompareCase) -> dict[str, Any]:
        """One table: its cells scored, its time and tokens."""
        table, seconds = run_case(self.ws, case, self.by_title, self.llm)
        forced, _ = run_case(self.ws, case, self.by_title, LLMSettings(provider="extractive"),
                             dict.fromkeys(case.fields, -9.0))
        u = table.usage
        return {
            "id": case.id, "seconds": round(seconds, 3), "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
            "cost_usd": u.cost_usd if u.cost_usd is not None else self.backend.cost(u.prompt_tokens,
                                                                                     u.completion_tokens),
            "cells": [c.model_dump() for c in records(case, table, self.by_title)],
            "forced": [c.model_dump() for c in records(case, forced, self.by_title)],
        }

    def summarise(self, records: Sequence[dict[str, Any]]) -> tuple[Metrics, dict[str, Any]]:
        """Accuracy figures over every cell of every table."""
        cells = [CellRecord.model_validate(c) for r in records for c in r["cells"]]
        s = summarise(cells)
        seconds = [r["seconds"] for r in records]
        costs = [r["cost_usd"] for r in records if r["cost_usd"] is not None]
        metrics: Metrics = {
            "tables": len(records), "cells": s["cells"], "accuracy": s["accuracy"],
            "accuracy_stated": s["accuracy_stated"], "accuracy_not_stated": s["accuracy_not_stated"],
            "provenance_verbatim": s["provenance_verbatim"],
            "table_s_p50": percentile(seconds, 50), "table_s_p95": percentile(seconds, 95),
            "prompt_tokens": sum(r["prompt_tokens"] for r in records),
            "completion_tokens": sum(r["completion_tokens"] for r in records),
            "cost_usd": round(sum(costs), 6) if costs else None,
        }
        metrics.update({f"field.{f}": v for f, v in s["per_field"].items()})
        forced = [CellRecord.model_validate(c) for r in records for c in r.get("forced", [])]
        swept = sweep(forced) if forced else {}
        for f, curve in swept.items():
            metrics[f"sweep.{f}.best_threshold"] = curve["best_threshold"]
            metrics[f"sweep.{f}.loco_accuracy"] = curve["loco_accuracy"]
        return metrics, {"per_field": s["per_field"], "modes": s["modes"], "stated_cells": s["stated_cells"],
                         "not_stated_cells": s["not_stated_cells"], "threshold_sweep": swept}


class RelatedCase(BaseModel):
    """A topic for a related-work draft and, optionally, the papers that belong under it."""

    id: str
    topic: str = Field(min_length=1)
    gold: list[str] = Field(default_factory=list)
    max_papers: int = Field(default=8, ge=1, le=30)


def citation_checks(draft: RelatedWorkDraft, library_ids: set[str]) -> dict[str, Any]:
    """Whether every citation of the draft resolves, one to one, in Markdown and in LaTeX/BibTeX."""
    body = draft.markdown.partition("### References")[0]
    refs = {r.n for r in draft.references}
    markers = [n for m in CITE.finditer(body) for n in marker_numbers(m.group(0))]
    keys = {k.strip() for group in CITE_KEYS.findall(draft.latex or "") for k in group.split(",") if k.strip()}
    bib = bibtexparser.parse_string(draft.bibtex or "")
    entries = [e.key for e in bib.entries]
    dangling_keys = len(keys - set(entries))
    uncited_entries = len(set(entries) - keys)
    out = {
        "markers": len(markers), "dangling_markers": sum(1 for n in markers if n not in refs),
        "uncited_references": len(refs - set(markers)),
        "outside_library": sum(1 for r in draft.references if r.paper_id not in library_ids),
        "dangling_cite_keys": dangling_keys, "uncited_bib_entries": uncited_entries,
        "bib_failed_blocks": len(bib.failed_blocks) + (len(entries) - len(set(entries))),
    }
    out["valid"] = not any(v for k, v in out.items() if k != "markers")
    return out


class RelatedSuite(Suite[RelatedCase]):
    """Related-work drafts: citation validity, sentences supported, removed citations, gold papers cited."""

    name = "related"
    case_model = RelatedCase
    files = ("related.jsonl", "related_dev.jsonl")

    def check(self, cases: Sequence[RelatedCase]) -> None:
        """Every gold title must be a paper of this library."""
        self.gold = check_titles(self.ws, {c.id: c.gold for c in cases})
        self.library_ids = {p.paper_id for p in self.ws.papers()}

    def run_case(self, case: RelatedCase) -> dict[str, Any]:
        """One draft and its checks; a topic the library does not cover is recorded as refused."""
        t = time.perf_counter()
        try:
            draft = related_work(self.ws, case.topic, max_papers=case.max_papers, llm=self.llm)
        except BackendError:
            raise
        except LitReviewError as exc:
            return {"id": case.id, "refused": True, "reason": str(exc), "seconds": round(time.perf_counter() - t, 3)}
        checks = citation_checks(draft, self.library_ids)
        sentences = [s for theme in draft.themes for s in theme.sentences]
        cited = [r.paper_id for r in draft.references]
        gold = set(self.gold[case.id])
        u = draft.usage
        return {
            "id": case.id, "refused": False, "seconds": round(time.perf_counter() - t, 3), **checks,
            "themes": len(draft.themes), "references": len(cited),
            "sentences": len(sentences), "supported_sentences": sum(s.supported for s in sentences),
            "removed_citations": draft.removed_citations, "modes": [theme.mode for theme in draft.themes],
            "gold_precision": round(len(gold & set(cited)) / len(cited), 4) if gold and cited else None,
            "gold_recall_capped": round(len(gold & set(cited)) / min(len(gold), case.max_papers), 4) if gold else None,
            "prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
            "cost_usd": u.cost_usd if u.cost_usd is not None else self.backend.cost(u.prompt_tokens,
                                                                                     u.completion_tokens),
        }

    def summarise(self, records: Sequence[dict[str, Any]]) -> tuple[Metrics, dict[str, Any]]:
        """Citation validity over the drafts written, and how well their papers match the gold sets."""
        drafts = [r for r in records if not r["refused"]]
        n_sent = sum(r["sentences"] for r in drafts)
        costs = [r["cost_usd"] for r in drafts if r["cost_usd"] is not None]
        modes: dict[str, int] = {}
        for r in drafts:
            for m in r["modes"]:
                modes[m] = modes.get(m, 0) + 1
        metrics: Metrics = {
            "topics": len(records), "drafts": len(drafts), "refused": len(records) - len(drafts),
            "citation_validity": mean([float(r["valid"]) for r in drafts]),
            "markers": sum(r["markers"] for r in drafts),
            "dangling_markers": sum(r["dangling_markers"] for r in drafts),
            "uncited_references": sum(r["uncited_references"] for r in drafts),
            "dangling_cite_keys": sum(r["dangling_cite_keys"] for r in drafts),
            "uncited_bib_entries": sum(r["uncited_bib_entries"] for r in drafts),
            "outside_library": sum(r["outside_library"] for r in drafts),
            "sentences_supported": round(sum(r["supported_sentences"] for r in drafts) / n_sent, 4) if n_sent else None,
            "removed_citations": sum(r["removed_citations"] for r in drafts),
            "gold_precision": mean([r["gold_precision"] for r in drafts if r["gold_precision"] is not None]),
            "gold_recall_capped": mean([r["gold_recall_capped"] for r in drafts
                                        if r["gold_recall_capped"] is not None]),
            "draft_s_p50": percentile([r["seconds"] for r in drafts], 50),
            "draft_s_p95": percentile([r["seconds"] for r in drafts], 95),
            "prompt_tokens": sum(r["prompt_tokens"] for r in drafts),
            "completion_tokens": sum(r["completion_tokens"] for r in drafts),
            "cost_usd": round(sum(costs), 6) if costs else None,
        }
        return metrics, {"modes": modes, "refused": {r["id"]: r["reason"] for r in records if r["refused"]}}
