"""One phase of the scale benchmark, run in its own process by benchmarks/scale.py.

Run: .venv/bin/python benchmarks/scale_phases.py PHASE --home DIR [options]
Phases: ingest, build-standin, search, answer. Each prints one JSON object as its last line,
with the process's own peak RSS. LITREVIEW_HOME is set from --home before the project is imported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """fn's result and its wall time in seconds."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def summary_ms(values: list[float]) -> dict[str, float]:
    """p50 / p95 / mean / max of millisecond timings."""
    return {"p50": round(statistics.median(values), 2), "p95": round(percentile(values, 95), 2),
            "mean": round(statistics.fmean(values), 2), "max": round(max(values), 2), "n": len(values)}


def timed_cpu(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """fn's result, its wall time and the CPU time of the whole process (all threads) meanwhile."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    """`Workspace.ingest` (what `litreview ingest` runs), then the raw MiniLM encode of the very same chunk
    texts in the same process, right after: the two are measured under the same load.

    With --rounds N the pair is repeated into fresh libraries (the first one is kept at --home) and the
    fastest of each is compared as well: on a shared machine the minimum is the least disturbed figure.
    """
    from assistant.chunking import chunk_paper
    from assistant.embeddings import get_embedder
    from assistant.ingest import sample_dir
    from assistant.settings import Settings
    from assistant.workspace import Workspace

    embedder, load_s = timed(lambda: get_embedder(Settings().embedding))
    embedder.embed_documents(["warm-up: the first forward pass allocates"])
    targets = [sample_dir()] if args.sample else sorted(Path(args.corpus).glob("part-*.jsonl"))[: args.parts]
    spare = Path(tempfile.mkdtemp(prefix="rounds-", dir=Path(args.home).parent))
    rounds = []
    for r in range(args.rounds):
        ws = Workspace(Settings(home=Path(args.home) if r == 0 else spare / str(r)))
        report, ingest_s, ingest_cpu = timed_cpu(lambda ws=ws: ws.ingest(targets))
        rss_after_ingest = peak_rss_mb()  # before the raw encode holds its own copy of every vector
        papers = ws.papers()
        texts = [c.embedding_text() for p in papers for c in chunk_paper(p, ws.settings.chunking)]
        _, encode_s, encode_cpu = timed_cpu(lambda t=texts: embedder.embed_documents(t))
        rounds.append({"papers": len(papers), "new": report.new, "chunks": report.chunks_added,
                       "same_texts": len(texts), "failed_files": sum(f.status != "ok" for f in report.files),
                       "ingest_s": round(ingest_s, 2), "ingest_cpu_s": round(ingest_cpu, 2),
                       "raw_encode_s": round(encode_s, 2), "raw_encode_cpu_s": round(encode_cpu, 2),
                       "ratio": round(ingest_s / encode_s, 3), "load_avg": os.getloadavg()[0],
                       "peak_rss_after_ingest_mb": rss_after_ingest})
    shutil.rmtree(spare, ignore_errors=True)
    first = rounds[0]
    ingest_s = min(r["ingest_s"] for r in rounds)
    encode_s = min(r["raw_encode_s"] for r in rounds)
    ingest_cpu = min(r["ingest_cpu_s"] for r in rounds)
    encode_cpu = min(r["raw_encode_cpu_s"] for r in rounds)
    return {
        "papers": first["papers"], "new": first["new"], "chunks": first["chunks"], "same_texts": first["same_texts"],
        "failed_files": first["failed_files"], "model_load_s": round(load_s, 2), "rounds": rounds,
        "peak_rss_after_first_ingest_mb": first["peak_rss_after_ingest_mb"],
        "ingest_s": ingest_s, "ingest_cpu_s": ingest_cpu, "raw_encode_s": encode_s, "raw_encode_cpu_s": encode_cpu,
        "ingest_over_raw_encode": round(ingest_s / encode_s, 3),
        "ingest_over_raw_encode_cpu": round(ingest_cpu / encode_cpu, 3),
        "non_encode_s": round(ingest_s - encode_s, 2),
        "raw_encode_chunks_per_s": round(first["same_texts"] / encode_s, 2),
        "raw_encode_chunks_per_cpu_s": round(first["same_texts"] / encode_cpu, 2),
    }


def build_standin(args: argparse.Namespace) -> dict[str, Any]:
    """Build the library through the project's ingest path, with the sentence-mean stand-in encoder."""
    sys.path.insert(0, str(Path(__file__).parent))
    from synthetic import SentenceMeanEmbeddings, sample_papers, sentence_pool

    from assistant.embeddings import get_embedder
    from assistant.ingest import ingest_paths
    from assistant.store import Library
    from assistant.workspace import Workspace

    ws = Workspace()
    real = get_embedder(ws.settings.embedding)
    sample = sample_papers()
    standin = SentenceMeanEmbeddings(real, sentence_pool(sample), [p.title for p in sample])
    files = sorted(Path(args.corpus).glob("part-*.jsonl"))[: args.parts]
    timeline: list[tuple[float, str, int]] = []
    started = time.perf_counter()
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter() - started
        if now - last[0] >= 30 or done == total:
            last[0] = now
            timeline.append((round(now, 1), stage, done))
            print(f"{now:8.1f}s {stage} {done}/{total} (stand-in {standin.seconds:.0f}s)", file=sys.stderr,
                  flush=True)

    library, open_s = timed(lambda: Library(ws.settings))
    report, ingest_s, ingest_cpu = timed_cpu(lambda: ingest_paths(files, library, standin, ws.settings, progress))
    total_s = time.perf_counter() - started
    non_encode_s = ingest_s - standin.seconds
    return {
        "files": len(files), "papers": library.count(), "new": report.new, "chunks": report.chunks_added,
        "failed_files": sum(f.status == "failed" for f in report.files),
        "ingest_s": round(ingest_s, 2), "ingest_cpu_s": round(ingest_cpu, 2),
        "standin_encode_s": round(standin.seconds, 2), "standin_encode_cpu_s": round(standin.cpu_seconds, 2),
        "non_encode_s": round(non_encode_s, 2), "non_encode_cpu_s": round(ingest_cpu - standin.cpu_seconds, 2),
        "non_encode_chunks_per_s": round(report.chunks_added / non_encode_s, 1),
        "non_encode_papers_per_s": round(report.new / non_encode_s, 1),
        "standin_table_encode_s": round(standin.table_s, 2), "standin_table_size": standin.table_size,
        "standin_pieces": standin.pieces, "standin_unknown_pieces": standin.unknown,
        "standin_unknown_encode_s": round(standin.unknown_s, 2),
        "library_open_s": round(open_s, 3), "wall_s": round(total_s, 2), "timeline": timeline,
        "load_avg_after": os.getloadavg(),
    }


def hnsw_files(home: Path) -> dict[str, int]:
    """Sizes of Chroma's HNSW index files under the library (proof that HNSW, not brute force, serves)."""
    found: dict[str, int] = {}
    for path in (home / "library" / "chroma").rglob("*.bin"):
        key = f"{path.parent.name[:8]}/{path.name}"
        found[key] = path.stat().st_size
    return found


def search(args: argparse.Namespace) -> dict[str, Any]:
    """Open, cold first search, then warm hybrid k=10 searches beside the raw encode and Chroma query."""
    from assistant.evaluation.datasets import RetrievalCase, load_jsonl
    from assistant.lexical import BM25Index
    from assistant.workspace import Workspace

    cases = load_jsonl(ROOT / "evals" / "retrieval_dev.jsonl", RetrievalCase)
    cache = Path(args.home) / "cache" / "bm25"
    if args.drop_cache:
        shutil.rmtree(cache, ignore_errors=True)
    cached = any(cache.glob("*/*/lexicon.json"))
    t_start = time.perf_counter()
    ws = Workspace()
    library, open_s = timed(lambda: ws.library)
    papers_n, count_s = timed(library.count)
    memory, load_s = timed(lambda: ws.embedder)
    embedder = memory.inner  # the model itself: the raw floor never reads the process's vector memory
    _, first_s = timed(lambda: ws.search(cases[0].query, k=10))
    process_to_first_result_s = time.perf_counter() - t_start
    rss_first_search = peak_rss_mb()  # before this benchmark reads every paper again to time the parts
    _, second_s = timed(lambda: ws.search(cases[1].query, k=10))
    head = {
        "papers": papers_n, "bm25_cache_at_start": cached, "library_open_s": round(open_s, 3),
        "first_count_s": round(count_s, 3), "model_load_s": round(load_s, 2), "first_search_s": round(first_s, 2),
        "second_search_s": round(second_s, 3), "process_to_first_result_s": round(process_to_first_result_s, 2),
        "peak_rss_after_first_search_mb": rss_first_search,
    }
    if args.repeats == 0:
        return head
    parts: dict[str, float] = {}
    if not args.skip_parts:
        # what the cold first search spent: reading every paper a page at a time and building BM25 (warm);
        # list_papers (every whole record at once) is timed beside it
        _, list_s = timed(library.list_papers)
        index, index_s = timed(lambda: BM25Index.build(library.lexical_pages()))
        scratch = Path(tempfile.mkdtemp(prefix="bm25-", dir=args.home)) / "ix"
        _, save_s = timed(lambda: index.save(scratch, "bench"))
        _, load_index_s = timed(lambda: BM25Index.load(scratch, "bench"))
        shutil.rmtree(scratch.parent)
        del index
        parts = {"list_papers_s": round(list_s, 2), "bm25_index_build_s": round(index_s, 2),
                 "bm25_index_save_s": round(save_s, 2), "bm25_index_load_s": round(load_index_s, 3)}
    _, fp_s = timed(library.fingerprint)
    _, gen_s = timed(getattr(library, "generation", library.fingerprint))  # older code: no generation()

    n_dense = 3 * max(10, ws.settings.retrieval.candidates)
    search_ms: list[float] = []
    remembered_ms: list[float] = []  # the same search again, its query vector remembered: no encode at all
    encode_ms: list[float] = []
    chroma_ms: list[float] = []
    ids_ms: list[float] = []  # the chunk query as a search now asks it: ids and distances, no records read
    bm25_ms: list[float] = []
    by_kind: dict[str, list[float]] = {}
    hits = 0
    bm25 = ws.retriever.bm25()
    for rep in range(args.repeats):
        for case in cases:
            memory.forget([case.query])  # each timed search encodes its query, as a new query does
            found, s = timed(lambda q=case.query: ws.search(q, k=10))
            _, r = timed(lambda q=case.query: ws.search(q, k=10))
            remembered_ms.append(r * 1000)
            _, b = timed(lambda q=case.query: bm25.search(q, ws.settings.retrieval.candidates))
            qv, e = timed(lambda q=case.query: embedder.embed_query(q))
            # the floor, unchanged since issue 16 began: the 150-chunk query with the chunks' texts and metadata
            _, c = timed(lambda v=qv: library.query_chunks(v, n_dense))
            if hasattr(library, "nearest_chunks"):  # older code: no ids-only query
                _, i = timed(lambda v=qv: library.nearest_chunks(v, n_dense))
                ids_ms.append(i * 1000)
            search_ms.append(s * 1000)
            encode_ms.append(e * 1000)
            chroma_ms.append(c * 1000)
            bm25_ms.append(b * 1000)
            by_kind.setdefault(case.kind, []).append(s * 1000)
            if rep == 0:
                gold = {g.casefold() for g in case.gold}
                hits += any(h.title.casefold() in gold for h in found)
    raw_sum = [e + c for e, c in zip(encode_ms, chroma_ms, strict=True)]
    return {
        **head, "chunks": library.stats().chunks, **parts,
        "fingerprint_ms": round(fp_s * 1000, 2), "generation_ms": round(gen_s * 1000, 2),
        "search_ms": summary_ms(search_ms), "search_ms_by_kind": {k: summary_ms(v) for k, v in by_kind.items()},
        "raw_query_encode_ms": summary_ms(encode_ms), "raw_chroma_query_ms": summary_ms(chroma_ms),
        "raw_bm25_query_ms": summary_ms(bm25_ms),
        **({"raw_chroma_ids_only_query_ms": summary_ms(ids_ms)} if ids_ms else {}),
        "raw_encode_plus_chroma_ms": summary_ms(raw_sum),
        "search_p95_over_raw_p95": round(percentile(search_ms, 95) / percentile(raw_sum, 95), 2),
        # our own time without the encode's noise: a search whose query vector is remembered beside the raw
        # Chroma query it makes (the floor without the encode)
        "search_remembered_vector_ms": summary_ms(remembered_ms),
        "search_remembered_p95_over_raw_chroma_p95":
            round(percentile(remembered_ms, 95) / percentile(chroma_ms, 95), 2),
        "search_remembered_p50_over_raw_chroma_p50":
            round(statistics.median(remembered_ms) / statistics.median(chroma_ms), 2),
        "dense_candidates": n_dense, "gold_in_top10": round(hits / len(cases), 3), "queries": len(cases),
        "repeats": args.repeats, "hnsw_files": hnsw_files(Path(args.home)),
    }


def answer(args: argparse.Namespace) -> dict[str, Any]:
    """Local-model answers on the sample library, warm: first token and total, with the model's own share."""
    from assistant.evaluation.datasets import QACase, load_jsonl
    from assistant.settings import load_settings
    from assistant.workspace import Workspace

    cases = [c for c in load_jsonl(ROOT / "evals" / "qa_dev.jsonl", QACase) if c.kind == "fact"][: args.questions + 1]
    ws = Workspace(load_settings(llm={"provider": "local"}))
    _, warm_s = timed(lambda: ws.ask(cases[0].query))  # loads MiniLM and SmolLM2, fills caches
    records = []
    for case in cases[1:]:
        ans = ws.ask(case.query)
        t = ans.timings
        records.append({
            "id": case.id, "mode": ans.mode, "first_token_s": t.first_token_s, "total_s": round(t.total_s, 3),
            "retrieval_s": round(t.retrieval_s, 3), "generation_s": round(t.generation_s, 3),
            "prompt_tokens": ans.usage.prompt_tokens, "completion_tokens": ans.usage.completion_tokens,
        })
    gen = [r for r in records if r["first_token_s"] is not None]
    first = [float(r["first_token_s"]) for r in gen]
    total = [float(r["total_s"]) for r in records]
    # the model's own time: from the end of retrieval to its first token (prompt read; packing the
    # sources is a few ms of it), and the whole stream (prompt read + writing)
    model_first = [float(r["first_token_s"]) - float(r["retrieval_s"]) for r in gen]
    model_total = [float(r["generation_s"]) for r in gen]

    def s(values: list[float]) -> dict[str, float]:
        return {k: round(v / 1000, 3) if k != "n" else v for k, v in summary_ms([x * 1000 for x in values]).items()}

    return {
        "questions": len(records), "generated": len(gen), "warm_up_s": round(warm_s, 2),
        "first_token_s": s(first), "total_s": s(total),
        "model_first_token_s": s(model_first), "model_prompt_and_generation_s": s(model_total),
        "retrieval_s": s([float(r["retrieval_s"]) for r in records]),
        "modes": {m: sum(r["mode"] == m for r in records) for m in {str(r["mode"]) for r in records}},
        "records": records,
    }


PHASES: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "ingest": ingest, "build-standin": build_standin, "search": search, "answer": answer,
}


def main() -> None:
    """Run one phase and print its JSON result as the last line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=sorted(PHASES))
    parser.add_argument("--home", required=True)
    parser.add_argument("--corpus", default=None)
    parser.add_argument("--sample", action="store_true", help="ingest: the bundled sample instead of --corpus")
    parser.add_argument("--parts", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1, help="ingest: repeat ingest + raw encode into fresh libraries")
    parser.add_argument("--drop-cache", action="store_true", help="search: delete the saved BM25 index first")
    parser.add_argument("--skip-parts", action="store_true",
                        help="search: do not time list_papers / the BM25 build / save / load again (minutes at 100k)")
    args = parser.parse_args()
    os.environ["LITREVIEW_HOME"] = args.home
    result = PHASES[args.phase](args)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
