"""Provider "openai-compatible" against a real llama.cpp server (`python -m llama_cpp.server`) serving the
bundled SmolLM2-135M GGUF on 127.0.0.1: streaming, usage, citations and the CLI's JSON, end to end; and
the model verifier's (answer.verify = "model") JSON round trip.

The server reads the prompt at ~190 tokens/s on two idle cores, so a five-abstract prompt costs ~10 s
before the first token; -k 3 and a 96-token cap keep each answer to roughly 10 s.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from servers import free_port, stop

from assistant.citations import cited_in
from assistant.cli import main
from assistant.embeddings import NamedEmbeddings
from assistant.evidence import TermWeights
from assistant.lexical import BM25Index
from assistant.llm.backends import make_backend
from assistant.offline import smollm_gguf
from assistant.settings import AnswerSettings, LLMSettings
from assistant.support import SupportChecker
from assistant.support_model import Verification, verify_with_model
from assistant.text import split_sentences
from assistant.types import Paper, SentenceCheck, Source
from assistant.workspace import Workspace

pytestmark = [pytest.mark.server, pytest.mark.llm]
STARTUP_LIMIT_S = 90.0
QA_DEV = Path(__file__).resolve().parents[1] / "evals" / "qa_dev.jsonl"
MAX_TOKENS = 96
VERIFY_TOKENS = 64  # two verdicts take ~30 tokens; the JSON grammar makes each token slower (~0.1-0.7 s)
JSON_KEYS = {"question", "answer", "citations", "refused", "contexts", "timings", "usage"}


@dataclass(frozen=True)
class LlamaServer:
    url: str  # the OpenAI-compatible base URL, ending in /v1
    model_id: str  # what the server's /v1/models lists
    log: Path


def listed_models(url: str) -> list[str] | None:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=2) as resp:
            return [m["id"] for m in json.load(resp)["data"]]
    except (OSError, ValueError, KeyError):
        return None


def eval_item(qid: str) -> dict[str, Any]:
    items = [json.loads(line) for line in QA_DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    return next(item for item in items if item["id"] == qid)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    missing = [m for m in ("fastapi", "uvicorn", "sse_starlette", "pydantic_settings")
               if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"llama-cpp-python's server extra is not installed (missing {', '.join(missing)})")
    gguf = smollm_gguf()
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "4096", "--n_threads", "2"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while (models := listed_models(url)) is None:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not answer within {STARTUP_LIMIT_S:.0f} s:\n"
                            f"{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        assert models, "the server lists no model"
        yield LlamaServer(url=url, model_id=models[0], log=log_path)
    finally:
        stop(proc)
        log.close()


def test_openai_compatible_server_streams_a_cited_answer(sample_ws: Workspace, llama_server: LlamaServer) -> None:
    item = eval_item("f021")
    # no model named: the factory asks the server's /models; max_tokens must reach the server as a cap
    llm = LLMSettings(provider="openai-compatible", base_url=llama_server.url, max_tokens=MAX_TOKENS)
    backend = sample_ws.backend(llm)
    assert (backend.provider, backend.model_name) == ("openai-compatible", llama_server.model_id)

    tokens: list[str] = []
    stamps: list[float] = []

    def sink(piece: str) -> None:
        tokens.append(piece)
        stamps.append(time.perf_counter())

    answer = sample_ws.ask(item["query"], k=3, llm=llm, on_token=sink)

    assert not answer.refused and answer.mode in ("generated", "fallback"), answer
    assert (answer.backend, answer.model) == ("openai-compatible", llama_server.model_id)
    assert len(tokens) > 1 and "".join(tokens).strip()  # streamed piece by piece, not in one block
    assert len(tokens) <= MAX_TOKENS  # each piece is at least one token
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    assert answer.usage.cost_usd is None  # no price for a self-hosted model
    assert answer.citations
    by_n = {s.n: s.paper_id for s in answer.contexts}
    assert len(by_n) <= 3
    for c in answer.citations:
        assert by_n.get(c.n) == c.paper_id, (c, by_n)
    assert set(cited_in(answer.answer)) <= by_n.keys()  # an invented citation is removed (and counted)
    assert answer.sentences and all(s.supported for s in answer.sentences)
    if answer.mode == "fallback":  # the model's draft is kept with the verdicts that sank it
        assert answer.draft is not None and answer.draft_sentences
        assert any(g in answer.answer for g in item["answers"])
    t = answer.timings
    assert t.first_token_s is not None and 0 < t.first_token_s <= t.total_s
    assert 0 < t.generation_s <= t.total_s

    stream_s = stamps[-1] - stamps[0]
    rate = (len(tokens) - 1) / stream_s if stream_s > 0 else float("nan")
    print(f"\nllama.cpp server: mode={answer.mode} first token {t.first_token_s:.2f} s, generation "
          f"{t.generation_s:.2f} s, {len(tokens)} streamed pieces at {rate:.1f}/s, usage "
          f"{answer.usage.prompt_tokens}+{answer.usage.completion_tokens} tokens")


def test_cli_ask_json_through_the_server(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                         sample_ws: Workspace, llama_server: LlamaServer) -> None:
    item = eval_item("f011")
    monkeypatch.setenv("LITREVIEW_LLM__MAX_TOKENS", str(MAX_TOKENS))
    code = main(["ask", "--llm", "openai-compatible", "--base-url", llama_server.url, "--json", "-k", "3",
                 item["query"]])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    data = json.loads(captured.out)
    assert set(data) >= JSON_KEYS, sorted(data)
    assert data["question"] == item["query"] and data["refused"] is False and data["answer"]
    assert (data["backend"], data["model"]) == ("openai-compatible", llama_server.model_id)
    assert data["mode"] in ("generated", "fallback")
    context_ids = {s["n"]: s["paper_id"] for s in data["contexts"]}
    assert data["citations"] and all(context_ids.get(c["n"]) == c["paper_id"] for c in data["citations"])
    assert data["usage"]["prompt_tokens"] > 0 and 0 < data["usage"]["completion_tokens"] <= 2 * MAX_TOKENS
    assert data["timings"]["first_token_s"] is not None and data["timings"]["total_s"] > 0


def _rules(papers: list[Paper], embedder: NamedEmbeddings) -> tuple[list[SentenceCheck], list[Source]]:
    """Three sentences through the rules: a quote [1] and a paraphrase [2] pass, a negated quote [1] fails."""
    a, b = papers[2], papers[3]  # "Meta-training with Demonstration Retrieval…", "General-Purpose In-Context…"
    sources = [Source(n=n, paper_id=p.paper_id, title=p.title, text=" ".join(split_sentences(p.abstract)[:2]))
               for n, p in ((1, a), (2, b))]
    text = ("Large language models show impressive results on few-shot NLP tasks [1]. "
            "Meta-learning aims to learn parts of the learning pipeline with less manual effort [2]. "
            "Large language models do not show impressive results on few-shot NLP tasks [1].")
    checks = SupportChecker(embedder, TermWeights(BM25Index(papers)), AnswerSettings()).check(text, sources)
    assert [(c.supported, c.check) for c in checks] == [(True, ""), (True, ""), (False, "polarity")]
    return checks, sources


def _nothing_passes_unjudged(run: Verification, checks: list[SentenceCheck]) -> None:
    """Each sentence the rules passed is kept only on a verdict saying so; every other one names why not."""
    rejected_by_rules = checks[2]
    assert (rejected_by_rules.supported, rejected_by_rules.check) == (False, "polarity")  # never re-judged
    said = {v.n: v.supported for v in run.verdicts or []}
    for n, c in enumerate(checks[:2], start=1):
        if c.supported:
            assert said.get(n) is True, (c, run.reply)
        else:
            assert c.check == "model" and c.reason.startswith("model verifier: "), c


def test_the_model_verifier_round_trip_through_the_server(
    llama_server: LlamaServer, small_papers: list[Paper], embedder: NamedEmbeddings,
) -> None:
    checks, sources = _rules(small_papers, embedder)
    llm = LLMSettings(provider="openai-compatible", base_url=llama_server.url, max_tokens=VERIFY_TOKENS)
    run = verify_with_model(make_backend(llm), checks, sources)
    print(f"\nverifier reply: {run.reply!r}")
    assert run.error is None, run.error
    assert run.usage.prompt_tokens > 0 and run.usage.completion_tokens > 0 and run.usage.cost_usd is None
    # the schema sent with json_object becomes the server's grammar: JSON with one verdict per sentence
    assert json.loads(run.reply) and run.verdicts is not None and sorted(v.n for v in run.verdicts) == [1, 2]
    for v in run.verdicts:  # each verdict reached its sentence's check, whatever the tiny model judged
        c = checks[v.n - 1]
        assert c.supported == v.supported and c.check == ("" if v.supported else "model"), (v, c)
    _nothing_passes_unjudged(run, checks)


def test_a_verifier_reply_cut_short_by_the_server_withdraws_the_sentences(
    llama_server: LlamaServer, small_papers: list[Paper], embedder: NamedEmbeddings,
) -> None:
    checks, sources = _rules(small_papers, embedder)
    llm = LLMSettings(provider="openai-compatible", base_url=llama_server.url, max_tokens=4)
    run = verify_with_model(make_backend(llm), checks, sources)
    assert run.error == ("the openai-compatible back-end's reply was cut at llm.max_tokens = 4 before its JSON "
                         "ended (raise llm.max_tokens)")
    assert [(c.supported, c.check) for c in checks] == [(False, "model"), (False, "model"), (False, "polarity")]
    assert checks[0].why == f"model verifier: the verifier's call failed ({run.error})"
    _nothing_passes_unjudged(run, checks)
