"""Benchmark: cold ingest of the sample library and search latency, each beside its raw limit.

Run: .venv/bin/python benchmarks/core.py [--out docs/benchmarks-core.json]
Prints a Markdown table; the figures are written down in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cold_ingest(home: Path) -> tuple[float, dict[str, object]]:
    """Wall time of `litreview ingest --sample` in a new process (imports and model load included)."""
    env = {**os.environ, "LITREVIEW_HOME": str(home)}
    exe = Path(sys.executable).with_name("litreview")
    started = time.perf_counter()
    proc = subprocess.run([str(exe), "ingest", "--sample", "--json"], env=env, capture_output=True, text=True,
                          check=True)
    return time.perf_counter() - started, json.loads(proc.stdout)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main() -> None:
    """Run every measurement once and print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3, help="passes over the dev queries for latency")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="lr-bench-"))
    wall, report = cold_ingest(home)

    os.environ["LITREVIEW_HOME"] = str(home)
    from assistant.chunking import chunk_paper
    from assistant.evaluation.datasets import RetrievalCase, load_jsonl
    from assistant.workspace import Workspace

    ws = Workspace()
    t0 = time.perf_counter()
    embedder = ws.embedder.inner  # the model itself: the raw floor never reads the process's vector memory
    load_s = time.perf_counter() - t0
    papers = ws.papers()
    texts = [c.embedding_text() for p in papers for c in chunk_paper(p, ws.settings.chunking)]
    t0 = time.perf_counter()
    vectors = embedder.embed_documents(texts)
    encode_s = time.perf_counter() - t0

    queries = [c.query for c in load_jsonl(ROOT / "evals" / "retrieval_dev.jsonl", RetrievalCase)]
    ws.search(queries[0])  # warm the BM25 index
    search_ms: list[float] = []
    chroma_ms: list[float] = []
    encode_q_ms: list[float] = []
    for _ in range(args.repeats):
        for q in queries:
            ws.embedder.forget([q])  # each timed search encodes its query, as a new query does
            t0 = time.perf_counter()
            ws.search(q, k=10)
            search_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            qv = embedder.embed_query(q)
            encode_q_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            ws.library.query_chunks(qv, 150)
            chroma_ms.append((time.perf_counter() - t0) * 1000)

    result = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "papers": len(papers),
        "chunks": len(texts),
        "cold_ingest_wall_s": round(wall, 2),
        "ingest_inside_process_s": report["seconds"],
        "model_load_s": round(load_s, 2),
        "raw_minilm_encode_s": round(encode_s, 2),
        "ingest_over_raw_encode": round(float(report["seconds"]) / encode_s, 2),
        "search_p50_ms": round(statistics.median(search_ms), 1),
        "search_p95_ms": round(percentile(search_ms, 95), 1),
        "raw_query_encode_p50_ms": round(statistics.median(encode_q_ms), 1),
        "raw_chroma_query_p50_ms": round(statistics.median(chroma_ms), 1),
        "raw_chroma_query_p95_ms": round(percentile(chroma_ms, 95), 1),
        "queries_timed": len(search_ms),
        "vector_dim": len(vectors[0]) if vectors else 0,
    }
    print("| measure | value |\n|---|---|")
    for key, value in result.items():
        print(f"| {key} | {value} |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
