"""Retrieval metrics per query kind and search mode, computed with ranx."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ranx import Qrels, Run, evaluate

from assistant.errors import LitReviewError
from assistant.evaluation.datasets import RetrievalCase
from assistant.identity import normalize_title
from assistant.settings import SearchMode
from assistant.types import Paper
from assistant.workspace import Workspace

METRICS = ["recall@5", "recall@10", "mrr", "ndcg@10"]
RUN_DEPTH = 20


def gold_ids(cases: Sequence[RetrievalCase], papers: Sequence[Paper]) -> dict[str, list[str]]:
    """Each case's gold titles as paper ids of this library; an unknown title is an error."""
    by_title = {normalize_title(p.title): p.paper_id for p in papers}
    out: dict[str, list[str]] = {}
    for case in cases:
        ids = []
        for title in case.gold:
            pid = by_title.get(normalize_title(title))
            if pid is None:
                raise LitReviewError(f"case {case.id}: gold paper '{title}' is not in the library")
            ids.append(pid)
        out[case.id] = ids
    return out


def run_mode(ws: Workspace, cases: Sequence[RetrievalCase], mode: SearchMode,
             progress: Callable[[int, int], None] | None = None) -> dict[str, dict[str, float]]:
    """A ranx-style run: query id → {paper id: score} for the top RUN_DEPTH papers."""
    run: dict[str, dict[str, float]] = {}
    for n, case in enumerate(cases):
        ranked = ws.retriever.rank(case.query, mode, RUN_DEPTH)
        # ranx ranks by score; a tiny rank-based tie-breaker keeps our order exactly
        run[case.id] = {c.paper_id: float(len(ranked) - i) for i, c in enumerate(ranked)}
        if progress:
            progress(n + 1, len(cases))
    return run


def capped_recall(run: dict[str, dict[str, float]], gold: dict[str, list[str]], k: int) -> float:
    """Gold papers in the top k over min(k, |gold|): 1.0 means the top k is as full as it can be."""
    values = []
    for qid, ids in gold.items():
        top = sorted(run.get(qid, {}).items(), key=lambda t: -t[1])[:k]
        hits = len({pid for pid, _ in top} & set(ids))
        values.append(hits / min(k, len(ids)))
    return sum(values) / len(values) if values else 0.0


def score(run: dict[str, dict[str, float]], gold: dict[str, list[str]]) -> dict[str, float]:
    """recall@5, recall@10, MRR, nDCG@10 and capped recall@10 over the given queries."""
    qrels = Qrels({qid: {pid: 1 for pid in ids} for qid, ids in gold.items()})
    filled = {qid: (run.get(qid) or {"__none__": 0.0}) for qid in gold}
    result = evaluate(qrels, Run(filled), METRICS, make_comparable=True)
    out = {m: round(float(v), 4) for m, v in dict(result).items()}
    out["capped_recall@10"] = round(capped_recall(run, gold, 10), 4)
    return out


def evaluate_retrieval(ws: Workspace, cases: Sequence[RetrievalCase], modes: Sequence[SearchMode]
                       ) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics per mode per query kind (and 'all')."""
    gold = gold_ids(cases, ws.papers())
    kinds = sorted({c.kind for c in cases})
    table: dict[str, dict[str, dict[str, float]]] = {}
    for mode in modes:
        run = run_mode(ws, cases, mode)
        table[mode] = {
            kind: score(run, {c.id: gold[c.id] for c in cases if c.kind == kind}) for kind in kinds
        }
        table[mode]["all"] = score(run, gold)
    return table
