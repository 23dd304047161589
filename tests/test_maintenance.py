"""check, rebuild, backup and restore on real embedded libraries (real MiniLM, real Chroma), damaged on purpose.

benchmarks/damage.py runs the same damages on the whole sample library and prints the figures in
docs/reliability.md; these tests hold the contract on small libraries so the default run stays quick.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import chromadb
import pytest
from clitools import one_error_line, run
from helpers import write_listing

from assistant.backup import backup, read_snapshot, snapshots
from assistant.errors import StoreError
from assistant.integrity import check_library, rebuild, sqlite_path
from assistant.retrieval import bm25_cache
from assistant.settings import load_settings
from assistant.store import SCHEMA_VERSION, embedding_name
from assistant.types import Paper
from assistant.workspace import Workspace

CLI = "import sys; from assistant.cli import main; sys.exit(main())"
QUERIES = ["a framework for evaluating cybersecurity agents", "mixture of experts language model",
           "retrieval augmented generation benchmark"]


def results(ws: Workspace) -> list[list[str]]:
    return [[h.paper_id for h in ws.search(q, k=5)] for q in QUERIES]


def papers(ws: Workspace) -> list[Paper]:
    return ws.papers()


def fresh(home: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("LITREVIEW_HOME", str(home))
    return Workspace(load_settings())


def test_a_healthy_library_passes_check(small_ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    small_ws.search(QUERIES[0])  # builds the BM25 cache
    report = check_library(small_ws)
    assert report.ok, report.problems
    assert any("SQLite" in p for p in report.passed) and any("find themselves" in p for p in report.passed)
    assert any("BM25 cache matches" in p for p in report.passed)
    code, out, _ = run(capsys, "check")
    assert code == 0 and "no problems found" in out


def test_backup_then_restore_gives_identical_papers_and_search_results(
    small_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    (small_ws.settings.home / "config.toml").write_text('[retrieval]\nk = 4\n[llm]\napi_key = "sk-secret"\n')
    before_papers, before_hits = papers(small_ws), results(small_ws)
    out_file = tmp_path / "lib.litreview.gz"
    code, out, err = run(capsys, "backup", "--out", str(out_file))
    assert code == 0, err
    with gzip.open(out_file, "rt") as fh:
        assert "5 papers" in out and "sk-secret" not in fh.read()

    ws = fresh(tmp_path / "other-home", monkeypatch)
    code, out, err = run(capsys, "restore", str(out_file))
    assert code == 0, err
    assert "restored 5 papers" in out and "config.toml written" in out
    ws = Workspace(load_settings())
    assert papers(ws) == before_papers
    assert results(ws) == before_hits
    assert ws.settings.retrieval.k == 4  # the settings came back, the key did not
    assert check_library(ws).ok

    code, out, err = run(capsys, "restore", str(out_file))  # run again (say, after a kill): nothing twice
    assert code == 0 and "restored 0 papers" in out and "5 were already there" in out, err
    assert papers(Workspace(load_settings())) == before_papers


def test_restore_refuses_a_cut_backup_and_a_library_holding_other_papers(
    small_ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path, _ = backup(small_ws.library, small_ws.settings, tmp_path / "b.litreview.gz")
    cut = tmp_path / "cut.litreview.gz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    code, _, err = run(capsys, "restore", str(cut))
    assert code == 1 and "damaged or cut short" in one_error_line(err)

    other = tmp_path / "other.txt"
    write_listing(other, [Paper(paper_id="", title="A Study of Garden Robotics With Cheap Sensors",
                                abstract="We measure yields of garden robots built from cheap sensors.")])
    small_ws.ingest([other])
    code, _, err = run(capsys, "restore", str(path))
    line = one_error_line(err)
    assert code == 1 and "restore needs an empty library" in line and "--replace" in line
    with pytest.raises(StoreError, match="is not a litreview backup"):
        bad = tmp_path / "x.litreview.gz"
        bad.write_bytes(gzip.compress(b'{"hello": 1}\n'))
        read_snapshot(bad)


def in_new_process(*argv: str) -> subprocess.CompletedProcess[str]:
    """`litreview ARGV` in a fresh process (this one keeps Chroma's index in memory)."""
    return subprocess.run([sys.executable, "-c", CLI, *argv], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})


STATE = ("import json; from assistant.workspace import Workspace; ws = Workspace(); "
         f"print(json.dumps([sorted(p.model_dump_json() for p in ws.papers()), "
         f"[[h.paper_id for h in ws.search(q, k=5)] for q in {QUERIES!r}]]))")


@pytest.mark.slow
def test_random_bytes_in_the_vector_index_on_disk_are_found_and_rebuilt(
    litreview_home: Path, small_papers: list[Paper], tmp_path: Path,
) -> None:
    # Chroma writes the HNSW files once hnsw:sync_threshold (1,000) records arrive; made first with a
    # threshold of 4, these collections put this small library's index on disk as for any larger one.
    settings = load_settings()
    client = chromadb.PersistentClient(path=str(settings.data_dir / "chroma"),
                                       settings=chromadb.Settings(anonymized_telemetry=False))
    meta = {"hnsw:space": "cosine", "hnsw:sync_threshold": 4, "hnsw:batch_size": 4,
            "embedding_model": embedding_name(settings), "schema": SCHEMA_VERSION}
    for name in ("papers", "chunks", "meta"):
        client.get_or_create_collection(f"litreview-{name}", embedding_function=None, metadata=meta)
    ws = Workspace(settings)
    ws.ingest([write_listing(tmp_path / "small.txt", small_papers)])
    before = (sorted(p.model_dump_json() for p in papers(ws)), results(ws))
    assert list(settings.data_dir.glob("chroma/*/index_metadata.pickle")), "the index did not reach the disk"
    rng = random.Random(4)
    for f in sorted(settings.data_dir.glob("chroma/*/*.bin")):
        data = bytearray(f.read_bytes())
        at = rng.randrange(0, max(1, len(data) - 4096))
        data[at : at + 4096] = bytes(rng.randrange(256) for _ in range(min(4096, len(data) - at)))
        f.write_bytes(bytes(data))

    check = in_new_process("check")
    assert check.returncode == 1 and "the vector index is damaged" in check.stdout, check.stdout + check.stderr
    assert "fix: run `litreview rebuild`" in check.stdout
    rebuilt = in_new_process("rebuild")
    assert rebuilt.returncode == 0 and "rebuilt: 5 papers" in rebuilt.stdout, rebuilt.stderr
    assert in_new_process("check").returncode == 0
    after = subprocess.run([sys.executable, "-c", STATE], capture_output=True, text=True, timeout=600, check=True,
                           env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert json.loads(after.stdout) == [before[0], before[1]]


def test_missing_chunks_orphans_and_a_damaged_bm25_cache_are_found_and_rebuilt(
    small_ws: Workspace, small_papers: list[Paper], capsys: pytest.CaptureFixture[str],
) -> None:
    before_papers, before_hits = papers(small_ws), results(small_ws)
    lib = small_ws.library
    victim = small_papers[1].paper_id
    lib._chunks.delete(ids=[f"{victim}:0"])  # a paper with a chunk gone
    lib._chunks.upsert(ids=["ghost:0"], embeddings=[[0.1] * 384], documents=["x"],
                       metadatas=[{"paper_id": "ghost", "title": "x", "index": 0, "n_chunks": 1}])
    small_ws.search(QUERIES[0])
    cache = bm25_cache(lib)
    for f in cache.root.rglob("*"):
        if f.is_file():
            f.write_bytes(b"\x00garbage")
    report = check_library(small_ws)
    whats = " | ".join(p.what for p in report.problems)
    assert "1 papers with missing chunks" in whats and victim in whats
    assert "1 chunks without a paper record" in whats
    assert "BM25 cache" in whats
    code, out, _ = run(capsys, "check")
    assert code == 1 and out.count("problem") >= 3 and "fix: run `litreview rebuild`" in out

    report2 = rebuild(small_ws)
    assert report2.rechunked == [victim] and report2.orphans_dropped == 1 and report2.papers == 5
    assert check_library(small_ws).ok
    ws = Workspace(load_settings())
    assert papers(ws) == before_papers and results(ws) == before_hits


def test_a_cut_sqlite_file_is_found_rebuild_refuses_and_restore_replace_recovers(
    small_ws: Workspace, capsys: pytest.CaptureFixture[str],
) -> None:
    before_papers, before_hits = papers(small_ws), results(small_ws)
    path, _ = backup(small_ws.library, small_ws.settings)
    db = sqlite_path(small_ws)
    del small_ws
    with db.open("r+b") as fh:
        fh.truncate(db.stat().st_size // 2)
    code, out, _ = run(capsys, "check")
    assert code == 1 and "SQLite integrity check" in out and str(path) in out
    code, _, err = run(capsys, "rebuild")
    line = one_error_line(err)
    assert code == 1 and "cannot rebuild" in line and "litreview restore --replace" in line and str(path) in line

    code, out, err = run(capsys, "restore", "--replace", str(path))
    assert code == 0, err
    assert "moved to" in err and list((db.parents[2]).glob("library.replaced-*"))  # the damaged one is kept
    ws = Workspace(load_settings())
    assert papers(ws) == before_papers and results(ws) == before_hits
    assert check_library(ws).ok


def test_ingest_keeps_the_last_n_automatic_snapshots(
    small_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LITREVIEW_STORE__SNAPSHOTS", "2")
    ws = Workspace(load_settings())
    assert snapshots(ws.settings) == []  # the first ingest wrote into an empty library: nothing to keep
    for i in range(3):
        f = write_listing(tmp_path / f"extra{i}.txt", [Paper(
            paper_id="", title=f"Garden Robotics Replication Number {i}",
            abstract=f"We replicate garden robotics experiment {i} with cheap sensors and report yields.")])
        ws.ingest([f])
    kept = snapshots(ws.settings)
    assert len(kept) == 2
    assert [len(read_snapshot(p).papers) for p in kept] == [6, 7]  # each taken before its write
    ws.ingest([tmp_path / "extra0.txt"])  # nothing new: no write, no snapshot
    assert snapshots(ws.settings) == kept
    shutil.rmtree(ws.settings.home / "backups")
