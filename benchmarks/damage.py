"""Damage copies of the sample library on purpose; show what `check` says and what `rebuild`/`restore` recover.

    python benchmarks/damage.py [--out docs/damage.json] [--only NAME ...]

For each damage: papers and the top-5 search results of QUERIES before, the damage, what `litreview
search` prints, what `litreview check` prints (and its exit code), the recovery command and its
output, then `check` again and the papers and search results after. The commands are the real CLI
in a subprocess (`python -c 'from assistant.cli import main; main()'`) with LITREVIEW_HOME set.
The library is the first sample file (40 papers, 103 chunks; see build_base for why its vector
index is put on disk), so each rebuild re-embeds in about a minute on a shared machine.
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

from assistant.ingest import sample_dir  # noqa: E402
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


def build_base(home: Path, files: list[Path]) -> None:
    """Ingest `files` into collections made first with a low HNSW sync threshold.

    Chroma keeps a collection's vectors in its SQLite log until `hnsw:sync_threshold` (1,000) records
    arrive, and only then writes the HNSW files; on the bundled sample (729 chunks) the .bin files
    hold an empty index, so bytes written into them change nothing. A threshold of 20 puts this
    small library's index on disk as it is for every library past 1,000 chunks.
    """
    import chromadb

    from assistant.store import SCHEMA_VERSION, embedding_name

    settings = load_settings()
    path = home / "library" / "chroma"
    path.mkdir(parents=True)
    client = chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False))
    meta = {"hnsw:space": "cosine", "hnsw:search_ef": 200, "hnsw:construction_ef": 200, "hnsw:sync_threshold": 20,
            "hnsw:batch_size": 20, "embedding_model": embedding_name(settings), "schema": SCHEMA_VERSION}
    for name in ("papers", "chunks", "meta"):
        client.get_or_create_collection(f"litreview-{name}", embedding_function=None, metadata=meta)
    del client
    code, out = cli(home, "ingest", *map(str, files))
    assert code == 0, out


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
    victims = sorted(ws.library.paper_ids())[:5]
    ws.library._chunks.delete(ids=[f"{pid}:0" for pid in victims])
    return f"the first chunk of 5 papers deleted from the chunks collection ({', '.join(victims[:3])}…)"


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


def server_kill(work: Path, files: list[Path]) -> dict[str, Any]:
    """`litreview ingest FILES` into a `chroma run` server that is SIGKILLed once the first papers are stored."""
    from assistant.store import Library

    home = work / "server-kill"
    data = work / "server-kill-chroma"
    data.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"LITREVIEW_STORE__CHROMA_URL": url}
    srv = start_chroma(data, port)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("LITREVIEW_")}
    proc = subprocess.Popen([sys.executable, "-c", CLI, "ingest", *map(str, files)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**base_env, HOME_ENV: str(home), "PYTHONPATH": str(ROOT), **env})
    watcher = Library(load_settings().model_copy(update={"store": load_settings().store.model_copy(
        update={"chroma_url": url})}))
    t0 = time.perf_counter()
    while watcher.count() == 0 and proc.poll() is None:  # killed once the first batch of papers is committed
        time.sleep(0.2)
    stored_at_kill = watcher.count()
    srv.send_signal(signal.SIGKILL)
    srv.wait()
    out, _ = proc.communicate(timeout=900)
    killed_after = round(time.perf_counter() - t0, 1)
    srv = start_chroma(data, port)
    try:
        mid = state(home, env)
        code_c, out_c = cli(home, "check", env=env)
        t1 = time.perf_counter()
        code_r, out_r = cli(home, "ingest", *map(str, files), env=env)
        steps = [{"command": "litreview ingest FILES (again)", "exit": code_r, "output": lines(out_r)[-2:],
                  "seconds": round(time.perf_counter() - t1, 1)}]
        code_c2, out_c2 = cli(home, "check", env=env)
        after = state(home, env)
    finally:
        stop(srv)
    reference = work / "server-kill-reference"
    code, out_ref = cli(reference, "ingest", *map(str, files))
    assert code == 0, out_ref
    result = summarize("server killed mid-ingest", f"`chroma run` SIGKILLed {killed_after} s into `litreview ingest` "
                       f"of {len(files)} sample files, when {stored_at_kill} papers were stored", state(reference),
                       after, proc.returncode, out, code_c, out_c, steps, code_c2, out_c2)
    result["papers_visible_after_restart"] = len(mid["papers"] or [])
    result["search_after_damage"]["output"] = [ln for ln in lines(out) if ln.startswith("error")]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "damage.json")
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="litreview-damage-"))
    files = sorted(sample_dir().glob("*.txt"))
    try:
        base = work / "base"
        os.environ[HOME_ENV] = str(base)
        build_base(base, files[:1])
        backup = work / "sample.litreview.gz"
        code, out = cli(base, "backup", "--out", str(backup))
        assert code == 0, out
        cases: dict[str, Callable[[], dict[str, Any]]] = {
            "sqlite-cut": lambda: scenario("sqlite cut to half", base, work, cut_sqlite,
                                           [["rebuild"], ["restore", "--replace", "BACKUP"]], backup),
            "hnsw-bytes": lambda: scenario("random bytes in HNSW files", base, work, scramble_hnsw, [["rebuild"]],
                                           backup),
            "server-kill": lambda: server_kill(work, files[:2]),
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
