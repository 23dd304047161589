"""Follow-up questions rewritten into stand-alone queries, so retrieval sees what "it" refers to."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.llm.backends import Backend
from assistant.prompts import load_prompt
from assistant.types import Turn

_REFERS_BACK = re.compile(
    r"\b(it|its|they|them|their|this|that|these|those|he|she|also|same|above|previous|"
    r"the (?:paper|method|model|approach|study|authors?|benchmark|dataset))\b|^(?:and|what about|how about)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w{3,}")
MAX_REWRITE_CHARS = 400  # a model's stand-alone query longer than this rambles: the heuristic is used


def needs_context(question: str) -> bool:
    """True when a question points back at the conversation or is too short to stand alone."""
    return bool(_REFERS_BACK.search(question)) or len(_WORD.findall(question)) < 4


def heuristic_query(question: str, history: Sequence[Turn]) -> str:
    """The previous stand-alone query joined to a follow-up that needs it."""
    if not history or not needs_context(question):
        return question
    return f"{history[-1].query} {question}"


def standalone_query(question: str, history: Sequence[Turn], backend: Backend) -> str:
    """A query that stands alone: rewritten by a capable model, else by the heuristic."""
    if not history or not needs_context(question):
        return question
    if backend.chat is None or backend.provider == "local":  # a 135M model cannot rewrite reliably
        return heuristic_query(question, history)
    prompt = load_prompt("condense")
    lines = [f"User: {t.question}\nAssistant: {t.answer[:600]}" for t in history[-3:]]
    with backend.errors():
        reply = (prompt.template() | backend.chat).invoke({"history": "\n".join(lines), "question": question})
    text = " ".join(str(reply.content).split())
    known = {w.casefold() for w in _WORD.findall(question + " " + " ".join(t.question for t in history[-3:]))}
    # a rewrite that shares no word with the conversation, or rambles, is not trusted
    if not text or len(text) > MAX_REWRITE_CHARS or not known & {w.casefold() for w in _WORD.findall(text)}:
        return heuristic_query(question, history)
    return text
