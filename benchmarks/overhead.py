"""Benchmark: our own time around a model that answers instantly (a scripted OpenAI-compatible server).

Run: .venv/bin/python benchmarks/overhead.py [--home DIR] [--out docs/benchmarks-overhead.json]

A scripted server on 127.0.0.1 (its own process, so it takes no time from ours under the GIL) streams,
for every question, the first sentence of source [1] followed by " [1]." (a copy: the support check
passes it). The sample library's fact questions (evals/qa_dev.jsonl) are asked in one warm process
(one unrecorded warm-up question first) through `Workspace.ask`, with the time of each step read
around the project's own calls: retrieval (`Retriever.rank`), evidence ranking (`EvidencePicker.rank`)
and the support check (`SupportChecker.check`), beside the model's stream (the server's round trip,
measured alone as the raw floor). Pass 1 meets each paper's sentences for the first time; pass 2 asks
the same questions again, as a session that returns to the same papers does.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_SOURCE_ONE = re.compile(r"\[1\][^\n]*\n<<<\n(.*?)\n>>>", re.DOTALL)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def reply_for(prompt: str) -> str:
    """The scripted answer: source 1's first sentence, cited (or the refusal mark when there is no source)."""
    found = _SOURCE_ONE.search(prompt)
    if not found:
        return "NOT_IN_LIBRARY"
    first = _SENTENCE.split(found.group(1).strip())[0].rstrip(".!? ")
    return f"{first} [1]."


class Handler(BaseHTTPRequestHandler):
    """/v1/models and streamed /v1/chat/completions, answered at once."""

    def do_GET(self) -> None:
        self._json({"object": "list", "data": [{"id": "scripted", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        text = self.reply(prompt)
        words = re.findall(r"\S+\s*", text)
        base = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "scripted"}
        if not body.get("stream"):
            self._json({**base, "object": "chat.completion", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(words),
                          "total_tokens": len(prompt) // 4 + len(words)}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for w in words:
            self._event({**base, "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]})
        self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self._event({**base, "choices": [], "usage": {"prompt_tokens": len(prompt) // 4,
                                                       "completion_tokens": len(words),
                                                       "total_tokens": len(prompt) // 4 + len(words)}})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def reply(self, prompt: str) -> str:
        """What the server answers to a prompt (a subclass may play other answers)."""
        return reply_for(prompt)

    def _event(self, data: dict[str, Any]) -> None:
        self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())

    def _json(self, data: dict[str, Any]) -> None:
        raw = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


def serve() -> None:
    """Serve on a free port of 127.0.0.1 and print it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def start_server() -> tuple[subprocess.Popen[str], str]:
    """The scripted server in its own process, and its /v1 URL."""
    proc = subprocess.Popen([sys.executable, __file__, "serve"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/v1"


def round_trip_ms(url: str) -> float:
    """One streamed completion from the server alone (the raw floor of the model step)."""
    body = json.dumps({"model": "scripted", "stream": True, "messages": [
        {"role": "user", "content": "[1] T\n<<<\nA sentence. Another.\n>>>"}]}).encode()
    req = urllib.request.Request(f"{url}/chat/completions", data=body, headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req) as resp:
        resp.read()
    return (time.perf_counter() - t0) * 1000


class Clock:
    """Seconds spent inside wrapped callables, per step, since the last reset."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, obj: Any, name: str, step: str) -> None:
        inner: Callable[..., Any] = getattr(obj, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.spent[step] = self.spent.get(step, 0.0) + time.perf_counter() - t0

        setattr(obj, name, timed)


def stats(values: list[float]) -> dict[str, float]:
    """p50 / p95 / mean of milliseconds."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"p50": round(statistics.median(values), 1), "p95": round(p95, 1),
            "mean": round(statistics.fmean(values), 1), "n": len(values)}


def main() -> None:
    """Ask every fact question twice around the instant server; print and write the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", nargs="?", default="run", choices=["run", "serve"])
    parser.add_argument("--home", type=Path, default=None, help="a LITREVIEW_HOME holding the sample library")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--questions", type=int, default=20, help="fact questions timed (after one warm-up)")
    args = parser.parse_args()
    if args.mode == "serve":
        serve()
        return
    home = args.home or Path(tempfile.mkdtemp(prefix="lr-overhead-"))
    os.environ["LITREVIEW_HOME"] = str(home)
    from assistant import chain, evidence
    from assistant.evaluation.datasets import QACase, load_jsonl
    from assistant.settings import load_settings
    from assistant.workspace import Workspace

    proc, url = start_server()
    try:
        ws = Workspace(load_settings(llm={"provider": "openai-compatible", "base_url": url, "model": "scripted"}))
        if ws.library.count() == 0:
            ws.ingest_sample()
        cases = [c for c in load_jsonl(ROOT / "evals" / "qa_dev.jsonl", QACase) if c.kind == "fact"]
        cases = cases[: args.questions + 1]
        clock = Clock()
        clock.wrap(ws.retriever, "rank", "retrieval")
        clock.wrap(evidence.EvidencePicker, "rank", "evidence")
        clock.wrap(chain.SupportChecker, "check", "support")
        ws.ask(cases[0].query)  # loads MiniLM, the BM25 index and the back-end
        floor = [round_trip_ms(url) for _ in range(20)]
        passes: dict[str, Any] = {}
        for name in ("first_meeting", "again"):
            rows = []
            for case in cases[1:]:
                clock.spent = {}
                t0, c0 = time.perf_counter(), time.process_time()
                ans = ws.ask(case.query)
                wall = time.perf_counter() - t0
                cpu = time.process_time() - c0
                s = {k: v * 1000 for k, v in clock.spent.items()}
                model = ans.timings.generation_s * 1000
                rows.append({"id": case.id, "mode": ans.mode, "total_ms": wall * 1000, "cpu_ms": cpu * 1000,
                             "model_ms": model, "own_ms": wall * 1000 - model,
                             "retrieval_ms": s.get("retrieval", 0.0), "evidence_ms": s.get("evidence", 0.0),
                             "support_ms": s.get("support", 0.0),
                             "evidence_plus_support_ms": s.get("evidence", 0.0) + s.get("support", 0.0)})
            passes[name] = {
                **{key: stats([r[key] for r in rows]) for key in (
                    "total_ms", "own_ms", "retrieval_ms", "evidence_ms", "support_ms", "evidence_plus_support_ms",
                    "model_ms", "cpu_ms")},
                "modes": {m: sum(r["mode"] == m for r in rows) for m in sorted({r["mode"] for r in rows})},
            }
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    result = {"questions": len(cases) - 1, "server_round_trip_ms": stats(floor), "load_avg": os.getloadavg(),
              **passes}
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
