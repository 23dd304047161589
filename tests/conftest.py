"""Shared fixtures (plain helpers are in helpers.py): a private LITREVIEW_HOME per test, the sample
and the small library embedded once per session.

Embedding the sample library takes about 30 s on two cores, so it is ingested once into a
session directory and every test that needs it gets a private copy of that directory (an
embedded Chroma library is plain files; a copy opens as an independent library). The small
five-paper library is built the same way: a copy costs far less than a new Chroma store and ingest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes import HashedWordEmbeddings
from helpers import SMALL_COUNT, SMALL_SOURCE, SampleBuild, write_listing
from servers import chroma_server, copy_library

from assistant.embeddings import NamedEmbeddings, get_embedder
from assistant.settings import HOME_ENV, EmbeddingSettings, load_settings
from assistant.sources.listing import parse_listing
from assistant.store import Library
from assistant.types import Paper
from assistant.workspace import Workspace


def _clear_litreview_env(mp: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LITREVIEW_"):
            mp.delenv(name)


@pytest.fixture(autouse=True)
def litreview_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, not yet created LITREVIEW_HOME; no other LITREVIEW_* variable leaks in."""
    _clear_litreview_env(monkeypatch)
    home = tmp_path / "home"
    monkeypatch.setenv(HOME_ENV, str(home))
    return home


# Modules whose every test runs twice: on the embedded store and on a `chroma run` server.
SERVER_MODULES = {"test_store", "test_ingest", "test_retrieval"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.module.__name__ in SERVER_MODULES and "store_mode" in metafunc.fixturenames:
        metafunc.parametrize("store_mode", ["embedded", pytest.param("server", marks=pytest.mark.server)],
                             indirect=True)


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real `chroma run` server on 127.0.0.1 for the session (started on first use)."""
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


@pytest.fixture(autouse=True)
def store_mode(request: pytest.FixtureRequest, litreview_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """'embedded', or 'server': LITREVIEW_STORE__CHROMA_URL set, in collections of this test's own."""
    mode = str(getattr(request, "param", "embedded"))
    if mode == "server":
        monkeypatch.setenv("LITREVIEW_STORE__CHROMA_URL", request.getfixturevalue("chroma_url"))
        prefix = "t" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]
        monkeypatch.setenv("LITREVIEW_STORE__COLLECTION_PREFIX", prefix)
    return mode


@pytest.fixture(scope="session")
def embedder() -> NamedEmbeddings:
    """The real MiniLM model (get_embedder keeps one per process): for tests about ranking."""
    return get_embedder(EmbeddingSettings())


@pytest.fixture(scope="session")
def fake_embedder() -> NamedEmbeddings:
    """A deterministic hashed-word embedder (tests/fakes.py): for tests about logic, not ranking."""
    return HashedWordEmbeddings()


@pytest.fixture
def fake_model_everywhere(monkeypatch: pytest.MonkeyPatch, fake_embedder: NamedEmbeddings) -> NamedEmbeddings:
    """Every workspace this test opens (the CLI's too) embeds with the fake embedder: for logic run through the CLI."""
    monkeypatch.setattr("assistant.embeddings.get_embedder", lambda settings: fake_embedder)
    return fake_embedder


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> SampleBuild:
    home = tmp_path_factory.mktemp("sample") / "home"
    with pytest.MonkeyPatch.context() as mp:
        _clear_litreview_env(mp)
        mp.setenv(HOME_ENV, str(home))
        ws = Workspace(load_settings())
        report = ws.ingest_sample()
        papers = tuple(ws.papers())
    return SampleBuild(home=home, report=report, papers=papers)


@pytest.fixture
def sample_ws(sample_build: SampleBuild, litreview_home: Path, store_mode: str) -> Workspace:
    """A workspace over a private copy of the sample library (at LITREVIEW_HOME, or on the server)."""
    shutil.copytree(sample_build.home, litreview_home)
    ws = Workspace(load_settings())
    if store_mode == "server":
        embedded = ws.settings.model_copy(update={"store": ws.settings.store.model_copy(
            update={"chroma_url": None, "collection_prefix": "litreview"})})
        copy_library(Library(embedded), ws.library)
    return ws


@pytest.fixture(scope="module")
def module_sample_ws(sample_build: SampleBuild, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One private copy of the sample library shared by the read-only tests of a module."""
    home = tmp_path_factory.mktemp("module-sample") / "home"
    shutil.copytree(sample_build.home, home)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(HOME_ENV, str(home))
        yield Workspace(load_settings())


@pytest.fixture(scope="session")
def small_papers() -> list[Paper]:
    """A handful of real papers from the sample library."""
    return parse_listing(SMALL_SOURCE).papers[:SMALL_COUNT]


def _ingest_small(folder: Path, papers: list[Paper], embedder: NamedEmbeddings | None = None) -> Workspace:
    ws = Workspace(load_settings(), embedder=embedder)
    report = ws.ingest([write_listing(folder / "small.txt", papers)])
    assert (report.new, report.failed) == (SMALL_COUNT, False)
    return ws


@pytest.fixture(scope="session")
def small_home(tmp_path_factory: pytest.TempPathFactory, small_papers: list[Paper]) -> Path:
    """The small papers ingested once (real MiniLM) into a session directory, copied by small_ws."""
    home = tmp_path_factory.mktemp("small") / "home"
    with pytest.MonkeyPatch.context() as mp:
        _clear_litreview_env(mp)
        mp.setenv(HOME_ENV, str(home))
        _ingest_small(home.parent, small_papers)
    return home


@pytest.fixture
def small_ws(tmp_path: Path, small_papers: list[Paper], store_mode: str, litreview_home: Path,
             request: pytest.FixtureRequest) -> Workspace:
    """A workspace at LITREVIEW_HOME holding only the small papers (a copy of small_home; ingested anew on a server)."""
    if store_mode == "server":
        return _ingest_small(tmp_path, small_papers)
    shutil.copytree(request.getfixturevalue("small_home"), litreview_home)
    return Workspace(load_settings())


@pytest.fixture
def fake_ws(tmp_path: Path, small_papers: list[Paper], fake_embedder: NamedEmbeddings) -> Workspace:
    """small_ws embedded by the fake embedder: for ingest and store logic (its vectors mean little)."""
    return _ingest_small(tmp_path, small_papers, fake_embedder)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """A directory for input files, apart from LITREVIEW_HOME."""
    path = tmp_path / "inputs"
    path.mkdir()
    return path
