"""What every eval suite provides to the runner: load and check its cases, run one case into a JSON-able
record, and summarise records into flat headline metrics plus details."""

from __future__ import annotations

import statistics
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from assistant.errors import LitReviewError
from assistant.evaluation.datasets import load_jsonl
from assistant.identity import normalize_title
from assistant.llm.backends import Backend
from assistant.settings import LLMSettings
from assistant.workspace import Workspace

C = TypeVar("C", bound=BaseModel)
Metrics = dict[str, float | int | None]


class Suite(ABC, Generic[C]):
    """One kind of evaluation over one JSONL dataset."""

    name: ClassVar[str]
    case_model: ClassVar[type[BaseModel]]
    files: ClassVar[tuple[str, ...]]  # file names looked for in a --dataset directory, in order
    uses_llm: ClassVar[bool] = True

    def __init__(self, ws: Workspace, llm: LLMSettings | None = None) -> None:
        self.ws = ws
        self.llm = llm or ws.settings.llm

    @property
    def backend(self) -> Backend:
        """The back-end this suite's answers or tables are written with (made once per workspace)."""
        return self.ws.backend(self.llm)

    def load(self, path: Path) -> list[C]:
        """The dataset's cases; a bad line or a duplicate id is an error."""
        cases: list[C] = load_jsonl(path, self.case_model)  # type: ignore[arg-type]
        seen: set[str] = set()
        for case in cases:
            cid = str(getattr(case, "id", ""))
            if cid in seen:
                raise LitReviewError(f"{path}: case id '{cid}' occurs twice")
            seen.add(cid)
        return cases

    def key_settings(self) -> dict[str, Any]:
        """The settings that shape this suite's figures (part of the run key)."""
        s = self.ws.settings
        data: dict[str, Any] = {
            "embedding": s.embedding.model_dump(mode="json"), "chunking": s.chunking.model_dump(mode="json"),
            "retrieval": s.retrieval.model_dump(mode="json"),
        }
        if self.uses_llm:
            data["llm"] = self.llm.model_dump(mode="json", exclude={"api_key"})
            data["answer"] = s.answer.model_dump(mode="json")
        return data

    @abstractmethod
    def check(self, cases: Sequence[C]) -> None:
        """Raise a one-line error when the dataset does not fit the library (an unknown gold title)."""

    def warm_up(self, cases: Sequence[C]) -> dict[str, Any]:
        """Load the models and the BM25 index before the timed cases; returns details worth reporting."""
        t = time.perf_counter()
        self.ws.retriever.bm25()
        self.ws.embedder.embed_query("warm up")
        if self.uses_llm:
            self.backend.count_tokens("warm up")  # the local model loads here
        return {"warm_up_s": round(time.perf_counter() - t, 3)}

    @abstractmethod
    def run_case(self, case: C) -> dict[str, Any]:
        """Run one case; its JSON-able record."""

    @abstractmethod
    def summarise(self, records: Sequence[dict[str, Any]]) -> tuple[Metrics, dict[str, Any]]:
        """Headline metrics (flat: name → number) and details from the records of every case."""


def check_titles(ws: Workspace, titles_per_case: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each case's gold titles as paper ids of this library; an unknown title is an error."""
    by_title = {normalize_title(p.title): p.paper_id for p in ws.papers()}
    out: dict[str, list[str]] = {}
    for cid, titles in titles_per_case.items():
        ids = []
        for title in titles:
            pid = by_title.get(normalize_title(title))
            if pid is None:
                raise LitReviewError(f"case {cid}: gold paper '{title}' is not in the library")
            ids.append(pid)
        out[cid] = ids
    return out


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100, inclusive method) rounded to 4 places; None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 4)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 4)


def mean(values: Sequence[float]) -> float | None:
    """The mean rounded to 4 places; None for no values."""
    return round(sum(values) / len(values), 4) if values else None
