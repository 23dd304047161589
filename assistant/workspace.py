"""The one Python API the CLI, the app and the evals share: a library with its models."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.errors import LitReviewError

if TYPE_CHECKING:  # the modules behind them load torch, Chroma, LangChain or pydantic: imported where first used
    from assistant.chain import Answerer, TokenSink
    from assistant.embeddings import CachedEmbeddings, NamedEmbeddings
    from assistant.evidence import EvidencePicker
    from assistant.llm.backends import Backend
    from assistant.retrieval import Retriever
    from assistant.settings import LLMSettings, SearchMode, Settings
    from assistant.store import Library
    from assistant.types import Answer, IngestReport, LibraryStats, Paper, Progress, SearchHit, Turn


MAX_USER_QUERY_CHARS = 4000  # the longest question, search query or topic a user may give


class Workspace:
    """Settings, library, embedder and retriever, each made once and shared between threads."""

    def __init__(self, settings: Settings | None = None, embedder: NamedEmbeddings | None = None) -> None:
        from assistant.settings import load_settings

        self.settings = settings or load_settings()
        if self.settings.llm.provider == "local":
            from assistant.offline import passive_threads

            passive_threads()  # before MiniLM loads torch
        self._lock = threading.RLock()
        self._library: Library | None = None
        self._given_embedder = embedder  # None: the configured model, loaded on first use
        self._embedder: CachedEmbeddings | None = None
        self._retriever: Retriever | None = None
        self._picker: EvidencePicker | None = None
        self._backends: dict[str, Backend] = {}

    @property
    def library(self) -> Library:
        """The Chroma library (opened on first use)."""
        with self._lock:
            if self._library is None:
                from assistant.store import Library

                self._library = Library(self.settings)
            return self._library

    @property
    def embedder(self) -> CachedEmbeddings:
        """The embedding model (loaded on first use), remembering the vectors it made in this process."""
        with self._lock:
            if self._embedder is None:
                from assistant.embeddings import CachedEmbeddings, get_embedder

                self._embedder = CachedEmbeddings(self._given_embedder or get_embedder(self.settings.embedding))
            return self._embedder

    @property
    def retriever(self) -> Retriever:
        """Hybrid search over the library."""
        with self._lock:
            if self._retriever is None:
                from assistant.retrieval import Retriever

                self._retriever = Retriever(self.library, self.embedder, self.settings.retrieval)
            return self._retriever

    @property
    def picker(self) -> EvidencePicker:
        """Sentence-level evidence selection (sentence vectors cached per paper)."""
        with self._lock:
            if self._picker is None:
                from assistant.evidence import EvidencePicker

                self._picker = EvidencePicker(self.embedder)
            return self._picker

    def backend(self, llm: LLMSettings | None = None) -> Backend:
        """The answer back-end for these LLM settings (the workspace's own by default), made once."""
        llm = llm or self.settings.llm
        key = backend_key(llm)
        with self._lock:
            if key not in self._backends:
                from assistant.llm.backends import make_backend

                self._backends[key] = make_backend(llm)
            return self._backends[key]

    def answerer(self, llm: LLMSettings | None = None) -> Answerer:
        """A question answerer over this library with the given (or configured) back-end."""
        from assistant.chain import Answerer

        return Answerer(self.retriever, self.embedder, self.picker, self.backend(llm), self.settings)

    def ask(
        self, question: str, history: Sequence[Turn] = (), k: int | None = None,
        on_token: TokenSink | None = None, llm: LLMSettings | None = None,
    ) -> Answer:
        """A cited answer to a question about the library, or a refusal naming the nearest papers."""
        return self.answerer(llm).ask(check_query(question), history, k, on_token)

    def ingest(
        self,
        paths: Iterable[Path],
        progress: Progress | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> IngestReport:
        """Add papers from files and folders (chunk vectors are not remembered: each is made once anyway)."""
        from assistant.ingest import ingest_paths

        return ingest_paths(list(paths), self.library, self.embedder.inner, self.settings, progress, on_wait)

    def ingest_sample(self, progress: Progress | None = None) -> IngestReport:
        """Add the bundled sample library."""
        from assistant.ingest import sample_dir

        return self.ingest([sample_dir()], progress)

    def search(self, query: str, k: int | None = None, mode: SearchMode | None = None) -> list[SearchHit]:
        """Ranked papers for a query."""
        return self.retriever.search(check_query(query), k, mode)

    def papers(self) -> list[Paper]:
        """Every paper in the library, by title (from the saved list while the library is unchanged)."""
        from assistant import paper_list
        from assistant.types import Paper

        if (saved := paper_list.saved(self.settings)) is not None:
            return [Paper.model_validate(p) for p in saved]
        stamp = paper_list.read_stamp(self.settings)  # before reading: a write meanwhile changes it
        papers = self.library.list_papers()
        paper_list.save(self.settings, stamp, [p.model_dump(mode="json") for p in papers])
        return papers

    def get_papers(self, paper_ids: Sequence[str]) -> dict[str, Paper]:
        """Papers by id."""
        return self.library.get_papers(paper_ids)

    def resolve_papers(self, refs: Sequence[str]) -> list[Paper]:
        """Papers named by id or by (part of) title; an unknown or ambiguous name is an error."""
        papers = self.papers()
        by_id = {p.paper_id: p for p in papers}
        out: list[Paper] = []
        for ref in refs:
            if ref in by_id:
                out.append(by_id[ref])
                continue
            needle = ref.casefold().strip()
            exact = [p for p in papers if p.title.casefold() == needle]
            found = exact or [p for p in papers if needle and needle in p.title.casefold()]
            if not found:
                raise LitReviewError(f"no paper in the library matches '{ref}'")
            if len(found) > 1:
                names = "; ".join(p.title for p in found[:3])
                raise LitReviewError(f"'{ref}' matches {len(found)} papers ({names}…); use a paper id")
            out.append(found[0])
        return list({p.paper_id: p for p in out}.values())

    def delete(self, paper_ids: Sequence[str]) -> int:
        """Remove papers from the library; returns how many were removed."""
        from assistant.backup import auto_snapshot
        from assistant.locking import write_lock

        with write_lock(self.settings):
            auto_snapshot(self.library, self.settings)
            return self.library.delete_papers(paper_ids)

    def stats(self) -> LibraryStats:
        """Counts and where the library lives."""
        return self.library.stats()


def backend_key(llm: LLMSettings) -> str:
    """A cache key for LLM settings: the dump masks the API key, so its digest is added (never the key)."""
    secret = llm.api_key.get_secret_value() if llm.api_key else ""
    return llm.model_dump_json() + hashlib.sha256(secret.encode()).hexdigest()


def check_query(query: str) -> str:
    """A query fit to search: not empty, not absurdly long."""
    query = " ".join(query.split())
    if not query:
        raise LitReviewError("the query is empty")
    if len(query) > MAX_USER_QUERY_CHARS:
        raise LitReviewError(f"the query is {len(query)} characters long; the limit is {MAX_USER_QUERY_CHARS}")
    return query
