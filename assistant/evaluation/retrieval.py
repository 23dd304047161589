"""Retrieval metrics over a run (query id → {paper id: score}), computed with ranx."""

from __future__ import annotations

from ranx import Qrels, Run, evaluate

METRICS = ["recall@5", "recall@10", "mrr", "ndcg@10"]
RUN_DEPTH = 20


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
