"""Comparison-table evaluation: cell accuracy (stated and not-stated cells apart), provenance verbatim rate,
and the not-stated threshold sweep, on a dev set of hand-checked tables (schema in evals/README.md)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from assistant.errors import LitReviewError
from assistant.identity import normalize_title
from assistant.settings import LLMSettings
from assistant.types import Paper
from assistant.workspace import Workspace
from assistant.writing.compare import cell_is_grounded, compare_papers
from assistant.writing.models import NOT_STATED, ComparisonTable

Expected = list[str] | str  # acceptable strings, or "not stated"


class CompareRow(BaseModel):
    """One paper of a dev table: its exact title and the expected strings (or "not stated") per field."""

    title: str
    cells: dict[str, Expected]


class CompareCase(BaseModel):
    """One dev table: a topic (a description, not used by the scorer), its fields and its rows."""

    id: str
    topic: str = ""
    fields: list[str] = Field(min_length=1)
    rows: list[CompareRow] = Field(min_length=1)


class CellRecord(BaseModel):
    """One cell: what was expected, what came out, whether it is right and grounded."""

    case: str
    title: str
    field: str
    expected_stated: bool
    correct: bool
    mode: str
    score: float
    value: str
    grounded: bool


def correct(expected: Expected, value: str, not_stated: bool) -> bool:
    """The cell matches the dev set: "not stated" both ways, or one expected string in the value."""
    if expected == NOT_STATED:
        return not_stated
    return not not_stated and any(s.casefold() in value.casefold() for s in expected)


def papers_by_title(cases: Sequence[CompareCase], papers: Sequence[Paper]) -> dict[str, Paper]:
    """Each dev title's paper in this library; an unknown title or an expected string missing from its
    abstract is an error (the dev set must be checkable against the library)."""
    library = {normalize_title(p.title): p for p in papers}
    out: dict[str, Paper] = {}
    for case in cases:
        for row in case.rows:
            paper = library.get(normalize_title(row.title))
            if paper is None:
                raise LitReviewError(f"case {case.id}: gold paper '{row.title}' is not in the library")
            unknown = [f for f in row.cells if f not in case.fields]
            if unknown or set(case.fields) - set(row.cells):
                raise LitReviewError(f"case {case.id}: the cells of '{row.title}' do not match the fields")
            for field, expected in row.cells.items():
                strings = [] if expected == NOT_STATED else expected
                if isinstance(strings, str):
                    raise LitReviewError(f"case {case.id}: {field}: expected a list of strings or \"not stated\"")
                missing = [s for s in strings if s.casefold() not in paper.abstract.casefold()]
                if missing:
                    raise LitReviewError(f"case {case.id}: '{row.title}': {field}: {missing} not in the abstract")
            out[row.title] = paper
    return out


def run_case(
    ws: Workspace, case: CompareCase, by_title: Mapping[str, Paper], llm: LLMSettings | None = None,
    min_scores: Mapping[str, float] | None = None,
) -> tuple[ComparisonTable, float]:
    """The comparison table of one dev case and its wall time in seconds."""
    ids = [by_title[r.title].paper_id for r in case.rows]
    t = time.perf_counter()
    table = compare_papers(ws, papers=ids, fields=case.fields, llm=llm, min_scores=min_scores)
    return table, time.perf_counter() - t


def records(case: CompareCase, table: ComparisonTable, by_title: Mapping[str, Paper]) -> list[CellRecord]:
    """One record per cell of the table."""
    out = []
    for row, gold in zip(table.rows, case.rows, strict=True):
        for cell in row.cells:
            expected = gold.cells[cell.field]
            out.append(CellRecord(
                case=case.id, title=row.title, field=cell.field, expected_stated=expected != NOT_STATED,
                correct=correct(expected, cell.value, cell.not_stated), mode=cell.mode, score=cell.score,
                value=cell.value, grounded=cell_is_grounded(cell, by_title[gold.title]),
            ))
    return out


def _acc(rs: Sequence[CellRecord]) -> float | None:
    return round(sum(r.correct for r in rs) / len(rs), 3) if rs else None


def summarise(recs: Sequence[CellRecord]) -> dict[str, Any]:
    """Accuracy overall, on stated and not-stated cells, per field; provenance-verbatim rate; modes."""
    stated = [r for r in recs if r.expected_stated]
    shown = [r for r in recs if r.mode != "not_stated"]
    return {
        "cells": len(recs), "accuracy": _acc(recs),
        "stated_cells": len(stated), "accuracy_stated": _acc(stated),
        "not_stated_cells": len(recs) - len(stated),
        "accuracy_not_stated": _acc([r for r in recs if not r.expected_stated]),
        "per_field": {f: _acc([r for r in recs if r.field == f]) for f in dict.fromkeys(r.field for r in recs)},
        "provenance_verbatim": round(sum(r.grounded for r in shown) / len(shown), 3) if shown else None,
        "modes": dict(Counter(r.mode for r in recs)),
    }


def _right_at(r: CellRecord, threshold: float) -> bool:
    return r.correct if r.score >= threshold else not r.expected_stated


def _accuracy_at(rs: Sequence[CellRecord], threshold: float) -> float:
    return sum(_right_at(r, threshold) for r in rs) / len(rs)


def _best_threshold(rs: Sequence[CellRecord], grid: Sequence[float]) -> float:
    """The lowest of the thresholds with the best accuracy on these cells."""
    return max(grid, key=lambda th: (_accuracy_at(rs, th), -th))


def sweep(recs: Sequence[CellRecord]) -> dict[str, Any]:
    """Per field: accuracy at each threshold on forced-stated scores, the best one, and leave-one-case-out accuracy."""
    grid = [round(x * 0.05, 2) for x in range(-2, 31)]
    out: dict[str, Any] = {}
    for field in dict.fromkeys(r.field for r in recs):
        rs = [r for r in recs if r.field == field]
        best = _best_threshold(rs, grid)
        loco_right = 0
        for case in dict.fromkeys(r.case for r in rs):
            train = [r for r in rs if r.case != case]
            th = _best_threshold(train, grid) if train else best
            loco_right += sum(_right_at(r, th) for r in rs if r.case == case)
        out[field] = {"best_threshold": best, "best_accuracy": round(_accuracy_at(rs, best), 3),
                      "loco_accuracy": round(loco_right / len(rs), 3),
                      "curve": {th: round(_accuracy_at(rs, th), 3) for th in grid}}
    return out
