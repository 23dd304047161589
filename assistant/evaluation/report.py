"""report.md: what a run measured, in tables, with the PNG plots beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.evaluation.plots import LATENCY_PNG, RECALL_PNG, latency_histogram, recall_curves
from assistant.evaluation.results import REPORT_NAME, RunResults, SuiteResult

TITLES = {"retrieval": "Retrieval", "qa": "Question answering", "compare": "Comparison tables",
          "related": "Related-work drafts", "support": "Support check", "writing": "Writing quality"}
RETRIEVAL_COLUMNS = [("recall@5", "recall@5"), ("recall@10", "recall@10"), ("mrr", "MRR"),
                     ("ndcg@10", "nDCG@10"), ("capped_recall@10", "capped recall@10")]


def fmt(value: Any) -> str:
    """A figure for a table cell."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def plot_name(s: SuiteResult, base: str) -> str:
    """A plot's file name, prefixed by the split so that dev and test plots sit side by side."""
    return base if s.split is None else f"{s.split}_{base}"


def title(s: SuiteResult) -> str:
    """A suite's section heading, naming its split."""
    name = TITLES.get(s.suite, s.suite)
    return name if s.split is None else f"{name} ({s.split} split)"


def _metrics_table(metrics: dict[str, Any]) -> list[str]:
    lines = ["| metric | value |", "|---|---|"]
    lines += [f"| {name} | {fmt(v)} |" for name, v in metrics.items()]
    return lines


def _retrieval(s: SuiteResult, out_dir: Path) -> list[str]:
    d = s.details
    lines = ["| queries | mode | " + " | ".join(h for _, h in RETRIEVAL_COLUMNS) + " |",
             "|---|---|" + "---|" * len(RETRIEVAL_COLUMNS)]
    for kind, n in d["kinds"].items():
        for mode in d["modes"]:
            row = d["table"][mode][kind]
            name = f"**{mode}**" if mode == "hybrid" else mode
            lines.append(f"| {kind} ({n}) | {name} | " + " | ".join(f"{row[m]:.3f}" for m, _ in RETRIEVAL_COLUMNS)
                         + " |")
    lines += ["", f"Hybrid search time per query: p50 {fmt(s.metrics.get('hybrid.search_ms_p50'))} ms, "
              f"p95 {fmt(s.metrics.get('hybrid.search_ms_p95'))} ms.", ""]
    png = plot_name(s, RECALL_PNG)
    recall_curves(d, out_dir / png)
    lines.append(f"![recall@k per mode and query kind]({png})")
    return lines


def _qa(s: SuiteResult, out_dir: Path) -> list[str]:
    d = s.details
    lines = [f"{d['n_fact']} answerable and {d['n_unanswerable']} unanswerable questions; back-end "
             f"{d['backend']}; abstention threshold {d['threshold']}; modes "
             + ", ".join(f"{n} {m}" for m, n in sorted(d["modes"].items())) + ".", ""]
    lines += _metrics_table(s.metrics)
    png = plot_name(s, LATENCY_PNG)
    latency_histogram(d["latency_s"], d["refused"], out_dir / png)
    lines += ["", f"![answer time per question]({png})"]
    return lines


def _compare(s: SuiteResult, out_dir: Path) -> list[str]:
    d = s.details
    lines = [f"{s.metrics['cells']} cells ({d['stated_cells']} stated, {d['not_stated_cells']} not stated); modes "
             + ", ".join(f"{n} {m}" for m, n in sorted(d["modes"].items())) + ".", ""]
    return lines + _metrics_table({k: v for k, v in s.metrics.items() if not k.startswith("field.")}) + [
        "", "| field | accuracy |", "|---|---|", *[f"| {f} | {fmt(v)} |" for f, v in d["per_field"].items()]]


def _related(s: SuiteResult, out_dir: Path) -> list[str]:
    d = s.details
    lines = ["Paragraph modes: " + (", ".join(f"{n} {m}" for m, n in sorted(d["modes"].items())) or "none") + ".",
             ""]
    lines += _metrics_table(s.metrics)
    for cid, reason in d["refused"].items():
        lines.append(f"\nRefused {cid}: {reason}")
    return lines


def _metrics_only(s: SuiteResult, out_dir: Path) -> list[str]:
    return _metrics_table(s.metrics)


SECTIONS = {"retrieval": _retrieval, "qa": _qa, "compare": _compare, "related": _related}


def render(results: RunResults, out_dir: Path) -> str:
    """The Markdown report (writing the plots it references into out_dir)."""
    r = results
    rev = (r.git_revision or "unknown")[:12] + (" (uncommitted changes)" if r.git_dirty else "")
    lines = [
        "# litreview eval report", "",
        f"- run: {r.started_at} → {r.finished_at}; litreview {r.litreview_version}, git {rev}; "
        f"{r.machine}, Python {r.python}",
        f"- model: {r.model.label}" + (f" ({r.model.model_path})" if r.model.model_path else ""),
        f"- library: {r.library.papers} papers{' (bundled sample)' if r.library.sample else ''} at "
        f"{r.library.where}, fingerprint {r.library.fingerprint}, embeddings {r.library.embedding_model}",
        "", "| suite | dataset | cases | sha256 | resumed | seconds |", "|---|---|---|---|---|---|",
    ]
    for name, s in r.suites.items():
        lines.append(f"| {name} | {s.dataset.path} | {s.dataset.cases} | {s.dataset.sha256[:12]} | {s.resumed} "
                     f"| {s.seconds:.1f} |")
    for s in r.suites.values():
        lines += ["", f"## {title(s)}", ""]
        lines += SECTIONS.get(s.suite, _metrics_only)(s, out_dir)
    return "\n".join(lines) + "\n"


def write_report(results: RunResults, out_dir: Path) -> Path:
    """Write report.md and its plots; returns the report's path."""
    path = out_dir / REPORT_NAME
    path.write_text(render(results, out_dir), encoding="utf-8")
    return path


def headline(s: SuiteResult) -> str:
    """One line of a suite's main figures, for the terminal."""
    m = s.metrics
    if s.suite == "retrieval":
        kinds = [k for k in s.details["kinds"] if k != "all"]
        parts = [f"{k} " + "/".join(fmt(m.get(f"{mode}.{k}.recall@5")) for mode in s.details["modes"]) for k in kinds]
        return (f"recall@5 {'/'.join(s.details['modes'])}: " + ", ".join(parts)
                + f"; hybrid nDCG@10 {fmt(m.get('hybrid.all.ndcg@10'))}, MRR {fmt(m.get('hybrid.all.mrr'))}")
    keys = {
        "qa": ["fact_accuracy", "citation_precision", "citation_recall", "abstention_unanswerable",
               "abstention_answerable", "removed_citations", "total_s_p50", "total_s_p95"],
        "compare": ["accuracy", "accuracy_stated", "accuracy_not_stated", "provenance_verbatim", "table_s_p50"],
        "related": ["citation_validity", "sentences_supported", "removed_citations", "gold_precision", "draft_s_p50"],
        "support": ["faithful_kept", "caught", *(f"caught.{k}" for k in ("number", "polarity", "scope", "novel",
                                                                          "attribution")), "check_ms_p50"],
    }.get(s.suite, list(m)[:6])
    return ", ".join(f"{k} {fmt(m.get(k))}" for k in keys)
