"""The optional model verifier (answer.verify = "model") with the scripted chat model: it can only withdraw
sentences the rules passed, its tokens are counted, and a sentence it gives no readable verdict on (an
unreadable reply, a missing verdict, a failed call) is withdrawn with that reason, never passed unverified.
tests/test_llm_server.py runs it against a real llama.cpp server."""

from __future__ import annotations

import json

import httpx
import openai
from fakes import FakeChatModel, fake_backend, quote

from assistant.chain import Answerer
from assistant.support_model import parse_verdicts, verify_with_model
from assistant.types import SentenceCheck, Source
from assistant.workspace import Workspace

SOURCES = [
    Source(n=1, paper_id="a", title="Inverse Scaling",
           text="We present evidence of inverse scaling on 11 datasets."),
    Source(n=2, paper_id="b", title="RewardDance",
           text="RewardDance scales reward models up to 26 billion parameters."),
]


def passed(text: str, *cites: int) -> SentenceCheck:
    return SentenceCheck(text=text, cites=list(cites), supported=True)


def reply(*verdicts: tuple[int, bool, str]) -> str:
    return json.dumps({"verdicts": [{"n": n, "supported": ok, "reason": why} for n, ok, why in verdicts]})


def test_the_model_withdraws_a_sentence_the_rules_passed() -> None:
    model = FakeChatModel().enqueue(reply((1, True, ""), (2, False, "the source says 26 billion, for reward models")))
    checks = [passed("Inverse scaling shows on 11 datasets [1].", 1),
              passed("RewardDance scales to 26 billion [2].", 2)]
    usage = verify_with_model(fake_backend(model), checks, SOURCES).usage
    assert [c.supported for c in checks] == [True, False]
    assert checks[1].check == "model" and checks[1].reason.startswith("model verifier: the source says 26 billion")
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0 and usage.cost_usd is None
    prompt = str(model.history[0][-1].content)
    assert "1. Inverse scaling shows on 11 datasets [1]." in prompt and "[2] RewardDance" in prompt
    fmt = model.bound[0]["response_format"]  # an OpenAI-compatible server also gets the verdicts' schema
    assert fmt["type"] == "json_object" and fmt["schema"]["required"] == ["verdicts"]


def test_a_sentence_the_rules_rejected_stays_rejected_and_is_not_asked_about() -> None:
    model = FakeChatModel().enqueue(reply((1, True, ""), (2, True, "")))
    rejected = SentenceCheck(text="Bigger is always better [2].", cites=[2], supported=False, check="scope",
                             reason="scope: 'always' is stronger than the cited source")
    checks = [passed("Inverse scaling shows on 11 datasets [1].", 1), rejected]
    verify_with_model(fake_backend(model), checks, SOURCES)
    assert [c.supported for c in checks] == [True, False] and rejected.check == "scope"
    prompt = str(model.history[0][-1].content)
    assert "always" not in prompt and "RewardDance" not in prompt  # only the passed sentence and its source


def test_no_call_when_nothing_passed_the_rules() -> None:
    model = FakeChatModel()  # an unexpected call fails: nothing is queued
    checks = [SentenceCheck(text="x [1].", cites=[1], supported=False, check="coverage", reason="too little")]
    usage = verify_with_model(fake_backend(model), checks, SOURCES).usage
    assert usage.prompt_tokens == 0 and not model.calls


def test_an_unreadable_reply_withdraws_every_sentence_it_was_asked_about_and_is_counted() -> None:
    model = FakeChatModel().enqueue("I think they are all fine!")
    checks = [passed("Inverse scaling shows on 11 datasets [1].", 1)]
    run = verify_with_model(fake_backend(model), checks, SOURCES)
    assert run.verdicts is None and run.reply == "I think they are all fine!"
    assert not checks[0].supported and checks[0].check == "model"
    assert checks[0].why == "model verifier: no readable verdict in the verifier's reply"
    assert run.usage.completion_tokens > 0


def test_a_sentence_without_a_verdict_is_withdrawn_and_a_double_verdict_keeps_the_harsher() -> None:
    model = FakeChatModel().enqueue(reply((1, True, ""), (1, False, "says 12"), (3, True, "")))
    checks = [passed("Inverse scaling shows on 11 datasets [1].", 1),
              passed("RewardDance scales to 26 billion [2].", 2)]
    verify_with_model(fake_backend(model), checks, SOURCES)
    assert [c.check for c in checks] == ["model", "model"] and not any(c.supported for c in checks)
    assert checks[0].reason == "model verifier: says 12"
    assert checks[1].reason == "model verifier: the verifier gave no verdict on this sentence"


def test_a_failed_call_withdraws_with_its_one_line_error_and_does_not_raise() -> None:
    def down(_: object) -> str:
        raise openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions"))

    checks = [passed("Inverse scaling shows on 11 datasets [1].", 1)]
    run = verify_with_model(fake_backend(FakeChatModel().enqueue(down)), checks, SOURCES)
    assert run.error and "is the server running?" in run.error
    assert not checks[0].supported and checks[0].check == "model"
    assert checks[0].reason.startswith("model verifier: the verifier's call failed (cannot reach")


def test_openai_prices_the_call() -> None:
    model = FakeChatModel().enqueue(reply((1, True, "")))
    usage = verify_with_model(fake_backend(model, "openai", model_name="gpt-4o-mini"),
                              [passed("Inverse scaling shows on 11 datasets [1].", 1)], SOURCES).usage
    assert model.bound[0]["response_format"] == {"type": "json_object"}  # OpenAI's JSON mode takes no schema
    assert usage.cost_usd is not None and usage.cost_usd > 0


def test_parse_verdicts() -> None:
    assert parse_verdicts('Sure: {"verdicts": [{"n": 1, "supported": false}]} done') == [
        parse_verdicts('{"verdicts": [{"n": 1, "supported": false, "reason": ""}]}')[0]]  # type: ignore[index]
    assert parse_verdicts("no json here") is None
    assert parse_verdicts('{"verdicts": "all good"}') is None


def test_the_answer_chain_asks_the_verifier_only_when_set(sample_ws: Workspace) -> None:
    question = "On how many datasets did the Inverse Scaling paper present evidence of inverse scaling?"
    settings = sample_ws.settings.with_overrides(answer={"verify": "model"})
    model = FakeChatModel().enqueue(quote(1, "11 datasets"), reply((1, False, "overstates the source")))
    ans = Answerer(sample_ws.retriever, sample_ws.embedder, sample_ws.picker, fake_backend(model),
                   settings).ask(question)
    assert ans.mode == "fallback" and len(model.calls) == 2
    assert [c.check for c in ans.draft_sentences] == ["model"]
    assert ans.sentences and all(s.supported for s in ans.sentences)  # the evidence answer is not re-judged
    asked = FakeChatModel().enqueue(quote(1, "11 datasets"))
    plain = Answerer(sample_ws.retriever, sample_ws.embedder, sample_ws.picker, fake_backend(asked),
                     sample_ws.settings).ask(question)
    assert plain.mode == "generated" and len(asked.calls) == 1  # rules only: one call
    assert ans.usage.prompt_tokens > plain.usage.prompt_tokens  # the verifier's tokens are counted
