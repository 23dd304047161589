"""Run eval suites against a workspace's library: every finished case is written to records.jsonl at once
(so an interrupted run resumes), then results.json and report.md are written from all the records."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.choices import EvalSplit
from assistant.errors import LitReviewError
from assistant.evaluation.base import Suite
from assistant.evaluation.datasets import project_evals_dir
from assistant.evaluation.records import RecordStore
from assistant.evaluation.report import write_report
from assistant.evaluation.results import (
    DatasetInfo,
    LibraryInfo,
    ModelIdentity,
    RunResults,
    SuiteResult,
    git_revision,
    model_identity,
    now,
    settings_dump,
    sha256_file,
    stable_hash,
    write_results,
)
from assistant.evaluation.suites import make_suite, suite_class, suite_names
from assistant.types import Progress
from assistant.workspace import Workspace

Note = Callable[[str], None]


SPLITS: tuple[str, ...] = ("dev", "test")


@dataclass(frozen=True)
class DatasetFile:
    """One suite's dataset: a file given by --dataset (split None), or a split found in a folder."""

    suite: str
    path: Path
    split: str | None = None

    @property
    def label(self) -> str:
        """The suite's key in results.json: `retrieval`, or `retrieval/test` for a split from a folder."""
        return self.suite if self.split is None else f"{self.suite}/{self.split}"


@dataclass(frozen=True)
class Planned:
    """One suite to run: its dataset file and loaded cases."""

    suite: Suite[Any]
    dataset: DatasetFile
    cases: list[Any]

    @property
    def path(self) -> Path:
        """The dataset file."""
        return self.dataset.path


def parse_suite(name: str) -> list[str]:
    """The suites `--suite NAME` stands for; an unknown name is an error."""
    name = name.strip().lower()
    if name == "all":
        return list(suite_names())
    if name not in suite_names():
        raise LitReviewError(f"unknown suite '{name}': use {', '.join(suite_names())} or all")
    return [name]


def split_files(name: str, split: str) -> tuple[str, ...]:
    """The file names a suite's split is looked for under, in order: the dev split is SUITE.jsonl or
    SUITE_dev.jsonl, the held-out test split SUITE_test.jsonl."""
    return suite_class(name).files if split == "dev" else (f"{name}_test.jsonl",)


def dataset_files(
    suites: Sequence[str], dataset: Path | None, note: Note | None = None, split: EvalSplit = "both",
) -> list[DatasetFile]:
    """Each suite's dataset files: the file given (one suite only), or its dev and/or test split in the folder
    given (or in the checkout's evals/). A split without a file is skipped with a note; none at all is an error."""
    root = dataset if dataset is not None else project_evals_dir()
    if not root.exists():
        what = "dataset" if dataset is not None else "bundled dev-set folder"
        raise LitReviewError(f"{what} {root} does not exist" + ("" if dataset else ": give --dataset FILE_OR_DIR"))
    if root.is_file():
        if len(suites) != 1:
            raise LitReviewError(f"a dataset file holds one suite's cases: add --suite ({', '.join(suite_names())})"
                                 " or give a folder")
        return [DatasetFile(suites[0], root)]
    found: list[DatasetFile] = []
    wanted = SPLITS if split == "both" else (split,)
    for name in suites:
        for part in wanted:
            files = split_files(name, part)
            path = next((root / f for f in files if (root / f).is_file()), None)
            if path is not None:
                found.append(DatasetFile(name, path, part))
            elif note:
                note(f"{name} ({part} split): skipped (no {' or '.join(files)} in {root})")
    if not found:
        looked = ", ".join(f for n in suites for part in wanted for f in split_files(n, part))
        raise LitReviewError(f"no dataset in {root} (looked for {looked})")
    return found


def plan(ws: Workspace, files: Sequence[DatasetFile], sample: bool = False) -> list[Planned]:
    """Load every dataset, then check each against the library, before any case runs (errors come first)."""
    loaded = []
    for f in files:
        suite = make_suite(f.suite, ws)  # one per split: a suite keeps state about its own cases
        loaded.append(Planned(suite, f, suite.load(f.path)))
    if ws.library.count() == 0:
        raise LitReviewError(
            f"the library at {ws.library.where} is empty: ingest your papers first, or use --sample to evaluate "
            "the bundled dev sets on the bundled sample library"
        )
    for p in loaded:
        try:
            p.suite.check(p.cases)
        except LitReviewError as exc:
            if sample or p.path.resolve().parent != project_evals_dir().resolve():
                raise
            raise LitReviewError(f"{exc} (the bundled dev sets are about the sample library: add --sample)") from None
    return loaded


def _model(planned: Sequence[Planned]) -> ModelIdentity:
    llm_suite = next((p.suite for p in planned if p.suite.uses_llm), None)
    if llm_suite is None:
        return ModelIdentity(provider="none", label="none (retrieval only)")
    return model_identity(llm_suite.backend)  # a missing key or model file is reported before any work


def run_eval(
    ws: Workspace, planned: Sequence[Planned], out_dir: Path, force: bool = False, sample: bool = False,
    progress: Progress | None = None, note: Note | None = None,
) -> RunResults:
    """Run the planned suites, resuming finished cases from out_dir, and write results.json and report.md."""
    out_dir.mkdir(parents=True, exist_ok=True)
    started = now()
    model = _model(planned)
    stats = ws.stats()
    library = LibraryInfo(where=stats.data_dir, papers=stats.papers, fingerprint=ws.library.fingerprint(),
                          embedding_model=stats.embedding_model, sample=sample)
    store = RecordStore(out_dir)
    results: dict[str, SuiteResult] = {}
    for p in planned:
        results[p.dataset.label] = _run_suite(p, store, model, library, force, progress, note)
    revision, dirty = git_revision()
    run = RunResults(
        git_revision=revision, git_dirty=dirty, started_at=started, finished_at=now(),
        settings=settings_dump(ws.settings), model=model, library=library, suites=results,
    )
    write_results(out_dir, run)
    write_report(run, out_dir)
    return run


def _run_suite(
    p: Planned, store: RecordStore, model: ModelIdentity, library: LibraryInfo, force: bool,
    progress: Progress | None, note: Note | None,
) -> SuiteResult:
    suite, name = p.suite, p.dataset.label
    t0 = time.perf_counter()
    dataset = DatasetInfo(path=str(p.path.resolve()), sha256=sha256_file(p.path), cases=len(p.cases))
    run_key = stable_hash({
        "suite": name, "dataset": dataset.sha256, "settings": suite.key_settings(),
        "model": model.model_dump() if suite.uses_llm else None,
        "library": [library.fingerprint, library.papers, library.embedding_model],
    })
    done = store.resume(name, run_key, force)
    if store.dropped and note:
        note(f"{store.path}: {store.dropped} unreadable line(s) dropped (an interrupted write); those cases run again")
    ids = {c.id for c in p.cases}
    done = {cid: rec for cid, rec in done.items() if cid in ids}
    resumed = len(done)
    pending = [c for c in p.cases if c.id not in done]
    if resumed and note:
        note(f"{name}: resuming: {resumed} of {len(p.cases)} cases done earlier, {len(pending)} to run")
    details: dict[str, Any] = {}
    if pending:
        details.update(suite.warm_up(pending))
    total = len(p.cases)
    if progress:
        progress(name, resumed, total)
    for case in pending:
        rec = suite.run_case(case)
        store.append(name, run_key, case.id, rec)
        done[case.id] = rec
        if progress:
            progress(name, len(done), total)
    records = [done[c.id] for c in p.cases]
    metrics, more = suite.summarise(records)
    details.update(more)
    return SuiteResult(suite=suite.name, split=p.dataset.split, dataset=dataset, run_key=run_key, metrics=metrics,
                       details=details, records=records, resumed=resumed, seconds=round(time.perf_counter() - t0, 3))
