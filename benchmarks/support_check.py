"""Benchmark: the support check's own time per answer, beside its raw floor (MiniLM encoding the same texts).

Run: .venv/bin/python benchmarks/support_check.py [--out docs/support-bench.json]
(uses $LITREVIEW_HOME's library, ingesting the sample into a temporary home when it is empty).
Each fact question of evals/qa_dev.jsonl gets its extractive answer (3 sentences citing whole abstracts,
as a generated answer's sources are); the check of that answer is timed three ways: "in_chain" as the
answer chain runs it (the abstract sentences the evidence picker embedded are in the process-wide vector
memory, titles and claims are encoded), "cold" (none of its texts remembered) and "warm" (all of them).
The raw floor beside each is one MiniLM batch of what that way must encode.
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


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank), in ms."""
    ordered = sorted(values)
    return round(1000 * ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))], 1)


def main() -> None:
    """Time the check on every answer and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("LITREVIEW_HOME", tempfile.mkdtemp(prefix="lr-support-"))
    from assistant.citations import strip_markers
    from assistant.evaluation.datasets import QACase, load_jsonl
    from assistant.evidence import TermWeights
    from assistant.settings import LLMSettings
    from assistant.support import SupportChecker, answer_sentences
    from assistant.text import split_sentences
    from assistant.workspace import Workspace

    ws = Workspace()
    if ws.library.count() == 0:
        ws.ingest_sample()
    answerer = ws.answerer(LLMSettings(provider="extractive"))
    cases = [c for c in load_jsonl(ROOT / "evals" / "qa_dev.jsonl", QACase) if c.kind == "fact"]
    answers = [a for a in (answerer.ask(c.query) for c in cases) if not a.refused]
    checker = SupportChecker(ws.embedder, TermWeights(ws.retriever.bm25()), ws.settings.answer)
    checker.check(answers[0].answer, answers[0].contexts)  # warm the model and the lexicon
    cold, warm, chain, floor_cold, floor_warm, floor_chain = [], [], [], [], [], []
    for a in answers:
        papers = list(ws.get_papers([s.paper_id for s in a.contexts]).values())
        claims = [strip_markers(s) for s in answer_sentences(a.answer)]
        titles = [s.title for s in a.contexts]
        parts = [p for s in a.contexts for p in split_sentences(s.text)]
        ws.embedder.forget(claims + titles + parts)
        ws.picker.sentence_vectors(papers)  # what the evidence picker embeds before the chain's check
        t = time.perf_counter()
        checker.check(a.answer, a.contexts)
        chain.append(time.perf_counter() - t)
        ws.embedder.forget(claims + titles + parts)
        t = time.perf_counter()
        checker.check(a.answer, a.contexts)
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        checker.check(a.answer, a.contexts)
        warm.append(time.perf_counter() - t)
        for texts, out in ((claims + titles, floor_chain), (claims + titles + parts, floor_cold), (claims, floor_warm)):
            t = time.perf_counter()
            ws.embedder.inner.embed_documents(texts)  # the bare model: the cache would time lookups
            out.append(time.perf_counter() - t)
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   f"Python {platform.python_version()}",
        "answers": len(answers),
        "sentences_per_answer": round(statistics.mean(len(answer_sentences(a.answer)) for a in answers), 2),
        "sources_per_answer": round(statistics.mean(len(a.contexts) for a in answers), 2),
        "check_in_chain_p50_ms": pct(chain, 50), "check_in_chain_p95_ms": pct(chain, 95),
        "raw_encode_in_chain_p50_ms": pct(floor_chain, 50),
        "check_cold_p50_ms": pct(cold, 50), "check_cold_p95_ms": pct(cold, 95),
        "raw_encode_cold_p50_ms": pct(floor_cold, 50),
        "check_warm_p50_ms": pct(warm, 50), "check_warm_p95_ms": pct(warm, 95),
        "raw_encode_warm_p50_ms": pct(floor_warm, 50),
    }
    print("| measure | value |\n|---|---|")
    for key, value in result.items():
        print(f"| {key} | {value} |")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
