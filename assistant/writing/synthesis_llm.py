"""The model's synthesis: one call when the papers fit the context window, otherwise map-reduce.

The model reads the numbered abstracts when they all fit its window, else the numbered TL;DRs. When
even those do not fit, they are cut into groups that do; each group gets a partial synthesis, and
the partials are merged (in groups again, level by level) into one paragraph. Citations are resolved
after every call, so a number the model was not shown never reaches the next step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.citations import resolve_citations, strip_markers
from assistant.context import render_source, render_sources
from assistant.llm.backends import Backend
from assistant.prompts import load_prompt
from assistant.tokens import truncate_tokens
from assistant.types import Progress, Source, Usage
from assistant.writing.common import llm_step
from assistant.writing.models import PaperSummary

PROMPT_SLACK = 64  # chat-template tokens and the list of numbers, beyond the prompt's own text
MIN_SOURCE_TOKENS = 24  # a source cut shorter than this says nothing: the window is too small
MAX_LEVELS = 6


@dataclass(frozen=True)
class Draft:
    """The model's synthesis with invented citations removed, and how many were."""

    text: str
    removed: int
    calls: int


@dataclass(frozen=True)
class _Note:
    """A partial synthesis and the sources it may cite."""

    text: str
    sources: tuple[Source, ...]


def budget(backend: Backend, prompt_name: str) -> int:
    """Tokens left for the material in one call: the window less the answer and the prompt itself."""
    prompt = load_prompt(prompt_name)
    system, user = prompt.render(**dict.fromkeys(prompt.variables, ""))
    used = backend.count_tokens(system) + backend.count_tokens(user) + PROMPT_SLACK
    return backend.context_tokens - backend.max_tokens - used


def pack_sources(sources: Sequence[Source], limit: int, backend: Backend) -> list[list[Source]]:
    """Consecutive groups of sources, each rendering within `limit` tokens (a lone long source is cut)."""
    groups: list[list[Source]] = [[]]
    used = 0
    for source in sources:
        cost = backend.count_tokens(render_source(source)) + 2
        if cost > limit:
            room = limit - backend.count_tokens(render_source(source.model_copy(update={"text": ""}))) - 8
            if room < MIN_SOURCE_TOKENS:
                return []
            source = source.model_copy(update={"text": truncate_tokens(source.text, room)})
            cost = limit
        if groups[-1] and used + cost > limit:
            groups.append([])
            used = 0
        groups[-1].append(source)
        used += cost
    return [g for g in groups if g]


def _pack_notes(notes: Sequence[_Note], limit: int, backend: Backend) -> list[list[_Note]]:
    groups: list[list[_Note]] = [[]]
    used = 0
    for note in notes:
        cost = backend.count_tokens(note.text) + 4
        if groups[-1] and used + cost > limit:
            groups.append([])
            used = 0
        groups[-1].append(note)
        used += cost
    return [g for g in groups if g]


def _numbers(sources: Sequence[Source]) -> str:
    return ", ".join(str(s.n) for s in sources)


def generated_synthesis(
    backend: Backend, sources: Sequence[Source], tldrs: Sequence[PaperSummary], usage: Usage,
    progress: Progress | None = None,
) -> Draft | None:
    """The model's synthesis paragraph over the sources, or None when the window cannot hold the work."""
    limit = budget(backend, "synthesis")
    material = list(sources)
    if sum(backend.count_tokens(render_source(s)) + 2 for s in material) > limit:
        by_n = {t.n: t.tldr for t in tldrs}
        material = [s.model_copy(update={"text": strip_markers(by_n.get(s.n, s.text))}) for s in sources]
    groups = pack_sources(material, limit, backend)
    if not groups:
        return None
    calls, removed = 0, 0
    total = len(groups) + (len(groups) > 1)  # the partials and, so far as known, one merge
    merge_guessed = len(groups) > 1

    def step(prompt: str, values: dict[str, str], allowed: Sequence[Source]) -> str:
        nonlocal calls, removed
        if progress:
            progress("synthesis", calls, total)
        resolved = resolve_citations(llm_step(backend, prompt, values, usage), allowed)
        removed += resolved.removed
        calls += 1
        if progress:
            progress("synthesis", calls, total)
        return resolved.text

    notes = [
        _Note(step("synthesis", {"sources": render_sources(g), "numbers": _numbers(g)}, g), tuple(g))
        for g in groups
    ]
    merge_limit = budget(backend, "synthesis_merge")
    for _ in range(MAX_LEVELS):
        if len(notes) == 1:
            return Draft(text=notes[0].text, removed=removed, calls=calls)
        packed = _pack_notes(notes, merge_limit, backend)
        if all(len(g) == 1 for g in packed):  # no two partials fit one call: merging cannot progress
            return None
        total += sum(1 for g in packed if len(g) > 1) - merge_guessed
        merge_guessed = False
        merged: list[_Note] = []
        for g in packed:
            if len(g) == 1:
                merged.append(g[0])
                continue
            allowed = tuple(s for note in g for s in note.sources)
            text = "\n\n".join(f"Part {i}: {note.text}" for i, note in enumerate(g, start=1))
            merged.append(_Note(step("synthesis_merge", {"notes": text, "numbers": _numbers(allowed)}, allowed),
                                allowed))
        notes = merged
    return None
