"""Reference managers: RIS and CSL-JSON in, BibTeX/RIS/CSL-JSON/CSV out, and the round trip between them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clitools import one_error_line, run, usage_error
from helpers import FIXTURES, SAMPLE_FILES

from assistant.choices import RefFormat
from assistant.errors import SourceError
from assistant.export import SUFFIX, export_papers
from assistant.settings import HOME_ENV, load_settings
from assistant.sources import parse_file
from assistant.types import Paper
from assistant.workspace import Workspace

RIS = FIXTURES / "zotero.ris"
CSL = FIXTURES / "zotero-csl.json"
FIELDS = ("title", "authors", "year", "doi", "arxiv_id", "abstract", "venue")
FORMATS: list[RefFormat] = sorted(SUFFIX)


def by_title(papers: list[Paper]) -> dict[str, Paper]:
    return {p.title: p for p in papers}


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# -- RIS in ------------------------------------------------------------------------------------


def test_zotero_ris_export_is_read_with_its_metadata() -> None:
    got = parse_file(RIS)
    papers = by_title(got.papers)
    assert len(papers) == 3
    sparse = papers["Sparse Mixture Adapters: Parameter-Efficient Fine-Tuning for Multilingual LLMs"]
    assert sparse.authors == ("Jörg Müller", "Tomasz Nowak", "Priya Raman")  # AU repeated, "Last, First" flipped
    assert (sparse.year, sparse.doi) == (2022, "10.18653/v1/2022.acl-long.81")
    assert sparse.url == "https://aclanthology.org/2022.acl-long.81"
    assert sparse.venue == "Transactions of the Association for Computational Linguistics"  # T2
    assert sparse.abstract.startswith("We propose sparse mixture adapters")
    rag = papers["Calibrated Uncertainty for Retrieval-Augmented Generation"]  # T1, A1, Y1, N2
    assert rag.authors == ("Lucía García", "Anna van der Berg", "Chinedu Okafor")
    assert (rag.year, rag.arxiv_id, rag.doi) == (2023, "2310.04567", "10.48550/arxiv.2310.04567")
    assert "that lowers confidence when the passages disagree" in rag.abstract  # a continuation line joined
    soil = papers["Soil Moisture Sensing With Cheap Capacitive Probes"]
    assert soil.venue == "Proceedings of the Workshop on Sensing for Agriculture"  # JO
    assert soil.year == 2021 and soil.sources == ("zotero.ris",)
    # an entry without an abstract is reported like a BibTeX one: where, which, why
    assert got.problems == ["entry at line 43 ('A Handbook Without an Abstract'): no abstract"]


@pytest.mark.parametrize("variant", ["lf", "bom", "cr-only", "one-space-dash"])
def test_ris_line_endings_bom_and_loose_tag_lines(tmp_path: Path, variant: str) -> None:
    text = RIS.read_text(encoding="utf-8").replace("\r\n", "\n")
    if variant == "bom":
        text = "\ufeff" + text.replace("\n", "\r\n")
    elif variant == "cr-only":
        text = text.replace("\n", "\r")
    elif variant == "one-space-dash":
        text = text.replace("  - ", " - ")
    got = parse_file(write(tmp_path / "refs.ris", text))
    assert sorted(p.title for p in got.papers) == sorted(p.title for p in parse_file(RIS).papers)
    assert len(got.problems) == 1


def test_ris_tags_ti_t1_ab_n2_au_a1_py_y1_da_and_a_missing_er(tmp_path: Path) -> None:
    text = (
        "TY  - JOUR\nT1  - Primary Title Wins Nothing\nTI  - The Title\nAB  - Short.\n"
        "N2  - A longer abstract that the N2 tag carries, as EndNote writes it.\nAU  - Solo\nA1  - Lee, Ann\n"
        "DA  - 2020/03/01\nKW  - one\nKW  - two\nUR  - https://example.org/a; https://doi.org/10.1234/ABC.5\nER  -\n"
        "TY  - GEN\nTI  - Cut Short\nAB  - The file ends before this record's ER line.\n"
    )
    got = parse_file(write(tmp_path / "t.ris", text))
    first, cut = got.papers
    assert first.title == "The Title"  # TI before T1
    assert first.abstract.startswith("A longer abstract")  # the fuller of AB and N2
    assert first.authors == ("Solo", "Ann Lee") and first.year == 2020
    assert first.url == "https://example.org/a" and first.doi == "10.1234/abc.5"  # UR split on ';'
    assert cut.title == "Cut Short"
    assert got.problems == ["entry at line 13 ('Cut Short'): no 'ER  -' line closes it (cut short?); "
                            "read what is there"]


@pytest.mark.parametrize("text", ["", "just some text\nwithout records\n", "ER  - \nAB  - orphan\n"])
def test_a_file_without_ris_records_is_one_clear_line(tmp_path: Path, text: str) -> None:
    with pytest.raises(SourceError) as exc:
        parse_file(write(tmp_path / "none.ris", text or " "))
    assert "\n" not in str(exc.value)


def test_ris_where_no_entry_has_an_abstract(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"no paper could be read: entry at line 1 \('A'\): no abstract \(and 1 more"):
        parse_file(write(tmp_path / "x.ris", "TY  - JOUR\nTI  - A\nER  - \nTY  - JOUR\nTI  - B\nER  - \n"))


# -- CSL-JSON in -------------------------------------------------------------------------------


def test_zotero_csl_json_is_recognised_inside_json() -> None:
    got = parse_file(CSL)
    papers = by_title(got.papers)
    rag = papers["Calibrated Uncertainty for Retrieval-Augmented Generation"]
    assert rag.authors == ("Lucía García", "Anna van der Berg", "Chinedu Okafor")  # particles kept
    assert (rag.year, rag.arxiv_id, rag.url) == (2023, "2310.04567", "http://arxiv.org/abs/2310.04567")
    sparse = papers["Sparse Mixture Adapters: Parameter-Efficient Fine-Tuning for Multilingual LLMs"]
    assert sparse.authors[-1] == "The Polyglot Consortium" and sparse.year == 2022
    assert sparse.venue.startswith("Proceedings of the 60th") and sparse.doi == "10.18653/v1/2022.acl-long.81"
    assert got.problems == ["item 3 ('A Handbook Without an Abstract'): no abstract"]


def test_plain_json_records_still_read_as_records(tmp_path: Path) -> None:
    records = []
    for line in (FIXTURES / "papers.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # the fixture's deliberately broken lines
    got = parse_file(write(tmp_path / "plain.json", json.dumps(records)))
    assert sorted(p.title for p in got.papers) == sorted(p.title for p in parse_file(FIXTURES / "papers.jsonl").papers)


# -- out and back in ---------------------------------------------------------------------------


AWKWARD_NAMES = ("Anna van der Berg", "Rafael Santos, Jr.", "Zoë O'Neil-Ávila", "Plato", "José {Ana} Ruiz")


def library_papers() -> list[Paper]:
    """Real papers of every kind: the sample listings and the BibTeX, CSV, JSONL, RIS and CSL fixtures.

    The sample listings carry no author names, DOIs or arXiv ids, so every third sample paper is given
    awkward ones (particles, a suffix, accents, one-word and braced names, a DOI with odd characters).
    """
    papers: dict[str, Paper] = {}
    for path in [FIXTURES / "zotero.bib", FIXTURES / "papers.csv", FIXTURES / "papers.jsonl", RIS, CSL]:
        for paper in parse_file(path).papers:
            papers.setdefault(paper.paper_id, paper)
    for path in SAMPLE_FILES:
        for paper in parse_file(path).papers:
            if len(papers) % 3 == 0:
                n = len(papers)
                paper = paper.model_copy(update={
                    "authors": AWKWARD_NAMES[n % 5 :] + AWKWARD_NAMES[: n % 5], "venue": f"Venue & Co. {n}",
                    "doi": f"10.5555/x_{n}-(b)", "arxiv_id": f"2401.{n:05d}", "url": f"https://example.org/p?id={n}"})
            papers.setdefault(paper.paper_id, paper)
    return list(papers.values())


@pytest.fixture(scope="module")
def originals() -> list[Paper]:
    return library_papers()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_paper_survives_export_and_reingest(tmp_path: Path, originals: list[Paper], fmt: RefFormat) -> None:
    path = write(tmp_path / f"out{SUFFIX[fmt]}", export_papers(originals, fmt))
    got = parse_file(path)
    assert not got.problems
    back = {p.paper_id: p for p in got.papers}
    assert len(back) == len(originals) > 290
    for paper in originals:
        again = back[paper.paper_id]
        for name in FIELDS:
            assert getattr(again, name) == getattr(paper, name), (fmt, name, paper.title)
    assert sum(bool(p.authors) for p in originals) > 90 and sum(bool(p.arxiv_id) for p in originals) > 90


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.usefixtures("fake_model_everywhere")  # the fields' round trip: the vectors mean nothing here
def test_export_then_ingest_into_an_empty_library(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch, fmt: RefFormat) -> None:
    code, _, _ = run(capsys, "ingest", str(FIXTURES / "zotero.bib"), str(RIS))
    assert code == 1  # the RIS fixture's entry without an abstract
    before = Workspace(load_settings()).papers()
    out = tmp_path / f"refs{SUFFIX[fmt]}"
    code, _, err = run(capsys, "export", "--format", fmt, "--out", str(out))
    assert code == 0 and f"{len(before)} papers written" in err
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "empty-home"))
    code, stdout, _ = run(capsys, "ingest", str(out))
    assert code == 0 and f"{len(before)} new" in stdout
    after = {p.paper_id: p for p in Workspace(load_settings()).papers()}
    assert len(after) == len(before)
    for paper in before:
        assert all(getattr(after[paper.paper_id], f) == getattr(paper, f) for f in FIELDS), paper.title


@pytest.mark.usefixtures("fake_model_everywhere")
def test_export_a_selection_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "ingest", str(FIXTURES / "zotero.bib"))
    code, out, _ = run(capsys, "export", "--format", "csljson", "--papers", "Calibrated Uncertainty")
    items = json.loads(out)
    assert code == 0 and [i["title"] for i in items] == ["Calibrated Uncertainty for Retrieval-Augmented Generation"]
    assert items[0]["number"] == "arXiv:2310.04567" and items[0]["issued"] == {"date-parts": [[2023]]}
    code, out, _ = run(capsys, "export", "--format", "ris", "--papers", "Calibrated", "--papers", "Sparse Mixture")
    assert code == 0 and out.count("TY  - ") == 2 and out.count("ER  - ") == 2


def test_export_by_topic_uses_the_topic_selection(capsys: pytest.CaptureFixture[str], small_ws: Workspace) -> None:
    title = small_ws.papers()[0].title
    code, out, _ = run(capsys, "export", "--format", "csv", "--topic", title, "--max-papers", "2")
    assert code == 0 and title in out and 2 <= len(out.strip().splitlines()) <= 3


@pytest.mark.parametrize("argv", [["export"], ["export", "--papers", "x", "--topic", "y"],
                                  ["export", "--papers", "no such paper"]])
@pytest.mark.usefixtures("fake_model_everywhere")
def test_export_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    if argv[-1] != "export":
        run(capsys, "ingest", str(FIXTURES / "zotero.bib"))
    code, _, err = run(capsys, *argv)
    assert code == 1
    one_error_line(err)


@pytest.mark.parametrize("argv", [["export", "--format", "docx"], ["related-work", "--topic", "x", "--refs", "docx"]])
def test_an_unknown_reference_format_is_a_usage_error_naming_the_formats(capsys: pytest.CaptureFixture[str],
                                                                         argv: list[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and "'docx' is not one of 'bib', 'ris', 'csljson', 'csv'" in usage_error(err)


def test_related_work_writes_ris_and_csl_json_beside_the_draft(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                              sample_ws: Workspace) -> None:
    draft = tmp_path / "rw.md"
    # the related-work tests' topic: its abstract sentences are embedded once per session
    code, _, err = run(capsys, "related-work", "--topic", "tool use and API calling by LLM agents", "--out", str(draft),
                       "--refs", "ris", "--refs", "csljson")
    assert code == 0, err
    cited = [line for line in draft.read_text(encoding="utf-8").splitlines() if line.startswith("- [")]
    for name in ("rw.ris", "rw.json"):
        got = parse_file(tmp_path / name)
        assert not got.problems and [f"- [{i}] {p.label()}" for i, p in enumerate(got.papers, 1)] == cited
    code, _, err = run(capsys, "related-work", "--topic", "agents", "--refs", "bib")
    assert code == 1 and "--bib" in one_error_line(err)
