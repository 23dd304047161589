"""The optional model verifier (answer.verify = "model"): one extra call in which a capable model judges
each sentence the rules passed against the sources it cites, with a JSON verdict per sentence. It only
ever withdraws: a sentence the rules rejected stays rejected, and a sentence the verifier gives no
readable verdict on (a reply that is not the JSON asked for, cut short, or a failed call) is withdrawn
too, with that reason: asked to verify, the answer never passes unverified."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from assistant.context import render_sources
from assistant.errors import BackendError
from assistant.llm.backends import Backend, add_reported_usage
from assistant.prompts import load_prompt
from assistant.types import SentenceCheck, Source, Usage

_JSON = re.compile(r"\{.*\}", re.DOTALL)


class Verdict(BaseModel):
    """The model's judgement of one numbered sentence."""

    n: int
    supported: bool
    reason: str = ""


class Verdicts(BaseModel):
    """The model's whole reply."""

    verdicts: list[Verdict]


@dataclass
class Verification:
    """What one verifier call did: its tokens, the model's reply, the verdicts read from it (None: none)."""

    usage: Usage = field(default_factory=Usage)
    reply: str = ""
    verdicts: list[Verdict] | None = None
    error: str | None = None  # the one-line error of a failed call


def parse_verdicts(reply: str) -> list[Verdict] | None:
    """The verdicts in a reply (a JSON object, possibly inside other text), or None when there are none."""
    m = _JSON.search(reply)
    if not m:
        return None
    try:
        return Verdicts.model_validate(json.loads(m.group(0))).verdicts
    except (json.JSONDecodeError, ValidationError):
        return None


def _response_format(provider: str, n_sentences: int) -> dict[str, object] | None:
    """JSON mode for OpenAI; for an OpenAI-compatible server also the schema (one verdict per sentence),
    which llama.cpp's servers turn into a grammar, so that even a small model replies in the verdicts' shape."""
    if provider == "openai":
        return {"type": "json_object"}
    if provider == "openai-compatible":
        schema = Verdicts.model_json_schema()
        schema["properties"]["verdicts"].update(minItems=n_sentences, maxItems=n_sentences)
        return {"type": "json_object", "schema": schema}
    return None


def verify_with_model(backend: Backend, checks: list[SentenceCheck], sources: Sequence[Source]) -> Verification:
    """Withdraw (check "model") each sentence the rules passed that the model does not judge supported.

    No call is made when no sentence passed the rules.
    """
    run = Verification()
    todo = [c for c in checks if c.supported]
    if not todo or backend.chat is None:
        return run
    cited = {n for c in todo for n in c.cites}
    prompt = load_prompt("verify")
    values = {"sources": render_sources([s for s in sources if s.n in cited]),
              "sentences": "\n".join(f"{i}. {c.text}" for i, c in enumerate(todo, start=1))}
    chat = backend.chat
    response_format = _response_format(backend.provider, len(todo))
    if response_format is not None:
        chat = chat.bind(response_format=response_format)  # type: ignore[assignment]
    try:
        with backend.errors():
            message = (prompt.template() | chat).invoke(values)
    except BackendError as exc:
        run.error = str(exc)
        _withdraw(todo, f"the verifier's call failed ({run.error})")
        return run
    run.reply = str(message.content)
    if not add_reported_usage(run.usage, message):
        backend.count_usage(run.usage, prompt.template().invoke(values).to_messages(), run.reply)
    run.usage.cost_usd = backend.cost(run.usage.prompt_tokens, run.usage.completion_tokens)
    run.verdicts = parse_verdicts(run.reply)
    if run.verdicts is None:
        _withdraw(todo, "no readable verdict in the verifier's reply")
        return run
    judged: dict[int, Verdict] = {}
    for v in run.verdicts:  # a sentence judged twice keeps its harsher verdict
        if v.n not in judged or not v.supported:
            judged[v.n] = v
    for i, c in enumerate(todo, start=1):
        if i not in judged:
            _withdraw([c], "the verifier gave no verdict on this sentence")
        elif not judged[i].supported:
            _withdraw([c], judged[i].reason.strip() or "judged unsupported by the cited source")
    return run


def _withdraw(checks: Sequence[SentenceCheck], why: str) -> None:
    for c in checks:
        c.supported, c.check, c.reason = False, "model", f"model verifier: {why}"
