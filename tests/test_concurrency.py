"""Many sessions at once on one workspace (as the app shares one per process): threads, real store and MiniLM.

The load figures (throughput, p95) are printed here and written down in docs/reliability.md from
benchmarks/load.py; this test only asserts that nothing fails and that answers under load equal the
answers given one at a time.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fakes import FakeChatModel, fake_backend, quote

from assistant.chain import Answerer
from assistant.evaluation.datasets import RetrievalCase, load_jsonl
from assistant.settings import LLMSettings
from assistant.workspace import Workspace

QUERIES = [c.query for c in load_jsonl(Path(__file__).resolve().parents[1] / "evals" / "retrieval_dev.jsonl",
                                       RetrievalCase)]
CYBENCH_Q = "How many professional-level Capture the Flag tasks does Cybench include?"

pytestmark = pytest.mark.slow  # a load suite (many sessions at once): out of the quick subset, run by make test and CI


def test_200_searches_from_8_threads_match_the_serial_results(sample_ws: Workspace) -> None:
    some = QUERIES[::4]  # every kind of the dev set; each query searched about 8 times at once
    queries = [some[i % len(some)] for i in range(200)]
    serial = {q: [h.paper_id for h in sample_ws.search(q, k=10)] for q in set(queries)}

    def one(q: str) -> tuple[str, list[str], float]:
        t0 = time.perf_counter()
        hits = sample_ws.search(q, k=10)
        return q, [h.paper_id for h in hits], time.perf_counter() - t0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, queries))
    wall = time.perf_counter() - t0
    assert len(results) == 200
    for q, ids, _ in results:
        assert ids == serial[q], q
    lat = sorted(s for _, _, s in results)
    print(f"\n200 searches, 8 threads: {200 / wall:.1f}/s, p95 {lat[189] * 1000:.0f} ms")


def test_20_concurrent_answers_with_a_fake_model_all_succeed(sample_ws: Workspace) -> None:
    model = FakeChatModel(chunk_chars=3).enqueue(*[quote(1, "40 professional-level") for _ in range(20)])
    answerer = Answerer(sample_ws.retriever, sample_ws.embedder, sample_ws.picker, fake_backend(model),
                        sample_ws.settings)

    def one(_: int) -> tuple[str, list[str], str, float]:
        tokens: list[str] = []
        t0 = time.perf_counter()
        ans = answerer.ask(CYBENCH_Q, on_token=tokens.append)
        return ans.answer, [c.title for c in ans.citations], "".join(tokens), time.perf_counter() - t0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(20)))
    wall = time.perf_counter() - t0
    lat = sorted(r[3] for r in results)
    print(f"\n20 concurrent answers (fake model): {20 / wall:.2f}/s, p95 {lat[18]:.2f} s")
    assert len(model.calls) == 20
    answers = {r[0] for r in results}
    assert len(answers) == 1 and "40 professional-level" in answers.pop()
    for answer, titles, streamed, _ in results:
        assert titles and all("Cybench" in t for t in titles)
        assert streamed == answer  # each session got its own tokens, none of another's


@pytest.mark.llm
def test_four_sessions_share_the_one_local_model(sample_ws: Workspace) -> None:
    llm = LLMSettings(provider="local")
    backend = sample_ws.backend(llm)
    questions = [CYBENCH_Q, "What does the Inverse Scaling paper find about bigger models?",
                 CYBENCH_Q, "Which benchmark does SWE-Gym train agents on?"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda q: sample_ws.ask(q, llm=llm), questions))
    assert sample_ws.backend(llm) is backend  # one model for every session
    for q, ans in zip(questions, answers, strict=True):
        assert ans.backend == "local" and (ans.refused or ans.citations), q
        cited = {c.paper_id for c in ans.citations}
        assert cited <= {s.paper_id for s in ans.contexts}
    assert answers[0].answer == answers[2].answer  # the same question gets the same answer under load
