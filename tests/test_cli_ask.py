"""`litreview ask` and `litreview chat` through assistant.cli.main, over a copy of the sample library."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clitools import one_error_line, run, usage_error
from fakes import FakeChatModel, fake_backend

import assistant.evidence
import assistant.llm.backends
from assistant.embeddings import NamedEmbeddings
from assistant.evidence import EvidencePicker
from assistant.llm.backends import Backend
from assistant.settings import LLMSettings
from assistant.workspace import Workspace

INVERSE = "Inverse Scaling: When Bigger Isn't Better"
QUESTION = ("On how many datasets, collected through a public contest, did the Inverse Scaling paper present "
            "empirical evidence of inverse scaling?")
OFF_TOPIC = "How do I keep a sourdough starter alive in a cold kitchen?"
COPIED = ("We present empirical evidence of inverse scaling on 11 datasets collected by running a public contest, "
          "the Inverse Scaling Prize, with a substantial prize pool")
ANSWER_KEYS = {"question", "answer", "citations", "refused", "contexts", "timings", "usage"}


@pytest.fixture(scope="module")
def shared_picker(embedder: NamedEmbeddings) -> EvidencePicker:
    return EvidencePicker(embedder)


@pytest.fixture(autouse=True)
def reuse_sentence_vectors(monkeypatch: pytest.MonkeyPatch, shared_picker: EvidencePicker) -> None:
    """Each command builds its own workspace; let them share one evidence cache, as a long-lived app does.

    The picker caches sentence vectors by paper id and abstract, so sharing it changes no answer,
    only how often the same abstracts are embedded.
    """
    monkeypatch.setattr(assistant.evidence, "EvidencePicker", lambda embedder: shared_picker)


def check_answer_json(data: dict[str, Any], ws: Workspace) -> None:
    assert set(data) >= ANSWER_KEYS
    assert isinstance(data["answer"], str) and data["answer"] and isinstance(data["refused"], bool)
    contexts = {c["paper_id"]: c for c in data["contexts"]}
    papers = ws.get_papers(list(contexts))
    for c in data["contexts"]:
        assert {"paper_id", "title", "text"} <= set(c) and c["title"] == papers[c["paper_id"]].title and c["text"]
    for c in data["citations"]:
        assert {"n", "paper_id", "title"} <= set(c)
        assert c["paper_id"] in contexts and c["title"] == contexts[c["paper_id"]]["title"]
        assert f"[{c['n']}" in data["answer"] or f", {c['n']}" in data["answer"]
    assert {"retrieval_s", "first_token_s", "generation_s", "total_s"} <= set(data["timings"])
    assert {"prompt_tokens", "completion_tokens", "cost_usd"} <= set(data["usage"])


def test_ask_json(capsys: pytest.CaptureFixture[str], sample_ws: Workspace) -> None:
    code, out, err = run(capsys, "ask", QUESTION, "--json")
    assert code == 0, err
    data = json.loads(out)
    check_answer_json(data, sample_ws)
    assert data["question"] == QUESTION and not data["refused"] and data["mode"] == "extractive"
    assert "11 datasets" in data["answer"]
    assert [c["title"] for c in data["citations"]] == [INVERSE]
    assert len(data["contexts"]) == 5 and data["timings"]["total_s"] > 0


def test_ask_json_refusal(capsys: pytest.CaptureFixture[str], sample_ws: Workspace) -> None:
    code, out, _ = run(capsys, "ask", OFF_TOPIC, "--json", "-k", "3")
    assert code == 0
    data = json.loads(out)
    assert data["refused"] and data["citations"] == [] and data["mode"] == "refused"
    assert data["answer"] == "The library does not cover this question."
    assert [h["rank"] for h in data["nearest"]] == [1, 2, 3]


def test_ask_prints_the_answer_its_sources_and_a_footer(capsys: pytest.CaptureFixture[str],
                                                        sample_ws: Workspace) -> None:
    code, out, err = run(capsys, "ask", QUESTION, "--show-sources")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert "11 datasets" in lines[0] and lines[1] == "Sources:" and lines[2] == f"  [1] {INVERSE}"
    assert f"{COPIED}." in lines[3]  # --show-sources: the cited abstract
    assert lines[-1].startswith("extractive · ") and lines[-1].endswith(" s")


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> FakeChatModel:
    """A scripted model behind every back-end the CLI asks for (extractive stays extractive)."""
    model = FakeChatModel(chunk_chars=4)
    real = assistant.llm.backends.make_backend

    def make(llm: LLMSettings) -> Backend:
        return real(llm) if llm.provider == "extractive" else fake_backend(model, llm.provider)

    monkeypatch.setattr(assistant.llm.backends, "make_backend", make)
    return model


def test_ask_streams_a_generated_answer(capsys: pytest.CaptureFixture[str], sample_ws: Workspace,
                                        fake_model: FakeChatModel) -> None:
    fake_model.enqueue(f"{COPIED} [1, 9].")
    code, out, err = run(capsys, "ask", QUESTION, "--llm", "openai-compatible")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"{COPIED} [1]."  # streamed, the invented [9] never shown
    assert lines[1:3] == ["Sources:", f"  [1] {INVERSE}"]
    footer = lines[-1]
    assert footer.startswith("openai-compatible: fake-model · first token ")
    assert " tokens" in footer and footer.endswith("1 invented citation(s) removed")


def test_ask_says_when_a_draft_is_withdrawn(capsys: pytest.CaptureFixture[str], sample_ws: Workspace,
                                            fake_model: FakeChatModel) -> None:
    fake_model.enqueue("Inverse scaling was found on 47 datasets scraped from Reddit [1].")
    code, out, err = run(capsys, "ask", QUESTION, "--llm", "openai-compatible")
    assert code == 0
    assert err.strip() == ("draft withdrawn: number 47 is not in the cited source. The answer from the evidence:")
    assert out.startswith("Inverse scaling was found on 47 datasets")  # the draft as it streamed
    lines = out.splitlines()
    assert "11 datasets" in lines[1] and "47" not in lines[1] and lines[2:4] == ["Sources:", f"  [1] {INVERSE}"]


def test_ask_batch_json(capsys: pytest.CaptureFixture[str], sample_ws: Workspace, inputs: Path) -> None:
    batch = inputs / "questions.jsonl"
    batch.write_text("\n".join([
        json.dumps({"id": "q1", "query": QUESTION}),
        "this is not json",
        json.dumps({"id": "q2"}),  # no query
        "",
        json.dumps({"id": "q3", "query": OFF_TOPIC}),
    ]) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "ask", "--batch", str(batch), "--json")
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q3"]
    check_answer_json(rows[0], sample_ws)
    assert "11 datasets" in rows[0]["answer"] and rows[1]["refused"]
    errors = err.splitlines()
    assert len(errors) == 2 and "Traceback" not in err
    assert errors[0].startswith(f'skipped {batch}:2: not an {{"id", "query"}} line (')
    assert errors[1].startswith(f'skipped {batch}:3: not an {{"id", "query"}} line (')


def test_ask_batch_text_and_a_question_that_fails(capsys: pytest.CaptureFixture[str], sample_ws: Workspace,
                                                  inputs: Path) -> None:
    batch = inputs / "questions.jsonl"
    batch.write_text(json.dumps({"id": "long", "query": "why " * 1200}) + "\n"
                     + json.dumps({"id": "fine", "query": OFF_TOPIC}) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "ask", "--batch", str(batch))
    assert code == 1
    assert err.strip() == "failed long: the query is 4799 characters long; the limit is 4000"
    assert out.strip() == "fine The library does not cover this question."


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", "--batch", "missing.jsonl"], "error: cannot read batch file missing.jsonl"),
        (["ask", "q", "--batch", "x.jsonl"], "error: give a question or --batch FILE, not both"),
        (["ask"], "error: give a question, or --batch FILE"),
        (["ask", "   "], "error: the query is empty"),
    ],
)
def test_ask_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str], sample_ws: Workspace,
                                       argv: list[str], message: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 1 and one_error_line(err).startswith(message)


@pytest.mark.parametrize("command", ["ask", "chat"])
def test_openai_without_a_key_is_one_error_line(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    argv = [command, "--llm", "openai"] + (["what is inverse scaling?"] if command == "ask" else [])
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert "OPENAI_API_KEY" in one_error_line(err)


def test_other_back_end_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ask", "q", "--llm", "openai-compatible")
    assert code == 1 and "needs a server URL" in one_error_line(err)
    code, _, err = run(capsys, "ask", "q", "--llm", "gpt")  # the choices are settings.Provider
    assert code == 2 and "'gpt' is not one of 'extractive', 'local', 'openai', 'openai-compatible'" in usage_error(err)


def test_asking_an_empty_library_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ask", "what is inverse scaling?")
    assert code == 1 and one_error_line(err).startswith("error: the library is empty")


def feed_input(monkeypatch: pytest.MonkeyPatch, lines: list[str]) -> list[str]:
    """Answer input() prompts with the given lines, then end of input; returns the prompts shown."""
    prompts: list[str] = []
    it: Iterator[str] = iter(lines)

    def fake_input(prompt: str = "") -> str:
        prompts.append(prompt)
        try:
            return next(it)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", fake_input)
    return prompts


def test_chat_two_turns_then_exit(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                  sample_ws: Workspace) -> None:
    prompts = feed_input(monkeypatch, ["What did the inverse scaling prize find?", "",
                                       "How many datasets did they collect?", "/exit", "never read"])
    code, out, err = run(capsys, "chat")
    assert code == 0 and err == ""
    assert prompts == ["you> "] * 4  # the blank line is skipped; nothing is read after /exit
    assert out.splitlines()[0] == (
        "litreview chat over 282 papers. /reset clears the history, /exit leaves."
    )
    turns = out.split("extractive · ")
    assert len(turns) == 3  # two answers, each with its footer
    assert f"[1] {INVERSE}" in turns[0]
    assert "11 datasets" in turns[1] and f"[1] {INVERSE}" in turns[1]  # "they" is the inverse scaling prize


def test_chat_follow_ups_reach_the_model_as_stand_alone_questions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sample_ws: Workspace,
    fake_model: FakeChatModel,
) -> None:
    feed_input(monkeypatch, ["What did the inverse scaling prize find?", "How many datasets did they collect?",
                             "/reset", "And what about it?"])
    fake_model.enqueue(
        f"{COPIED} [1].",  # turn 1: answer
        "How many datasets did the Inverse Scaling Prize collect?",  # turn 2: the rewrite
        f"{COPIED} [1].",  # turn 2: answer
    )  # turn 3, after /reset: no history to rewrite with, so the gate refuses it without the model
    code, out, err = run(capsys, "chat", "--llm", "openai-compatible")
    assert code == 0, err
    assert len(fake_model.calls) == 3 and fake_model.replies == []
    assert "Follow-up question: How many datasets did they collect?" in fake_model.prompts[1]
    assert f"User: What did the inverse scaling prize find?\nAssistant: {COPIED} [1]." in fake_model.prompts[1]
    assert "history cleared" in out and out.count(f"{COPIED} [1].") == 2
    assert "The library does not cover this question." in out and "Nearest papers in the library" in out


def test_chat_reports_an_error_and_goes_on(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                           sample_ws: Workspace) -> None:
    feed_input(monkeypatch, ["why " * 1200, OFF_TOPIC])
    code, out, err = run(capsys, "chat")
    assert code == 0
    assert err.strip() == "error: the query is 4799 characters long; the limit is 4000"
    assert "The library does not cover this question." in out
