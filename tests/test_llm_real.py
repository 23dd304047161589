"""The bundled SmolLM2-135M model, run in-process (provider "local"), answering over the sample library.

Three model calls in all (each a few seconds on two cores): two fact questions through Workspace.ask
and one through the CLI; the unanswerable question is refused before the model is called.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.cli import main
from assistant.settings import LLMSettings
from assistant.types import Answer
from assistant.workspace import Workspace

pytestmark = pytest.mark.llm
QA_DEV = Path(__file__).resolve().parents[1] / "evals" / "qa_dev.jsonl"
LOCAL = LLMSettings(provider="local")


def eval_item(qid: str) -> dict[str, Any]:
    items = [json.loads(line) for line in QA_DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    return next(item for item in items if item["id"] == qid)


def assert_grounded(answer: Answer, gold: list[str]) -> None:
    """Cited, every citation within the contexts, the gold string present, and checked when generated."""
    assert not answer.refused and answer.mode in ("generated", "fallback"), answer
    assert answer.citations, answer
    by_n = {s.n: s.paper_id for s in answer.contexts}
    for c in answer.citations:
        assert by_n.get(c.n) == c.paper_id, (c, by_n)
    assert any(g in answer.answer for g in gold), (answer.answer, gold)
    assert answer.removed_citations == 0  # the grammar lets the model cite only the given source numbers
    if answer.mode == "generated":
        assert answer.sentences and all(s.supported for s in answer.sentences), answer.sentences
    else:  # the model's draft failed a check: it is kept with the verdicts, the answer is quoted evidence
        assert answer.draft is not None and not all(s.supported for s in answer.draft_sentences)
        assert answer.sentences and all(s.supported for s in answer.sentences), answer.sentences


@pytest.mark.parametrize("qid", ["f011", "f021"])
def test_local_model_answers_a_fact_question(sample_ws: Workspace, qid: str) -> None:
    item = eval_item(qid)
    tokens: list[str] = []
    answer = sample_ws.ask(item["query"], llm=LOCAL, on_token=tokens.append)

    assert_grounded(answer, item["answers"])
    assert (answer.backend, answer.model) == ("local", "SmolLM2-135M-Instruct (Q4_1 GGUF)")
    assert len(tokens) > 1 and "".join(tokens).strip()  # streamed piece by piece
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    assert answer.usage.cost_usd is None
    t = answer.timings
    assert t.first_token_s is not None and 0 < t.first_token_s <= t.total_s
    assert 0 < t.generation_s <= t.total_s


def test_local_model_refuses_an_unanswerable_question_without_generating(sample_ws: Workspace) -> None:
    item = eval_item("u018")  # sourdough hydration: nothing in a library of ML papers
    tokens: list[str] = []
    answer = sample_ws.ask(item["query"], llm=LOCAL, on_token=tokens.append)

    assert answer.refused and answer.mode == "refused" and answer.refusal_reason
    assert answer.answer == "The library does not cover this question." and answer.citations == []
    assert answer.nearest  # the closest papers are named, not cited
    assert tokens == []
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (0, 0)
    assert answer.timings.first_token_s is None and answer.timings.generation_s == 0.0


def test_cli_ask_with_the_local_model(capsys: pytest.CaptureFixture[str], sample_ws: Workspace) -> None:
    item = eval_item("f011")
    code = main(["ask", "--llm", "local", item["query"]])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    assert "86.2%" in captured.out
    assert "Sources:" in captured.out and "Revisiting ResNets" in captured.out
    footer = captured.out.strip().splitlines()[-1]
    assert footer.startswith("local: SmolLM2-135M-Instruct") and "first token" in footer and "tokens" in footer
