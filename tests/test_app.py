"""The Streamlit app's pages through streamlit.testing's AppTest, over the real sample library.

Retrieval, evidence, the support check and the writing jobs are real; where a test is about how a
page handles a model (streaming, follow-ups, settings reaching the back-end), the model is the
scripted FakeChatModel behind a patched Workspace.backend.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from clitools import one_error_line, run
from fakes import FakeChatModel, fake_backend, quote
from helpers import FIXTURES, make_paper_pdf, write_listing
from pydantic import SecretStr
from streamlit.testing.v1 import AppTest

from assistant.app import state
from assistant.app.streaming import TokenStream
from assistant.chain import TokenSink
from assistant.errors import LitReviewError
from assistant.llm.backends import Backend
from assistant.settings import LLMSettings
from assistant.sources import parse_file
from assistant.types import Paper
from assistant.workspace import Workspace, backend_key

CYBENCH_Q = "How many professional-level Capture the Flag tasks does Cybench include?"
OFF_TOPIC = "How do I keep a sourdough starter alive in a cold kitchen?"
# the topics of test_compare and test_related/test_eval: their abstract sentences are embedded once per session
COMPARE_TOPIC = "approximate nearest neighbor search indexes"
RELATED_TOPIC = "tool use and API calling by LLM agents"
SECRET = "sk-test-KEEP-ME-OUT-OF-FILES-0123456789"


def page(name: str | None = None) -> AppTest:
    """The app (one page, or the navigation when name is None), run once."""
    arg = "" if name is None else f"page={name!r}"
    at = AppTest.from_string(f"from assistant.app.main import main\nmain({arg})", default_timeout=180)
    return at.run()


def ok(at: AppTest) -> AppTest:
    """The run raised nothing (a traceback would reach the user)."""
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements: Any) -> list[str]:
    return [str(e.value) for e in elements]


class ScriptedBackend:
    """Workspace.backend patched: the fake model for any non-extractive settings; records the settings."""

    def __init__(self, model: FakeChatModel) -> None:
        self.model = model
        self.asked: list[LLMSettings] = []
        self.real = Workspace.backend

    def __call__(self, ws: Workspace, llm: LLMSettings | None = None) -> Backend:
        llm = llm or ws.settings.llm
        if llm.provider == "extractive":
            return self.real(ws, llm)
        self.asked.append(llm)
        return fake_backend(self.model, llm.provider)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> ScriptedBackend:
    fake = ScriptedBackend(FakeChatModel(chunk_chars=4))
    monkeypatch.setattr(Workspace, "backend", lambda ws, llm=None: fake(ws, llm))
    return fake


def choose_backend(at: AppTest, provider: str, url: str | None = None, key: str | None = None) -> AppTest:
    at.selectbox(key=state.PROVIDER).set_value(provider).run()
    if url is not None:
        at.text_input(key=state.BASE_URL).set_value(url)
    if key is not None:
        at.text_input(key=state.API_KEY).set_value(key)
    return ok(at.run())


# -- chat ------------------------------------------------------------------------------------------


def test_chat_answers_with_citations_that_open_the_abstract(sample_ws: Workspace) -> None:
    at = ok(page("chat"))
    at.chat_input[0].set_value(CYBENCH_Q).run()
    ok(at)
    user, assistant = at.chat_message
    assert user.name == "user" and CYBENCH_Q in user.markdown[0].value
    answer = assistant.markdown[0].value
    assert "40 professional-level Capture the Flag" in answer and "[1]" in answer
    cited = [e for e in assistant.expander if e.label.startswith("[1] ")]
    assert cited and "Cybench" in cited[0].label
    assert any("we introduce Cybench" in m.value for m in cited[0].markdown)  # the cited abstract itself
    details = next(e for e in assistant.expander if e.label == "Details")
    line = details.caption[0].value
    assert "extractive" in line and "retrieval" in line and "total" in line


def test_chat_says_plainly_when_the_library_does_not_cover_a_question(sample_ws: Workspace) -> None:
    at = ok(page("chat"))
    at.chat_input[0].set_value(OFF_TOPIC).run()
    ok(at)
    assistant = at.chat_message[1]
    assert "Not in your library" in assistant.info[0].value
    assert any("Nearest papers" in m.value for m in assistant.markdown)
    assert not [e for e in assistant.expander if e.label.startswith("[")]  # nothing is cited


def test_a_50000_character_question_is_one_message_and_the_chat_goes_on(sample_ws: Workspace) -> None:
    at = ok(page("chat"))
    at.chat_input[0].set_value("why " * 12_500).run()
    ok(at)
    assert len(at.error) == 1 and "the limit is 4000" in at.error[0].value
    at.chat_input[0].set_value(CYBENCH_Q).run()
    ok(at)
    assert not at.error and "40 professional-level" in at.chat_message[-1].markdown[0].value
    assert len(at.session_state["chat_history"]) == 1  # the failed question left no half answer behind


def test_model_answer_streams_and_a_follow_up_carries_the_history(
    sample_ws: Workspace, scripted: ScriptedBackend, litreview_home: Path,
) -> None:
    at = choose_backend(ok(page("chat")), "openai-compatible", "http://127.0.0.1:9/v1", SECRET)
    at.slider(key=state.TEMPERATURE).set_value(0.3)
    scripted.model.enqueue(quote(1, "40 professional-level"))
    at.chat_input[0].set_value(CYBENCH_Q).run()
    ok(at)
    first = scripted.model.calls[-1]
    assert first.streamed and len(first.chunks) > 3  # the page read the answer as a stream
    shown = at.chat_message[1].markdown[0].value
    assert "40 professional-level" in shown and "[1]" in shown
    llm = scripted.asked[-1]
    assert (llm.provider, llm.base_url, llm.temperature) == ("openai-compatible", "http://127.0.0.1:9/v1", 0.3)
    assert llm.api_key is not None and llm.api_key.get_secret_value() == SECRET

    # a follow-up: the model first rewrites it with the chat so far, then answers
    scripted.model.enqueue("How many subtasks does Cybench add to its tasks?", quote(1, "subtasks for 17"))
    at.chat_input[0].set_value("And how many of them got subtasks?").run()
    ok(at)
    condense = scripted.model.prompts[-2]
    assert CYBENCH_Q in condense and "And how many of them got subtasks?" in condense
    assert "17 of the 40" in at.chat_message[3].markdown[0].value
    # the key lived in the session only: no file under the library's home holds it
    for path in litreview_home.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_a_failing_back_end_is_one_message_and_the_session_keeps_working(sample_ws: Workspace) -> None:
    at = choose_backend(ok(page("chat")), "openai-compatible", "http://127.0.0.1:9/v1")
    at.chat_input[0].set_value(CYBENCH_Q).run()
    ok(at)
    assert len(at.error) == 1 and at.error[0].value.startswith("Answering failed:")
    assert "Traceback" not in at.error[0].value
    choose_backend(at, "extractive")
    at.chat_input[0].set_value(CYBENCH_Q).run()
    ok(at)
    assert "40 professional-level" in at.chat_message[-1].markdown[0].value


def test_an_empty_library_says_so_on_every_page() -> None:
    for name in ("chat", "summaries", "compare", "related-work"):
        at = ok(page(name))
        assert any("Your library is empty" in v for v in texts(at.info)), name
        assert at.button(key="load_sample_empty")
    assert not page("chat").chat_input  # nothing to ask yet


def test_the_navigation_opens_on_chat_and_the_sidebar_holds_the_settings(sample_ws: Workspace) -> None:
    at = ok(page())
    assert texts(at.title) == ["Ask your library"]
    assert at.selectbox(key=state.PROVIDER).value == "extractive"
    assert not [w for w in at.text_input if w.key == state.API_KEY]  # no key field for a keyless back-end
    choose_backend(at, "openai")
    keys = {w.key for w in at.text_input}
    assert {state.MODEL, state.API_KEY} <= keys and state.BASE_URL not in keys
    choose_backend(at, "openai-compatible")
    assert state.BASE_URL in {w.key for w in at.text_input}


def test_one_workspace_per_process_and_library(sample_ws: Workspace, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    first = state.workspace()
    assert state.workspace() is first  # shared by every session
    monkeypatch.setenv("LITREVIEW_HOME", str(tmp_path / "other"))
    assert state.workspace() is not first


# -- library ---------------------------------------------------------------------------------------


def test_library_counts_search_and_filters(sample_ws: Workspace) -> None:
    at = ok(page("library"))
    assert texts(at.metric)[:2] == ["282", "729"]
    assert at.dataframe[0].value.shape[0] == 282
    at.text_input(key="library_query").set_value("a small model learns to call external tools").run()
    ok(at)
    assert "best matches first" in at.caption[0].value
    source = sorted(sample_ws.stats().sources)[4]
    at.text_input(key="library_query").set_value("").run()
    at.multiselect(key="library_sources").set_value([source]).run()
    ok(at)
    rows = at.dataframe[0].value
    assert 0 < rows.shape[0] < 282 and all(source in s for s in rows["sources"])
    years = at.multiselect(key="library_years")
    at = years.set_value(["2024"]).run()
    rows = at.dataframe[0].value
    assert len(rows) and all(y == 2024 for y in rows["year"])
    pid = rows["id"].iloc[0]
    at.selectbox(key="library_open").set_value(pid).run()
    ok(at)
    paper = sample_ws.get_papers([pid])[pid]
    assert any(paper.abstract[:40] in m.value.replace("\\", "") for m in at.markdown)


def test_upload_reports_each_file_and_a_bad_file_stops_nothing(
    small_ws: Workspace, small_papers: list[Paper], tmp_path: Path,
) -> None:
    before = small_ws.library.count()
    listing = write_listing(tmp_path / "more.txt", [Paper(paper_id="x", title="A Study of Tiny Gardens",
                                                          abstract="We grow tomatoes on balconies. " * 4)])
    bib = (FIXTURES / "zotero.bib") if (FIXTURES / "zotero.bib").exists() else None
    pdf = make_paper_pdf(tmp_path / "paper.pdf", "Soil Moisture Sensing With Cheap Probes",
                         "We measure soil moisture with cheap capacitive probes and calibrate them.")
    files = [("more.txt", listing.read_bytes(), "text/plain"), ("paper.pdf", pdf.read_bytes(), "application/pdf"),
             ("broken.pdf", b"%PDF-1.4 this is not a pdf", "application/pdf")]
    if bib is not None:
        files.append(("zotero.bib", bib.read_bytes(), "text/plain"))
    at = ok(page("library"))
    at.file_uploader[0].set_value(files).run()
    at.button(key="add_files").click().run()
    ok(at)
    report = at.dataframe[0].value  # the per-file report comes before the papers table
    status = dict(zip(report["file"], report["status"], strict=True))
    assert status["more.txt"] == "ok" and status["paper.pdf"] == "ok" and status["broken.pdf"] == "failed"
    problem = report.set_index("file").loc["broken.pdf", "problems"]
    assert problem and "\n" not in problem
    assert at.warning  # the summary line says not everything went in
    after = small_ws.library.count()
    assert after >= before + 2  # the good files went in; nothing stored before was lost
    assert {p.paper_id for p in small_papers} <= set(small_ws.library.paper_ids())
    assert texts(at.metric)[0] == str(after)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """What the app's download buttons would serve, by file name (Streamlit's media storage, recorded)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files: dict[str, bytes] = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def record(self: MemoryMediaFileStorage, data: str | bytes, mimetype: str, kind: Any,
               filename: str | None = None) -> str:
        files[filename or ""] = data.encode() if isinstance(data, str) else data
        return real(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return files


def test_export_references_of_the_library_or_chosen_papers(
    small_ws: Workspace, small_papers: list[Paper], served: dict[str, bytes], tmp_path: Path,
) -> None:
    at = ok(page("library"))
    at.selectbox(key="export_format").set_value("ris").run()
    button = at.get("download_button")[0]
    assert button.label == f"Download {len(small_papers)} papers as RIS"
    path = tmp_path / "litreview-library.ris"
    path.write_bytes(served[path.name])
    got = parse_file(path)  # what `ingest` reads back: the same papers, nothing lost
    assert not got.problems and sorted(p.title for p in got.papers) == sorted(p.title for p in small_papers)
    at.radio(key="export_scope").set_value("chosen").run()
    assert at.get("download_button")[0].proto.disabled  # nothing chosen yet
    picked = [small_ws.papers()[1], small_ws.papers()[3]]
    at.multiselect(key="export_papers").set_value([p.paper_id for p in picked]).run()
    at.selectbox(key="export_format").set_value("csljson").run()
    ok(at)
    assert at.get("download_button")[0].label == "Download 2 papers as CSL-JSON"
    items = json.loads(served["litreview-chosen.json"])
    assert sorted(i["title"] for i in items) == sorted(p.title for p in picked)
    assert all(i["abstract"] for i in items)


def test_remove_papers_after_confirming(small_ws: Workspace, small_papers: list[Paper]) -> None:
    at = ok(page("library"))
    victim = small_papers[0].paper_id
    at.multiselect(key="remove_papers").set_value([victim]).run()
    assert at.button(key="remove_button").disabled  # not before the box is ticked
    at.checkbox(key="remove_confirm").check().run()
    at.button(key="remove_button").click().run()
    ok(at)
    assert victim not in small_ws.library.paper_ids()
    assert any("Removed 1 paper" in v for v in texts(at.success))
    assert texts(at.metric)[0] == str(len(small_papers) - 1)


# -- writing pages ---------------------------------------------------------------------------------


def test_summaries_of_picked_papers(sample_ws: Workspace) -> None:
    papers = sample_ws.papers()[:3]
    at = ok(page("summaries"))
    at.multiselect(key="summary_papers").set_value([p.paper_id for p in papers]).run()
    at.button(key="summary_run").click().run()
    ok(at)
    lines = [m.value for m in at.markdown if m.value.startswith("**[")]
    assert len(lines) == 3 and all(f"[{i}]" in line for i, line in enumerate(lines, 1))
    assert "Synthesis" in texts(at.subheader)
    assert {b.label for b in at.get("download_button")} == {"Download Markdown", "Download JSON"}
    result = at.session_state["summary_result"]
    assert [p.paper_id for p in result.papers] == [p.paper_id for p in papers]


def test_compare_by_topic_with_provenance_on_demand(sample_ws: Workspace) -> None:
    at = ok(page("compare"))
    at.radio(key="compare_how").set_value("Topic").run()
    at.text_input(key="compare_topic").set_value(COMPARE_TOPIC).run()
    at.button(key="compare_run").click().run()
    ok(at)
    frame = at.dataframe[0].value
    fields = ["task", "method", "datasets/benchmarks", "key result", "limitations"]
    assert list(frame.columns) == ["paper", *fields] and 2 <= len(frame) <= 8
    at.toggle(key="compare_provenance").set_value(True).run()
    frame = at.dataframe[0].value
    assert f"{fields[0]} · source" in frame.columns
    table = at.session_state["compare_result"]
    papers = sample_ws.get_papers([r.paper_id for r in table.rows])
    for _, row in frame.iterrows():
        for f in fields:
            if row[f] != "not stated":
                source = row[f"{f} · source"]
                assert source in papers[table.rows[int(row.name)].paper_id].abstract
    labels = {b.label for b in at.get("download_button")}
    assert labels == {"Download Markdown", "Download CSV", "Download JSON"}


def test_an_off_topic_comparison_is_one_message(sample_ws: Workspace) -> None:
    at = ok(page("compare"))
    at.radio(key="compare_how").set_value("Topic").run()
    at.text_input(key="compare_topic").set_value(OFF_TOPIC).run()
    at.button(key="compare_run").click().run()
    ok(at)
    assert len(at.error) == 1 and at.error[0].value.startswith("Comparing failed:")
    assert "compare_result" not in at.session_state


def test_related_work_draft_with_latex_and_bibtex(sample_ws: Workspace) -> None:
    at = ok(page("related-work"))
    at.text_input(key="related_topic").set_value(RELATED_TOPIC).run()
    at.button(key="related_run").click().run()
    ok(at)
    draft = at.session_state["related_result"]
    heads = texts(at.subheader)
    assert heads[-1] == "References" and len(heads) == len(draft.themes) + 1
    assert len(at.code) == 2 and "\\cite{" in at.code[0].value and "@" in at.code[1].value
    labels = {b.label for b in at.get("download_button")}
    assert labels == {"Download Markdown", "Download LaTeX", "Download BibTeX"}
    assert json.loads(draft.model_dump_json())["topic"] == RELATED_TOPIC


def test_writing_pages_use_the_sidebar_back_end(sample_ws: Workspace, scripted: ScriptedBackend) -> None:
    """The summaries page hands the session's back-end to the job (the model is asked, its label shown)."""
    papers = sample_ws.papers()[:1]
    at = choose_backend(ok(page("summaries")), "openai", key=SECRET)
    scripted.model.enqueue(lambda m: "not a sentence from the abstract at all [1].")
    at.multiselect(key="summary_papers").set_value([papers[0].paper_id]).run()
    at.button(key="summary_run").click().run()
    ok(at)
    assert scripted.asked and scripted.asked[-1].provider == "openai"
    summary = at.session_state["summary_result"]
    assert summary.backend == "openai" and summary.papers[0].mode == "fallback"  # the check caught it
    assert SECRET not in summary.model_dump_json()


# -- the pieces under the pages --------------------------------------------------------------------


def test_sessions_with_different_api_keys_never_share_a_back_end() -> None:
    a = LLMSettings(provider="openai", api_key=SecretStr("sk-aaaa"))
    b = LLMSettings(provider="openai", api_key=SecretStr("sk-bbbb"))
    assert a.model_dump_json() == b.model_dump_json()  # why the key needs more than the dump
    assert backend_key(a) != backend_key(b) and backend_key(a) == backend_key(a.model_copy())
    assert "sk-aaaa" not in backend_key(a)


def test_token_stream_yields_tokens_in_order_then_the_result() -> None:
    def job(sink: TokenSink) -> str:
        for piece in ("one ", "two ", "three"):
            sink(piece)
        return "done"

    stream = TokenStream(job)
    assert list(stream) == ["one ", "two ", "three"] and stream.result() == "done"
    assert TokenStream(job).result() == "done"  # without reading the tokens first


def test_token_stream_hands_the_job_error_to_the_reader() -> None:
    def job(sink: TokenSink) -> str:
        sink("partial ")
        raise LitReviewError("the server went away")

    stream = TokenStream(job)
    assert list(stream) == ["partial "]
    with pytest.raises(LitReviewError, match="went away"):
        stream.result()


def test_litreview_ui_on_a_busy_port_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run(capsys, "ui", "--port", str(port))
    assert code == 1 and f"cannot serve on 127.0.0.1:{port}" in one_error_line(err)
