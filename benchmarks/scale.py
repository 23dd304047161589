"""Benchmark at scale: ingest, search and local answers at 282 / 10k / 100k papers, each beside its raw limit.

Run: .venv/bin/python benchmarks/scale.py [--work /tmp/lr-scale] [--out docs/benchmarks-scale.json] [--keep]
Takes about an hour on 2 cores. Every measurement runs in a fresh process whose peak RSS is read
with os.wait4. Libraries are built under --work and deleted at the end unless --keep; a phase whose
result is already in WORK/results is not run again (delete the file to rerun it).

- sample and 10k: `Workspace.ingest` (what `litreview ingest` runs) of the bundled sample, and of
  part-00.jsonl (282 sample + 9,718 synthetic papers, real MiniLM), each followed in the same process
  by the raw MiniLM encode of the very same chunk texts; wall and CPU time of both.
- 100k: the project's ingest path (parse, dedupe, chunk, write) over parts 00-09 with MiniLM encode
  replaced by the sentence-mean stand-in (benchmarks/synthetic.py): the non-encode throughput is
  measured; the encode time is extrapolated from the 10k run's measured per-chunk rate.
- search at each size (benchmarks/scale_phases.py search), and local-model answers on the sample.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import write_corpus  # noqa: E402

PY = sys.executable
PHASES = str(HERE / "scale_phases.py")


def run_child(cmd: list[str], home: Path | None = None) -> tuple[float, str, float]:
    """Run a command in a new process: (wall seconds, stdout, the child's own peak RSS in MiB)."""
    env = {**os.environ}
    if home is not None:
        env["LITREVIEW_HOME"] = str(home)
    print("$", " ".join(cmd), file=sys.stderr, flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return wall, stdout, round(usage.ru_maxrss / 1024, 1)


def phase(work: Path, name: str, cmd: list[str], home: Path | None = None, fresh: Path | None = None
          ) -> dict[str, Any]:
    """A phase's result, from WORK/results/NAME.json if already measured, else measured now (after
    deleting the library folder `fresh`, for phases that build one)."""
    saved = work / "results" / f"{name}.json"
    if saved.is_file():
        return dict(json.loads(saved.read_text()))
    if fresh is not None:
        shutil.rmtree(fresh, ignore_errors=True)  # a rerun builds its library from nothing
    wall, stdout, rss = run_child(cmd, home)
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(process_wall_s=round(wall, 2), process_peak_rss_mb=rss)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{name}: {json.dumps({k: v for k, v in result.items() if not isinstance(v, (list, dict))})}",
          file=sys.stderr, flush=True)
    return result


def machine() -> dict[str, Any]:
    """Cores, memory, versions and the load when the run started."""
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    versions = {}
    for pkg in ("torch", "chromadb", "bm25s", "sentence-transformers", "llama_cpp_python", "numpy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "ram_gib": round(mem_kb / 2**20, 1), "python": platform.python_version(), "versions": versions,
            "load_avg_at_start": os.getloadavg()}


def disk_mb(path: Path) -> float:
    """Bytes under a folder, in MiB."""
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def main() -> None:
    """Run every phase (or reuse saved ones) and write one JSON report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("/tmp/lr-scale"))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks-scale.json")
    parser.add_argument("--papers", type=int, default=100_000, help="largest library size")
    parser.add_argument("--keep", action="store_true", help="keep the libraries under --work")
    parser.add_argument("--questions", type=int, default=8, help="local-model questions after one warm-up")
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.UTC)
    report: dict[str, Any] = {"date": started.date().isoformat(), "machine": machine(),
                              "command": "python benchmarks/scale.py"}

    corpus = write_corpus(work / "corpus", args.papers)
    report["corpus"] = {"papers": corpus.papers, "parts": len(corpus.parts),
                        "sentence_pool": len(corpus.sentences), "titles": len(corpus.titles)}
    homes = {"sample": work / "h-sample", "10k": work / "h-10k", "100k": work / "h-100k"}

    ingest: dict[str, Any] = {
        "sample": phase(work, "ingest-sample", [PY, PHASES, "ingest", "--home", str(homes["sample"]), "--sample",
                                                  "--rounds", "3"], fresh=homes["sample"]),
        "10k": phase(work, "ingest-10k", [PY, PHASES, "ingest", "--home", str(homes["10k"]),
                                          "--corpus", str(work / "corpus"), "--parts", "1"], fresh=homes["10k"]),
        "100k": phase(work, "build-100k", [PY, PHASES, "build-standin", "--home", str(homes["100k"]),
                                           "--corpus", str(work / "corpus"), "--parts", str(len(corpus.parts))],
                         fresh=homes["100k"]),
    }
    earlier = work / "results" / "ingest-10k-earlier.json"  # kept by hand from an earlier run, if any
    if earlier.is_file():
        ingest["10k_earlier_run"] = json.loads(earlier.read_text())
    ten, big = ingest["10k"], ingest["100k"]
    big["extrapolated_encode_s"] = round(big["chunks"] / ten["raw_encode_chunks_per_s"], 1)
    big["extrapolated_ingest_s"] = round(big["non_encode_s"] + big["extrapolated_encode_s"], 1)
    big["extrapolated_ingest_over_encode"] = round(big["extrapolated_ingest_s"] / big["extrapolated_encode_s"], 3)
    big["extrapolated_encode_cpu_s"] = round(big["chunks"] / ten["raw_encode_chunks_per_cpu_s"], 1)
    big["extrapolated_ingest_over_encode_cpu"] = round(
        (big["non_encode_cpu_s"] + big["extrapolated_encode_cpu_s"]) / big["extrapolated_encode_cpu_s"], 3)
    report["ingest"] = ingest
    report["disk_mb"] = {size: disk_mb(home) for size, home in homes.items() if home.exists()}

    # a fresh process with no saved BM25 index (it builds and saves one), then warm searches;
    # then another fresh process that finds the saved index
    report["search"] = {
        size: phase(work, f"search-{size}", [PY, PHASES, "search", "--home", str(home), "--drop-cache"])
        for size, home in homes.items()
    }
    report["reopen"] = {
        size: phase(work, f"reopen-{size}", [PY, PHASES, "search", "--home", str(home), "--repeats", "0"])
        for size, home in homes.items()
    }
    report["answer"] = phase(work, "answer-local", [PY, PHASES, "answer", "--home", str(homes["sample"]),
                                                    "--questions", str(args.questions)])
    report["machine"]["load_avg_at_end"] = os.getloadavg()
    report["minutes"] = round((dt.datetime.now(dt.UTC) - started).total_seconds() / 60, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
