"""Paper identity: title keys, DOI/arXiv normalisation, merge rules and the duplicate index."""

from __future__ import annotations

import re

import pytest

from assistant.identity import (
    PaperIndex,
    clean_text,
    dedupe_keys,
    merge,
    normalize_arxiv,
    normalize_doi,
    normalize_title,
    paper_id_for,
)
from assistant.types import Paper

ABSTRACT = "We study how retrieval quality changes the calibration of generated answers in RAG systems."


def paper(title: str = "Calibrated Uncertainty for RAG", abstract: str = ABSTRACT, **fields: object) -> Paper:
    return Paper(paper_id=paper_id_for(title), title=title, abstract=abstract, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Attention Is   All You Need! ", "attention is all you need"),
        ("GPT-4: Technical Report", "gpt 4 technical report"),
        ("Café Über Ñandú", "cafe uber nandu"),
        ("STRASSE vs. Straße", "strasse vs strasse"),
        ("Vision–Language\tPre-Training (Extended)", "vision language pre training extended"),
    ],
)
def test_normalize_title(raw: str, expected: str) -> None:
    assert normalize_title(raw) == expected


def test_paper_id_is_stable_across_title_variants() -> None:
    pid = paper_id_for("Attention Is All You Need")
    assert re.fullmatch(r"p[0-9a-f]{12}", pid), pid
    assert paper_id_for("attention is all you need.") == pid
    assert paper_id_for("  ATTENTION is all-you-need ") == pid
    assert paper_id_for("Attention Is Not All You Need") != pid


def test_clean_text() -> None:
    assert clean_text("  a\x00b \t\n c\u200bd  ") == "a b c d"
    assert clean_text("line one\nline two") == "line one line two"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.18653/V1/2022.ACL-LONG.81", "10.18653/v1/2022.acl-long.81"),
        ("https://doi.org/10.1145/3650203.3663314", "10.1145/3650203.3663314"),
        ("doi:10.1093/bioinformatics/btae101.", "10.1093/bioinformatics/btae101"),
        ("see <10.5555/jmlr.2021.187>", "10.5555/jmlr.2021.187"),
        ("not a doi", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_doi(raw: str | None, expected: str | None) -> None:
    assert normalize_doi(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2310.04567", "2310.04567"),
        ("2310.04567v3", "2310.04567"),
        ("arXiv:2207.01234v1", "2207.01234"),
        ("https://arxiv.org/abs/2306.09479v2", "2306.09479"),
        ("http://arxiv.org/pdf/2401.12345v1.pdf", "2401.12345"),
        ("1706.03762", "1706.03762"),
        ("no id here", None),
        (None, None),
    ],
)
def test_normalize_arxiv(raw: str | None, expected: str | None) -> None:
    assert normalize_arxiv(raw) == expected


def test_dedupe_keys() -> None:
    assert dedupe_keys(paper("A  Title!")) == ["title:a title"]
    keyed = paper("A Title", doi="10.1/x", arxiv_id="2401.00001")
    assert dedupe_keys(keyed) == ["title:a title", "doi:10.1/x", "arxiv:2401.00001"]


def test_merge_fills_missing_fields_only() -> None:
    base = paper(year=2023, venue="arXiv", sources=("a.txt",))
    other = paper(year=2024, venue="NeurIPS", doi="10.1/x", authors=("Ann Lee",), upvotes=4, sources=("b.bib",))
    merged = merge(base, other)
    assert merged.year == 2023 and merged.venue == "arXiv"  # what base has is kept
    assert merged.doi == "10.1/x" and merged.authors == ("Ann Lee",) and merged.upvotes == 4
    assert merged.sources == ("a.txt", "b.bib")
    assert (merged.paper_id, merged.title) == (base.paper_id, base.title)


def test_merge_prefers_a_clearly_longer_abstract() -> None:
    short = paper(abstract="x" * 100)
    assert merge(short, paper(abstract="y" * 119)).abstract == "x" * 100
    assert merge(short, paper(abstract="y" * 121)).abstract == "y" * 121
    assert merge(paper(abstract="y" * 121), short).abstract == "y" * 121


def test_merge_without_news_returns_the_same_paper() -> None:
    base = paper(doi="10.1/x", year=2020, sources=("a.txt", "b.txt"))
    assert merge(base, paper(year=2021, sources=("b.txt",))) == base
    assert merge(base, base) == base


def test_merge_keeps_source_order_without_repeats() -> None:
    merged = merge(paper(sources=("a", "b")), paper(sources=("c", "a", "d")))
    assert merged.sources == ("a", "b", "c", "d")


def test_paper_index_finds_by_any_key() -> None:
    first = paper("Calibrated Uncertainty for RAG", doi="10.1/x")
    second = paper("Speculative Decoding", arxiv_id="2401.00001")
    index = PaperIndex([first, second])
    assert index.find(paper("calibrated uncertainty for rag!")) == first
    assert index.find(paper("A Different Title Entirely", doi="10.1/x")) == first
    assert index.find(paper("Speculative decoding, extended version", arxiv_id="2401.00001")) == second
    assert index.find(paper("Unrelated Paper", doi="10.1/other")) is None
    assert set(index.papers) == {first.paper_id, second.paper_id}


def test_paper_index_learns_keys_of_merged_records() -> None:
    base = paper("Token Merging Schedules")
    index = PaperIndex([base])
    assert index.find(paper("Some Other Name", doi="10.9/tome")) is None
    index.put(merge(base, paper("Token merging schedules", doi="10.9/tome")))
    found = index.find(paper("Some Other Name", doi="10.9/tome"))
    assert found is not None and found.paper_id == base.paper_id and found.doi == "10.9/tome"
    assert len(index.papers) == 1


def test_paper_index_first_owner_keeps_a_shared_key() -> None:
    a, b = paper("Paper A", doi="10.1/shared"), paper("Paper B", doi="10.1/shared")
    index = PaperIndex([a, b])
    assert index.find(paper("Paper C", doi="10.1/shared")) == a
    assert index.find(paper("paper b")) == b
