"""Eval datasets: JSONL files of queries with gold papers (schema in evals/README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from assistant.errors import LitReviewError, first_line

T = TypeVar("T", bound=BaseModel)


class RetrievalCase(BaseModel):
    """A query and the titles of every paper that answers it."""

    id: str
    kind: Literal["paraphrase", "verbatim", "topical", "short", "vocabulary"]
    query: str
    gold: list[str] = Field(min_length=1)


class QACase(BaseModel):
    """A question, its accepted answers and gold papers (both empty when unanswerable).

    A survey question's gold is every paper of the library that addresses it; a compare question's
    gold is the union of its two `sides`. `near_miss` marks an unanswerable question whose library
    holds neighbouring work.
    """

    id: str
    kind: Literal["fact", "unanswerable", "survey", "compare"]
    query: str
    answers: list[str] = Field(default_factory=list)
    gold: list[str] = Field(default_factory=list)
    sides: list[list[str]] = Field(default_factory=list)
    near_miss: bool = False


def project_evals_dir() -> Path:
    """The evals/ folder of a source checkout."""
    return Path(__file__).resolve().parents[2] / "evals"


def load_jsonl(path: Path, model: type[T]) -> list[T]:
    """Every line of a JSONL file validated as `model`; the first bad line is an error."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LitReviewError(f"cannot read dataset {path}: {exc}") from None
    out: list[T] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(model.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise LitReviewError(f"{path}:{n}: not a valid {model.__name__} ({first_line(exc)})") from None
    if not out:
        raise LitReviewError(f"dataset {path} holds no cases")
    return out
