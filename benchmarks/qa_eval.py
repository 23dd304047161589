"""QA figures on evals/qa_dev.jsonl per back-end: fact accuracy, abstention, citations, timings.

Run: .venv/bin/python benchmarks/qa_eval.py [extractive local openai ...] [--out docs/qa-eval.json]
(ingests the sample into a temporary home unless LITREVIEW_HOME already holds it). The local
model is warmed with one question first, so its timings are those of a loaded model; the cold
start (model load) is reported separately. OpenAI runs only when OPENAI_API_KEY is set.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Evaluate each back-end named on the command line and write one JSON report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("backends", nargs="*", default=["extractive", "local"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "qa-eval.json")
    parser.add_argument("--dataset", type=Path, default=ROOT / "evals" / "qa_dev.jsonl")
    args = parser.parse_args()
    os.environ.setdefault("LITREVIEW_HOME", tempfile.mkdtemp(prefix="lr-qa-"))
    from assistant.evaluation.datasets import QACase, load_jsonl
    from assistant.evaluation.qa import evaluate_qa
    from assistant.settings import LLMSettings
    from assistant.workspace import Workspace

    ws = Workspace()
    if ws.library.count() == 0:
        ws.ingest_sample()
    cases = load_jsonl(args.dataset, QACase)
    report: dict[str, object] = {
        "dataset": str(args.dataset.resolve().relative_to(ROOT)),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": sys.version.split()[0], "results": {},
    }
    results: dict[str, object] = {}
    for name in args.backends:
        if name == "openai" and not os.environ.get("OPENAI_API_KEY"):
            print("openai: skipped (OPENAI_API_KEY is not set)")
            continue
        answerer = ws.answerer(LLMSettings(provider=name))  # type: ignore[arg-type]
        t = time.perf_counter()
        answerer.ask(cases[0].query)  # warm-up: loads the model, fills caches
        cold = time.perf_counter() - t
        summary, records = evaluate_qa(answerer, cases, lambda r: print(f"  {r.id} {r.mode:10} ok={r.correct}"))
        results[name] = {"summary": summary.model_dump(), "warm_up_s": round(cold, 3),
                         "records": [r.model_dump() for r in records]}
        s = summary
        print(f"{name}: fact accuracy {s.fact_accuracy:.3f}, gold cited {s.gold_cited:.3f}, "
              f"abstention unanswerable {s.abstention_unanswerable:.3f} / answerable {s.abstention_answerable:.3f}, "
              f"removed citations {s.removed_citations}, outside {s.outside_citations}, modes {s.modes}, "
              f"total p50 {s.total_s_p50} s p95 {s.total_s_p95} s, first token p50 {s.first_token_s_p50} "
              f"p95 {s.first_token_s_p95}")
    report["results"] = results
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
