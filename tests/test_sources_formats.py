"""Tests of the BibTeX, CSV/JSONL and PDF source parsers: fields, bad input and fuzzing."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import FIXTURES, make_pdfs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import SourceError
from assistant.sources import parse_file
from assistant.sources.base import MAX_ABSTRACT_CHARS, ParsedFile
from assistant.sources.tabular import flip_name, split_authors
from assistant.types import Paper

ABSTRACT = (
    "We propose sparse mixture adapters, a parameter-efficient fine-tuning method that routes "
    "each token to a small subset of low-rank experts. Across 40 languages our method matches "
    "full fine-tuning while updating under one percent of the weights."
)
TITLE = "Sparse Mixture Adapters for Efficient Multilingual Fine-Tuning of Large Language Models"


make_paper_pdf: Callable[..., Path] = make_pdfs.make_paper_pdf
make_blank_pdf: Callable[[Path], Path] = make_pdfs.make_blank_pdf


def by_title(parsed: ParsedFile) -> dict[str, Paper]:
    return {p.title: p for p in parsed.papers}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- BibTeX


def test_bibtex_zotero_export_fields() -> None:
    parsed = parse_file(FIXTURES / "zotero.bib")
    papers = by_title(parsed)
    assert len(parsed.papers) == 5
    assert parsed.problems == ["entry sato2020curriculum: no abstract"]

    sma = papers["Sparse Mixture Adapters: Parameter-Efficient Fine-Tuning for Multilingual LLMs"]
    assert sma.authors == ("Jörg Müller", "Tomasz Nowak", "Priya Raman")
    assert sma.year == 2022
    assert sma.doi == "10.18653/v1/2022.acl-long.81"
    assert sma.bibtex_key == "muller2022sparse"
    assert sma.venue.startswith("Proceedings of the 60th Annual Meeting")  # type: ignore[union-attr]
    assert "under 1% of the weights" in sma.abstract
    assert "Yorùbá and Māori" in sma.abstract
    assert sma.sources == ("zotero.bib",)

    rag = papers["Calibrated Uncertainty for Retrieval-Augmented Generation"]
    assert rag.arxiv_id == "2310.04567"  # eprint "2310.04567v3", archivePrefix arXiv
    assert rag.authors == ("Lucía García", "Anna van der Berg", "Chinedu Okafor")
    assert rag.doi is None and rag.venue is None

    survey = papers["Graph Neural Networks Meet Transformers: A Survey of Hybrid Architectures"]
    assert survey.doi == "10.5555/jmlr.2021.187"  # given as a doi.org URL
    assert survey.venue == "Journal of Machine Learning Research"
    assert survey.authors == ("Wei Chen", "Xiaoming Li", "Ji-Woo Park")

    pruning = papers["Scaling Laws for Data Pruning in Vision–Language Pre-Training"]
    assert pruning.year == 2024 and pruning.date == "2024-03-15"  # BibLaTeX date field
    assert pruning.venue == "Transactions on Machine Learning Research"
    assert pruning.authors == ("Ewa Kowalski", "Sean O'Neil", "Mads Østergaard")
    assert "2.3× lower compute" in pruning.abstract

    extended = papers["Sparse Mixture Adapters for Multilingual Fine-Tuning (Extended Version)"]
    assert extended.doi == sma.doi  # the same paper by DOI
    assert extended.authors[-1] == "Rafael Santos, Jr."


def test_bibtex_partly_malformed_keeps_good_entries(tmp_path: Path) -> None:
    text = (
        "@article{good1, title={Good One}, abstract={A fine abstract about transformers.}}\n"
        "\n"
        "@article{broken, title = {Never closed,\n"
        "  abstract = {lost}\n"
        "@article{good2, title={Good Two}, abstract={Another abstract about diffusion.},\n"
        "  year = {2021}}\n"
    )
    parsed = parse_file(write(tmp_path, "mixed.bib", text))
    assert [p.title for p in parsed.papers] == ["Good One", "Good Two"]
    assert parsed.papers[1].year == 2021
    assert len(parsed.problems) == 1
    problem = parsed.problems[0]
    assert problem.startswith("line 3: cannot parse '@article{broken")
    assert "\n" not in problem


def test_bibtex_duplicate_key_is_a_problem(tmp_path: Path) -> None:
    text = (
        "@article{same, title={First}, abstract={The first abstract here.}}\n"
        "@article{same, title={Second}, abstract={The second abstract here.}}\n"
    )
    parsed = parse_file(write(tmp_path, "dup.bib", text))
    assert [p.title for p in parsed.papers] == ["First"]
    assert parsed.problems == ["entry same (line 2): the key is used twice; kept the first"]


@pytest.mark.parametrize(
    ("fields", "arxiv_id"),
    [
        ("eprint = {2105.01234}", "2105.01234"),
        ("eprint = {2105.01234v2}, archiveprefix = {arXiv}", "2105.01234"),
        ("eprint = {2105.01234}, eprinttype = {arxiv}", "2105.01234"),
        ("eprint = {123456}, archiveprefix = {HAL}", None),
        ("journal = {arXiv preprint arXiv:2105.01234}", "2105.01234"),
        ("doi = {10.48550/arXiv.2105.01234}", "2105.01234"),
        ("url = {https://arxiv.org/pdf/2105.01234v1}", "2105.01234"),
        ("doi = {10.1145/3442188.3445922}", None),
    ],
)
def test_bibtex_arxiv_id_sources(tmp_path: Path, fields: str, arxiv_id: str | None) -> None:
    text = f"@misc{{k, title={{T}}, abstract={{An abstract.}}, {fields}}}\n"
    (paper,) = parse_file(write(tmp_path, "a.bib", text)).papers
    assert paper.arxiv_id == arxiv_id


def test_bibtex_urls_and_dois_stay_verbatim(tmp_path: Path) -> None:
    text = (
        "@article{u, title={On the {$\\ell_1$} Penalty -- Revisited},"
        " abstract={Sparse models~\\cite{x} work at 10\\% of the cost.},"
        " url={https://example.org/~lab/paper%20v2_final.pdf},"
        " doi={10.1002/(SICI)1097-0258(19980715)17:13<1451::AID-SIM840>3.0.CO;2-#}}\n"
    )
    (paper,) = parse_file(write(tmp_path, "u.bib", text)).papers
    assert paper.title == "On the ℓ_1 Penalty – Revisited"
    assert paper.abstract.endswith("work at 10% of the cost.")
    assert paper.url == "https://example.org/~lab/paper%20v2_final.pdf"
    assert paper.doi == "10.1002/(sici)1097-0258(19980715)17:13"  # cut at "<" by identity


def test_bibtex_entry_without_title(tmp_path: Path) -> None:
    text = (
        "@article{notitle, abstract={An abstract without a title.}}\n"
        "@article{ok, title={Fine}, abstract={An abstract with a title.}}\n"
    )
    parsed = parse_file(write(tmp_path, "t.bib", text))
    assert [p.bibtex_key for p in parsed.papers] == ["ok"]
    assert parsed.problems == ["entry notitle: no title"]


def test_bibtex_no_entries(tmp_path: Path) -> None:
    path = write(tmp_path, "c.bib", "% just a comment\n@comment{nothing here}\n")
    with pytest.raises(SourceError, match="no BibTeX entries found"):
        parse_file(path)


def test_bibtex_all_entries_unusable(tmp_path: Path) -> None:
    path = write(tmp_path, "n.bib", "@article{a, title={A}}\n@article{b, title={B}}\n")
    with pytest.raises(SourceError, match=r"entry a: no abstract \(and 1 more problem\)$"):
        parse_file(path)


def test_bibtex_deeply_nested_braces(tmp_path: Path) -> None:
    deep = "{" * 3000 + "x" + "}" * 3000
    text = (
        f"@article{{deep, title={{{deep}}}, abstract={{y}}}}\n"
        "@article{ok, title={Fine}, abstract={An abstract.}}\n"
    )
    parsed = parse_file(write(tmp_path, "deep.bib", text))
    assert [p.bibtex_key for p in parsed.papers] == ["ok"]
    assert parsed.problems == ["entry deep: cannot decode its text (braces nested too deeply)"]


# --------------------------------------------------------------------------- CSV


def test_csv_zotero_export_fields() -> None:
    parsed = parse_file(FIXTURES / "papers.csv")
    papers = by_title(parsed)
    assert len(papers) == 3
    assert parsed.problems == ["line 4 ('Latent Diffusion Priors for Offline Rei…'): no abstract"]

    inverse = papers["Inverse Scaling: When Bigger Isn't Better"]
    assert inverse.authors == ("Ian R. McKenzie", "Alexander Lyzhov", "Michael Pieler")
    assert inverse.year == 2023 and inverse.date == "2023-06-15"
    assert inverse.doi == "10.48550/arxiv.2306.09479"
    assert inverse.arxiv_id == "2306.09479"
    assert inverse.venue == "Transactions on Machine Learning Research"
    assert inverse.url == "https://arxiv.org/abs/2306.09479v2"

    protein = papers[
        "Contrastive Pre-training of Protein Language Models with Structure-Aware Negatives"
    ]  # the title spans two lines inside quotes
    assert protein.doi == "10.1093/bioinformatics/btae101"
    assert protein.authors == ("Tunde Adeyemi",)
    assert protein.year == 2024


@pytest.mark.parametrize(
    ("name", "delimiter"),
    [("p.csv", ";"), ("p.csv", "\t"), ("p.csv", "|"), ("p.tsv", "\t"), ("p.csv", ",")],
)
def test_csv_delimiters(tmp_path: Path, name: str, delimiter: str) -> None:
    rows = [
        ["TITLE", "Summary", "Authors", "Year", "arXiv", "Journal"],
        [
            "Low-Rank Adapters, Revisited",
            "We revisit low-rank adapters; they work, mostly.",
            "Jane Doe and John Smith",
            "2021-05-03",
            "arXiv:2105.09999v4",
            "NeurIPS",
        ],
    ]
    text = "\n".join(delimiter.join(f'"{cell}"' for cell in row) for row in rows) + "\n"
    (paper,) = parse_file(write(tmp_path, name, text)).papers
    assert paper.title == "Low-Rank Adapters, Revisited"
    assert paper.abstract == "We revisit low-rank adapters; they work, mostly."
    assert paper.authors == ("Jane Doe", "John Smith")
    assert paper.year == 2021
    assert paper.arxiv_id == "2105.09999"
    assert paper.venue == "NeurIPS"


def test_csv_without_title_column(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "name,abstract,year\nA,B,2020\n")
    with pytest.raises(SourceError, match=r"^no 'title' column \(columns: name, abstract, year\)$"):
        parse_file(path)


def test_csv_header_only(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no rows below the header found"):
        parse_file(write(tmp_path, "h.csv", "title,abstract\n"))


def test_csv_all_rows_unusable(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.csv", "title,abstract\nA,\nB,\n,An orphan abstract.\n")
    expected = r"^no paper could be read: line 2 \('A'\): no abstract \(and 2 more problems\)$"
    with pytest.raises(SourceError, match=expected):
        parse_file(path)


def test_csv_huge_fields_are_handled(tmp_path: Path) -> None:
    big = "word " * 60_000  # 300 kB, over csv's default 128 kB field limit
    text = f"title,abstract\nHuge Abstract,{big}\n{'T' * 600},short abstract\nFine,Fine abstract.\n"
    parsed = parse_file(write(tmp_path, "big.csv", text))
    papers = by_title(parsed)
    assert len(papers["Huge Abstract"].abstract) == MAX_ABSTRACT_CHARS
    assert "Fine" in papers
    assert len(parsed.problems) == 1
    assert parsed.problems[0].startswith("line 3 ('TTTT")
    assert parsed.problems[0].endswith("title is 600 characters long (limit 500)")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Doe, Jane; Smith, John", ("Jane Doe", "John Smith")),
        ("Jane Doe; John Smith", ("Jane Doe", "John Smith")),
        ("Doe, Jane and Smith, John", ("Jane Doe", "John Smith")),
        ("Jane Doe, John Smith and Ann Lee", ("Jane Doe", "John Smith", "Ann Lee")),
        ("Doe, Jane and Ann Lee", ("Jane Doe", "Ann Lee")),
        ("Jane Doe, John Smith", ("Jane Doe", "John Smith")),
        ("Doe, Jane", ("Jane Doe",)),
        (["Doe, Jane", "John Smith", ""], ("Jane Doe", "John Smith")),
        ([{"family": "Doe", "given": "Jane"}, {"name": "OpenAI"}], ("Jane Doe", "OpenAI")),
        (42, ()),
    ],
)
def test_split_authors(value: object, expected: tuple[str, ...]) -> None:
    assert split_authors(value) == expected


def test_flip_name_keeps_suffix_names() -> None:
    assert flip_name("  Lovelace,   Ada ") == "Ada Lovelace"
    assert flip_name("Santos, Jr., Rafael") == "Rafael Santos, Jr."  # BibTeX's order
    assert flip_name("Santos, Rafael, Jr.") == "Rafael Santos, Jr."  # RIS's and Zotero's order
    assert flip_name("Rafael Santos, Jr.") == "Rafael Santos, Jr."
    assert flip_name("Doe, Jane, Smith") == "Doe, Jane, Smith"  # no suffix: not guessed


# --------------------------------------------------------------------------- JSONL / JSON


def test_jsonl_fields_and_bad_lines() -> None:
    parsed = parse_file(FIXTURES / "papers.jsonl")
    papers = by_title(parsed)
    assert len(papers) == 3
    assert parsed.problems == [
        "line 3: malformed JSON (Expecting ',' delimiter at column 402)",
        "line 6 ('Mixture-of-Depths Routing Without Auxil…'): no abstract",
        "line 7: not a JSON object but an array",
    ]
    rag = papers["Calibrated Uncertainty for Retrieval-Augmented Generation"]
    assert rag.arxiv_id == "2310.04567"  # from the arXiv URL, version dropped
    assert rag.authors == ("Lucía García", "Anna van der Berg", "Chinedu Okafor")
    assert rag.year == 2023

    spec = papers["Speculative Decoding with Learned Draft Lengths"]  # upper-case keys, aliases
    assert spec.authors == ("Thi Lan Nguyen", "Jonas Weber")
    assert spec.year == 2024 and spec.date == "2024-05-03"
    assert spec.doi == "10.1145/3650203.3663314"
    assert spec.venue == "Proceedings of MLSys"

    sae = papers["Sparse Autoencoders Find Interpretable Features in Small Transformers"]
    assert sae.authors == ("Daria Ivanova", "Samuel Brooks")  # CSL-JSON names
    assert sae.year == 2023
    assert sae.venue == "ICLR Workshop on Mechanistic Interpretability"


def test_json_array(tmp_path: Path) -> None:
    items = [
        {"title": "Array Paper", "abstract": "An abstract in an array.", "year": 2019},
        {"title": "No Abstract Here"},
        "not an object",
    ]
    parsed = parse_file(write(tmp_path, "list.json", json.dumps(items, indent=2)))
    assert [(p.title, p.year) for p in parsed.papers] == [("Array Paper", 2019)]
    assert parsed.problems == [
        "item 2 ('No Abstract Here'): no abstract",
        "item 3: not a JSON object but a string",
    ]


def test_json_single_object_and_jsonl_named_json(tmp_path: Path) -> None:
    one = {"title": "Single", "summary": "A single paper object.", "doi": "DOI:10.1000/ABC"}
    (paper,) = parse_file(write(tmp_path, "one.json", json.dumps(one, indent=1))).papers
    assert paper.doi == "10.1000/abc"
    lines = "\n".join(json.dumps({**one, "title": f"Paper {i}"}) for i in range(3))
    assert len(parse_file(write(tmp_path, "lines.json", lines)).papers) == 3


def test_json_invalid_array(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", '[\n  {"title": "x",\n')
    with pytest.raises(SourceError, match=r"not valid JSON \(line 3: "):
        parse_file(path)


def test_jsonl_all_lines_malformed(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.jsonl", "{nope\n{'single': 'quotes'}\n")
    with pytest.raises(SourceError, match=r"^no paper could be read: line 1: malformed JSON"):
        parse_file(path)


def test_jsonl_title_of_wrong_type(tmp_path: Path) -> None:
    lines = [{"title": {"en": "x"}, "abstract": "y"}, {"title": "Ok", "abstract": "Fine."}]
    path = write(tmp_path, "w.jsonl", "\n".join(json.dumps(x) for x in lines))
    parsed = parse_file(path)
    assert [p.title for p in parsed.papers] == ["Ok"]
    assert parsed.problems == ["line 1: the title is not text"]


# --------------------------------------------------------------------------- bad input, any format

GOOD = {
    ".bib": "@article{k, title={A Title}, abstract={An abstract about attention.}}\n" * 1,
    ".csv": "title,abstract\nA Title,An abstract about attention.\n",
    ".jsonl": '{"title": "A Title", "abstract": "An abstract about attention."}\n',
}


@pytest.mark.parametrize("suffix", [".bib", ".csv", ".jsonl", ".pdf"])
def test_empty_file(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(SourceError, match="the file is empty"):
        parse_file(write(tmp_path, f"e{suffix}", b""))


@pytest.mark.parametrize("suffix", [".bib", ".csv", ".jsonl"])
def test_binary_file(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(SourceError, match="the file is binary, not text"):
        parse_file(write(tmp_path, f"b{suffix}", bytes(range(256)) * 4))


@pytest.mark.parametrize("suffix", [".bib", ".csv", ".jsonl"])
def test_latin1_file(tmp_path: Path, suffix: str) -> None:
    data = GOOD[suffix].replace("attention", "Müller").encode("latin-1")
    path = write(tmp_path, f"l{suffix}", data)
    with pytest.raises(SourceError, match=r"not UTF-8 text \(byte 0xfc at offset \d+\)"):
        parse_file(path)


@pytest.mark.parametrize("suffix", [".bib", ".csv", ".jsonl"])
def test_good_minimal_files(tmp_path: Path, suffix: str) -> None:
    (paper,) = parse_file(write(tmp_path, f"g{suffix}", GOOD[suffix])).papers
    assert (paper.title, paper.abstract) == ("A Title", "An abstract about attention.")


def test_truncated_bib(tmp_path: Path) -> None:
    text = (FIXTURES / "zotero.bib").read_text(encoding="utf-8")
    cut = text.index("@article{chen2021graph") + 200
    parsed = parse_file(write(tmp_path, "cut.bib", text[:cut]))
    assert len(parsed.papers) == 2
    assert parsed.problems[0].startswith("line 32: cannot parse '@article{chen2021graph,'")
    assert "end of file" in parsed.problems[0]


def test_truncated_jsonl(tmp_path: Path) -> None:
    text = GOOD[".jsonl"] + GOOD[".jsonl"].replace("A Title", "Other")[:30]
    parsed = parse_file(write(tmp_path, "cut.jsonl", text))
    assert len(parsed.papers) == 1
    assert parsed.problems == ["line 2: malformed JSON (Expecting value at column 31)"]


def test_truncated_csv_inside_quotes(tmp_path: Path) -> None:
    text = 'title,abstract\nA,"Complete abstract."\nB,"An abstract cut o'
    parsed = parse_file(write(tmp_path, "cut.csv", text))
    assert [p.title for p in parsed.papers] == ["A", "B"]  # csv keeps the cut field


def test_csv_nul_byte_late_in_file(tmp_path: Path) -> None:
    text = "title,abstract\n" + "A,An abstract.\n" * 1000 + "B,bad\x00row\n"
    parsed = parse_file(write(tmp_path, "nul.csv", text))  # the binary check reads 8 kB only
    assert len(parsed.papers) == 1001 and not parsed.problems
    assert parsed.papers[-1].abstract == "bad row"


# --------------------------------------------------------------------------- PDF


def test_pdf_title_abstract_ids(tmp_path: Path) -> None:
    header = "arXiv:2401.01234v2 [cs.CL] 3 Jan 2024    https://doi.org/10.5555/Sma.2024.7"
    path = make_paper_pdf(tmp_path / "sma.pdf", TITLE, ABSTRACT, header=header)
    (paper,) = parse_file(path).papers
    assert paper.title == TITLE  # two lines in the largest font
    assert paper.abstract == ABSTRACT  # stops before "1 Introduction"
    assert paper.arxiv_id == "2401.01234"
    assert paper.year == 2024
    assert paper.doi == "10.5555/sma.2024.7"
    assert paper.sources == ("sma.pdf",)


@pytest.mark.parametrize(
    ("metadata_title", "expected"),
    [
        ("Sparse Mixture Adapters (camera-ready)", "Sparse Mixture Adapters (camera-ready)"),
        ("Microsoft Word - draft7.docx", TITLE),
        ("untitled", TITLE),
        ("main.dvi", TITLE),
        ("", TITLE),
    ],
)
def test_pdf_metadata_title(tmp_path: Path, metadata_title: str, expected: str) -> None:
    path = make_paper_pdf(tmp_path / "m.pdf", TITLE, ABSTRACT, metadata_title=metadata_title)
    assert parse_file(path).papers[0].title == expected


def test_pdf_hyphenated_line_breaks_are_joined(tmp_path: Path) -> None:
    abstract = "We distill a large teacher into a small student using exam-\nple reweighting."
    path = make_paper_pdf(tmp_path / "h.pdf", TITLE, abstract + " " + ABSTRACT)
    assert parse_file(path).papers[0].abstract.startswith(
        "We distill a large teacher into a small student using example reweighting. We propose"
    )


@pytest.mark.parametrize("marker", ["ABSTRACT: ", "Abstract—", "Abstract. "])
def test_pdf_inline_abstract_marker(tmp_path: Path, marker: str) -> None:
    path = make_paper_pdf(tmp_path / "i.pdf", TITLE, marker + ABSTRACT, abstract_heading=None)
    assert parse_file(path).papers[0].abstract == ABSTRACT


def test_pdf_keywords_end_the_abstract(tmp_path: Path) -> None:
    text = ABSTRACT + "\nKeywords: adapters, multilingual, fine-tuning"
    path = make_paper_pdf(tmp_path / "k.pdf", TITLE, text)
    assert parse_file(path).papers[0].abstract == ABSTRACT


def test_pdf_without_abstract_heading_uses_first_long_paragraph(tmp_path: Path) -> None:
    path = make_paper_pdf(tmp_path / "n.pdf", TITLE, ABSTRACT, abstract_heading=None)
    assert parse_file(path).papers[0].abstract == ABSTRACT


def test_pdf_encrypted(tmp_path: Path) -> None:
    path = make_paper_pdf(tmp_path / "enc.pdf", TITLE, ABSTRACT, encrypt=True)
    with pytest.raises(SourceError, match=r"^the PDF is encrypted; decrypt it first$"):
        parse_file(path)


def test_pdf_encrypted_with_empty_user_password_is_read(tmp_path: Path) -> None:
    path = make_paper_pdf(tmp_path / "open.pdf", TITLE, ABSTRACT, encrypt=True, password="")
    assert parse_file(path).papers[0].title == TITLE


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_pdf_truncated(tmp_path: Path, keep: float) -> None:
    data = make_paper_pdf(tmp_path / "full.pdf", TITLE, ABSTRACT).read_bytes()
    path = write(tmp_path, "cut.pdf", data[: int(len(data) * keep)])
    with pytest.raises(SourceError) as info:
        parse_file(path)
    message = str(info.value)
    assert message.startswith("not a readable PDF (") and "\n" not in message
    assert "truncated" in message


def test_pdf_not_a_pdf(tmp_path: Path) -> None:
    path = write(tmp_path, "fake.pdf", "This is a text file with a .pdf name.\n" * 5)
    with pytest.raises(SourceError, match=r"^not a readable PDF \("):
        parse_file(path)


def test_pdf_without_text(tmp_path: Path) -> None:
    path = make_blank_pdf(tmp_path / "scan.pdf")
    with pytest.raises(SourceError, match=r"^no text layer \(scanned PDF\?\)$"):
        parse_file(path)


# --------------------------------------------------------------------------- fuzzing

FUZZ = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SUFFIXES = [".bib", ".csv", ".tsv", ".jsonl", ".json", ".txt", ".pdf"]
BIBTEX_ALPHABET = st.sampled_from([*'@{}=,"#\\ \n%', "and", "title", "abstract", "é", "x"])


def parse_or_source_error(suffix: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            result = parse_file(path)
        except SourceError as exc:
            assert str(exc) and "\n" not in str(exc)
        else:
            assert isinstance(result, ParsedFile) and result.papers
            assert all("\n" not in problem for problem in result.problems)


@pytest.mark.parametrize("suffix", SUFFIXES)
@FUZZ
@given(data=st.binary(max_size=2000))
def test_fuzz_random_bytes(suffix: str, data: bytes) -> None:
    parse_or_source_error(suffix, data)


@pytest.mark.parametrize("suffix", SUFFIXES)
@FUZZ
@given(text=st.text(max_size=2000))
def test_fuzz_random_text(suffix: str, text: str) -> None:
    parse_or_source_error(suffix, text.encode("utf-8"))


@FUZZ
@given(parts=st.lists(BIBTEX_ALPHABET, max_size=300))
def test_fuzz_bibtex_like_text(parts: list[str]) -> None:
    parse_or_source_error(".bib", "".join(parts).encode())


@FUZZ
@given(lines=st.lists(st.text(alphabet='{}[]",:0123456789.eaTtitle \\', max_size=60), max_size=20))
def test_fuzz_jsonl_like_text(lines: list[str]) -> None:
    parse_or_source_error(".jsonl", "\n".join(lines).encode())


_PDF_BYTES: list[bytes] = []


def _valid_pdf() -> bytes:
    if not _PDF_BYTES:
        with tempfile.TemporaryDirectory() as folder:
            _PDF_BYTES.append(make_paper_pdf(Path(folder) / "v.pdf", TITLE, ABSTRACT).read_bytes())
    return _PDF_BYTES[0]


@FUZZ
@given(
    start=st.floats(min_value=0, max_value=1),
    length=st.integers(min_value=0, max_value=400),
    junk=st.binary(max_size=64),
)
def test_fuzz_damaged_pdf(start: float, length: int, junk: bytes) -> None:
    data = _valid_pdf()
    cut = int(len(data) * start)
    parse_or_source_error(".pdf", data[:cut] + junk + data[cut + length :])
