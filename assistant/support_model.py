"""The optional model verifier (answer.verify = "model"): one extra call in which a capable model judges
each sentence the rules passed against the sources it cites, with a JSON verdict per sentence. It only
ever withdraws: a sentence the rules rejected stays rejected, and a reply that cannot be read changes nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from pydantic import BaseModel, ValidationError

from assistant.context import render_sources
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


def parse_verdicts(reply: str) -> list[Verdict] | None:
    """The verdicts in a reply (a JSON object, possibly inside other text), or None when there are none."""
    m = _JSON.search(reply)
    if not m:
        return None
    try:
        return Verdicts.model_validate(json.loads(m.group(0))).verdicts
    except (json.JSONDecodeError, ValidationError):
        return None


def verify_with_model(backend: Backend, checks: list[SentenceCheck], sources: Sequence[Source]) -> Usage:
    """Withdraw (check "model") each sentence the rules passed that the model judges unsupported.

    Returns the tokens the call used (and its cost); no call is made when no sentence passed the rules.
    """
    usage = Usage()
    todo = [c for c in checks if c.supported]
    if not todo or backend.chat is None:
        return usage
    cited = {n for c in todo for n in c.cites}
    prompt = load_prompt("verify")
    values = {"sources": render_sources([s for s in sources if s.n in cited]),
              "sentences": "\n".join(f"{i}. {c.text}" for i, c in enumerate(todo, start=1))}
    chat = backend.chat
    if backend.provider in ("openai", "openai-compatible"):
        chat = chat.bind(response_format={"type": "json_object"})  # type: ignore[assignment]
    with backend.errors():
        message = (prompt.template() | chat).invoke(values)
    reply = str(message.content)
    if not add_reported_usage(usage, message):
        backend.count_usage(usage, prompt.template().invoke(values).to_messages(), reply)
    usage.cost_usd = backend.cost(usage.prompt_tokens, usage.completion_tokens)
    for v in parse_verdicts(reply) or []:
        if not v.supported and 1 <= v.n <= len(todo):
            c = todo[v.n - 1]
            c.supported, c.check = False, "model"
            c.reason = f"model verifier: {v.reason.strip() or 'judged unsupported by the cited source'}"
    return usage
