"""What tests share besides fixtures: paths to the sample and fixture files, small builders."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from assistant.ingest import sample_dir
from assistant.types import IngestReport, Paper
from assistant.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_DIR = sample_dir()
SAMPLE_FILES = sorted(SAMPLE_DIR.glob("*.txt"))
SMALL_SOURCE = SAMPLE_DIR / "004_ee41d076663f383d.txt"  # the bare title + abstract layout
SMALL_COUNT = 5


def _load_make_pdfs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("litreview_make_pdfs", FIXTURES / "make_pdfs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_pdfs = _load_make_pdfs()  # tests/fixtures is not a package; the generator is loaded by path
make_paper_pdf: Callable[..., Path] = make_pdfs.make_paper_pdf


@dataclass(frozen=True)
class SampleBuild:
    """The sample library as ingested once: its home directory, the ingest report, the papers."""

    home: Path
    report: IngestReport
    papers: tuple[Paper, ...]


def write_listing(path: Path, papers: Sequence[Paper]) -> Path:
    """Write papers as a bare title + abstract listing."""
    path.write_text("".join(f"{p.title}\n\n{p.abstract}\n\n" for p in papers), encoding="utf-8")
    return path


def add_paper(ws: Workspace, paper: Paper, folder: Path) -> Workspace:
    """The workspace with one more paper ingested (by its own embedder)."""
    before = len(ws.papers())
    assert ws.ingest([write_listing(folder / "added.txt", [paper])]).new == 1
    assert len(ws.papers()) == before + 1
    return ws
