"""Damage copies of the sample library on purpose; show what `check` says and what `rebuild`/`restore` recover.

    python benchmarks/damage.py [--out docs/damage.json] [--only NAME ...]

For each damage: papers and the top-5 search results of QUERIES before, the damage, what `litreview
search` prints, what `litreview check` prints (and its exit code), the recovery command and its
output, then `check` again and the papers and search results after. The commands are the real CLI
in a subprocess (`python -c 'from assistant.cli import main; main()'`) with LITREVIEW_HOME set.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # servers.py: free ports, `chroma run`

from servers import free_port, start_chroma, stop  # noqa: E402

from assistant.retrieval import bm25_cache  # noqa: E402
from assistant.settings import HOME_ENV, load_settings  # noqa: E402
from assistant.workspace import Workspace  # noqa: E402

CLI = "import sys; from assistant.cli import main; sys.exit(main())"
QUERIES = ["a framework for evaluating cybersecurity agents", "mixture of experts language model",
           "retrieval augmented generation benchmark", "small models calling external tools",
           "parameter-efficient fine-tuning with low-rank adapters", "Cybench"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def cli(home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 900) -> tuple[int, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LITREVIEW_")}
    proc = subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env={**base, HOME_ENV: str(home), "PYTHONPATH": str(ROOT), **(env or {})})
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def state(home: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Papers and search results as a fresh process sees them (None when the library cannot be read)."""
    code = ("import json,sys; from assistant.workspace import Workspace; ws = Workspace(); "
            "ps = ws.papers(); "
            f"res = [[h.paper_id for h in ws.search(q, k=5)] for q in {QUERIES!r}]; "
            "print(json.dumps({'papers': sorted(p.model_dump_json() for p in ps), 'results': res}))")
    base = {k: v for k, v in os.environ.items() if not k.startswith("LITREVIEW_")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**base, HOME_ENV: str(home), "PYTHONPATH": str(ROOT), **(env or {})})
    if proc.returncode != 0:
        return {"papers": None, "results": None, "error": (proc.stderr.strip().splitlines() or [""])[-1][:300]}
    return json.loads(proc.stdout)


def lines(text: str) -> list[str]:
    return [ANSI.sub("", line).rstrip() for line in text.splitlines() if line.strip()]


def cut_sqlite(home: Path) -> str:
    db = home / "library" / "chroma" / "chroma.sqlite3"
    size = db.stat().st_size
    with db.open("r+b") as fh:
        fh.truncate(size // 2)
    return f"chroma.sqlite3 cut from {size:,} to {size // 2:,} bytes"


def scramble_hnsw(home: Path) -> str:
    bins = sorted((home / "library" / "chroma").glob("*/*.bin"))
    rng = random.Random(20)
    for f in bins:
        data = bytearray(f.read_bytes())
        at = rng.randrange(0, max(1, len(data) - 4096))
        data[at : at + 4096] = bytes(rng.randrange(256) for _ in range(min(4096, len(data) - at)))
        f.write_bytes(bytes(data))
    names = ", ".join(f.name for f in bins[:4])
    return f"4 KB of random bytes written into each of {len(bins)} HNSW .bin files ({names}…)"


def shuffle_bm25(home: Path) -> str:
    ws = Workspace(load_settings())
    ws.search(QUERIES[0])  # the cache for the current state exists
    cache = bm25_cache(ws.library)
    lexicons = list(cache.root.glob("*/lexicon.json"))
    for lex in lexicons:
        data = json.loads(lex.read_text())
        random.Random(3).shuffle(data["paper_ids"])
        lex.write_text(json.dumps(data))
    return f"the saved BM25 index's paper list shuffled ({len(lexicons)} file): scores land on the wrong papers"


def drop_chunks(home: Path) -> str:
    ws = Workspace(load_settings())
    victims = sorted(ws.library.paper_ids())[:12]
    ws.library._chunks.delete(ids=[f"{pid}:0" for pid in victims])
    return f"the first chunk of 12 papers deleted from the chunks collection ({', '.join(victims[:3])}…)"


def scenario(name: str, base: Path, work: Path, damage: Callable[[Path], str], recover: list[list[str]],
             backup: Path) -> dict[str, Any]:
    home = work / name
    shutil.copytree(base, home)
    os.environ[HOME_ENV] = str(home)
    before = state(home)
    what = damage(home)
    code_s, out_s = cli(home, "search", QUERIES[0], "-k", "3")
    code_c, out_c = cli(home, "check")
    steps = []
    for args in recover:
        args = [str(backup) if a == "BACKUP" else a for a in args]
        t0 = time.perf_counter()
        code, out = cli(home, *args)
        steps.append({"command": "litreview " + " ".join(args), "exit": code, "output": lines(out)[-3:],
                      "seconds": round(time.perf_counter() - t0, 1)})
    code_c2, out_c2 = cli(home, "check")
    after = state(home)
    return summarize(name, what, before, after, code_s, out_s, code_c, out_c, steps, code_c2, out_c2)


def summarize(name: str, what: str, before: dict[str, Any], after: dict[str, Any], code_s: int, out_s: str,
              code_c: int, out_c: str, steps: list[dict[str, Any]], code_c2: int, out_c2: str) -> dict[str, Any]:
    return {
        "damage": name, "what": what,
        "search_after_damage": {"exit": code_s, "output": lines(out_s)[:2]},
        "check": {"exit": code_c, "problems": [ln for ln in lines(out_c) if ln.startswith("problem")]},
        "recovery": steps,
        "check_after": {"exit": code_c2, "last": lines(out_c2)[-1:] if out_c2 else []},
        "papers_before": len(before["papers"] or []), "papers_after": len(after["papers"] or []),
        "papers_identical": before["papers"] == after["papers"],
        "results_identical": before["results"] == after["results"],
        "results_same_top1": sum(a[:1] == b[:1] for a, b in zip(before["results"] or [], after["results"] or [],
                                                                  strict=False)),
    }


def server_kill(work: Path, base: Path) -> dict[str, Any]:
    """`litreview ingest --sample` into a `chroma run` server that is SIGKILLed once a quarter is embedded."""
    home = work / "server-kill"
    data = work / "server-kill-chroma"
    data.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"LITREVIEW_STORE__CHROMA_URL": url}
    srv = start_chroma(data, port)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("LITREVIEW_")}
    proc = subprocess.Popen([sys.executable, "-c", CLI, "ingest", "--sample"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**base_env, HOME_ENV: str(home), "PYTHONPATH": str(ROOT), **env})
    t0 = time.perf_counter()
    time.sleep(15.0)  # as in the issue: killed 15 s into the ingest
    srv.send_signal(signal.SIGKILL)
    srv.wait()
    out, _ = proc.communicate(timeout=300)
    killed_after = round(time.perf_counter() - t0, 1)
    srv = start_chroma(data, port)
    try:
        mid = state(home, env)
        code_c, out_c = cli(home, "check", env=env)
        t1 = time.perf_counter()
        code_r, out_r = cli(home, "ingest", "--sample", env=env)
        steps = [{"command": "litreview ingest --sample (again)", "exit": code_r, "output": lines(out_r)[-2:],
                  "seconds": round(time.perf_counter() - t1, 1)}]
        code_c2, out_c2 = cli(home, "check", env=env)
        after = state(home, env)
    finally:
        stop(srv)
    reference = state(base)
    result = summarize("server killed mid-ingest", f"`chroma run` SIGKILLed {killed_after} s into "
                       "`litreview ingest --sample`", reference, after, proc.returncode, out, code_c, out_c, steps,
                       code_c2, out_c2)
    result["papers_visible_after_restart"] = len(mid["papers"] or [])
    result["search_after_damage"]["output"] = [ln for ln in lines(out) if ln.startswith("error")]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "damage.json")
    parser.add_argument("--base", type=Path, help="an existing home holding the sample library (copied, not changed)")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="litreview-damage-"))
    try:
        base = args.base or work / "base"
        if args.base is None:
            code, out = cli(base, "ingest", "--sample")
            assert code == 0, out
        backup = work / "sample.litreview.gz"
        code, out = cli(base, "backup", "--out", str(backup))
        assert code == 0, out
        shutil.rmtree(base / "backups", ignore_errors=True) if args.base is None else None
        cases: dict[str, Callable[[], dict[str, Any]]] = {
            "sqlite-cut": lambda: scenario("sqlite cut to half", base, work, cut_sqlite,
                                           [["rebuild"], ["restore", "--replace", "BACKUP"]], backup),
            "hnsw-bytes": lambda: scenario("random bytes in HNSW files", base, work, scramble_hnsw, [["rebuild"]],
                                           backup),
            "server-kill": lambda: server_kill(work, base),
            "bm25-shuffled": lambda: scenario("BM25 cache paper list shuffled", base, work, shuffle_bm25,
                                              [["rebuild"]], backup),
            "chunks-missing": lambda: scenario("chunks missing", base, work, drop_chunks, [["rebuild"]], backup),
        }
        results = []
        for key, run in cases.items():
            if args.only and key not in args.only:
                continue
            t0 = time.perf_counter()
            res = run()
            res["seconds"] = round(time.perf_counter() - t0, 1)
            print(json.dumps(res, indent=2, ensure_ascii=False), flush=True)
            results.append(res)
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
