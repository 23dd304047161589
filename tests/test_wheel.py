"""The wheel is the product: build it, install it into a fresh virtualenv outside the checkout, and use it.

The install reads only local wheels: the llama-cpp-python wheel set-up built (~/.cache/litreview/wheels)
and a wheel cache (~/.cache/litreview/wheelhouse, LITREVIEW_WHEELHOUSE) that `pip download` fills from
the package index the first time a wheel is missing from it (what set-up itself reaches), pinned by
requirements.lock. Then `ingest --sample`, `search`, `ask --llm openai-compatible` against a real llama.cpp
server on 127.0.0.1, `doctor` and `ui` (until /_stcore/health answers) run from that virtualenv, with
the checkout off the path. Run it with `LITREVIEW_WHEEL_TEST=1 pytest -s tests/test_wheel.py` (-s shows each
step's time).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from servers import app_healthy, free_port, stop
from test_llm_server import LlamaServer, llama_server  # noqa: F401  (the real server fixture)

# Far over the ~3 minutes a default CI test may take (a first run also fills a ~740 MB wheel cache): on demand.
pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.llm,
              pytest.mark.skipif(os.environ.get("LITREVIEW_WHEEL_TEST") != "1",
                                 reason="builds and installs the wheel (many minutes): set LITREVIEW_WHEEL_TEST=1")]

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
WHEELS = Path(os.environ.get("LITREVIEW_WHEEL_CACHE") or Path.home() / ".cache" / "litreview" / "wheels")
WHEELHOUSE = Path(os.environ.get("LITREVIEW_WHEELHOUSE") or Path.home() / ".cache" / "litreview" / "wheelhouse")
UI_LIMIT_S = 90.0


@dataclass
class Installed:
    """A virtualenv holding litreview installed from its wheel, and the environment to run it in."""

    bin: Path
    env: dict[str, str]
    cwd: Path
    times: dict[str, float]

    def run(self, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        start = time.monotonic()
        done = subprocess.run([str(self.bin / "litreview"), *argv], env=self.env, cwd=self.cwd, text=True,
                              capture_output=True, timeout=timeout, check=False)
        self.times[" ".join(a[:40] for a in argv[:3])] = round(time.monotonic() - start, 1)  # both doctors apart
        return done


def outside_env() -> dict[str, str]:
    """This environment without the checkout on PYTHONPATH and without litreview's settings.

    With the checkout on the path, pip finds its litreview.egg-info, takes litreview as installed and
    installs only the dependencies.
    """
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("LITREVIEW_")}


def pip(python: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args], text=True,
                          capture_output=True, timeout=1800, check=False, env=outside_env())


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    """A folder of this run's own, outside pytest's basetemp: a pytest session started meanwhile (the test
    takes many minutes) deletes all but the three newest basetemps, the virtualenv with them."""
    path = Path(tempfile.mkdtemp(prefix="litreview-wheel-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def wheel(scratch: Path) -> Path:
    dist = scratch / "dist"
    done = pip(sys.executable, "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT))
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = dist.glob("litreview-*.whl")
    return built


def test_the_wheel_carries_prompts_app_config_and_sample(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    prompts = sorted(p.name for p in (ROOT / "prompts").glob("*.toml"))
    assert prompts and all(f"assistant/prompt_files/{name}" in names for name in prompts)
    assert "assistant/app/streamlit.toml" in names and "assistant/app/main.py" in names
    sample = list((ROOT / "assistant" / "data" / "sample").glob("*.txt"))
    assert sum(n.startswith("assistant/data/sample/") for n in names) == len(sample) > 0


@pytest.fixture(scope="module")
def installed(wheel: Path, scratch: Path) -> Iterator[Installed]:
    work = scratch / "installed"
    work.mkdir()
    assert not work.resolve().is_relative_to(ROOT)
    times: dict[str, float] = {}
    start = time.monotonic()
    venv.EnvBuilder(with_pip=True).create(work / "venv")
    python = work / "venv" / "bin" / "python"
    times["venv"] = round(time.monotonic() - start, 1)
    spec = f"{wheel}[local]"
    local = ["--no-index", "--find-links", str(WHEELHOUSE), "--find-links", str(WHEELS), "-c", str(LOCK)]
    start = time.monotonic()
    done = pip(python, "install", *local, spec)
    if done.returncode != 0:  # the wheel cache lacks something: fetch it once, as set-up does
        WHEELHOUSE.mkdir(parents=True, exist_ok=True)
        got = pip(sys.executable, "download", "-q", "-d", str(WHEELHOUSE), "--find-links", str(WHEELS),
                  "-c", str(LOCK), spec)
        assert got.returncode == 0, got.stderr[-3000:]
        times["fill wheel cache"] = round(time.monotonic() - start, 1)
        start = time.monotonic()
        done = pip(python, "install", *local, spec)
    assert done.returncode == 0, done.stderr[-3000:]
    times["pip install (wheel cache)"] = round(time.monotonic() - start, 1)
    env = outside_env()
    env.update({"LITREVIEW_HOME": str(work / "home"), "LITREVIEW_LLM__MAX_TOKENS": "96"})
    where = subprocess.run([str(python), "-c", "import assistant; print(assistant.__file__)"], env=env, cwd=work,
                           text=True, capture_output=True, check=False)
    assert Path(where.stdout.strip()).is_relative_to(work / "venv"), where.stderr[-2000:] + done.stdout[-3000:]
    yield Installed(bin=python.parent, env=env, cwd=work, times=times)
    print("\nwheel test timings (s):", json.dumps(times))


def test_installed_wheel_ingests_searches_and_answers(installed: Installed,
                                                      llama_server: LlamaServer) -> None:  # noqa: F811
    done = installed.run("ingest", "--sample")
    assert done.returncode == 0, done.stderr
    assert "282 new" in done.stdout
    done = installed.run("search", "how can a small model learn to call external tools", "-k", "3", "--json")
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert len(hits) == 3 and all(h["title"] for h in hits)
    question = "How many professional-level Capture the Flag tasks does Cybench include?"
    done = installed.run("ask", question, "--llm", "openai-compatible", "--base-url", llama_server.url,
                         "-k", "3", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["mode"] in ("generated", "fallback", "extractive") and answer["backend"] == "openai-compatible"
    assert answer["citations"] and answer["usage"]["completion_tokens"] > 0  # the prompt file loaded, the model wrote
    done = installed.run("doctor", "--llm", "openai-compatible", "--base-url", llama_server.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "282 papers" in done.stdout and "model" in done.stdout
    done = installed.run("doctor", "--llm", "local")
    assert done.returncode == 0 and "SmolLM2-135M-Instruct" in done.stdout, done.stdout + done.stderr


def test_installed_wheel_serves_the_app(installed: Installed) -> None:
    port = free_port()
    start = time.monotonic()
    proc = subprocess.Popen([str(installed.bin / "litreview"), "ui", "--port", str(port)], env=installed.env,
                            cwd=installed.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not app_healthy(f"http://127.0.0.1:{port}"):
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() - start < UI_LIMIT_S, "the app did not answer /_stcore/health"
            time.sleep(0.3)
        installed.times["ui until healthy"] = round(time.monotonic() - start, 1)
    finally:
        stop(proc)
