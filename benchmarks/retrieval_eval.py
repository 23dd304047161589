"""Retrieval quality on evals/retrieval_dev.jsonl for dense, BM25, RRF and hybrid: a Markdown table.

Run: .venv/bin/python benchmarks/retrieval_eval.py   (ingests the sample into a temporary home)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Ingest the sample library, evaluate every mode, print the table."""
    os.environ.setdefault("LITREVIEW_HOME", tempfile.mkdtemp(prefix="lr-eval-"))
    from assistant.evaluation.datasets import RetrievalCase, load_jsonl
    from assistant.evaluation.retrieval import evaluate_retrieval
    from assistant.workspace import Workspace

    ws = Workspace()
    if ws.library.count() == 0:
        ws.ingest_sample()
    cases = load_jsonl(ROOT / "evals" / "retrieval_dev.jsonl", RetrievalCase)
    table = evaluate_retrieval(ws, cases, ["bm25", "dense", "rrf", "hybrid"])
    counts = {k: sum(1 for c in cases if c.kind == k) for k in ("paraphrase", "verbatim", "topical")}
    print("| queries | mode | recall@5 | recall@10 | MRR | nDCG@10 | capped recall@10 |")
    print("|---|---|---|---|---|---|---|")
    for kind, n in counts.items():
        for mode, per_kind in table.items():
            m = per_kind[kind]
            name = f"**{mode}**" if mode == "hybrid" else mode
            print(f"| {kind} ({n}) | {name} | {m['recall@5']:.3f} | {m['recall@10']:.3f} | {m['mrr']:.3f} "
                  f"| {m['ndcg@10']:.3f} | {m['capped_recall@10']:.3f} |")


if __name__ == "__main__":
    main()
