"""`litreview eval --diff A B`: the change of every headline metric between two runs, per suite."""

from __future__ import annotations

from pydantic import BaseModel, Field

from assistant.evaluation.report import fmt
from assistant.evaluation.results import RunResults


class MetricDelta(BaseModel):
    """One metric in both runs and its change (B − A; None when either is missing)."""

    metric: str
    a: float | int | None = None
    b: float | int | None = None
    delta: float | None = None


class RunDiff(BaseModel):
    """Deltas per suite, and what makes the two runs less comparable."""

    a: str
    b: str
    a_revision: str | None = None
    b_revision: str | None = None
    warnings: list[str] = Field(default_factory=list)
    suites: dict[str, list[MetricDelta]] = Field(default_factory=dict)


def _delta(a: float | int | None, b: float | int | None) -> float | None:
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return None
    return round(float(b) - float(a), 6)


def diff_runs(a: RunResults, b: RunResults, a_name: str = "A", b_name: str = "B") -> RunDiff:
    """Every metric of every suite the runs share; warnings for different datasets, libraries or suites."""
    out = RunDiff(a=a_name, b=b_name, a_revision=a.git_revision, b_revision=b.git_revision)
    for name in [s for s in a.suites if s not in b.suites]:
        out.warnings.append(f"suite {name} is only in {a_name}")
    for name in [s for s in b.suites if s not in a.suites]:
        out.warnings.append(f"suite {name} is only in {b_name}")
    for name, sa in a.suites.items():
        sb = b.suites.get(name)
        if sb is None:
            continue
        if sa.dataset.sha256 != sb.dataset.sha256:
            out.warnings.append(f"{name}: the datasets differ (sha256 {sa.dataset.sha256[:12]} ≠ "
                                f"{sb.dataset.sha256[:12]}): the figures are not measured on the same cases")
        keys = list(dict.fromkeys([*sa.metrics, *sb.metrics]))
        out.suites[name] = [
            MetricDelta(metric=k, a=sa.metrics.get(k), b=sb.metrics.get(k),
                        delta=_delta(sa.metrics.get(k), sb.metrics.get(k)))
            for k in keys
        ]
    if (a.library.fingerprint, a.library.papers) != (b.library.fingerprint, b.library.papers):
        out.warnings.append(f"the libraries differ ({a.library.papers} papers, fingerprint {a.library.fingerprint} "
                            f"≠ {b.library.papers} papers, fingerprint {b.library.fingerprint})")
    return out


def _signed(delta: float | None) -> str:
    if delta is None:
        return "–"
    if delta == 0:
        return "0"
    return f"{delta:+.4g}"


def render_markdown(diff: RunDiff, a: RunResults, b: RunResults) -> str:
    """A Markdown table of metric deltas per suite (B − A)."""
    lines = [
        f"# eval: {diff.b} vs {diff.a}", "",
        f"- A: {diff.a} ({a.model.label}, git {(a.git_revision or 'unknown')[:12]}, {a.started_at})",
        f"- B: {diff.b} ({b.model.label}, git {(b.git_revision or 'unknown')[:12]}, {b.started_at})",
    ]
    for name, deltas in diff.suites.items():
        lines += ["", f"## {name}", "", "| metric | A | B | Δ (B − A) |", "|---|---|---|---|"]
        lines += [f"| {d.metric} | {fmt(d.a)} | {fmt(d.b)} | {_signed(d.delta)} |" for d in deltas]
    if not diff.suites:
        lines += ["", "The runs share no suite."]
    return "\n".join(lines) + "\n"
