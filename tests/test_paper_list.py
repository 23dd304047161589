"""The saved paper list (assistant/paper_list.py) is only a cache: any write to the library is seen next time."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import paper_list
from assistant.settings import load_settings
from assistant.store import Library
from assistant.types import Paper
from assistant.workspace import Workspace


def fresh(ws: Workspace) -> Workspace:
    """A new workspace over the same library, as the next `litreview papers` process would make."""
    return Workspace(ws.settings, embedder=ws.embedder.inner)


def from_saved_list(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> list[Paper]:
    """ws.papers() with Chroma's listing forbidden: it must come from the saved list."""
    with monkeypatch.context() as mp:
        mp.setattr(Library, "list_papers", lambda self: pytest.fail("read Chroma"))
        return fresh(ws).papers()


def test_the_saved_list_is_chromas_and_is_used_until_the_library_changes(
        fake_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    truth = fake_ws.library.list_papers()
    assert fresh(fake_ws).papers() == truth  # read from Chroma, and saved
    assert from_saved_list(fake_ws, monkeypatch) == truth

    fake_ws.library.delete_papers([truth[0].paper_id])  # a removal is seen
    assert paper_list.saved(fake_ws.settings) is None
    assert fresh(fake_ws).papers() == truth[1:]
    assert from_saved_list(fake_ws, monkeypatch) == truth[1:]

    renamed = truth[1].model_copy(update={"title": "A Title Changed In Place"})
    fake_ws.library.update_records([renamed])  # a record changed in place is seen
    assert [p.title for p in fresh(fake_ws).papers()].count("A Title Changed In Place") == 1

    more = tmp_path / "more.txt"
    more.write_text("Zzz Another Paper\n\nWe study how a saved list of papers goes stale when nobody tells it.\n",
                    encoding="utf-8")
    assert fake_ws.ingest([more]).new == 1  # an ingest is seen
    listed = fresh(fake_ws).papers()
    assert listed == fake_ws.library.list_papers() and listed[-1].title == "Zzz Another Paper"

    fake_ws.library.reset()
    assert fresh(fake_ws).papers() == []


def test_a_write_under_way_or_killed_and_a_damaged_file_mean_reading_chroma(
        fake_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    truth = fake_ws.library.list_papers()
    fresh(fake_ws).papers()
    settings = fake_ws.settings
    stamp = settings.data_dir / paper_list.STAMP
    clean = stamp.read_text(encoding="utf-8")
    assert paper_list.saved(settings) is not None

    stamp.write_text("w-" + clean, encoding="utf-8")  # a writer began (or was killed before it finished)
    assert paper_list.saved(settings) is None
    assert fresh(fake_ws).papers() == truth
    paper_list.save(settings, clean, [])  # a list read before the write began is not kept
    stamp.write_text(clean, encoding="utf-8")
    assert paper_list.saved(settings) != []

    (settings.cache_dir / "papers.json").write_text("{not json", encoding="utf-8")
    assert paper_list.saved(settings) is None and fresh(fake_ws).papers() == truth
    stamp.unlink()  # a library made before stamps, or moved aside: none until it is opened again
    assert paper_list.saved(settings) is None and paper_list.read_stamp(settings) is None
    Library(load_settings())
    assert paper_list.read_stamp(settings) is not None


def test_a_failed_write_still_ends_with_a_clean_new_stamp(fake_ws: Workspace) -> None:
    settings = fake_ws.settings
    before = paper_list.read_stamp(settings)
    with pytest.raises(RuntimeError), paper_list.changing(settings):
        assert paper_list.read_stamp(settings) is None  # "w-…" while writing
        raise RuntimeError("the write failed half-way")
    after = paper_list.read_stamp(settings)
    assert after is not None and after != before
