"""PNG plots for report.md, drawn with matplotlib's Agg canvas (no display, no global pyplot state)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

RECALL_PNG = "retrieval_recall_at_k.png"
LATENCY_PNG = "qa_latency.png"


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(path, dpi=100, format="png")
    return path


def recall_curves(details: dict[str, Any], path: Path) -> Path:
    """recall@k for k = 1..20, one panel per query kind, one line per mode."""
    curves: dict[str, dict[str, list[float]]] = details["recall_curves"]
    ks: list[int] = details["curve_k"]
    kinds = [k for k in details["kinds"] if k != "all"] + ["all"]
    fig = Figure(figsize=(4.0 * len(kinds), 3.4))
    axes = fig.subplots(1, len(kinds), sharey=True, squeeze=False)[0]
    for ax, kind in zip(axes, kinds, strict=True):
        for mode in details["modes"]:
            ax.plot(ks, curves[mode][kind], marker="o", markersize=3, label=mode)
        ax.set_title(f"{kind} ({details['kinds'][kind]})")
        ax.set_xlabel("k")
        ax.set_xticks([1, 5, 10, 15, 20])
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("recall@k")
    axes[-1].legend(loc="lower right")
    return _save(fig, path)


def latency_histogram(seconds: list[float], refused: list[bool], path: Path) -> Path:
    """Answer time per question, answered and refused questions stacked."""
    fig = Figure(figsize=(6.0, 3.4))
    ax = fig.subplots()
    answered = [s for s, r in zip(seconds, refused, strict=True) if not r]
    declined = [s for s, r in zip(seconds, refused, strict=True) if r]
    ax.hist([answered, declined], bins=20, stacked=True, label=["answered", "refused"])
    ax.set_xlabel("seconds per question")
    ax.set_ylabel("questions")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)
