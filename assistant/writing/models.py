"""Typed results of the writing jobs: Summary, ComparisonTable, RelatedWorkDraft."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from assistant.types import Citation, SentenceCheck, Usage

StepMode = Literal["generated", "extractive", "fallback"]  # as for answers
CellMode = Literal["generated", "extractive", "fallback", "not_stated"]
NOT_STATED = "not stated"


class Reference(BaseModel):
    """A numbered paper a writing job cites: [n] in Markdown, \\cite{key} in LaTeX."""

    n: int
    paper_id: str
    title: str
    year: int | None = None
    key: str = ""  # the BibTeX key (unique within one result)


class PaperSummary(BaseModel):
    """A one- or two-sentence TL;DR of one paper, drawn from its abstract only."""

    n: int
    paper_id: str
    title: str
    year: int | None = None
    tldr: str
    mode: StepMode = "extractive"
    sentences: list[SentenceCheck] = Field(default_factory=list)  # the support check's verdicts


class Summary(BaseModel):
    """TL;DRs of several papers and, for more than one, a cited synthesis paragraph."""

    topic: str | None = None
    papers: list[PaperSummary] = Field(default_factory=list)
    synthesis: str = ""  # agreements, differences, open questions; every sentence cites [n]
    synthesis_mode: StepMode = "extractive"
    synthesis_sentences: list[SentenceCheck] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)  # what the synthesis cites
    removed_citations: int = 0
    backend: str = "extractive"
    model: str | None = None
    seconds: float = 0.0
    usage: Usage = Field(default_factory=Usage)


class Cell(BaseModel):
    """One field of one paper: a span of that paper's abstract, or "not stated"."""

    field: str
    value: str = NOT_STATED
    provenance: str | None = None  # the abstract sentence the value comes from, verbatim
    not_stated: bool = True
    mode: CellMode = "not_stated"
    score: float = 0.0  # how well the provenance sentence matches the field


class ComparisonRow(BaseModel):
    """One paper of a comparison table."""

    n: int
    paper_id: str
    title: str
    year: int | None = None
    cells: list[Cell] = Field(default_factory=list)

    def cell(self, field: str) -> Cell:
        """The cell for a field."""
        return next(c for c in self.cells if c.field == field)


class ComparisonTable(BaseModel):
    """One row per paper, one column per field, with provenance per cell."""

    topic: str | None = None
    fields: list[str] = Field(default_factory=list)
    rows: list[ComparisonRow] = Field(default_factory=list)
    backend: str = "extractive"
    model: str | None = None
    seconds: float = 0.0
    usage: Usage = Field(default_factory=Usage)


class Theme(BaseModel):
    """A group of related papers with a name from their distinctive terms and a cited paragraph."""

    name: str
    terms: list[str] = Field(default_factory=list)
    paper_ids: list[str] = Field(default_factory=list)
    paragraph: str = ""  # Markdown, citations as [n]
    mode: StepMode = "extractive"
    sentences: list[SentenceCheck] = Field(default_factory=list)


class RelatedWorkDraft(BaseModel):
    """A related-work section: themes with paragraphs, every sentence about a paper cited."""

    topic: str
    themes: list[Theme] = Field(default_factory=list)
    references: list[Reference] = Field(default_factory=list)  # exactly the papers cited
    markdown: str = ""
    latex: str | None = None
    bibtex: str | None = None  # entries for exactly the keys \cite'd in latex
    removed_citations: int = 0
    backend: str = "extractive"
    model: str | None = None
    seconds: float = 0.0
    usage: Usage = Field(default_factory=Usage)
