"""Provider "openai-compatible" against a real llama.cpp server (`python -m llama_cpp.server`) serving the
bundled SmolLM2-135M GGUF on 127.0.0.1: streaming, usage, citations and the CLI's JSON, end to end.

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
from assistant.offline import smollm_gguf
from assistant.settings import LLMSettings
from assistant.workspace import Workspace

pytestmark = [pytest.mark.server, pytest.mark.llm]
STARTUP_LIMIT_S = 90.0
QA_DEV = Path(__file__).resolve().parents[1] / "evals" / "qa_dev.jsonl"
MAX_TOKENS = 96
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
