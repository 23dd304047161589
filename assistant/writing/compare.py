"""Comparison tables: one row per paper, one column per field; every cell a verbatim span of that
paper's own abstract with the sentence it came from, or "not stated" — never a guess.

For each field, the paper's abstract sentences are ranked by MiniLM similarity to the field's
descriptions plus cue words (numbers with units for results, benchmark names for datasets...);
the best sentence below the field's threshold means "not stated". The extractive value is a span
of that sentence. A model (local or OpenAI) only picks a span of the one sentence under a JSON
schema; the span is checked to be verbatim and to keep its units, else the extractive value stands.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from assistant.errors import BackendError
from assistant.evidence import TermWeights
from assistant.llm.backends import Backend
from assistant.settings import LLMSettings
from assistant.text import split_sentences
from assistant.types import Paper, Progress, Usage
from assistant.workspace import Workspace
from assistant.writing.cell_spans import overlaps, phrase_choice, phrase_options
from assistant.writing.common import contribution_sentence, llm_step, select_papers
from assistant.writing.compare_fields import (
    FieldSpec,
    cue_score,
    extractive_span,
    field_spec,
    find_verbatim,
    informative,
    keep_units,
    normalise_space,
    parse_fields,
    span_options,
    strong_hits,
    trim_span,
)
from assistant.writing.latex import display_text
from assistant.writing.models import NOT_STATED, Cell, ComparisonRow, ComparisonTable

CELL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"stated": {"type": "boolean"}, "span": {"type": "string"}},
    "required": ["stated", "span"],
    "additionalProperties": False,
}
JSON_SCHEMA_FORMAT = {
    "type": "json_schema", "json_schema": {"name": "table_cell", "strict": True, "schema": CELL_SCHEMA},
}
# llama-cpp-python's server takes only "text" or "json_object" (enforcing a "schema" given with it)
JSON_OBJECT_FORMAT = {"type": "json_object", "schema": CELL_SCHEMA}
# how a rejected request reads once translated (the server's reason is often past the first line)
_FORMAT_REJECTED = re.compile(r"returned HTTP 4\d\d|returned HTTP 5\d\d|response_format|json_schema|json_object", re.I)
LOCAL_CELL_TOKENS = 120  # the JSON wrapper plus a span of a whole long sentence
MIN_SENTENCE_WORDS = 4  # "In particular," is a fragment pysbd leaves, not a statement


@dataclass(frozen=True)
class Scored:
    """One abstract sentence scored for one field."""

    index: int
    text: str
    similarity: float  # weighted similarity to the field's descriptions and the paper's title
    cues: float

    @property
    def score(self) -> float:
        """Similarity to the field plus cue weight."""
        return self.similarity + self.cues


class CellReply(BaseModel):
    """What the model returns for one cell (JSON-schema constrained)."""

    stated: bool
    span: str


def compare_papers(
    ws: Workspace,
    papers: Sequence[str] = (),
    topic: str | None = None,
    max_papers: int = 8,
    fields: str | Sequence[str] | None = None,
    llm: LLMSettings | None = None,
    progress: Progress | None = None,
    min_scores: Mapping[str, float] | None = None,
) -> ComparisonTable:
    """A table of the papers (named, or the best for a topic) × fields, each cell grounded in one abstract."""
    t0 = time.perf_counter()
    names = parse_fields(fields)
    chosen = select_papers(ws, papers, topic, max_papers)
    backend = ws.backend(llm)
    specs = [field_spec(n) for n in names]
    if progress:
        progress("reading", 0, len(chosen))
    ranked = rank_sentences(ws, chosen, specs)
    if progress:
        progress("reading", len(chosen), len(chosen))
    table = ComparisonTable(
        topic=topic, fields=names, backend=backend.provider,
        model=backend.shown_model,
    )
    total, done, formats = len(chosen) * len(specs), 0, FormatState()
    floors = {spec.name: (min_scores or {}).get(spec.name, spec.min_score) for spec in specs}
    for n, paper in enumerate(chosen, start=1):
        row = ComparisonRow(n=n, paper_id=paper.paper_id, title=paper.title, year=paper.year)
        taken: Taken = {}
        cells: dict[str, Cell] = {}
        for name, spec in fill_order(list(zip(names, specs, strict=True)), paper.title, ranked, paper.paper_id, floors):
            cell = extractive_cell(name, spec, ranked[(paper.paper_id, spec.name)], floors[spec.name], paper.title,
                                   taken)
            if backend.chat is not None and not cell.not_stated:
                cell = model_cell(backend, name, spec, paper, cell, table.usage, formats, taken)
            take(taken, cell)
            cells[name] = cell
            done += 1
            if progress:
                progress("cells", done, total)
        row.cells = [cells[name] for name in names]
        table.rows.append(row)
    table.seconds = round(time.perf_counter() - t0, 3)
    return table


def rank_sentences(
    ws: Workspace, papers: Sequence[Paper], specs: Sequence[FieldSpec],
) -> dict[tuple[str, str], list[Scored]]:
    """For each (paper, field), the paper's abstract sentences best first (fragments and links left out)."""
    weights = TermWeights(ws.retriever.bm25())
    sims: dict[tuple[str, str, int], float] = {}
    for spec in {s.name: s for s in specs}.values():
        for description in spec.descriptions:
            for s in ws.picker.rank(description, papers, weights):
                key = (s.paper_id, spec.name, s.index)
                sims[key] = max(sims.get(key, -1.0), s.similarity)
    title_sims: dict[tuple[str, int], float] = {}
    if any(spec.weights[1] for spec in specs):
        for paper in papers:
            ranked = ws.picker.rank(paper.title, [paper], weights)
            title_sims.update({(s.paper_id, s.index): s.similarity for s in ranked})
    out: dict[tuple[str, str], list[Scored]] = {}
    for paper in papers:
        sentences = split_sentences(paper.abstract)
        contribution = contribution_sentence(paper)
        start = sentences.index(contribution) if contribution in sentences else 0
        flat = normalise_space(paper.abstract)
        for spec in specs:
            w_desc, w_title, _ = spec.weights
            scored = [
                Scored(
                    i, text,
                    w_desc * sims.get((paper.paper_id, spec.name, i), 0.0)
                    + w_title * title_sims.get((paper.paper_id, i), 0.0),
                    cue_score(spec, text, (i > start) - (i < start)),
                )
                for i, text in enumerate(sentences)
                if _is_statement(text) and normalise_space(text) in flat
            ]
            out[(paper.paper_id, spec.name)] = sorted(scored, key=lambda s: (-s.score, s.index))
    return out


def _is_statement(sentence: str) -> bool:
    words = sentence.split()
    if len(words) < MIN_SENTENCE_WORDS:
        return False
    links = sum(1 for w in words if "http" in w or "github" in w.casefold())
    return not (links and len(words) < 15)  # "Code is available at https://…"


Taken = dict[str, list[tuple[int, int]]]  # per provenance sentence, the character ranges a row's cells use
FILL_ORDER = ("names", "number", "method", "task", "hedge", "")
FOUND = ("names", "number")  # fields whose cells are found (benchmark names, numbers): filled first, in this order
JUDGED = ("method", "task", "hedge")  # fields that may compete for one sentence: filled in the order that fits best


def fill_order(
    fields: Sequence[tuple[str, FieldSpec]], title: str, ranked: Mapping[tuple[str, str], Sequence[Scored]],
    paper_id: str, floors: Mapping[str, float],
) -> list[tuple[str, FieldSpec]]:
    """The order to fill a row in: found fields first, then the order of the judged fields (method, task,
    limitations) whose extractive cells fit best in sum (one sentence often states both the task and the
    method; whichever takes it first decides what is left for the other), then the user's fields."""
    order = sorted(fields, key=lambda ns: FILL_ORDER.index(ns[1].shape))
    found = [ns for ns in order if ns[1].shape in FOUND]
    judged = [ns for ns in order if ns[1].shape in JUDGED]
    rest = [ns for ns in order if ns not in found and ns not in judged]
    best: tuple[float, tuple[tuple[str, FieldSpec], ...]] | None = None
    for perm in itertools.permutations(judged):  # the default order first: it wins ties
        taken: Taken = {}
        total = 0.0
        for name, spec in (*found, *perm):
            cell, fit = extractive_fit(name, spec, ranked[(paper_id, spec.name)], floors[spec.name], title, taken)
            take(taken, cell)
            total += fit
        if best is None or total > best[0] + 1e-9:
            best = (total, perm)
    return [*found, *(best[1] if best else ()), *rest]


def extractive_cell(
    name: str, spec: FieldSpec, ranked: Sequence[Scored], floor: float, title: str = "", taken: Taken | None = None,
) -> Cell:
    """The cell from the best sentence (the next one above the floor when the row's other cells use every
    span of it), or "not stated" when even the best scores below the floor."""
    return extractive_fit(name, spec, ranked, floor, title, taken)[0]


def extractive_fit(
    name: str, spec: FieldSpec, ranked: Sequence[Scored], floor: float, title: str = "", taken: Taken | None = None,
) -> tuple[Cell, float]:
    """extractive_cell() and how well it fits: its sentence's score plus its span's (0 when not stated)."""
    if not ranked:
        return Cell(field=name), 0.0
    best = ranked[0]
    if best.score < floor:
        return Cell(field=name, score=round(best.score, 4)), 0.0
    for scored in ranked:
        if scored.score < floor:
            break
        found = cell_value(spec, scored.text, title, (taken or {}).get(scored.text, []))
        if found:
            value, fit = found
            cell = Cell(field=name, value=value, provenance=scored.text, not_stated=False, mode="extractive",
                        score=round(scored.score, 4))
            return cell, scored.score + fit
    return Cell(field=name, score=round(best.score, 4)), 0.0


def cell_value(
    spec: FieldSpec, sentence: str, title: str, taken: Sequence[tuple[int, int]],
) -> tuple[str, float] | None:
    """The field's span of the sentence overlapping none of the taken ranges and its span score (0 for a
    clause cell), or None."""
    if spec.shape:
        span = phrase_choice(spec, sentence, title, tuple(taken))
        return (sentence[span.start:span.end], span.score) if span else None
    value = extractive_span(spec, sentence)
    where = find_verbatim(value, sentence)
    return (value, 0.0) if where is None or not any(overlaps(where, t, sentence) for t in taken) else None


def take(taken: Taken, cell: Cell) -> None:
    """Record the range of the sentence a stated cell uses."""
    if cell.not_stated or not cell.provenance:
        return
    where = find_verbatim(cell.value, cell.provenance)
    if where is not None:
        taken.setdefault(cell.provenance, []).append(where)


def cell_binds(
    backend: Backend, spec: FieldSpec, sentence: str, title: str = "", taken: Sequence[tuple[int, int]] = (),
) -> list[dict[str, Any]]:
    """Ways to constrain the reply to the cell schema, best first: locally a grammar whose span can only
    be one of the sentence's candidate phrases (or "" for not stated); OpenAI's strict json_schema; for
    other servers also the json_object dialect and nothing (the reply is checked in code either way)."""
    if backend.provider == "local":
        schema = CELL_SCHEMA
        options = phrase_options(spec, sentence, title, tuple(taken)) if spec.shape else span_options(spec, sentence)
        if options:
            schema = {**CELL_SCHEMA, "properties": {**CELL_SCHEMA["properties"], "span": {"enum": [*options, ""]}}}
        return [{"json_schema": json.dumps(schema), "max_tokens": LOCAL_CELL_TOKENS}]
    strict = {"response_format": JSON_SCHEMA_FORMAT}
    return [strict] if backend.provider == "openai" else [strict, {"response_format": JSON_OBJECT_FORMAT}, {}]


@dataclass
class FormatState:
    """Which of cell_binds() the server accepted, kept for the rest of a table."""

    first: int = 0


def model_cell(
    backend: Backend, name: str, spec: FieldSpec, paper: Paper, cell: Cell, usage: Usage, state: FormatState,
    taken: Taken | None = None,
) -> Cell:
    """The model's span of the cell's sentence if it is verbatim, says something, keeps the numbers and
    names of the extractive value and uses no words another cell of the row uses; the model's "not
    stated"; else the extractive cell (mode "fallback")."""
    sentence = cell.provenance or ""
    used = (taken or {}).get(sentence, [])
    values = {"field": name, "description": spec.prompt, "title": paper.title, "sentence": sentence,
              "taken": "; ".join(f'"{sentence[a:b]}"' for a, b in used) or "(none)"}
    binds = cell_binds(backend, spec, sentence, paper.title, used)
    while True:
        i = min(state.first, len(binds) - 1)
        try:
            text = llm_step(backend, "compare_cell", values, usage, **binds[i])
            break
        except BackendError as exc:  # a server that rejects this response_format: try the next way
            if i + 1 >= len(binds) or not _FORMAT_REJECTED.search(str(exc)):
                raise
            state.first = i + 1
    reply = parse_reply(text)
    fallback = cell.model_copy(update={"mode": "fallback"})
    if reply is None:
        return fallback
    if not reply.stated:
        return Cell(field=name, mode="not_stated", score=cell.score)
    where = find_verbatim(reply.span, sentence)
    if where is None:
        return fallback
    start, end = where
    end = keep_units(sentence, start, end)
    value = trim_span(sentence[start:end])
    if not informative(value) or any(hit not in value for hit in strong_hits(spec, cell.value)):
        return fallback  # a bare "the", or a span that drops the number or benchmark the sentence states
    if any(overlaps((start, end), t, sentence) for t in used):
        return fallback  # another field of the row already shows these words
    return cell.model_copy(update={"value": value, "mode": "generated"})


def parse_reply(text: str) -> CellReply | None:
    """The model's JSON reply, or None when it is not valid JSON of the cell schema."""
    try:
        return CellReply.model_validate(json.loads(text))
    except (json.JSONDecodeError, ValidationError, TypeError):
        return None


def cell_is_grounded(cell: Cell, paper: Paper) -> bool:
    """True when a stated cell's provenance is in the abstract and its value in the provenance."""
    if cell.not_stated:
        return cell.value == NOT_STATED and cell.provenance is None
    prov = normalise_space(cell.provenance or "")
    return bool(prov) and prov in normalise_space(paper.abstract) and normalise_space(cell.value) in prov


# ---- rendering -------------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")


def render_markdown(table: ComparisonTable, provenance: bool = False) -> str:
    """A Markdown table; with provenance, each stated cell points to a numbered footnote quoting its sentence."""
    head = ["#", "Paper", *table.fields]
    lines = ["| " + " | ".join(_md_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    notes: list[str] = []
    for row in table.rows:
        title = row.title + (f" ({row.year})" if row.year else "")
        cells = [str(row.n), _md_cell(title)]
        for cell in row.cells:
            if cell.not_stated:
                cells.append("*not stated*")
                continue
            text = _md_cell(display_text(cell.value))
            if provenance:
                notes.append(f"[^{len(notes) + 1}]: [{row.n}] {cell.field}: \"{_md_cell(cell.provenance or '')}\"")
                text += f"[^{len(notes)}]"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


def render_csv(table: ComparisonTable, provenance: bool = False) -> str:
    """CSV: n, paper_id, title, year, one column per field (and "<field> source" columns with provenance)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    extra = [f"{f} source" for f in table.fields] if provenance else []
    writer.writerow(["n", "paper_id", "title", "year", *table.fields, *extra])
    for row in table.rows:
        values = [display_text(c.value) for c in row.cells]
        sources = [c.provenance or "" for c in row.cells] if provenance else []
        writer.writerow([row.n, row.paper_id, row.title, row.year or "", *values, *sources])
    return buf.getvalue()


def render_json(table: ComparisonTable) -> str:
    """The whole table as JSON, provenance and modes included."""
    return json.dumps(table.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"
