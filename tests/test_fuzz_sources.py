"""Every parser under hypothesis: random bytes, damaged real files, huge fields, deep nesting, odd quoting.

The contract: a parser returns papers with a title and an abstract plus one line per entry it could not
read, or raises SourceError with one line; nothing else escapes (no crash, no traceback for the user).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import FIXTURES, make_paper_pdf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import SourceError
from assistant.sources import PARSERS, parse_file
from assistant.sources.base import ParsedFile

SAMPLE_LISTING = sorted((Path(__file__).resolve().parents[1] / "assistant" / "data" / "sample").glob("*.txt"))[2]
REAL = {
    ".txt": SAMPLE_LISTING.read_bytes()[:20_000],
    ".bib": (FIXTURES / "zotero.bib").read_bytes(),
    ".csv": (FIXTURES / "papers.csv").read_bytes(),
    ".jsonl": (FIXTURES / "papers.jsonl").read_bytes(),
    ".ris": (FIXTURES / "zotero.ris").read_bytes(),
    ".json": (FIXTURES / "zotero-csl.json").read_bytes(),  # CSL-JSON
}
EXAMPLES = int(os.environ.get("LITREVIEW_FUZZ_EXAMPLES", "60"))  # raise it for a long fuzzing run
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])


def check(path: Path, data: bytes) -> ParsedFile | None:
    """Parse bytes written to path; assert the contract; return what was read (None when refused)."""
    path.write_bytes(data)
    try:
        got = parse_file(path)
    except SourceError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message and len(message) < 600, message
        assert "Traceback" not in message
        return None
    for paper in got.papers:
        assert paper.title.strip() and paper.abstract.strip() and paper.paper_id
    for line in got.problems:
        assert line.strip() and "\n" not in line and len(line) < 600, line
    return got


@pytest.fixture
def fuzz_dir(tmp_path: Path) -> Path:
    return tmp_path


@FUZZ
@given(data=st.binary(min_size=0, max_size=4096), ext=st.sampled_from(sorted(PARSERS)))
def test_random_bytes_in_every_format(fuzz_dir: Path, data: bytes, ext: str) -> None:
    check(fuzz_dir / f"random{ext}", data)


@FUZZ
@given(ext=st.sampled_from(sorted(REAL)), cut=st.floats(0.0, 1.0))
def test_truncated_real_files(fuzz_dir: Path, ext: str, cut: float) -> None:
    data = REAL[ext]
    check(fuzz_dir / f"cut{ext}", data[: int(len(data) * cut)])


@FUZZ
@given(ext=st.sampled_from(sorted(REAL)), flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)),
                                                        min_size=1, max_size=40))
def test_real_files_with_flipped_bytes(fuzz_dir: Path, ext: str, flips: list[tuple[float, int]]) -> None:
    data = bytearray(REAL[ext])
    for where, value in flips:
        data[min(len(data) - 1, int(where * len(data)))] = value
    check(fuzz_dir / f"flip{ext}", bytes(data))


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "utf-32", "cp1252"])
@pytest.mark.parametrize("ext", sorted(REAL))
def test_real_files_in_other_encodings(fuzz_dir: Path, ext: str, encoding: str) -> None:
    text = REAL[ext].decode("utf-8", errors="ignore") + "\nCafé naïve résumé ✓\n"
    got = check(fuzz_dir / f"enc{ext}", text.encode(encoding, errors="replace"))
    if encoding in ("utf-16", "utf-32"):
        assert got is None  # refused with a line that says to save it as UTF-8


@FUZZ
@given(text=st.text(st.characters(codec="utf-8"), max_size=3000), ext=st.sampled_from(sorted(REAL)))
def test_random_text(fuzz_dir: Path, text: str, ext: str) -> None:
    check(fuzz_dir / f"text{ext}", text.encode("utf-8"))


@FUZZ
@given(cells=st.lists(st.lists(st.text(st.sampled_from('ab ,"\n\r\t\'\\;'), max_size=12), min_size=1, max_size=5),
                      min_size=1, max_size=12))
def test_csv_with_odd_quoting(fuzz_dir: Path, cells: list[list[str]]) -> None:
    body = "\n".join(",".join(row) for row in cells)
    check(fuzz_dir / "odd.csv", f"title,abstract\n{body}\n".encode())


@pytest.mark.parametrize("depth", [50, 1_000, 50_000])
def test_deeply_nested_bibtex(fuzz_dir: Path, depth: int) -> None:
    nested = "{" * depth + "x" + "}" * depth
    good = "@article{ok, title={A Fine Paper}, abstract={We study fine things carefully.}}\n"
    got = check(fuzz_dir / "deep.bib", f"@article{{deep, title={nested}, abstract={nested}}}\n{good}".encode())
    assert got is not None and "A Fine Paper" in [p.title for p in got.papers]
    assert len(got.papers) + len(got.problems) == 2  # the deep entry is read or reported, never lost silently


def test_unbalanced_and_malformed_bibtex(fuzz_dir: Path) -> None:
    good = "@article{ok, title={A Fine Paper}, abstract={We study fine things carefully.}}\n"
    for bad in ["@article{a, title={Open", "@article{, title={No key}, abstract={x}}", "@@@@{{{", "@string{x = }",
                "@article{b, title=\"unterminated, abstract={y}}", "@comment{" * 500]:
        got = check(fuzz_dir / "bad.bib", (bad + "\n" + good).encode())
        assert got is not None and "A Fine Paper" in [p.title for p in got.papers], bad


RIS_TAGS = ["TY", "ER", "TI", "T1", "AB", "N2", "AU", "A1", "PY", "Y1", "DA", "DO", "UR", "JO", "T2", "KW", "N1", "ZZ"]


@FUZZ
@given(lines=st.lists(st.tuples(st.sampled_from(RIS_TAGS), st.sampled_from(["  - ", " - ", "  -", "- ", ""]),
                                st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=30)),
                      max_size=40),
       newline=st.sampled_from(["\n", "\r\n", "\r"]))
def test_ris_tag_soup(fuzz_dir: Path, lines: list[tuple[str, str, str]], newline: str) -> None:
    """Tags in any order: records without TY or ER, repeated tags, continuation lines, odd dashes."""
    good = newline.join(["TY  - JOUR", "TI  - A Fine Paper", "AB  - We study fine things carefully.", "ER  - ", ""])
    soup = newline.join(f"{tag}{dash}{value}" for tag, dash, value in lines)
    got = check(fuzz_dir / "soup.ris", (good + soup).encode())
    assert got is not None and "A Fine Paper" in [p.title for p in got.papers]


@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".bib", ".txt", ".ris", ".json"])
def test_huge_fields_are_cut_or_refused_not_crashed(fuzz_dir: Path, ext: str) -> None:
    huge = "word " * 1_000_000  # 5 MB in one field
    data = {
        ".csv": f'title,abstract\n"A Huge One","{huge}"\n"Small","A short abstract."\n',
        ".jsonl": f'{{"title": "A Huge One", "abstract": "{huge}"}}\n{{"title": "Small", "abstract": "Short."}}\n',
        ".bib": f"@article{{h, title={{A Huge One}}, abstract={{{huge}}}}}\n"
                "@article{s, title={Small}, abstract={Short.}}\n",
        ".txt": f"A Huge One\n\n{huge}\n\nSmall\n\nA short abstract that is long enough to count.\n",
        ".ris": f"TY  - JOUR\nTI  - A Huge One\nAB  - {huge}\nER  - \nTY  - JOUR\nTI  - Small\nAB  - Short.\nER  - \n",
        ".json": f'[{{"type": "article", "title": "A Huge One", "abstract": "{huge}", "issued": {{"raw": "2020"}}}},'
                 '{"type": "article", "title": "Small", "abstract": "Short."}]',
    }[ext]
    got = check(fuzz_dir / f"huge{ext}", data.encode())
    assert got is not None and any(p.title == "A Huge One" for p in got.papers)
    assert all(len(p.abstract) <= 20_000 for p in got.papers)


@settings(max_examples=max(25, EXAMPLES // 4), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0.05, 0.95), flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=20))
def test_damaged_pdfs(fuzz_dir: Path, cut: float, flips: list[tuple[float, int]]) -> None:
    source = fuzz_dir / "good.pdf"
    if not source.exists():
        make_paper_pdf(source, "Soil Moisture Sensing With Cheap Probes",
                       "We measure soil moisture with cheap capacitive probes and calibrate them in the field.")
    data = bytearray(source.read_bytes())
    for where, value in flips:
        data[min(len(data) - 1, int(where * len(data)))] = value
    check(fuzz_dir / "damaged.pdf", bytes(data[: max(1, int(len(data) * cut))] if flips else data))


def test_a_copy_of_the_sample_parses_untouched(fuzz_dir: Path) -> None:
    """The fuzz harness itself accepts good input (so a broken harness cannot pass everything)."""
    shutil.copy(SAMPLE_LISTING, fuzz_dir / "sample.txt")
    got = check(fuzz_dir / "sample.txt", SAMPLE_LISTING.read_bytes())
    assert got is not None and len(got.papers) > 20 and not got.problems
