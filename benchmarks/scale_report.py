"""Markdown tables from the scale benchmark's JSON (docs/benchmarks-scale.json), for docs/benchmarks.md.

Run: .venv/bin/python benchmarks/scale_report.py [docs/benchmarks-scale.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIZES = ("sample", "10k", "100k")


def verdict(value: float, limit: float) -> str:
    """'met' or 'missed' against an upper limit."""
    return "met" if value <= limit else "**missed**"


def ingest_table(r: dict[str, Any]) -> list[str]:
    """Ingest throughput per size beside the raw encode of the same texts."""
    s, t, b = r["ingest"]["sample"], r["ingest"]["10k"], r["ingest"]["100k"]
    rows = [
        "| library | papers / chunks | ingest | raw MiniLM encode, same texts | ingest ÷ encode (wall / CPU) "
        "| non-encode work | target |",
        "|---|---|---|---|---|---|---|",
        f"| sample (best of {len(s['rounds'])}) | {s['papers']} / {s['chunks']} | {s['ingest_s']} s "
        f"| {s['raw_encode_s']} s | {s['ingest_over_raw_encode']} / {s['ingest_over_raw_encode_cpu']} "
        f"| {s['non_encode_s']} s | ≤ 30 s: {verdict(s['ingest_s'], 30)}; ≤ 1.5×: "
        f"{verdict(s['ingest_over_raw_encode'], 1.5)} |",
        f"| 10k | {t['papers']} / {t['chunks']} | {t['ingest_s']} s ({t['papers'] / t['ingest_s']:.1f} papers/s) "
        f"| {t['raw_encode_s']} s ({t['raw_encode_chunks_per_s']} chunks/s) "
        f"| {t['ingest_over_raw_encode']} / {t['ingest_over_raw_encode_cpu']} | {t['non_encode_s']} s | |",
        f"| 100k (encode stand-in) | {b['papers']} / {b['chunks']} | {b['non_encode_s']} s without encode "
        f"({b['non_encode_papers_per_s']} papers/s, {b['non_encode_chunks_per_s']} chunks/s) "
        f"| {b['extrapolated_encode_s']} s extrapolated | {b['extrapolated_ingest_over_encode']} / "
        f"{b['extrapolated_ingest_over_encode_cpu']} (extrapolated) | {b['non_encode_s']} s | |",
    ]
    return rows


def search_table(r: dict[str, Any]) -> list[str]:
    """Warm search latency per size beside the raw query encode and raw Chroma query."""
    rows = [
        "| library | search p50 / p95 | raw query encode p50 / p95 | raw Chroma query p50 / p95 "
        "| raw BM25 p50 / p95 | search p95 ÷ (encode + Chroma) p95 | gold in top 10 | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size in SIZES:
        x = r["search"][size]
        s, e, c, b = x["search_ms"], x["raw_query_encode_ms"], x["raw_chroma_query_ms"], x["raw_bm25_query_ms"]
        target = f"p95 ≤ 50 ms: {verdict(s['p95'], 50)}" if size == "100k" else ""
        rows.append(
            f"| {x['papers']} papers / {x['chunks']} chunks | {s['p50']} / {s['p95']} ms | {e['p50']} / {e['p95']} ms "
            f"| {c['p50']} / {c['p95']} ms | {b['p50']} / {b['p95']} ms | {x['search_p95_over_raw_p95']} "
            f"| {x['gold_in_top10']} | {target} |"
        )
    return rows


def open_table(r: dict[str, Any]) -> list[str]:
    """Library open, model load and the first (cold) search, without and with the saved BM25 index."""
    rows = [
        "| library | open + first count | model load | first search, no saved index | first search, saved index "
        "| read all papers | build BM25 | save / load BM25 | new process → first result (no index / index) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in SIZES:
        x, y = r["search"][size], r["reopen"][size]
        rows.append(
            f"| {x['papers']} | {x['library_open_s'] + x['first_count_s']:.2f} s | {x['model_load_s']} s "
            f"| {x['first_search_s']} s | {y['first_search_s']} s | {x['list_papers_s']} s "
            f"| {x['bm25_index_build_s']} s | {x['bm25_index_save_s']} / {x['bm25_index_load_s']} s "
            f"| {x['process_to_first_result_s']} / {y['process_to_first_result_s']} s |"
        )
    return rows


def memory_table(r: dict[str, Any]) -> list[str]:
    """Peak RSS of each phase's process."""
    ans = r["answer"]
    ten, search = r["ingest"]["10k"], r["search"]["100k"]
    phases = [
        ("ingest, 10k papers (at the end of the ingest)", ten.get("peak_rss_after_first_ingest_mb")),
        ("ingest, 10k papers, then the raw encode of every chunk (whole process)", ten["process_peak_rss_mb"]),
        ("build, 100k papers in one ingest call (encode stand-in)", r["ingest"]["100k"]["process_peak_rss_mb"]),
        ("search, 100k, no saved index (reads every paper, builds and saves BM25)",
         search.get("peak_rss_after_first_search_mb")),
        ("search, 100k, saved index", r["reopen"]["100k"]["process_peak_rss_mb"]),
        ("local-model answers, sample library", ans["process_peak_rss_mb"]),
    ]
    rows = ["| process | peak RSS | target |", "|---|---|---|"]
    for name, rss in phases:
        if rss is None:
            continue
        rows.append(f"| {name} | {rss / 1024:.2f} GiB | ≤ 2 GB: {verdict(rss * 2**20, 2e9)} |")
    return rows


def answer_table(r: dict[str, Any]) -> list[str]:
    """Local-model answer timings beside the model's own time."""
    a = r["answer"]
    f, t, mf, mt, rt = (a["first_token_s"], a["total_s"], a["model_first_token_s"],
                        a["model_prompt_and_generation_s"], a["retrieval_s"])
    return [
        "| measure | p50 | p95 | max | target |",
        "|---|---|---|---|---|",
        f"| first token | {f['p50']} s | {f['p95']} s | {f['max']} s | ≤ 2 s: {verdict(f['p95'], 2)} (p95) |",
        f"| whole answer | {t['p50']} s | {t['p95']} s | {t['max']} s | ≤ 8 s: {verdict(t['p95'], 8)} (p95) |",
        f"| retrieval, gate and evidence (before the prompt) | {rt['p50']} s | {rt['p95']} s | {rt['max']} s | |",
        f"| model only: prompt read to first token | {mf['p50']} s | {mf['p95']} s | {mf['max']} s | |",
        f"| model only: prompt read + generation | {mt['p50']} s | {mt['p95']} s | {mt['max']} s | |",
    ]


def main() -> None:
    """Print every table."""
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "benchmarks-scale.json"
    r = json.loads(path.read_text(encoding="utf-8"))
    for title, rows in (("ingest", ingest_table(r)), ("open", open_table(r)), ("search", search_table(r)),
                        ("answer", answer_table(r)), ("memory", memory_table(r))):
        print(f"### {title}\n")
        print("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
