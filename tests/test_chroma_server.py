"""The library on a real Chroma server (`chroma run`) instead of the embedded store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from helpers import SMALL_COUNT, write_listing
from servers import free_port

from assistant.errors import StoreError
from assistant.settings import load_settings
from assistant.types import Paper
from assistant.workspace import Workspace

pytestmark = pytest.mark.server


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
