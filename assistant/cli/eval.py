"""`litreview eval`: run the evaluation suites into a run folder (resumable), or diff two runs."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from assistant.choices import EvalSplit
from assistant.cli.common import LlmFlag, ModelFlag, UrlFlag, app, err, out, print_json, progress_bar, workspace
from assistant.workspace import Workspace

SAMPLE_HOME = "eval-sample"  # under LITREVIEW_HOME: the bundled sample library, kept apart from yours
DEFAULT_OUT = Path("eval-results")


@app.command("eval")
def eval_command(
    suite: Annotated[str, typer.Option("--suite", help="retrieval, qa, compare, related or all.")] = "all",
    dataset: Annotated[Path | None, typer.Option(
        "--dataset", help="A JSONL file (with one --suite) or a folder of SUITE.jsonl / SUITE_dev.jsonl files "
                          "(default: the checkout's evals/).")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="The run folder (default: eval-results/[sample-]BACKEND). Rerun into it to resume.")] = None,
    sample: Annotated[bool, typer.Option(
        "--sample", help="Evaluate on the bundled sample library (built once under $LITREVIEW_HOME/eval-sample; "
                         "your library is not touched).")] = False,
    split: Annotated[EvalSplit, typer.Option(
        "--split", help="With a dataset folder: the dev split, the held-out test split, or both (reported "
                        "separately).")] = "both",
    force: Annotated[bool, typer.Option(
        "--force", help="Discard the run folder's earlier records of these suites and start afresh.")] = False,
    run_pair: Annotated[tuple[Path, Path] | None, typer.Option(
        "--diff", help="Show the metric deltas between two runs (results.json files or run folders).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    llm: LlmFlag = None,
    model: ModelFlag = None,
    base_url: UrlFlag = None,
) -> None:
    """Measure retrieval, answers, comparison tables and related-work drafts on JSONL dev sets."""
    from assistant.evaluation.report import headline
    from assistant.evaluation.results import REPORT_NAME, RESULTS_NAME
    from assistant.evaluation.runner import dataset_files, parse_suite, plan, run_eval

    if run_pair is not None:
        _diff(run_pair[0], run_pair[1], as_json)
        return
    names = parse_suite(suite)
    ws = workspace(llm={"provider": llm, "model": model, "base_url": base_url})
    if sample:
        ws = _sample_workspace(ws, not as_json)
    files = dataset_files(names, dataset, note=_note, split=split)
    planned = plan(ws, files, sample)
    target = out_dir or DEFAULT_OUT / _slug(ws, sample)
    try:
        with progress_bar(not as_json) as bar:
            run = run_eval(ws, planned, target, force=force, sample=sample, progress=bar, note=_note)
    except KeyboardInterrupt:
        _note(f"the finished cases are kept in {target}: rerun the same command to resume")
        raise
    if as_json:
        print_json({"out": str(target), "results": str(target / RESULTS_NAME), "report": str(target / REPORT_NAME),
                    "suites": {n: s.metrics for n, s in run.suites.items()}})
        return
    for name, s in run.suites.items():
        resumed = f", {s.resumed} resumed" if s.resumed else ""
        out.print(f"{name} ({s.dataset.cases} cases{resumed}, {s.seconds:.1f} s): {headline(s)}",
                  markup=False, highlight=False)
    out.print(f"wrote {target / RESULTS_NAME} and {target / REPORT_NAME}", markup=False, highlight=False)


def _note(message: str) -> None:
    err.print(escape(message), style="dim", highlight=False)


def _slug(ws: Workspace, sample: bool) -> str:
    llm = ws.settings.llm
    name = llm.provider + (f"-{llm.model}" if llm.model else "")
    return ("sample-" if sample else "") + re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _sample_workspace(ws: Workspace, show_progress: bool) -> Workspace:
    """A workspace over the bundled sample library in its own embedded store, ingested on first use."""
    home = ws.settings.home / SAMPLE_HOME
    store = ws.settings.store.model_copy(update={"chroma_url": None})  # the sample is always embedded
    settings = ws.settings.model_copy(update={"home": home, "store": store})
    sample_ws = Workspace(settings)
    if sample_ws.library.count() == 0:
        _note(f"building the sample library in {home} (once)")
        with progress_bar(show_progress) as bar:
            sample_ws.ingest_sample(progress=bar)
    return sample_ws


def _diff(a_path: Path, b_path: Path, as_json: bool) -> None:
    from assistant.evaluation.diff import diff_runs, render_markdown
    from assistant.evaluation.results import load_results, results_path

    a, b = load_results(a_path), load_results(b_path)
    diff = diff_runs(a, b, str(results_path(a_path)), str(results_path(b_path)))
    for warning in diff.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    if as_json:
        print_json(diff)
    else:
        sys.stdout.write(render_markdown(diff, a, b))
        sys.stdout.flush()
