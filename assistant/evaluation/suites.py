"""The retrieval and QA suites, and the registry of every suite `litreview eval` runs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, get_args

from ranx import Qrels, Run, evaluate

from assistant.evaluation.base import Metrics, Suite, check_titles, mean, percentile
from assistant.evaluation.datasets import QACase, RetrievalCase
from assistant.evaluation.qa import QARecord, record, summarise
from assistant.evaluation.retrieval import RUN_DEPTH, score
from assistant.settings import LLMSettings, SearchMode
from assistant.workspace import Workspace

# every mode, hybrid first: its time is a whole search
MODES: tuple[SearchMode, ...] = ("hybrid", *(m for m in get_args(SearchMode) if m != "hybrid"))
SHOWN: tuple[SearchMode, ...] = ("dense", "bm25", "rrf", "hybrid")  # the order of tables and plots
CURVE_K = range(1, RUN_DEPTH + 1)  # recall@k for the plots


def ranx_run(records: Sequence[dict[str, Any]], mode: str) -> dict[str, dict[str, float]]:
    """A ranx-style run (query id → {paper id: score}) from the stored rankings; the rank-based score keeps
    the retriever's order exactly."""
    return {r["id"]: {pid: float(len(r["ranked"][mode]) - i) for i, pid in enumerate(r["ranked"][mode])}
            for r in records}


def recall_curve(run: dict[str, dict[str, float]], gold: dict[str, list[str]]) -> list[float]:
    """recall@1..RUN_DEPTH over the given queries (ranx)."""
    qrels = Qrels({qid: {pid: 1 for pid in ids} for qid, ids in gold.items()})
    filled = {qid: (run.get(qid) or {"__none__": 0.0}) for qid in gold}
    result = dict(evaluate(qrels, Run(filled), [f"recall@{k}" for k in CURVE_K], make_comparable=True))
    return [round(float(result[f"recall@{k}"]), 4) for k in CURVE_K]


class RetrievalSuite(Suite[RetrievalCase]):
    """recall@5/10, MRR, nDCG@10 (ranx) and capped recall@10 per mode (dense, BM25, RRF, hybrid) per query kind."""

    name = "retrieval"
    case_model = RetrievalCase
    files = ("retrieval.jsonl", "retrieval_dev.jsonl")
    uses_llm = False

    def check(self, cases: Sequence[RetrievalCase]) -> None:
        """Resolve every gold title to a paper id of this library."""
        self.gold = check_titles(self.ws, {c.id: c.gold for c in cases})

    def warm_up(self, cases: Sequence[RetrievalCase]) -> dict[str, Any]:
        """Load MiniLM and the BM25 index once."""
        self.retriever = self.ws.retriever  # its embedder remembers vectors: the modes after hybrid reuse the query's
        t = time.perf_counter()
        self.retriever.rank(cases[0].query, "hybrid", 1)
        return {"warm_up_s": round(time.perf_counter() - t, 3)}

    def run_case(self, case: RetrievalCase) -> dict[str, Any]:
        """The top RUN_DEPTH paper ids per mode, and the time of the hybrid search (dense and BM25 reuse its
        query vector, so theirs would not be whole searches)."""
        ranked: dict[str, list[str]] = {}
        seconds = 0.0
        self.ws.embedder.forget([case.query])  # the hybrid search, timed, encodes its query as a new one would
        for mode in MODES:
            t = time.perf_counter()
            hits = self.retriever.rank(case.query, mode, RUN_DEPTH)
            if mode == "hybrid":
                seconds = round(time.perf_counter() - t, 4)
            ranked[mode] = [c.paper_id for c in hits]
        return {"id": case.id, "kind": case.kind, "gold": self.gold[case.id], "ranked": ranked, "search_s": seconds}

    def summarise(self, records: Sequence[dict[str, Any]]) -> tuple[Metrics, dict[str, Any]]:
        """Metrics per mode per kind (and "all"), recall@k curves and search latency."""
        kinds = list(dict.fromkeys(r["kind"] for r in records))
        gold_by_kind = {k: {r["id"]: r["gold"] for r in records if r["kind"] == k} for k in kinds}
        gold_by_kind["all"] = {r["id"]: r["gold"] for r in records}
        metrics: Metrics = {}
        table: dict[str, dict[str, dict[str, float]]] = {}
        curves: dict[str, dict[str, list[float]]] = {}
        for mode in SHOWN:
            run = ranx_run(records, mode)
            table[mode] = {kind: score(run, gold) for kind, gold in gold_by_kind.items()}
            curves[mode] = {kind: recall_curve(run, gold) for kind, gold in gold_by_kind.items()}
            for kind, figures in table[mode].items():
                metrics.update({f"{mode}.{kind}.{m}": v for m, v in figures.items()})
        ms = [r["search_s"] * 1000 for r in records]
        metrics["hybrid.search_ms_p50"] = percentile(ms, 50)
        metrics["hybrid.search_ms_p95"] = percentile(ms, 95)
        counts = {kind: len(gold) for kind, gold in gold_by_kind.items()}
        return metrics, {"modes": list(SHOWN), "kinds": counts, "table": table, "recall_curves": curves,
                         "curve_k": list(CURVE_K)}


class QARecordPlus(QARecord):
    """A QA record with what the citation and cost figures need."""

    cited: list[str]  # titles of the cited papers
    citation_precision: float | None  # cited gold / cited (fact questions with citations)
    citation_recall: float | None  # gold cited / gold (fact questions; a refusal cites nothing)
    prompt_tokens: int
    cost_usd: float | None


class QASuite(Suite[QACase]):
    """Fact accuracy, citation precision/recall, abstention both ways (and on near-miss topics), survey and
    compare coverage (refused, gold recall/precision, contribution bullets), removed citations, latency, cost."""

    name = "qa"
    case_model = QACase
    files = ("qa.jsonl", "qa_dev.jsonl")

    def check(self, cases: Sequence[QACase]) -> None:
        """Every gold title must be a paper of this library."""
        check_titles(self.ws, {c.id: c.gold for c in cases})

    def warm_up(self, cases: Sequence[QACase]) -> dict[str, Any]:
        """Load the model and fill caches with one (unrecorded) answerable question."""
        self.answerer = self.ws.answerer(self.llm)
        t = time.perf_counter()
        self.answerer.ask(next((c for c in cases if c.kind == "fact"), cases[0]).query)
        return {"warm_up_s": round(time.perf_counter() - t, 3)}

    def run_case(self, case: QACase) -> dict[str, Any]:
        """Ask the question once."""
        answer = self.answerer.ask(case.query)
        base = record(answer, case, self.ws.settings.answer.survey_cap)
        cited = [c.title for c in answer.citations]
        gold = set(case.gold)
        fact = case.kind == "fact"
        hits = sum(1 for t in cited if t in gold)
        return QARecordPlus(
            **base.model_dump(), cited=cited,
            citation_precision=round(hits / len(cited), 4) if fact and cited else None,
            citation_recall=round(len(gold & set(cited)) / len(gold), 4) if fact and gold else None,
            prompt_tokens=answer.usage.prompt_tokens, cost_usd=answer.usage.cost_usd,
        ).model_dump()

    def summarise(self, records: Sequence[dict[str, Any]]) -> tuple[Metrics, dict[str, Any]]:
        """The QA summary plus citation precision/recall, tokens and cost."""
        recs = [QARecordPlus.model_validate(r) for r in records]
        s = summarise(recs, self.backend.label, self.ws.settings.answer.min_strength)
        costs = [r.cost_usd for r in recs if r.cost_usd is not None]
        metrics: Metrics = {
            "questions": len(recs), "fact_accuracy": s.fact_accuracy, "gold_cited": s.gold_cited,
            "citation_precision": mean([r.citation_precision for r in recs if r.citation_precision is not None]),
            "citation_recall": mean([r.citation_recall for r in recs if r.citation_recall is not None]),
            "abstention_unanswerable": s.abstention_unanswerable, "abstention_answerable": s.abstention_answerable,
            "abstention_near_miss": s.abstention_near_miss if s.n_near_miss else None,
            "removed_citations": s.removed_citations, "outside_citations": s.outside_citations,
            "sentences_supported": s.sentences_supported,
            "total_s_p50": s.total_s_p50, "total_s_p95": s.total_s_p95,
            "first_token_s_p50": s.first_token_s_p50, "first_token_s_p95": s.first_token_s_p95,
            "prompt_tokens": sum(r.prompt_tokens for r in recs),
            "completion_tokens": sum(r.completion_tokens for r in recs),
            "cost_usd": round(sum(costs), 6) if costs else None,
        }
        for kind, figures in s.sets.items():
            metrics.update({f"{kind}.{name}": value for name, value in figures.items()})
        return metrics, {"backend": s.backend, "n_fact": s.n_fact, "n_unanswerable": s.n_unanswerable,
                         "modes": s.modes, "threshold": s.threshold, "sweep": s.sweep,
                         "n_near_miss": s.n_near_miss, "sets": s.sets,
                         "latency_s": [r.total_s for r in recs], "refused": [r.refused for r in recs]}


def suite_names() -> tuple[str, ...]:
    """Every suite, in the order `--suite all` runs them."""
    return ("retrieval", "qa", "compare", "related", "support", "writing")


def suite_class(name: str) -> type[Suite[Any]]:
    """The suite class of that name (one of suite_names())."""
    from assistant.evaluation.generators import CompareSuite, RelatedSuite
    from assistant.evaluation.support import SupportSuite
    from assistant.evaluation.writing import WritingSuite

    classes: dict[str, type[Suite[Any]]] = {
        "retrieval": RetrievalSuite, "qa": QASuite, "compare": CompareSuite, "related": RelatedSuite,
        "support": SupportSuite, "writing": WritingSuite,
    }
    return classes[name]


def make_suite(name: str, ws: Workspace, llm: LLMSettings | None = None) -> Suite[Any]:
    """The suite of that name over this workspace."""
    return suite_class(name)(ws, llm)
