"""Numbered sources for a question: evidence chosen in code, packed within the model's window."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from assistant.evidence import Sentence
from assistant.retrieval import Candidate
from assistant.tokens import truncate_tokens
from assistant.types import Source

Packing = Literal["evidence", "abstracts"]
PROMPT_OVERHEAD_TOKENS = 320  # instructions, question and per-source headers, with room to spare


def build_sources(
    ranked: Sequence[Candidate],
    evidence: Sequence[Sentence],
    packing: Packing,
    per_source: int,
    budget: int,
    count: Callable[[str], int],
) -> list[Source]:
    """Sources numbered 1.. in retrieval order, each the paper's best sentences or its abstract.

    Sources are added while they fit `budget` tokens; the first one is cut to fit if it must.
    """
    by_paper: dict[str, list[Sentence]] = {}
    for s in evidence:
        by_paper.setdefault(s.paper_id, []).append(s)
    out: list[Source] = []
    used = 0
    for cand in ranked:
        paper = cand.paper
        if paper is None:
            continue
        if packing == "evidence":
            best = sorted(by_paper.get(paper.paper_id, [])[:per_source], key=lambda s: s.index)
            text = " ".join(s.text for s in best) or paper.abstract
        else:
            text = paper.abstract
        source = Source(n=len(out) + 1, paper_id=paper.paper_id, title=paper.title, year=paper.year,
                        text=text, score=round(cand.score, 6))
        cost = count(render_source(source))
        if used + cost > budget:
            if out:
                break
            source = source.model_copy(update={"text": truncate_tokens(text, max(budget - 40, 16))})
            cost = budget
        out.append(source)
        used += cost
    return out


def render_source(source: Source) -> str:
    """One source as the model sees it: number, title, and its text between markers."""
    year = f" ({source.year})" if source.year else ""
    return f"[{source.n}] {source.title}{year}\n<<<\n{source.text}\n>>>"


def render_sources(sources: Sequence[Source]) -> str:
    """All sources, blank-line separated."""
    return "\n\n".join(render_source(s) for s in sources)


def extractive_answer(evidence: Sequence[Sentence], sources: Sequence[Source], n: int, margin: float) -> str:
    """The best evidence sentences that the sources hold, each followed by its source number."""
    by_paper = {s.paper_id: s for s in sources}
    chosen: list[Sentence] = []
    per_paper: dict[str, int] = {}
    for s in evidence:
        src = by_paper.get(s.paper_id)
        if src is None or s.text not in src.text:
            continue
        if chosen and (len(chosen) >= n or s.score < chosen[0].score - margin):
            break
        if per_paper.get(s.paper_id, 0) >= 2 or any(c.text == s.text for c in chosen):
            continue
        chosen.append(s)
        per_paper[s.paper_id] = per_paper.get(s.paper_id, 0) + 1
    return " ".join(f"{s.text} [{by_paper[s.paper_id].n}]" for s in chosen)
