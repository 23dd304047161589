"""What an eval run writes to results.json: figures per suite, per-case records, and what they were measured on
(git revision, settings without secrets, model, dataset hashes, library), so two runs can be compared."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from assistant import __version__
from assistant.errors import LitReviewError
from assistant.llm.backends import Backend
from assistant.settings import Settings

RESULTS_NAME = "results.json"
REPORT_NAME = "report.md"
RECORDS_NAME = "records.jsonl"
SCHEMA_VERSION = 1
Metric = float | int | None


class ModelIdentity(BaseModel):
    """Which back-end wrote the answers and tables."""

    provider: str
    label: str
    model: str | None = None  # model name (API) or label (local)
    model_path: str | None = None  # the local GGUF file
    base_url: str | None = None


class DatasetInfo(BaseModel):
    """A dataset file and its content hash."""

    path: str
    sha256: str
    cases: int


class LibraryInfo(BaseModel):
    """The library the suites ran against."""

    where: str
    papers: int
    fingerprint: str
    embedding_model: str
    sample: bool = False  # the bundled sample library (--sample)


class SuiteResult(BaseModel):
    """One suite: headline metrics (flat, compared across runs), details and per-case records."""

    suite: str
    split: str | None = None  # "dev" or "test" when the dataset was a split found in a folder
    dataset: DatasetInfo
    run_key: str
    metrics: dict[str, Metric] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
    records: list[dict[str, Any]] = Field(default_factory=list)
    resumed: int = 0  # cases taken over from an earlier, interrupted run
    seconds: float = 0.0  # wall time of this invocation for this suite


class RunResults(BaseModel):
    """The whole of results.json."""

    schema_version: int = SCHEMA_VERSION
    litreview_version: str = __version__
    git_revision: str | None = None
    git_dirty: bool | None = None
    started_at: str
    finished_at: str = ""
    machine: str = Field(default_factory=lambda: f"{platform.machine()}, {os.cpu_count()} cores")
    python: str = Field(default_factory=lambda: sys.version.split()[0])
    settings: dict[str, Any] = Field(default_factory=dict)
    model: ModelIdentity
    library: LibraryInfo
    suites: dict[str, SuiteResult] = Field(default_factory=dict)


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stable_hash(data: Any) -> str:
    """A short hash of JSON-able data (keys sorted)."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def git_revision(root: Path | None = None) -> tuple[str | None, bool | None]:
    """The checkout's HEAD commit and whether the work tree has changes; (None, None) outside git."""
    root = root or Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None, None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None, None
    dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return head.stdout.strip() or None, dirty


def settings_dump(settings: Settings) -> dict[str, Any]:
    """The settings as JSON-able data, without the API key (never written anywhere)."""
    data = settings.model_dump(mode="json", exclude={"llm": {"api_key"}})
    data["home"] = str(settings.home)
    return data


def model_identity(backend: Backend) -> ModelIdentity:
    """The back-end's provider, label, model name and (local) model file."""
    path = getattr(backend.chat, "model_path", None) if backend.chat is not None else None
    return ModelIdentity(
        provider=backend.provider, label=backend.label,
        model=backend.shown_model,
        model_path=str(path) if path else None, base_url=backend.base_url,
    )


def results_path(path: Path) -> Path:
    """results.json itself, or the one inside a run directory."""
    return path / RESULTS_NAME if path.is_dir() else path


def load_results(path: Path) -> RunResults:
    """A results.json (or the run directory holding one); an unreadable file is one error line."""
    file = results_path(path)
    try:
        return RunResults.model_validate_json(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LitReviewError(f"cannot read eval results {file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise LitReviewError(f"{file} is not an eval results file (not UTF-8 text)") from None
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"])
        why = f"{where}: {e['msg']}" if where else e["msg"]
        raise LitReviewError(f"{file} is not an eval results file ({why})") from None


def write_results(out_dir: Path, results: RunResults) -> Path:
    """Write results.json atomically; returns its path."""
    path = out_dir / RESULTS_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(results.model_dump_json(indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
