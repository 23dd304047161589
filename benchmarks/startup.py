"""Benchmark: how long a `litreview` command takes as a new process, and where a cold search spends it.

Run: .venv/bin/python benchmarks/startup.py [--home DIR] [--runs 5] [--out docs/benchmarks-startup.json]
(PYTHONPATH=OLD_CHECKOUT runs the same commands on older code, for a before/after in the same session.)

Each command runs --runs times (after one unrecorded run that fills the OS file cache and, for
search, the saved BM25 index) as a new process over the sample library; the median wall time is
the figure, with the process's peak RSS and CPU time (user + system, all threads) from os.wait4.
Beside them, their floors from the same run: `python -c pass` (the interpreter alone) and the
imports only. Then one process times the parts of a cold search in order: imports, Chroma open,
MiniLM load and its first query vector (with whatever the model code imports: torch, and transformers
and sentence-transformers in older code; since the numpy query path, none of them), BM25 index load
and the first query.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PY = sys.executable
LITREVIEW = str(Path(PY).with_name("litreview"))
HEAVY = ("torch", "sentence_transformers", "transformers", "chromadb", "sklearn", "langchain_core", "bm25s", "tokenizers")
COMMANDS: dict[str, list[str]] = {
    "python -c pass (floor)": [PY, "-c", "pass"],
    "--help": [LITREVIEW, "--help"],
    "papers --json": [LITREVIEW, "papers", "--json"],
    "stats": [LITREVIEW, "stats"],
    "search transformers -k 3": [LITREVIEW, "search", "transformers", "-k", "3"],
}
PARTS = """
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
marks = {}
def mark(name):
    global t0, c0
    now, cpu = time.perf_counter(), time.process_time()
    marks[name] = round(now - t0, 3); marks[name + "_cpu"] = round(cpu - c0, 3); t0, c0 = now, cpu
import assistant.cli  # what every command imports
mark("cli_imports")
from assistant.workspace import Workspace
ws = Workspace()
ws.library.count()
mark("chroma_open")
ws.embedder.embed_query("warm")
mark("minilm_load")
getattr(ws.embedder, "forget", lambda: None)()  # (code before the vector memory has none)
ws.retriever.bm25()
mark("bm25_load")
ws.search("transformers", k=3)
mark("first_query")
marks["heavy_modules_loaded"] = sorted(m for m in %r if m in sys.modules)
print(json.dumps(marks))
"""


def run(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """One process: wall seconds, peak RSS (MiB) and CPU seconds."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}: {proc.stderr.read().decode() if proc.stderr else ''}")
    return {"wall_s": wall, "rss_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime}


def main() -> None:
    """Time every command, then the parts of a cold search."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, default=None, help="a LITREVIEW_HOME holding the sample library")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--parts-runs", type=int, default=3, help="processes timing the parts of a cold search")
    parser.add_argument("--only", default="", help="comma-separated command names to time (default: all)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="lr-startup-"))
    env = {**os.environ, "LITREVIEW_HOME": str(home)}
    if not (home / "library").exists():
        subprocess.run([LITREVIEW, "ingest", "--sample", "--json"], env=env, check=True, stdout=subprocess.DEVNULL)
    result: dict[str, Any] = {"runs": args.runs, "load_avg_at_start": os.getloadavg(), "commands": {}}
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    for name, cmd in COMMANDS.items():
        if only and name not in only:
            continue
        run(cmd, env)  # unrecorded: file cache, saved BM25 index
        runs = [run(cmd, env) for _ in range(args.runs)]
        result["commands"][name] = {
            "median_s": round(statistics.median(r["wall_s"] for r in runs), 3),
            "min_s": round(min(r["wall_s"] for r in runs), 3), "max_s": round(max(r["wall_s"] for r in runs), 3),
            "median_cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
            "peak_rss_mb": round(max(r["rss_mb"] for r in runs), 1),
        }
        print(f"{name:28} {json.dumps(result['commands'][name])}", file=sys.stderr, flush=True)
    if args.parts_runs:
        parts = [json.loads(subprocess.run([PY, "-c", PARTS % (HEAVY,)], env=env, check=True, capture_output=True,
                                           text=True).stdout) for _ in range(args.parts_runs)]
        result["cold_search_parts_s"] = {key: round(statistics.median(p[key] for p in parts), 3)
                                         for key in parts[0] if key != "heavy_modules_loaded"}
        result["cold_search_heavy_modules"] = parts[0]["heavy_modules_loaded"]
    result["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
