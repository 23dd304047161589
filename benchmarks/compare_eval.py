"""Comparison-table figures on evals/compare_dev.jsonl per back-end: cell accuracy (stated and not-stated
cells apart), provenance-verbatim rate, modes and time; plus the not-stated threshold sweep.

Run: .venv/bin/python benchmarks/compare_eval.py [extractive local openai ...] [--out docs/compare-eval.json]
(ingests the sample into a temporary home unless LITREVIEW_HOME already holds it). The scoring lives in
assistant/evaluation/compare.py (also used by `litreview eval --suite compare`): a cell is correct when it
is "not stated" and the dev set says so, or when it is stated and one of the expected strings is in its
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
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Evaluate each back-end named on the command line and write one JSON report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("backends", nargs="*", default=["extractive", "local"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "compare-eval.json")
    parser.add_argument("--dataset", type=Path, default=ROOT / "evals" / "compare_dev.jsonl")
    args = parser.parse_args()
    os.environ.setdefault("LITREVIEW_HOME", tempfile.mkdtemp(prefix="lr-compare-"))
    from assistant.evaluation.compare import CompareCase, papers_by_title, records, run_case, summarise, sweep
    from assistant.evaluation.datasets import load_jsonl
    from assistant.settings import LLMSettings
    from assistant.workspace import Workspace

    ws = Workspace()
    if ws.library.count() == 0:
        ws.ingest_sample()
    cases = load_jsonl(args.dataset, CompareCase)
    by_title = papers_by_title(cases, ws.papers())  # titles exist, expected strings are in the abstracts
    report: dict[str, Any] = {
        "dataset": str(args.dataset.resolve().relative_to(ROOT)),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": sys.version.split()[0],
    }
    forced = []
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
        recs = []
        seconds: list[float] = []
        tokens = Counter[str]()
        for case in cases:
            table, s = run_case(ws, case, by_title, llm)
            seconds.append(round(s, 2))
            tokens.update(prompt=table.usage.prompt_tokens, completion=table.usage.completion_tokens)
            cells = records(case, table, by_title)
            recs.extend(cells)
            print(f"  {name} {case.id}: {s:.1f} s, {sum(r.correct for r in cells)}/{len(cells)} cells right")
        summary = summarise(recs)
        summary.update(table_s_p50=statistics.median(seconds), table_s_max=max(seconds), tokens=dict(tokens))
        results[name] = {"summary": summary, "table_seconds": seconds, "records": [r.model_dump() for r in recs]}
        print(f"{name}: {json.dumps(summary)}")
    report["results"] = results
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
