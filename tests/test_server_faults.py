"""A `chroma run` server killed (SIGKILL) mid-ingest, mid-search and mid-answer in the app: real processes.

Each test starts its own server (it is killed, so the session's shared one cannot be used), kills
it at the chosen moment, checks the one line the user reads, restarts it on the same port and
data, and checks that nothing half-written is visible and that running the job again completes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from clitools import one_error_line, run
from fakes import FakeChatModel, fake_backend, quote
from helpers import SAMPLE_FILES, write_listing
from servers import free_port, start_chroma, stop
from streamlit.testing.v1 import AppTest
from test_crash_safety import ANSI, LITREVIEW, PROGRESS, read_until, start_in_pty, whole_papers_only

from assistant.errors import StoreError
from assistant.integrity import check_library
from assistant.settings import LLMSettings, load_settings
from assistant.sources import parse_file
from assistant.types import Paper
from assistant.workspace import Workspace

pytestmark = [pytest.mark.server, pytest.mark.slow]
CYBENCH_Q = "How many professional-level Capture the Flag tasks does Cybench include?"
QUERIES = ["a framework for evaluating cybersecurity agents", "mixture of experts language model",
           "retrieval augmented generation benchmark", "small models calling external tools"]


@dataclass
class Killable:
    """A `chroma run` server that can be killed and started again on the same port and data."""

    data: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = start_chroma(self.data, self.port)

    def kill(self) -> None:
        assert self.proc is not None and self.proc.poll() is None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Killable]:
    srv = Killable(data=tmp_path / "chroma", port=free_port())
    srv.data.mkdir()
    srv.start()
    monkeypatch.setenv("LITREVIEW_STORE__CHROMA_URL", srv.url)
    try:
        yield srv
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            stop(srv.proc)


def fill(small_papers: list[Paper], folder: Path) -> Workspace:
    """A workspace on the server holding a few sample papers and Cybench (about 15 chunks: quick to embed)."""
    cybench = next(p for p in parse_file(SAMPLE_FILES[2]).papers if p.title.startswith("Cybench"))
    ws = Workspace(load_settings())
    report = ws.ingest([write_listing(folder / "few.txt", [*small_papers, cybench])])
    assert report.new == len(small_papers) + 1
    return ws


def says_server_stopped(line: str, url: str) -> None:
    """One line naming the server and what to do (and no traceback)."""
    assert url in line and "restart" in line and "\n" not in line.strip() and "Traceback" not in line, line
    assert "stopped answering" in line or "server is running" in line, line


def test_server_killed_mid_ingest_says_so_in_one_line_and_a_rerun_completes(
    server: Killable, litreview_home: Path,
) -> None:
    files = [str(SAMPLE_FILES[0]), str(SAMPLE_FILES[2])]  # about 230 chunks: two embedding batches
    total = len({p.paper_id for f in files for p in parse_file(Path(f)).papers})
    proc, master = start_in_pty(["ingest", *files], litreview_home)
    try:
        read_until(master, proc, PROGRESS, frac=0.25)
        assert proc.poll() is None, "the ingest ended before the server could be killed"
        server.kill()
        seen = read_until(master, proc, None, timeout=120)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = ANSI.sub(b"", seen).decode(errors="replace")
    errors = [line.strip() for line in text.splitlines() if line.strip().startswith("error:")]
    assert proc.returncode == 1 and len(errors) == 1, text[-2000:]
    assert "Traceback" not in text
    says_server_stopped(errors[0], server.url)
    done, of = map(int, PROGRESS.findall(ANSI.sub(b"", seen))[-1])
    print(f"\nserver killed at {done}/{of} chunks embedded; the user read: {errors[0]}")

    server.start()
    ws = Workspace(load_settings())
    stored = whole_papers_only(ws)
    assert 0 < stored < total
    assert ws.search(QUERIES[0], k=5)
    report = check_library(ws)
    print(f"after the restart: {stored} of {total} papers, all whole; check: "
          f"{[p.what for p in report.problems] or 'no problems'}")
    assert all("without a paper record" in p.what for p in report.problems), report.problems

    rerun = subprocess.run([LITREVIEW, "ingest", *files, "--json"], capture_output=True, text=True,
                           env={**os.environ, "LITREVIEW_HOME": str(litreview_home)}, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    ws = Workspace(load_settings())
    assert whole_papers_only(ws) == total
    assert check_library(ws).ok


def test_server_killed_mid_search_is_one_line_and_searches_resume_after_a_restart(
    server: Killable, small_papers: list[Paper], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    ws = fill(small_papers, tmp_path)
    before = {q: [h.paper_id for h in ws.search(q, k=5)] for q in QUERIES}
    failures: list[BaseException] = []
    served = 0
    stop_at = threading.Event()

    def searching() -> None:
        nonlocal served
        while not stop_at.is_set():
            for q in QUERIES:
                try:
                    assert [h.paper_id for h in ws.search(q, k=5)] == before[q]
                    served += 1
                except BaseException as exc:
                    failures.append(exc)
                    return

    worker = threading.Thread(target=searching)
    worker.start()
    time.sleep(2.0)
    server.kill()  # searches are in flight: one of them is cut off
    worker.join(timeout=60)
    stop_at.set()
    assert failures and all(isinstance(f, StoreError) for f in failures), failures
    says_server_stopped(str(failures[0]), server.url)
    print(f"\n{served} searches answered, then the server was killed; the search in flight raised: {failures[0]}")

    code, _, err = run(capsys, "search", QUERIES[0])  # a new command while the server is down
    assert code == 1
    says_server_stopped(one_error_line(err), server.url)

    server.start()
    assert {q: [h.paper_id for h in ws.search(q, k=5)] for q in QUERIES} == before  # the same client recovers


def test_server_killed_mid_answer_in_the_app_is_one_message_and_the_next_question_is_answered(
    server: Killable, small_papers: list[Paper], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    fill(small_papers, tmp_path)
    model = FakeChatModel(chunk_chars=4)
    real_backend = Workspace.backend

    def backend(ws: Workspace, llm: LLMSettings | None = None) -> object:
        llm = llm or ws.settings.llm
        return real_backend(ws, llm) if llm.provider == "extractive" else fake_backend(model, llm.provider)

    monkeypatch.setattr(Workspace, "backend", backend)
    write = quote(1, "40 professional-level")

    def write_then_die(messages: list) -> str:  # type: ignore[type-arg]
        reply = write(messages)
        server.kill()  # the sources were retrieved; the server dies while the model writes
        return reply

    model.enqueue(write_then_die, write)
    at = AppTest.from_string("from assistant.app.main import main\nmain(page='chat')", default_timeout=180).run()
    assert not at.exception
    at.selectbox(key="llm_provider").set_value("openai-compatible").run()
    at.text_input(key="llm_base_url").set_value("http://127.0.0.1:9/v1").run()
    at.chat_input[0].set_value(CYBENCH_Q).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1, [e.value for e in at.error]
    says_server_stopped(at.error[0].value, server.url)
    assert at.session_state["chat_history"] == []  # the cut-off answer is not kept
    print(f"\nthe app showed: {at.error[0].value}")

    server.start()
    at.chat_input[0].set_value(CYBENCH_Q).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "40 professional-level" in at.chat_message[-1].markdown[0].value
    assert len(at.session_state["chat_history"]) == 1
