"""The `litreview` command through assistant.cli.main: JSON output, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clitools import one_error_line, run, usage_error
from helpers import SMALL_COUNT, write_listing

from assistant.errors import ConfigError
from assistant.settings import load_settings
from assistant.types import Paper
from assistant.workspace import Workspace

QUERY = "how can a small model learn to call external tools"
HIT_KEYS = {"rank", "paper_id", "title", "score", "snippet", "dense_score", "bm25_score", "year"}


def test_ingest_json_summary(capsys: pytest.CaptureFixture[str], small_papers: list[Paper], inputs: Path) -> None:
    path = write_listing(inputs / "small.txt", small_papers)
    code, out, _ = run(capsys, "ingest", str(path), "--json")
    assert code == 0
    summary = json.loads(out)
    counts = (summary["new"], summary["duplicates"], summary["updated"], summary["papers_found"])
    assert counts == (SMALL_COUNT, 0, 0, SMALL_COUNT)
    assert summary["chunks_added"] >= SMALL_COUNT and summary["seconds"] >= 0
    assert [(f["path"], f["status"], f["new"], f["problems"]) for f in summary["files"]] == [
        (str(path), "ok", SMALL_COUNT, [])
    ]
    code, out, _ = run(capsys, "ingest", str(path), "--json")
    assert code == 0 and (json.loads(out)["new"], json.loads(out)["duplicates"]) == (0, SMALL_COUNT)


def test_ingest_exit_status_1_when_a_file_fails(capsys: pytest.CaptureFixture[str], small_papers: list[Paper],
                                                inputs: Path) -> None:
    good = write_listing(inputs / "good.txt", small_papers[:2])
    missing = inputs / "missing.bib"
    code, out, err = run(capsys, "ingest", str(good), str(missing), "--json")
    assert code == 1
    files = {f["path"]: f for f in json.loads(out)["files"]}
    assert files[str(missing)]["status"] == "failed"
    assert files[str(missing)]["problems"] == ["no such file or folder"]
    assert files[str(good)]["new"] == 2

    (inputs / "empty.csv").write_text("", encoding="utf-8")
    code, out, err = run(capsys, "ingest", str(good), str(inputs / "empty.csv"))
    assert code == 1
    assert err.strip() == f"skipped {inputs / 'empty.csv'}: the file is empty"
    assert "read 1 of 2 files: 2 papers found, 0 new, 2 duplicates" in out
    assert "library: 2 papers" in out


def test_paths_and_titles_with_brackets_are_printed_verbatim(capsys: pytest.CaptureFixture[str], inputs: Path) -> None:
    (inputs / "[").mkdir()
    odd = inputs / "[/draft] notes [bold].txt"  # a folder "[" and a file "draft] notes [bold].txt"
    paper = Paper(paper_id="x", title="[/x] A [bold]Bracketed[/bold] Title",
                  abstract="An abstract that is long enough to count as one, about bracket handling.")
    write_listing(odd, [paper])
    code, out, err = run(capsys, "ingest", str(odd), str(inputs / "[/gone].txt"))
    assert code == 1 and err.strip() == f"skipped {inputs / '[/gone].txt'}: no such file or folder"
    code, out, err = run(capsys, "search", "bracket handling", "-k", "1")
    assert code == 0 and out.startswith(f"1. {paper.title}  ")
    code, out, err = run(capsys, "stats")
    assert code == 0 and f"1  {odd.name}" in out
    code, out, err = run(capsys, "remove", "[/nothing]")
    assert code == 1 and one_error_line(err) == "error: no paper in the library matches '[/nothing]'"


def test_ingest_without_paths_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ingest")
    assert code == 1 and "nothing to ingest" in one_error_line(err)


@pytest.mark.parametrize("mode", ["hybrid", "bm25"])
def test_search_json(capsys: pytest.CaptureFixture[str], sample_ws: Workspace, mode: str) -> None:
    code, out, _ = run(capsys, "search", QUERY, "-k", "4", "--mode", mode, "--json")
    assert code == 0
    hits = json.loads(out)
    assert [h["rank"] for h in hits] == [1, 2, 3, 4]
    assert all(set(h) == HIT_KEYS and h["snippet"] and isinstance(h["score"], float) for h in hits)
    assert [h["paper_id"] for h in hits] == [h.paper_id for h in sample_ws.search(QUERY, k=4, mode=mode)]  # type: ignore[arg-type]
    assert sample_ws.get_papers([hits[0]["paper_id"]])[hits[0]["paper_id"]].title == hits[0]["title"]


def test_search_text_output_and_empty_library(capsys: pytest.CaptureFixture[str], small_ws: Workspace) -> None:
    code, out, _ = run(capsys, "search", QUERY, "-k", "2")
    assert code == 0 and out.startswith("1. ") and "\n2. " in out
    top = small_ws.search(QUERY, k=1)[0]
    assert f"1. {top.title}" in out and top.paper_id in out
    small_ws.delete([p.paper_id for p in small_ws.papers()])
    assert run(capsys, "search", QUERY) == (0, "the library is empty: run `litreview ingest`\n", "")


def test_search_batch(capsys: pytest.CaptureFixture[str], sample_ws: Workspace, inputs: Path) -> None:
    batch = inputs / "queries.jsonl"
    batch.write_text(
        '{"id": "q1", "query": "video generation with test-time search"}\n'
        "this line is not JSON\n"
        "\n"
        '{"id": "q3", "query": "   "}\n'
        '["not", "an", "object"]\n'
        '{"query": "tool learning for language models"}\n',
        encoding="utf-8",
    )
    code, out, err = run(capsys, "search", "--batch", str(batch), "-k", "3", "--json")
    assert code == 1
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == ["q1", 2, "q3", 5, 6]
    assert [len(line["results"]) for line in lines] == [3, 0, 0, 0, 3]
    assert [("error" in line) for line in lines] == [False, True, True, True, False]
    assert lines[2]["error"] == "the query is empty"
    assert set(lines[0]["results"][0]) == HIT_KEYS
    expected = sample_ws.search("tool learning for language models", k=3)
    assert [h["paper_id"] for h in lines[4]["results"]] == [h.paper_id for h in expected]
    assert [line.split(": ")[0] for line in err.splitlines()] == [f"{batch}:2", f"{batch}:4", f"{batch}:5"]


def test_papers_stats_and_remove(capsys: pytest.CaptureFixture[str], small_ws: Workspace,
                                 small_papers: list[Paper]) -> None:
    code, out, _ = run(capsys, "papers", "--json")
    listed = json.loads(out)
    assert code == 0
    assert [(p["paper_id"], p["title"]) for p in listed] == [(p.paper_id, p.title) for p in small_ws.papers()]
    assert {p["paper_id"] for p in listed} == {p.paper_id for p in small_papers}

    code, out, _ = run(capsys, "stats", "--json")
    stats = json.loads(out)
    assert (stats["papers"], stats["backend"]) == (SMALL_COUNT, "chroma-embedded")
    assert stats["chunks"] == small_ws.stats().chunks and stats["sources"] == {"small.txt": SMALL_COUNT}

    first, second = small_papers[0], small_papers[1]
    assert run(capsys, "remove", first.paper_id) == (0, "removed 1 paper\n", "")
    assert run(capsys, "remove", second.title.upper()[5:40]) == (0, "removed 1 paper\n", "")
    remaining = {p.paper_id for p in small_ws.papers()}
    assert first.paper_id not in remaining and second.paper_id not in remaining and len(remaining) == 3

    code, _, err = run(capsys, "remove", "no such paper anywhere")
    assert code == 1 and "no paper in the library matches" in one_error_line(err)
    code, _, err = run(capsys, "remove", "e")  # part of every title: ambiguous
    assert code == 1 and "matches 3 papers" in one_error_line(err)
    assert len(small_ws.papers()) == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search"], "give a query, or --batch FILE"),
        (["search", "   "], "the query is empty"),
        (["search", "--batch", "/nonexistent/queries.jsonl"], "cannot read /nonexistent/queries.jsonl"),
    ],
)
def test_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert message in one_error_line(err)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[retrieval\nk = 3\n", "config.toml: not a valid TOML config file"),
        ("[retrieval]\nk = 0\n", "invalid setting retrieval.k"),
        ("[embedding]\nprovider = 'word2vec'\n", "invalid setting embedding.provider"),
        ("[retrival]\nk = 8\n", "unknown setting retrival in "),
        ("[retrival]\nk = 8\n", "config.toml (did you mean retrieval?)"),
        ("[retrieval]\nmod = 'bm25'\n", "unknown setting retrieval.mod in "),
        ("[retrieval]\nmod = 'bm25'\n", "(did you mean retrieval.mode?)"),
        ("[llm]\nmodle = 'x'\n", "(did you mean llm.model?)"),
    ],
)
def test_bad_config_file(capsys: pytest.CaptureFixture[str], litreview_home: Path, config: str, message: str) -> None:
    litreview_home.mkdir(parents=True)
    (litreview_home / "config.toml").write_text(config, encoding="utf-8")
    for argv in (["stats"], ["search", "tools", "--json"]):
        code, out, err = run(capsys, *argv)
        assert code == 1 and out == ""
        assert message in one_error_line(err)


def test_unknown_environment_variable(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, nearest in [("LITREVIEW_RETRIVAL__K", "LITREVIEW_RETRIEVAL__K"),
                              ("LITREVIEW_LLM_PROVIDER", "LITREVIEW_LLM__PROVIDER"),
                              ("LITREVIEW_STORE__CHROMA_ULR", "LITREVIEW_STORE__CHROMA_URL")]:
        with monkeypatch.context() as mp:
            mp.setenv(variable, "3")
            code, out, err = run(capsys, "stats")
        assert code == 1 and out == ""
        assert one_error_line(err) == f"error: unknown environment variable {variable} (did you mean {nearest}?)"


def test_known_variables_and_whole_sections_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITREVIEW_RETRIEVAL", '{"k": 4}')
    monkeypatch.setenv("LITREVIEW_LLM__MODEL", "m")
    monkeypatch.setenv("LITREVIEW_DEBUG", "1")
    settings = load_settings()
    assert (settings.retrieval.k, settings.llm.model) == (4, "m")
    with pytest.raises(ConfigError, match=r"^unknown setting retrieval\.kk \(did you mean retrieval\.k\?\)$"):
        settings.with_overrides(retrieval={"kk": 3})


def test_config_file_is_used(capsys: pytest.CaptureFixture[str], sample_ws: Workspace, litreview_home: Path) -> None:
    (litreview_home / "config.toml").write_text("[store]\ncollection_prefix = 'elsewhere'\n", encoding="utf-8")
    code, out, _ = run(capsys, "stats", "--json")
    assert code == 0 and json.loads(out)["papers"] == 0


def test_usage_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "No such command" in err
    code, out, err = run(capsys, "search", "tools", "--mode", "fuzzy")  # the choices are settings.SearchMode
    assert code == 2 and out == "" and "'fuzzy' is not one of 'hybrid', 'dense', 'bm25', 'rrf'" in usage_error(err)
