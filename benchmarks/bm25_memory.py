"""Benchmark: peak memory and time of the BM25 build, whole-library (old) against page at a time (now).

Run: .venv/bin/python benchmarks/bm25_memory.py [--papers 20000] [--out docs/benchmarks-bm25-memory.json]

Each build runs in a new process over the same synthetic papers (benchmarks/synthetic.py, read from
JSONL, no Chroma), with its peak RSS from os.wait4 beside the peak of a process that only reads the
papers the same way (the floor):
- whole: every Paper object made at once (what list_papers returned), then `BM25Index(papers)` as
  the first search ran it before;
- pages: (paper id, title, abstract) tuples 5,000 at a time into `BM25Index.build`, as
  `Library.lexical_pages` feeds it now.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = 5000


def child(mode: str, corpus: Path) -> None:
    """Build (or only read, for the floor) in this process and print its timings as JSON."""
    from assistant.lexical import BM25Index
    from assistant.types import Paper

    def records() -> list[dict[str, object]]:
        rows = []
        for part in sorted(corpus.glob("part-*.jsonl")):
            rows += [json.loads(line) for line in part.read_text(encoding="utf-8").splitlines()]
        return rows

    t0, c0 = time.perf_counter(), time.process_time()
    if mode == "whole":
        papers = [Paper(paper_id=f"p{i}", title=str(r["title"]), abstract=str(r["abstract"]),
                        authors=tuple(r["authors"]), year=r["year"])  # type: ignore[arg-type]
                  for i, r in enumerate(records())]
        papers.sort(key=lambda p: p.title.casefold())
        index = BM25Index(papers)
    elif mode == "pages":
        def pages():  # type: ignore[no-untyped-def]
            rows = records()  # the reader's own copy, as Chroma's pages are (measured in the floor)
            for start in range(0, len(rows), PAGE):
                yield [(f"p{start + i}", str(r["title"]), str(r["abstract"]))
                       for i, r in enumerate(rows[start : start + PAGE])]

        index = BM25Index.build(pages())
    else:
        index = None
        rows = records()
        assert rows
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    hits = index.search("retrieval augmented generation with small language models", 5) if index else []
    print(json.dumps({"mode": mode, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "top": hits[:1]}))


def main() -> None:
    """Write the corpus once, run each mode in a new process, print and write the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", nargs="?", default="run")
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.mode != "run":
        child(args.mode, args.corpus)
        return
    sys.path.insert(0, str(HERE))
    from synthetic import write_corpus

    corpus = Path(tempfile.mkdtemp(prefix="bm25-mem-"))
    write_corpus(corpus, args.papers)
    result: dict[str, object] = {"papers": args.papers, "load_avg_at_start": os.getloadavg()}
    for mode in ("floor", "whole", "pages"):
        proc = subprocess.Popen([sys.executable, __file__, mode, "--corpus", str(corpus)], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{mode} failed")
        result[mode] = {**json.loads(out.strip().splitlines()[-1]), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}
        print(mode, result[mode], file=sys.stderr, flush=True)
    result["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
