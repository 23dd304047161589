"""Comparison-table figures on evals/compare_dev.jsonl per back-end: cell accuracy (stated and not-stated
cells apart), provenance-verbatim rate, modes and time; plus the not-stated threshold sweep.

Run: .venv/bin/python benchmarks/compare_eval.py [extractive local openai ...] [--out docs/compare-eval.json]
(ingests the sample into a temporary home unless LITREVIEW_HOME already holds it). A cell is correct when
it is "not stated" and the dev set says so, or when it is stated and one of the expected strings is in its
value (case-insensitive). The sweep runs the extractive table once with every field forced to "stated",
then applies each candidate threshold to the scores; the leave-one-case-out (LOCO) figure picks each
field's threshold on nine cases and scores it on the tenth, so it is not tuned on the cells it counts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
NOT_STATED = "not stated"


class CompareCase(BaseModel):
    """One dev table: papers by exact title, the expected strings (or "not stated") per field."""

    id: str
    topic: str
    fields: list[str]
    rows: list[dict[str, Any]]  # {"title": str, "cells": {field: [str, ...] | "not stated"}}


def correct(expected: list[str] | str, value: str, not_stated: bool) -> bool:
    """The cell matches the dev set."""
    if expected == NOT_STATED:
        return not_stated
    return not not_stated and any(s.casefold() in value.casefold() for s in expected)


def run_case(
    ws: Any, case: CompareCase, by_title: dict[str, Any], llm: Any, min_scores: Any = None,
) -> tuple[Any, float]:
    from assistant.writing.compare import compare_papers

    ids = [by_title[r["title"]].paper_id for r in case.rows]
    t = time.perf_counter()
    table = compare_papers(ws, papers=ids, fields=case.fields, llm=llm, min_scores=min_scores)
    return table, time.perf_counter() - t


def records(case: CompareCase, table: Any, by_title: dict[str, Any]) -> list[dict[str, Any]]:
    """One record per cell: what was expected, what came out, whether it is right and grounded."""
    from assistant.writing.compare import cell_is_grounded

    out = []
    for row, gold in zip(table.rows, case.rows, strict=True):
        for cell in row.cells:
            expected = gold["cells"][cell.field]
            out.append({
                "case": case.id, "title": row.title, "field": cell.field, "expected_stated": expected != NOT_STATED,
                "correct": correct(expected, cell.value, cell.not_stated), "mode": cell.mode, "score": cell.score,
                "value": cell.value, "grounded": cell_is_grounded(cell, by_title[row.title]),
            })
    return out


def summarise(recs: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy overall, on stated and not-stated cells, per field; provenance-verbatim rate; modes."""
    def acc(rs: list[dict[str, Any]]) -> float | None:
        return round(sum(r["correct"] for r in rs) / len(rs), 3) if rs else None

    stated = [r for r in recs if r["expected_stated"]]
    shown = [r for r in recs if r["mode"] != "not_stated"]
    return {
        "cells": len(recs), "accuracy": acc(recs),
        "stated_cells": len(stated), "accuracy_stated": acc(stated),
        "not_stated_cells": len(recs) - len(stated),
        "accuracy_not_stated": acc([r for r in recs if not r["expected_stated"]]),
        "per_field": {f: acc([r for r in recs if r["field"] == f]) for f in dict.fromkeys(r["field"] for r in recs)},
        "provenance_verbatim": round(sum(r["grounded"] for r in shown) / len(shown), 3) if shown else None,
        "modes": dict(Counter(r["mode"] for r in recs)),
    }


def sweep(recs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per field: accuracy at each threshold on the forced-stated scores, the best one, and LOCO accuracy."""
    def acc_at(rs: list[dict[str, Any]], th: float) -> float:
        return sum(r["correct"] if r["score"] >= th else not r["expected_stated"] for r in rs) / len(rs)

    grid = [round(x * 0.05, 2) for x in range(-2, 31)]
    out: dict[str, Any] = {}
    for field in dict.fromkeys(r["field"] for r in recs):
        rs = [r for r in recs if r["field"] == field]
        curve = {th: round(acc_at(rs, th), 3) for th in grid}
        best = max(grid, key=lambda th: (curve[th], -th))  # the lowest of the best thresholds
        loco_right = 0
        for case in dict.fromkeys(r["case"] for r in rs):
            train = [r for r in rs if r["case"] != case]
            test = [r for r in rs if r["case"] == case]
            th = max(grid, key=lambda t, train=train: (acc_at(train, t), -t))
            loco_right += sum(r["correct"] if r["score"] >= th else not r["expected_stated"] for r in test)
        out[field] = {"best_threshold": best, "best_accuracy": curve[best],
                      "loco_accuracy": round(loco_right / len(rs), 3), "curve": curve}
    return out


def main() -> None:
    """Evaluate each back-end named on the command line and write one JSON report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("backends", nargs="*", default=["extractive", "local"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "compare-eval.json")
    parser.add_argument("--dataset", type=Path, default=ROOT / "evals" / "compare_dev.jsonl")
    args = parser.parse_args()
    os.environ.setdefault("LITREVIEW_HOME", tempfile.mkdtemp(prefix="lr-compare-"))
    from assistant.evaluation.datasets import load_jsonl
    from assistant.settings import LLMSettings
    from assistant.workspace import Workspace

    ws = Workspace()
    if ws.library.count() == 0:
        ws.ingest_sample()
    cases = load_jsonl(args.dataset, CompareCase)
    by_title = {p.title: p for p in ws.papers()}
    for case in cases:  # the dev set itself: titles exist, expected strings are in the abstract
        for row in case.rows:
            paper = by_title[row["title"]]
            for field, expected in row["cells"].items():
                strings = [] if expected == NOT_STATED else expected
                missing = [s for s in strings if s.casefold() not in paper.abstract.casefold()]
                if missing:
                    sys.exit(f"{case.id}: {row['title']}: {field}: {missing} not in the abstract")
    report: dict[str, Any] = {
        "dataset": str(args.dataset.resolve().relative_to(ROOT)),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": sys.version.split()[0],
    }
    forced: list[dict[str, Any]] = []
    for case in cases:
        table, _ = run_case(ws, case, by_title, LLMSettings(provider="extractive"), {f: -9.0 for f in case.fields})
        forced.extend(records(case, table, by_title))
    report["threshold_sweep"] = sweep(forced)
    for field, s in report["threshold_sweep"].items():
        print(f"sweep {field}: best {s['best_threshold']} → {s['best_accuracy']}, LOCO {s['loco_accuracy']}")
    results: dict[str, Any] = {}
    for name in args.backends:
        if name == "openai" and not os.environ.get("OPENAI_API_KEY"):
            print("openai: skipped (OPENAI_API_KEY is not set)")
            continue
        llm = LLMSettings(provider=name)  # type: ignore[arg-type]
        recs: list[dict[str, Any]] = []
        seconds: list[float] = []
        tokens = Counter[str]()
        for case in cases:
            table, s = run_case(ws, case, by_title, llm)
            seconds.append(round(s, 2))
            tokens.update(prompt=table.usage.prompt_tokens, completion=table.usage.completion_tokens)
            recs.extend(records(case, table, by_title))
            n = len(table.rows) * len(case.fields)
            print(f"  {name} {case.id}: {s:.1f} s, {sum(r['correct'] for r in recs[-n:])}/{n} cells right")
        summary = summarise(recs)
        summary.update(table_s_p50=statistics.median(seconds), table_s_max=max(seconds), tokens=dict(tokens))
        results[name] = {"summary": summary, "table_seconds": seconds, "records": recs}
        print(f"{name}: {json.dumps(summary)}")
    report["results"] = results
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
