"""What the writing jobs share: choosing papers, numbering them, contribution sentences, one LLM step."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from assistant.errors import LitReviewError
from assistant.evidence import CONTRIBUTION_CUE, TermWeights, points_to_link
from assistant.gate import Gate, require_papers
from assistant.kinds import survey_topic
from assistant.llm.backends import Backend, add_reported_usage
from assistant.prompts import load_prompt
from assistant.text import split_sentences
from assistant.types import Paper, Usage
from assistant.workspace import Workspace, check_query
from assistant.writing.models import Reference

MAX_PAPERS = 30
# Papers for a topic: those scoring at least this share of the best paper's score (the rest are off-topic).
TOPIC_RELATIVE_FLOOR = 0.6

def select_papers(
    ws: Workspace, papers: Sequence[str] = (), topic: str | None = None, max_papers: int = 8,
) -> list[Paper]:
    """Papers named by id/title, or the library's best papers for a topic (an error when none fits)."""
    if bool(papers) == bool(topic):
        raise LitReviewError("give papers (ids or titles) or a topic, not both and not neither")
    if not 1 <= max_papers <= MAX_PAPERS:
        raise LitReviewError(f"max papers must be between 1 and {MAX_PAPERS}, not {max_papers}")
    if papers:
        chosen = ws.resolve_papers(papers)
        if len(chosen) > MAX_PAPERS:
            raise LitReviewError(f"{len(chosen)} papers given; the limit is {MAX_PAPERS}")
        return chosen
    query = check_query(topic or "")
    require_papers(ws.library)
    retr = ws.settings.retrieval
    subject = survey_topic(query)  # "Which papers propose X?" searches for X
    ranked = [c for c in ws.retriever.rank(subject, retr.mode, max(max_papers, retr.candidates)) if c.paper]
    top = ranked[:max_papers]
    if not top:
        raise LitReviewError(f"no paper in the library matches the topic '{query}'")
    verdict = Gate(TermWeights(ws.retriever.bm25()), ws.settings.answer, ws.picker).topic(subject, ranked)
    if not verdict.covered:
        raise LitReviewError(
            f"the library does not cover the topic '{query}' (nearest paper: {top[0].paper.title})"  # type: ignore[union-attr]
        )
    floor = TOPIC_RELATIVE_FLOOR * top[0].score
    return [c.paper for c in top if c.paper is not None and c.score >= floor]


def bibtex_key(paper: Paper, taken: set[str]) -> str:
    """The paper's own BibTeX key, or lastname+year+firstword; made unique among `taken` (and added to it)."""
    key = paper.bibtex_key
    if not key:
        last = re.sub(r"[^a-z]", "", (paper.authors[0].split()[-1] if paper.authors else "").lower())
        word = next((w for w in re.findall(r"[a-z]+", paper.title.lower()) if len(w) > 3), "paper")
        key = f"{last or 'anon'}{paper.year or ''}{word}"
    key = re.sub(r"[^A-Za-z0-9_:\-]", "", key) or "paper"
    unique, i = key, 1
    while unique in taken:
        i += 1
        unique = f"{key}{chr(ord('a') + i - 2) if i <= 27 else i}"
    taken.add(unique)
    return unique


def references(papers: Sequence[Paper]) -> list[Reference]:
    """The papers numbered 1..n in the given order, each with a unique BibTeX key."""
    taken: set[str] = set()
    return [
        Reference(n=i, paper_id=p.paper_id, title=p.title, year=p.year, key=bibtex_key(p, taken))
        for i, p in enumerate(papers, start=1)
    ]


def contribution_sentence(paper: Paper) -> str:
    """The abstract sentence that states what the paper does ("we propose…"), else its first sentence."""
    sentences = split_sentences(paper.abstract)
    if not sentences:
        return paper.title
    return next((s for s in sentences if CONTRIBUTION_CUE.search(s) and not points_to_link(s)), sentences[0])


WE_OPENER = re.compile(r"^(?:In this (?:paper|work|study),?\s*)?[Ww]e\b")  # "In this paper, we…", "We…"
_THIRD_PERSON = [
    (WE_OPENER, "The authors"),
    (re.compile(r"^(?:This|The present) (?:paper|work|study)\b"), "The paper"),
    (re.compile(r"\bwe\b"), "they"),
    (re.compile(r"\bWe\b"), "They"),
    (re.compile(r"\bour\b"), "their"),
    (re.compile(r"\bOur\b"), "Their"),
    (re.compile(r"\bus\b"), "them"),
]


def third_person(sentence: str) -> str:
    """An abstract's sentence retold about the paper ("We propose X" → "The authors propose X")."""
    for pattern, repl in _THIRD_PERSON:
        sentence = pattern.sub(repl, sentence)
    return sentence


def llm_step(
    backend: Backend, prompt_name: str, values: Mapping[str, str], usage: Usage, **bind: Any,
) -> str:
    """One call of the back-end's chat model with a prompt file; tokens are added to `usage`."""
    if backend.chat is None:
        raise LitReviewError("the extractive back-end has no model to call")
    prompt = load_prompt(prompt_name)
    prompt.render(**values)  # a missing or extra variable is an error before any call
    model = backend.chat.bind(**bind) if bind else backend.chat
    with backend.errors():
        message = (prompt.template() | model).invoke(dict(values))
    text = str(message.content)
    if not add_reported_usage(usage, message):
        backend.count_usage(usage, prompt.template().invoke(dict(values)).to_messages(), text)
    usage.cost_usd = backend.cost(usage.prompt_tokens, usage.completion_tokens)
    return text
