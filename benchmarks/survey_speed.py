"""Benchmark: a warm offline (extractive) survey answer on the sample library, beside its raw floor.

Run: .venv/bin/python benchmarks/survey_speed.py [--repeats 3] [--out docs/benchmarks-survey.json]
(ingests the sample into a temporary home unless LITREVIEW_HOME already holds papers). The survey
and compare questions of evals/qa_dev.jsonl are answered once to warm MiniLM, the BM25 index and the
sentence cache, then `--repeats` times each; the floor beside them is the hybrid search of the same
questions alone (one query encode + Chroma + BM25), measured in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main() -> None:
    """Time the answers and the searches, print a table and optionally write the raw figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("LITREVIEW_HOME", tempfile.mkdtemp(prefix="lr-survey-"))
    from assistant.evaluation.datasets import QACase, load_jsonl
    from assistant.kinds import survey_topic
    from assistant.settings import LLMSettings
    from assistant.workspace import Workspace

    ws = Workspace()
    if ws.library.count() == 0:
        ws.ingest_sample()
    cases = [c for c in load_jsonl(ROOT / "evals" / "qa_dev.jsonl", QACase) if c.kind in ("survey", "compare")]
    answerer = ws.answerer(LLMSettings(provider="extractive"))
    t = time.perf_counter()
    for case in cases:  # warm-up: model, BM25 index, every listed paper's sentence vectors
        answerer.ask(case.query)
    warm_up = time.perf_counter() - t
    answers: dict[str, list[float]] = {"survey": [], "compare": []}
    searches: list[float] = []
    retr = ws.settings.retrieval
    for _ in range(args.repeats):
        for case in cases:
            t = time.perf_counter()
            ans = answerer.ask(case.query)
            answers[case.kind].append(time.perf_counter() - t)
            assert ans.kind == case.kind or ans.refused or case.kind == "compare", (case.id, ans.kind)
            t = time.perf_counter()
            ws.retriever.rank(survey_topic(case.query), retr.mode, max(retr.candidates, ws.settings.answer.survey_cap))
            searches.append(time.perf_counter() - t)
    rows = {
        "survey answer": answers["survey"], "compare answer (two side searches)": answers["compare"],
        "raw floor: one hybrid search of the question": searches,
    }
    print(f"warm-up (first answer of each of {len(cases)} questions): {warm_up:.1f} s")
    print("| measure | p50 | p95 | n |\n|---|---|---|---|")
    for name, xs in rows.items():
        print(f"| {name} | {statistics.median(xs) * 1000:.0f} ms | {percentile(xs, 95) * 1000:.0f} ms | {len(xs)} |")
    if args.out:
        data = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores", "load_avg": os.getloadavg(),
            "warm_up_s": round(warm_up, 3), "repeats": args.repeats,
            "seconds": {k: [round(x, 4) for x in v] for k, v in rows.items()},
        }
        args.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
