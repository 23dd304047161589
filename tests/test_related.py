"""Related-work drafts over the real sample library (MiniLM, Chroma, BM25, the real support check).

The extractive draft is built once per module; model-written paragraphs come from the scripted chat
model (tests/fakes.py), so each test knows what the "model" said; one test runs the bundled model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import bibtexparser
import pytest
from clitools import one_error_line, run
from fakes import FakeChatModel, fake_backend, shown_sources
from helpers import write_listing
from langchain_core.messages import BaseMessage

from assistant.citations import CITE, marker_numbers
from assistant.evaluation.writing import dangling, misplaced_markers, sentences, template_phrases
from assistant.evidence import TermWeights
from assistant.sources import parse_file
from assistant.support import SupportChecker, answer_sentences
from assistant.text import split_sentences
from assistant.types import Paper, Source
from assistant.workspace import Workspace
from assistant.writing.common import select_papers
from assistant.writing.latex import escape_latex
from assistant.writing.models import RelatedWorkDraft
from assistant.writing.related import LOCAL_REWRITE_WORDS, LOCAL_REWRITES, related_work
from assistant.writing.retell import retell
from assistant.writing.themes import cluster

TOPIC = "tool use and API calling by LLM agents"  # evals topical t010: two groups of three papers
OFF_TOPIC = "How do I keep a sourdough starter alive in a cold kitchen?"
CITE_KEYS = re.compile(r"\\cite\{([^}]*)\}")


@pytest.fixture(scope="module")
def ws(module_sample_ws: Workspace) -> Workspace:
    """The module's read-only copy of the sample library."""
    return module_sample_ws


@pytest.fixture(scope="module")
def draft(ws: Workspace) -> RelatedWorkDraft:
    """The extractive draft for TOPIC."""
    return related_work(ws, TOPIC)


@pytest.fixture(scope="module")
def small_draft(ws: Workspace) -> RelatedWorkDraft:
    """The extractive draft for TOPIC over its four best papers."""
    return related_work(ws, TOPIC, max_papers=4)


def checker(ws: Workspace) -> SupportChecker:
    """A support check of its own (MiniLM vectors remembered across drafts, as the job does)."""
    return SupportChecker(ws.embedder, TermWeights(ws.retriever.bm25()), ws.settings.answer)


def reference_sources(ws: Workspace, draft: RelatedWorkDraft) -> list[Source]:
    """The draft's references as numbered sources holding each paper's whole abstract."""
    papers = ws.get_papers([r.paper_id for r in draft.references])
    return [Source(n=r.n, paper_id=r.paper_id, title=r.title, text=papers[r.paper_id].abstract)
            for r in draft.references]


def numbers_cited(text: str) -> list[int]:
    return [n for m in CITE.finditer(text) for n in marker_numbers(m.group(0))]


# -- the extractive draft -----------------------------------------------------------------------------


def test_themes_partition_the_selected_papers(ws: Workspace, draft: RelatedWorkDraft) -> None:
    selected = [p.paper_id for p in select_papers(ws, topic=TOPIC, max_papers=8)]
    in_themes = [pid for t in draft.themes for pid in t.paper_ids]
    assert sorted(in_themes) == sorted(selected) and len(set(in_themes)) == len(in_themes)
    assert len(draft.themes) >= 2 and all(len(t.paper_ids) >= 2 for t in draft.themes)
    papers = ws.get_papers(in_themes)
    for theme in draft.themes:  # each name is made of terms its own papers use
        assert theme.name and theme.terms
        texts = " ".join(f"{papers[p].title} {papers[p].abstract}" for p in theme.paper_ids).casefold()
        assert all(term.casefold() in texts for term in theme.terms), (theme.terms, theme.paper_ids)
    assert draft.backend == "extractive" and draft.model is None and draft.removed_citations == 0
    assert draft.seconds > 0 and draft.usage.prompt_tokens == 0


def test_every_sentence_of_the_extractive_draft_passes_the_support_check(
    ws: Workspace, draft: RelatedWorkDraft,
) -> None:
    sources = reference_sources(ws, draft)
    check = checker(ws)
    for theme in draft.themes:
        assert theme.mode == "extractive"
        # checked afresh against the final numbering: a wrong renumbering cites the wrong abstract
        verdicts = check.check(theme.paragraph, sources)
        assert len(verdicts) == len(theme.sentences) >= 3
        assert all(v.supported for v in verdicts), [v for v in verdicts if not v.supported]
        assert [v.cites for v in verdicts] == [s.cites for s in theme.sentences]
        # one sentence about each paper, citing it alone
        own = [v.cites[0] for v in verdicts if len(v.cites) == 1][: len(theme.paper_ids)]  # then an open question
        numbers = {r.paper_id: r.n for r in draft.references}
        assert own == [numbers[p] for p in theme.paper_ids]


def test_themes_are_named_by_noun_phrases_and_paragraphs_read_as_prose(
    ws: Workspace, draft: RelatedWorkDraft,
) -> None:
    for theme in draft.themes:
        assert len(theme.name.split()) >= 2, theme.name  # "Agent and complex" was two terms; now one phrase
        said = sentences(theme.paragraph)
        assert not [t for x in said for t in template_phrases(x)], theme.paragraph
        assert not [x for x in said if misplaced_markers(x) or dangling(x)], theme.paragraph


def test_markdown_citations_resolve_to_the_numbered_references(ws: Workspace, draft: RelatedWorkDraft) -> None:
    body, _, listing = draft.markdown.partition("### References")
    refs = re.findall(r"^- \[(\d+)\] (.+)$", listing, re.MULTILINE)
    assert [int(n) for n, _ in refs] == list(range(1, len(draft.references) + 1))
    assert [t for _, t in refs] == [r.title + (f" ({r.year})" if r.year else "") for r in draft.references]
    cited = numbers_cited(body)
    assert set(cited) == {r.n for r in draft.references}  # nothing dangling, no reference left uncited
    first_seen = list(dict.fromkeys(cited))
    assert first_seen == sorted(first_seen)  # numbered in order of first citation
    # every selected paper is cited: the extractive draft leaves none out
    assert {r.paper_id for r in draft.references} == {p for t in draft.themes for p in t.paper_ids}
    for theme in draft.themes:
        assert f"### {theme.name}\n\n{theme.paragraph}\n" in body


def test_latex_cites_match_the_bibtex_entries_one_to_one(
    ws: Workspace, draft: RelatedWorkDraft, tmp_path: Path,
) -> None:
    assert draft.latex is not None and draft.bibtex is not None
    cited = [k for group in CITE_KEYS.findall(draft.latex) for k in group.split(",")]
    library = bibtexparser.parse_string(draft.bibtex)
    assert library.failed_blocks == []  # no duplicate key, nothing unparseable
    keys = [e.key for e in library.entries]
    assert len(keys) == len(set(keys)) == len(draft.references)
    assert set(cited) == set(keys) == {r.key for r in draft.references}
    assert not re.search(r"\[\d+(?:, \d+)*\]", draft.latex)  # no Markdown citation left over
    assert draft.latex.count(r"\paragraph{") == len(draft.themes)
    # the .bib is the export's: `ingest` reads it back to the same papers, abstracts and all, with no problem
    bib = tmp_path / "related-work.bib"
    bib.write_text(draft.bibtex, encoding="utf-8")
    back = parse_file(bib)
    assert back.problems == []
    papers = {p.paper_id: p for p in ws.papers()}
    assert [(p.title, p.abstract) for p in back.papers] == [
        (papers[r.paper_id].title, papers[r.paper_id].abstract) for r in draft.references]


# -- LaTeX escaping -----------------------------------------------------------------------------------


def test_escape_latex_covers_every_special_character() -> None:
    text = r"A&B 50% $5 #1 snake_case {x} ~y ^z back\slash"
    assert escape_latex(text) == (r"A\&B 50\% \$5 \#1 snake\_case \{x\} \textasciitilde{}y "
                                  r"\textasciicircum{}z back\textbackslash{}slash")
    assert escape_latex("{x}", bib=True) == r"\textbraceleft{}x\textbraceright{}"  # braces stay balanced in .bib


SPECIAL = Paper(
    paper_id="special", title="Route_Cheap & Co: Saving 40% of LLM API Spend with {Cheap} Routers",
    abstract=("Calling large language model APIs is expensive for applications that send many easy queries. "
              "We propose Route_Cheap & Co, a query router that sends easy queries to small models and saves 40% "
              "of the API spend at equal answer quality. The router is trained on 12,000 queries labelled by "
              "whether a small model answers them correctly."),
    authors=("Ada O'Neil", "Bo_Li"), year=2024, doi="10.1234/route_cheap%20v2", arxiv_id="2401.01234",
)


def test_a_paper_with_special_characters_is_escaped_in_latex_and_bibtex(
    sample_ws: Workspace, tmp_path: Path,
) -> None:
    listing = tmp_path / "special.txt"
    write_listing(listing, [SPECIAL])
    assert sample_ws.ingest([listing]).new == 1
    stored = next(p for p in sample_ws.papers() if p.title == SPECIAL.title)
    sample_ws.library.update_records([stored.model_copy(update={
        "authors": SPECIAL.authors, "year": SPECIAL.year, "doi": SPECIAL.doi, "arxiv_id": SPECIAL.arxiv_id})])
    draft = related_work(sample_ws, "routing queries to cheaper LLM APIs to save spend", max_papers=4)
    ref = next(r for r in draft.references if r.title == SPECIAL.title)
    assert draft.latex is not None and draft.bibtex is not None
    assert r"Route\_Cheap \& Co" in draft.latex and r"40\%" in draft.latex
    # outside commands, no special character is left bare
    bare = re.sub(r"\\(?:cite|paragraph)\{[^}]*\}|\\[&%$#_{}]|\\text\w+\{\}|\$\\\w+\$", "", draft.latex)
    assert not re.search(r"[&%$#_^~\\]", bare.replace("~", "")), bare
    entry = bibtexparser.parse_string(draft.bibtex).entries
    fields = next(e for e in entry if e.key == ref.key)
    assert fields["title"] == ("{" + r"Route\_Cheap \& Co: Saving 40\% of LLM API Spend with "
                               r"\textbraceleft{}Cheap\textbraceright{} Routers" + "}")
    assert fields["author"] == r"Ada O'Neil and Bo\_Li"
    assert (fields["year"], fields["doi"], fields["eprint"], fields["archivePrefix"]) == (
        "2024", "10.1234/route_cheap%20v2", "2401.01234", "arXiv")


# -- model-written paragraphs (scripted model) ---------------------------------------------------------


def copy_first(cite: str) -> Callable[[list[BaseMessage]], str]:
    """A paragraph copying the first sentence of each shown abstract that says "we ...", citing `cite` on the first."""

    def reply(messages: list[BaseMessage]) -> str:
        out = []
        for n, text in sorted(shown_sources(messages).items()):
            sentence = next((s for s in split_sentences(text) if " we " in f" {s.lower()} "), split_sentences(text)[0])
            out.append(f"{sentence.rstrip('.')} [{cite if n == 1 else n}].")
        return " ".join(out)

    return reply


def test_an_invented_citation_is_removed_and_counted(ws: Workspace) -> None:
    model = FakeChatModel().enqueue(*[copy_first("1, 9")] * 4)
    got = related_work(ws, TOPIC, backend=fake_backend(model))

    assert len(model.calls) == len(got.themes) >= 2
    assert got.removed_citations == len(got.themes)  # one [9] per paragraph, each removed
    assert all(t.mode == "generated" for t in got.themes)
    assert 9 not in numbers_cited(got.markdown) and "[9]" not in got.markdown
    assert (got.backend, got.model) == ("openai-compatible", "fake-model")
    assert got.usage.prompt_tokens > 0 and got.usage.completion_tokens > 0
    system = str(model.history[0][0].content)
    assert TOPIC in system and got.themes[0].name in system
    assert f"numbers 1 to {len(got.themes[0].paper_ids)}" in system
    assert len(shown_sources(model.history[0])) == len(got.themes[0].paper_ids)
    sources = reference_sources(ws, got)
    for theme in got.themes:
        assert all(s.supported for s in checker(ws).check(theme.paragraph, sources))


def test_an_unsupported_paragraph_falls_back_to_the_extractive_one(
    ws: Workspace, small_draft: RelatedWorkDraft,
) -> None:
    invented = "These systems prove that agents solve 47 benchmarks perfectly [1]. Tools never fail [2]."
    model = FakeChatModel().enqueue(*[invented] * 4)
    got = related_work(ws, TOPIC, max_papers=4, backend=fake_backend(model))
    assert len(model.calls) == len(got.themes)
    assert {t.mode for t in got.themes} == {"fallback"}
    assert got.markdown == small_draft.markdown and "47" not in got.markdown
    assert got.removed_citations == 0


def test_the_local_model_only_shortens_long_sentences_and_its_additions_are_rejected(
    ws: Workspace, draft: RelatedWorkDraft,
) -> None:
    model = FakeChatModel()

    def shorten(messages: list[BaseMessage]) -> str:
        n = re.findall(r"\[(\d+)\]", model.calls[-1].kwargs["grammar"])[-1]
        parts = str(messages[-1].content).rstrip(".").split(", ")
        if len(model.calls) == 1:  # a faithful cut: the sentence without the clause after its subject
            return f"{parts[0]}, {', '.join(parts[2:])} [{n}]."
        if len(model.calls) == 2:  # cut off early, as the length cap makes the model do
            return f"{' '.join(parts[0].split()[:-1])} [{n}]."
        return f"{parts[0]} with revolutionary quantum hardware [{n}]."  # words the sentence never had

    model.enqueue(*[shorten] * 8)
    got = related_work(ws, TOPIC, backend=fake_backend(model, "local"))
    plain = draft

    long_ones = [sum(len(s.cites) == 1 and len(CITE.sub("", s.text).split()) > LOCAL_REWRITE_WORDS
                     for s in t.sentences) for t in plain.themes]
    # the longest few per theme; short sentences are left alone
    assert len(model.calls) == sum(min(n, LOCAL_REWRITES) for n in long_ones) >= 3
    assert all("grammar" in kw and kw["max_tokens"] > 0 for kw in model.bound)
    before = [s.text for t in plain.themes for s in t.sentences]
    after = [s.text for t in got.themes for s in t.sentences]
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert len(changed) == 1 and changed[0][1] == as_drafted(model.calls[0].reply)
    assert len(changed[0][1]) < len(changed[0][0])
    assert all(s.supported for t in got.themes for s in t.sentences) and "quantum" not in got.markdown
    assert "fallback" in [t.mode for t in got.themes] and got.usage.completion_tokens > 0


def as_drafted(reply: str) -> str:
    """ "The authors propose X [2]." as the draft writes it: "The authors of [2] propose X."."""
    m = re.match(r"^(The authors|The paper) (.*) \[(\d+)\]\.$", reply)
    if not m:
        return reply
    subject = "The authors of" if m.group(1) == "The authors" else "The paper"
    return f"{subject} [{m.group(3)}] {m.group(2)}."


# -- the command ---------------------------------------------------------------------------------------


def test_cli_latex_writes_a_matching_bibtex_file(
    capsys: pytest.CaptureFixture[str], sample_ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "related-work", "--topic", TOPIC, "--format", "latex", "--max-papers", "4")
    assert code == 0, err
    assert "related-work.bib" in err and "Traceback" not in err
    library = bibtexparser.parse_string((tmp_path / "related-work.bib").read_text(encoding="utf-8"))
    cited = {k for group in CITE_KEYS.findall(out) for k in group.split(",")}
    assert library.failed_blocks == [] and cited == {e.key for e in library.entries} and len(cited) == 4

    code, out, err = run(capsys, "related-work", "--topic", TOPIC, "--max-papers", "3", "--json",
                         "--out", "draft.md")
    assert code == 0, err
    data = json.loads(out)
    assert (tmp_path / "draft.md").read_text(encoding="utf-8") == data["markdown"]
    assert not (tmp_path / "draft.bib").exists()  # Markdown needs no .bib unless asked for
    assert [r["n"] for r in data["references"]] == [1, 2, 3] and data["backend"] == "extractive"


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str], sample_ws: Workspace, tmp_path: Path) -> None:
    code, out, err = run(capsys, "related-work", "--topic", OFF_TOPIC)
    assert code == 1 and out == ""
    assert "the library does not cover the topic" in one_error_line(err)
    target = tmp_path / "same.tex"
    code, _, err = run(capsys, "related-work", "--topic", TOPIC, "--format", "latex", "--out", str(target),
                       "--bib", str(target))
    assert code == 1 and "would overwrite" in one_error_line(err) and not target.exists()
    code, _, err = run(capsys, "related-work", "--topic", TOPIC, "--max-papers", "0")
    assert code == 2 and "Traceback" not in err


@pytest.mark.parametrize(("sentence", "told"), [
    ("To address these issues, we propose ToolX, a router.", "The authors of [2] propose ToolX, a router."),
    ("In this technical report, we confirm that laws hold and we test them.",
     "In this technical report, the authors of [1] confirm that laws hold and they test them."),
    ("This survey covers our field.", "The survey [3] covers their field."),
    ("Scaling helps retrieval.", "Scaling helps retrieval [4]."),
])
def test_a_sentence_is_retold_about_the_paper_it_cites(sentence: str, told: str) -> None:
    n = int(re.findall(r"\[(\d+)\]", told)[0])
    assert retell(sentence, n) == told


def test_few_papers_make_one_theme() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3, 8))
    assert cluster(vectors) == [0, 0, 0]
    two_groups = np.vstack([rng.normal(loc=5, size=(3, 8)), rng.normal(loc=-5, size=(3, 8))])
    assert cluster(two_groups) == [0, 0, 0, 1, 1, 1]


@pytest.mark.llm
def test_cli_with_the_local_model(capsys: pytest.CaptureFixture[str], sample_ws: Workspace) -> None:
    code, out, err = run(capsys, "related-work", "--topic", TOPIC, "--llm", "local", "--max-papers", "3", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["backend"] == "local" and data["usage"]["completion_tokens"] > 0  # the model was asked
    assert {t["mode"] for t in data["themes"]} <= {"generated", "fallback"}
    assert all(s["supported"] for t in data["themes"] for s in t["sentences"])
    assert [r["n"] for r in data["references"]] == [1, 2, 3]
    assert set(numbers_cited(data["markdown"].partition("### References")[0])) == {1, 2, 3}
    assert all(len(answer_sentences(t["paragraph"])) == len(t["sentences"]) for t in data["themes"])
