"""The Hugging Face daily-papers listing parser: three layouts, metadata, the real sample files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import SAMPLE_FILES

from assistant.errors import SourceError
from assistant.sources import parse_file
from assistant.sources.listing import parse_listing
from assistant.types import Paper

HEADER = (
    "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
    "byAK and the research community\n\nDec 16\n\n"
)
ABS_A = "We merge fine-tuned models one at a time with orthogonal projections and adaptive scaling of updates."
ABS_B = "Vector embeddings cannot return every top-k subset of documents; the embedding dimension bounds them."
ABS_C = "A cybernetic loop monitors a video model during inference and triggers self-correction when needed."
ABS_D = "Procedural environments and hybrid verifiers scale the training of open-weight software agents."

# Layout 1: "• N authors / · / date [upvotes]" after each abstract.
AUTHORS_LAYOUT = (
    f"{HEADER}Merging Models on the Fly\n\n{ABS_A}\n\n  • 7 authors\n·\nJul 3, 2024 3\n\n"
    f"On the Theoretical Limitations of Embedding-Based Retrieval\n\n{ABS_B}\n\n  • 1 author\n·\nAug 28\n"
)
# Layout 2: an organisation line (slug + name), and an authors line without the "·" line.
ORG_LAYOUT = (
    f"{HEADER}CyberV: Cybernetics for Test-time Scaling\n\n{ABS_C}\n\nByteDance ByteDance\n·\nJun 9 2\n\n"
    f"R2E-Gym: Procedural Environments\n\n{ABS_D}\n\n  • 6 authors\nApr 9\n\n"
    f"Verifier-free Test-Time Sampling\n\n{ABS_A}\n\nkaist-ai KAIST AI\n·\nOct 7, 2025 3\n"
)
# Layout 3: bare title + abstract pairs.
BARE_LAYOUT = f"byAK and the research community\n\nApr 18\n\nToolACE-R\n\n{ABS_B}\n\nMeta-training\n\n{ABS_C}\n"


def parse_text(tmp_path: Path, text: str, name: str = "listing.txt") -> list[Paper]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    parsed = parse_listing(path)
    assert parsed.problems == []
    return parsed.papers


def meta(p: Paper) -> tuple[object, ...]:
    return (p.n_authors, p.organization, p.date, p.year, p.upvotes)


def test_authors_layout(tmp_path: Path) -> None:
    papers = parse_text(tmp_path, AUTHORS_LAYOUT, "000_x.txt")
    assert [p.title for p in papers] == [
        "Merging Models on the Fly", "On the Theoretical Limitations of Embedding-Based Retrieval",
    ]
    assert [p.abstract for p in papers] == [ABS_A, ABS_B]
    assert meta(papers[0]) == (7, None, "Jul 3, 2024", 2024, 3)
    assert meta(papers[1]) == (1, None, "Aug 28", None, None)
    assert all(p.sources == ("000_x.txt",) for p in papers)


def test_organisation_layout_and_missing_dot_line(tmp_path: Path) -> None:
    papers = parse_text(tmp_path, ORG_LAYOUT)
    assert [meta(p) for p in papers] == [
        (None, "ByteDance", "Jun 9", None, 2),
        (6, None, "Apr 9", None, None),
        (None, "KAIST AI", "Oct 7, 2025", 2025, 3),
    ]
    assert [p.abstract for p in papers] == [ABS_C, ABS_D, ABS_A]


def test_bare_layout(tmp_path: Path) -> None:
    papers = parse_text(tmp_path, BARE_LAYOUT)
    assert [(p.title, p.abstract) for p in papers] == [("ToolACE-R", ABS_B), ("Meta-training", ABS_C)]
    assert all(meta(p) == (None, None, None, None, None) for p in papers)


def test_windows_line_endings_and_indented_lines(tmp_path: Path) -> None:
    text = AUTHORS_LAYOUT.replace("\n", "\r\n").replace("·", "   ·  ")
    papers = parse_text(tmp_path, text)
    assert [meta(p) for p in papers] == [(7, None, "Jul 3, 2024", 2024, 3), (1, None, "Aug 28", None, None)]


def test_truncated_listing_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "cut.txt"
    path.write_text(AUTHORS_LAYOUT + "\nA Title Whose Abstract Was Cut Off\n", encoding="utf-8")
    parsed = parse_listing(path)
    assert len(parsed.papers) == 2
    assert parsed.problems == ["entry 'A Title Whose Abstract Was Cut Off' has no abstract"]


def test_real_file_cut_after_a_title(tmp_path: Path) -> None:
    text = SAMPLE_FILES[-1].read_text(encoding="utf-8")
    full = parse_listing(SAMPLE_FILES[-1]).papers
    last = full[-1]
    cut = text[: text.rindex(last.title) + len(last.title)] + "\n"
    path = tmp_path / "cut.txt"
    path.write_text(cut, encoding="utf-8")
    parsed = parse_listing(path)
    assert parsed.papers == [p.model_copy(update={"sources": ("cut.txt",)}) for p in full[:-1]]
    assert len(parsed.problems) == 1
    assert parsed.problems[0].endswith("has no abstract") and last.title[:40] in parsed.problems[0]


@pytest.mark.parametrize("text", ["", "   \n\n  ", "Daily Papers\n\nSubscribe\n\nDec 16\n"])
def test_listing_without_papers_is_an_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "none.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError):
        parse_listing(path)


# --------------------------------------------------------------------------- the sample files


@pytest.fixture(scope="module")
def sample() -> list[Paper]:
    papers: list[Paper] = []
    for path in SAMPLE_FILES:
        parsed = parse_file(path)
        assert parsed.problems == [], path.name
        papers.extend(parsed.papers)
    return papers


def test_sample_counts(sample: list[Paper]) -> None:
    assert len(SAMPLE_FILES) == 5
    assert len(sample) == 333
    assert len({p.paper_id for p in sample}) == 282
    per_file = {path.name: sum(1 for p in sample if p.sources == (path.name,)) for path in SAMPLE_FILES}
    assert sorted(per_file.values()) == [40, 45, 71, 82, 95]


def test_sample_entries_are_clean(sample: list[Paper]) -> None:
    headers = {"new", "subscribe", "daily papers", "get trending papers in your email inbox!",
               "byak and the research community"}
    date_only = re.compile(r"^[A-Z][a-z]{2} \d{1,2}(, \d{4})?$")
    for p in sample:
        assert p.title.casefold() not in headers
        assert not date_only.match(p.title) and "authors" not in p.title.split()
        assert "\n" not in p.title and len(p.abstract) >= 40
        assert p.abstract != p.title


def test_sample_layouts_all_present(sample: list[Paper]) -> None:
    assert sum(p.n_authors is not None for p in sample) > 200
    assert sum(p.organization is not None for p in sample) >= 8
    bare = [p for p in sample if p.sources == (SAMPLE_FILES[-1].name,)]
    assert len(bare) == 95 and all(p.date is None and p.n_authors is None for p in bare)
    assert all(p.year is None or 2015 <= p.year <= 2030 for p in sample)


@pytest.mark.parametrize(
    ("title", "source", "expected"),
    [
        ("Knowledge Composition using Task Vectors with Learned Anisotropic Scaling", "000_c4a74c416a800912.txt",
         (5, None, "Jul 3, 2024", 2024, 3)),
        ("CyberV: Cybernetics for Test-time Scaling in Video Understanding", "001_ee5ba655a204ff90.txt",
         (None, "ByteDance", "Jun 9", None, 2)),
        ("The Art of Scaling Reinforcement Learning Compute for LLMs", "000_c4a74c416a800912.txt",
         (None, "AI at Meta", "Oct 15", None, 2)),
        ("R2E-Gym: Procedural Environments and Hybrid Verifiers for Scaling Open-Weights SWE Agents",
         "003_f1814a412565b5ab.txt", (6, None, "Apr 9", None, None)),
        ("ScalingNote: Scaling up Retrievers with Large Language Models for Real-World Dense Retrieval",
         "003_f1814a412565b5ab.txt", (15, None, "Nov 24, 2024", 2024, None)),
        ("ToolACE-R: Tool Learning with Adaptive Self-Refinement", "004_ee41d076663f383d.txt",
         (None, None, None, None, None)),
    ],
)
def test_sample_known_entries(sample: list[Paper], title: str, source: str, expected: tuple[object, ...]) -> None:
    found = [p for p in sample if p.title == title and p.sources == (source,)]
    assert len(found) == 1
    assert meta(found[0]) == expected
    assert found[0].abstract.split()[0] in (SAMPLE_FILES[0].parent / source).read_text(encoding="utf-8")
