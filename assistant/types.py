"""Typed domain objects that cross module boundaries: Paper, Chunk, hits and reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Paper(BaseModel):
    """One paper of the library: what every source format is parsed into."""

    model_config = ConfigDict(frozen=True)

    paper_id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()  # 'First Last[, Suffix]', split by name_parts
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


def name_parts(name: str) -> tuple[str, str, str]:
    """An author as stored ('First Last[, Suffix]') split: 'Anna van der Berg' → ('Anna van der', 'Berg', '').

    'Rafael Santos, Jr.' → ('Rafael', 'Santos', 'Jr.'); given + family (+ ', ' + suffix) rejoin to the name.
    """
    main, _, suffix = name.partition(", ")
    given, _, family = main.rpartition(" ")
    return given, family, suffix


def chunk_id(paper_id: str, index: int) -> str:
    """A chunk's id: its paper's id and its place in the paper (a search reads the paper back from it)."""
    return f"{paper_id}:{index}"


def paper_of(chunk_id: str) -> str:
    """The id of the paper a chunk id belongs to."""
    return chunk_id.rpartition(":")[0]


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


Progress = Callable[[str, int, int], None]  # (stage, done, total): how a long job reports how far it is
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


class Source(BaseModel):
    """A numbered paper put before the model: what an answer may cite."""

    n: int
    paper_id: str
    title: str
    year: int | None = None
    text: str  # what the model was shown: evidence sentences or the abstract
    score: float = 0.0


class Citation(BaseModel):
    """A source an answer cites, resolved in code to a paper of the library."""

    n: int
    paper_id: str
    title: str


class SentenceCheck(BaseModel):
    """The support check's verdict on one sentence of an answer."""

    text: str
    cites: list[int] = Field(default_factory=list)
    supported: bool
    similarity: float = 0.0  # best cosine to a sentence of a cited source
    overlap: float = 0.0  # share of the sentence's content terms found in the cited sources
    check: str = ""  # the check that failed: citation, number, novel, polarity, scope, attribution, coverage, model
    reason: str = ""  # why it failed, when it failed

    @property
    def why(self) -> str:
        """The reason led by the name of the check that failed ("coverage check: too little of it ...")."""
        if not self.check or self.reason.startswith(self.check):
            return self.reason
        return f"{self.check} check: {self.reason}"


class Timings(BaseModel):
    """Seconds spent on each step of an answer."""

    retrieval_s: float = 0.0
    first_token_s: float | None = None
    generation_s: float = 0.0
    total_s: float = 0.0


class Usage(BaseModel):
    """Tokens the model read and wrote, and the estimated price when known."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None


def backend_label(backend: str, model: str | None) -> str:
    """What wrote a result, e.g. "extractive" or "openai: gpt-4o-mini" (the model is None without one)."""
    return f"{backend}: {model}" if model else backend


def usage_parts(usage: Usage, removed_citations: int = 0) -> list[str]:
    """Footer pieces for tokens, estimated cost and removed citations (empty when there are none)."""
    parts = []
    if usage.prompt_tokens or usage.completion_tokens:
        parts.append(f"{usage.prompt_tokens}+{usage.completion_tokens} tokens")
    if usage.cost_usd is not None:
        parts.append(f"~${usage.cost_usd:.5f}")
    if removed_citations:
        parts.append(f"{removed_citations} invented citation(s) removed")
    return parts


AnswerMode = Literal["generated", "extractive", "fallback", "refused"]
QuestionKind = Literal["fact", "survey", "compare", "open"]  # told apart in assistant/kinds.py


class Answer(BaseModel):
    """A cited answer to a question about the library (or a refusal)."""

    question: str
    query: str  # the stand-alone query retrieval used (follow-ups rewritten)
    answer: str
    kind: QuestionKind = "fact"  # fact and open: a short answer; survey and compare: one bullet per paper
    citations: list[Citation] = Field(default_factory=list)
    refused: bool = False
    refusal_reason: str | None = None
    mode: AnswerMode = "extractive"
    backend: str = "extractive"
    model: str | None = None
    contexts: list[Source] = Field(default_factory=list)
    nearest: list[SearchHit] = Field(default_factory=list)  # shown when refusing
    sentences: list[SentenceCheck] = Field(default_factory=list)
    removed_citations: int = 0  # citations to anything outside the context, stripped
    draft: str | None = None  # the model's text when it failed the support check
    draft_sentences: list[SentenceCheck] = Field(default_factory=list)  # the verdicts that sank it
    strength: float = 0.0  # retrieval strength the abstention gate compared with its threshold
    timings: Timings = Field(default_factory=Timings)
    usage: Usage = Field(default_factory=Usage)


class Turn(BaseModel):
    """One question and answer of a chat, kept as history for follow-ups."""

    question: str
    query: str
    answer: str
