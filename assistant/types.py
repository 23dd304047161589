"""Typed domain objects that cross module boundaries: Paper, Chunk, hits and reports."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Paper(BaseModel):
    """One paper of the library: what every source format is parsed into."""

    model_config = ConfigDict(frozen=True)

    paper_id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    n_authors: int | None = None
    organization: str | None = None
    year: int | None = None
    date: str | None = None  # as the source gave it, e.g. "Jul 3, 2024"
    upvotes: int | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    url: str | None = None
    venue: str | None = None
    bibtex_key: str | None = None
    sources: tuple[str, ...] = ()  # file names the paper was read from

    def label(self) -> str:
        """A short human label: title (year)."""
        return f"{self.title} ({self.year})" if self.year else self.title


class Chunk(BaseModel):
    """A piece of one paper's abstract, with the title kept for embedding."""

    model_config = ConfigDict(frozen=True)

    chunk_id: str
    paper_id: str
    index: int
    n_chunks: int
    title: str
    text: str

    def embedding_text(self) -> str:
        """The text that is embedded: title, then the chunk."""
        return f"{self.title}\n\n{self.text}"


class SearchHit(BaseModel):
    """One ranked paper for a query (chunks folded per paper)."""

    rank: int
    paper_id: str
    title: str
    score: float
    snippet: str
    dense_score: float | None = None
    bm25_score: float | None = None
    year: int | None = None


FileStatus = Literal["ok", "partial", "failed"]


class FileReport(BaseModel):
    """What happened to one input file during ingest."""

    path: str
    status: FileStatus
    papers_found: int = 0
    new: int = 0
    duplicates: int = 0
    updated: int = 0
    problems: list[str] = Field(default_factory=list)  # one line each


class IngestReport(BaseModel):
    """The outcome of one ingest run."""

    files: list[FileReport] = Field(default_factory=list)
    new: int = 0
    duplicates: int = 0
    updated: int = 0
    chunks_added: int = 0
    seconds: float = 0.0

    @property
    def papers_found(self) -> int:
        """Papers read from all files, duplicates included."""
        return sum(f.papers_found for f in self.files)

    @property
    def failed(self) -> bool:
        """True when any file failed or had entries that could not be read."""
        return any(f.status != "ok" for f in self.files)


class LibraryStats(BaseModel):
    """Counts about the library."""

    papers: int
    chunks: int
    data_dir: str
    backend: str
    embedding_model: str
    sources: dict[str, int] = Field(default_factory=dict)
