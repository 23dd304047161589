"""Crash safety and two writers, with real `litreview ingest` processes.

Design under test (assistant/store.py, assistant/ingest.py): a paper's chunks are written first and its
paper record last, so the record is the commit point; readers see only papers with a record; the next
ingest deletes chunks left without a record (`Library.repair`) and embeds those papers again. Writers
take a file lock per library and say "library busy ... waiting" while another process holds it.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import write_listing

from assistant.ingest import sample_dir
from assistant.settings import HOME_ENV, load_settings
from assistant.sources import parse_file
from assistant.types import Paper
from assistant.workspace import Workspace

LITREVIEW = str(Path(sys.executable).with_name("litreview"))
PROGRESS = re.compile(rb"embedding\D*?(\d+)/(\d+)")  # matched on the terminal text without colour codes
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
pytestmark = pytest.mark.slow


def start_in_pty(args: list[str], home: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`litreview ARGS` with its stderr on a pseudo-terminal, so it draws its progress bar."""
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, HOME_ENV: str(home), "COLUMNS": "120"}
    proc = subprocess.Popen([LITREVIEW, *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    return proc, master


def read_until(master: int, proc: subprocess.Popen[bytes], want: re.Pattern[bytes] | None,
               frac: float = 0.0, timeout: float = 300.0) -> bytes:
    """Read the terminal until `want` shows progress of at least `frac` (or the process ends)."""
    seen = b""
    deadline = time.monotonic() + timeout
    poller = select.poll()  # not select.select: a long test session's descriptors pass 1024
    poller.register(master, select.POLLIN)
    while time.monotonic() < deadline:
        ready = poller.poll(500)
        if ready:
            try:
                seen += os.read(master, 65536)
            except OSError:  # the child closed the terminal
                return seen
        if want is not None:
            hits = want.findall(ANSI.sub(b"", seen))
            if hits and int(hits[-1][0]) >= frac * int(hits[-1][1]) > 0:
                return seen
        if proc.poll() is not None and not ready:
            return seen
    raise AssertionError(f"no progress within {timeout} s: {seen[-400:]!r}")


def whole_papers_only(ws: Workspace) -> int:
    """Every stored paper has all its chunks (indexes 0..n-1); returns the number of papers."""
    papers = ws.papers()
    for paper in papers:
        chunks = ws.library.chunks_of(paper.paper_id)
        assert chunks, paper.title
        assert [c.index for c in chunks] == list(range(chunks[0].n_chunks)), paper.title
    return len(papers)


def test_sigkill_midway_through_an_ingest_leaves_whole_papers_and_a_rerun_completes(
    litreview_home: Path,
) -> None:
    total = len({p.paper_id for f in sorted(sample_dir().glob("*.txt")) for p in parse_file(f).papers})
    proc, master = start_in_pty(["ingest", "--sample"], litreview_home)
    try:
        seen = read_until(master, proc, PROGRESS, frac=0.25)
        assert proc.poll() is None, "the ingest ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == -signal.SIGKILL
    done, of = map(int, PROGRESS.findall(ANSI.sub(b"", seen))[-1])
    assert 0 < done < of  # killed midway through embedding

    ws = Workspace(load_settings())
    stored = whole_papers_only(ws)
    assert 0 < stored < total  # some papers were committed, not all
    print(f"\nkilled at {done}/{of} chunks embedded: {stored} of {total} papers stored, all whole")
    assert ws.search("a framework for evaluating cybersecurity agents", k=5)  # the library opens and answers

    rerun = subprocess.run([LITREVIEW, "ingest", "--sample", "--json"], capture_output=True, text=True,
                           env={**os.environ, HOME_ENV: str(litreview_home)}, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    ws = Workspace(load_settings())
    assert whole_papers_only(ws) == total
    chunk_ids = ws.library._chunks.get(include=[])["ids"]
    assert len(chunk_ids) == sum(len(ws.library.chunks_of(p.paper_id)) for p in ws.papers())  # no orphans left


def test_two_ingests_at_once_one_waits_and_both_land(litreview_home: Path, tmp_path: Path) -> None:
    sample = {p.paper_id for f in sorted(sample_dir().glob("*.txt")) for p in parse_file(f).papers}
    extra = [Paper(paper_id="", title=f"A Replicated Study Number {i} of Garden Robotics",
                   abstract=f"We replicate garden robotics experiment {i} with cheap sensors and report yields.")
             for i in range(5)]
    b_file = write_listing(tmp_path / "b.txt", extra)
    env = {**os.environ, HOME_ENV: str(litreview_home)}
    a, master = start_in_pty(["ingest", "--sample"], litreview_home)
    try:
        read_until(master, a, PROGRESS, frac=0.15)  # A holds the write lock and is embedding
        assert a.poll() is None
        b = subprocess.run([LITREVIEW, "ingest", str(b_file)], capture_output=True, text=True, env=env, timeout=600)
        read_until(master, a, None, timeout=300)
        a.wait(timeout=60)
    finally:
        if a.poll() is None:
            a.kill()
        os.close(master)
    assert a.returncode == 0 and b.returncode == 0, b.stderr
    assert "library busy" in b.stderr and "waiting" in b.stderr
    ws = Workspace(load_settings())
    assert whole_papers_only(ws) == len(sample) + len(extra)
