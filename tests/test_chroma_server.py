"""The library on a real Chroma server (`chroma run`) instead of the embedded store."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SMALL_COUNT, write_listing

from assistant.errors import StoreError
from assistant.settings import load_settings
from assistant.types import Paper
from assistant.workspace import Workspace

pytestmark = pytest.mark.server
STARTUP_LIMIT_S = 60.0


def chroma_executable() -> str | None:
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.is_file() else shutil.which("chroma")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def heartbeat(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = chroma_executable()
    if exe is None:
        pytest.skip("the chroma executable is not installed")
    data = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (data / "server.log").open("wb")
    proc = subprocess.Popen(
        [exe, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while not heartbeat(url):
            if proc.poll() is not None:
                pytest.fail(f"chroma run exited with {proc.returncode}: {(data / 'server.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"chroma run did not answer within {STARTUP_LIMIT_S:.0f} s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture
def server_ws(chroma_url: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Workspace:
    """A workspace on the server, in collections of its own (the server outlives each test)."""
    monkeypatch.setenv("LITREVIEW_STORE__CHROMA_URL", chroma_url)
    prefix = "t" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:10]
    monkeypatch.setenv("LITREVIEW_STORE__COLLECTION_PREFIX", prefix)
    return Workspace(load_settings())


def test_ingest_search_list_delete_on_a_server(server_ws: Workspace, small_papers: list[Paper],
                                               inputs: Path, litreview_home: Path) -> None:
    stats = server_ws.stats()
    assert (stats.backend, stats.papers, stats.data_dir) == ("chroma-server", 0, server_ws.settings.store.chroma_url)
    source = write_listing(inputs / "small.txt", small_papers)
    report = server_ws.ingest([source])
    assert (report.new, report.duplicates, report.failed) == (SMALL_COUNT, 0, False)
    assert not (litreview_home / "library" / "chroma").exists()  # nothing was written locally

    assert {p.paper_id for p in server_ws.papers()} == {p.paper_id for p in small_papers}
    target = small_papers[2]
    for mode in ("hybrid", "dense", "bm25", "rrf"):
        hits = server_ws.search(target.abstract[:300], k=3, mode=mode)  # type: ignore[arg-type]
        assert hits[0].paper_id == target.paper_id and hits[0].snippet

    again = server_ws.ingest([source])
    assert (again.new, again.duplicates, again.updated, again.chunks_added) == (0, SMALL_COUNT, 0, 0)
    assert server_ws.stats().papers == SMALL_COUNT

    assert server_ws.delete([target.paper_id]) == 1
    fresh = Workspace(load_settings())  # another client sees the same library
    assert fresh.stats().papers == SMALL_COUNT - 1
    assert target.paper_id not in {h.paper_id for h in fresh.search(target.abstract[:300], k=4)}
    assert fresh.library.chunks_of(target.paper_id) == []


def test_unreachable_server_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITREVIEW_STORE__CHROMA_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreError, match=r"cannot open the Chroma library at http://127\.0\.0\.1"):
        Workspace(load_settings()).stats()
