"""`litreview doctor`: what works and what does not on this machine, each problem with its fix."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.errors import LitReviewError, first_line
from assistant.settings import Settings
from assistant.workspace import Workspace

State = Literal["ok", "problem", "note"]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's, what tests/test_browser.py drives
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, its state, what was found and (for a problem) the fix."""

    name: str
    state: State
    detail: str
    fix: str = ""


def diagnose(ws: Workspace) -> list[Check]:
    """Every check, in the order shown; none raises (a failure becomes a problem line)."""
    checks: list[Check] = []
    for step in STEPS:
        try:
            checks.extend(step(ws))
        except Exception as exc:  # a check that breaks is itself a finding, never a traceback
            checks.append(Check(step.__name__.strip("_"), "problem", first_line(exc), "see the message"))
    return checks




def _python(ws: Workspace) -> Iterator[Check]:
    yield Check("python", "ok", f"{'.'.join(map(str, sys.version_info[:3]))} ({sys.executable})")  # 3.11+: it runs


def _embedding(ws: Workspace) -> Iterator[Check]:
    emb = ws.settings.embedding
    if emb.provider == "openai":
        yield _key_check("embedding", f"openai/{emb.openai_model}", ws.settings)
        return
    from assistant.offline import minilm_dir

    path = minilm_dir()
    needed = ("torch", "tokenizers", "safetensors", "scipy", "threadpoolctl")
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        yield Check("embedding", "problem", f"all-MiniLM-L6-v2 at {path}, but {', '.join(missing)} is missing",
                    f"pip install {' '.join(needed)}")
    else:
        yield Check("embedding", "ok", f"all-MiniLM-L6-v2 at {path}")


def _local_model(ws: Workspace) -> Iterator[Check]:
    """The bundled GGUF and llama-cpp-python: a problem only when the local back-end is configured."""
    from assistant.llm.backends import LOCAL_INSTALL
    from assistant.offline import smollm_gguf

    needed = ws.settings.llm.provider == "local"
    fix = LOCAL_INSTALL
    try:
        path = smollm_gguf()
    except LitReviewError as exc:
        yield Check("local model", "problem" if needed else "note", f"{exc} (only --llm local needs it)", fix)
        return
    size = path.stat().st_size / 2**20
    if importlib.util.find_spec("llama_cpp") is None:
        yield Check("local model", "problem" if needed else "note",
                    f"{path.name} found ({size:.0f} MiB) but llama-cpp-python is not installed", fix)
    else:
        yield Check("local model", "ok", f"{path} ({size:.0f} MiB), llama-cpp-python installed")


def _tiktoken(ws: Workspace) -> Iterator[Check]:
    from assistant.offline import tiktoken_offline

    folder = tiktoken_offline(ws.settings.cache_dir / "tiktoken")
    import tiktoken

    tiktoken.get_encoding("cl100k_base").encode("offline")
    yield Check("tiktoken", "ok", f"cl100k_base loads offline (from {folder})")


def _library(ws: Workspace) -> Iterator[Check]:
    settings = ws.settings
    url = settings.store.chroma_url
    mode = f"Chroma server at {url}" if url else f"embedded Chroma at {settings.data_dir / 'chroma'}"
    if not url and not (settings.data_dir / "chroma").exists():
        yield Check("library", "note", f"{mode}: not created yet (0 papers)")
        return
    try:
        stats = ws.stats()
    except LitReviewError as exc:
        fix = "start the server or fix store.chroma_url" if url else "see the message"
        yield Check("library", "problem", str(exc), fix)
        return
    detail = f"{mode}: {stats.papers} papers, {stats.chunks} chunks, embedding model {stats.embedding_model}"
    yield Check("library", "ok" if stats.papers else "note",
                detail + ("" if stats.papers else " (empty: litreview ingest FILES or --sample)"))
    for problem, fix in library_problems(ws):
        yield Check("library", "problem", problem, fix)


def library_problems(ws: Workspace) -> list[tuple[str, str]]:
    """Integrity problems of an opened library as (problem, fix): what `litreview check` finds."""
    from assistant.integrity import check_library

    return [(p.what, p.fix) for p in check_library(ws).problems]


def _backend(ws: Workspace) -> Iterator[Check]:
    llm = ws.settings.llm
    name = f"llm: {llm.provider}"
    if llm.provider == "extractive":
        yield Check(name, "ok", "no model needed (answers quote the evidence)")
    elif llm.provider == "local":
        yield Check(name, "ok", "the bundled SmolLM2-135M (see 'local model' above)")
    elif llm.provider == "openai":
        key = _key_check(name, llm.model or "gpt-4o-mini", ws.settings)
        yield key
        if key.state == "ok":
            yield _server_check(name, llm.base_url, llm.model or "gpt-4o-mini", ws.settings)
    elif not llm.base_url:
        yield Check(name, "problem", "no server URL", "set LITREVIEW_LLM__BASE_URL or llm.base_url "
                                                      "(e.g. http://127.0.0.1:11434/v1)")
    else:
        yield _server_check(name, llm.base_url, llm.model, ws.settings)


def _api_key(settings: Settings) -> str | None:
    llm = settings.llm
    return llm.api_key.get_secret_value() if llm.api_key else os.environ.get("OPENAI_API_KEY")


def _key_check(name: str, model: str, settings: Settings) -> Check:
    """Whether an OpenAI key is set: said, never shown."""
    if _api_key(settings):
        return Check(name, "ok", f"{model}, API key present")
    return Check(name, "problem", f"{model}: no API key", "set OPENAI_API_KEY (or llm.api_key in config.toml)")


def _server_check(name: str, base_url: str | None, model: str | None, settings: Settings) -> Check:
    """Whether the server answers its model list, and lists the configured model."""
    import openai

    where = base_url or "api.openai.com"
    client = openai.OpenAI(base_url=base_url, api_key=_api_key(settings) or "not-needed",
                           timeout=PROBE_TIMEOUT_S, max_retries=0)
    try:
        listed = [m.id for m in client.models.list().data]
    except openai.AuthenticationError:
        return Check(name, "problem", f"{where} refused the API key", "check OPENAI_API_KEY or llm.api_key")
    except openai.APIStatusError as exc:
        return Check(name, "problem", f"{where} answered HTTP {exc.status_code} to /models",
                     "check the URL (it usually ends in /v1)")
    except openai.APIError as exc:
        fix = "start the server, or fix llm.base_url / --base-url" if base_url else "check the network (api.openai.com)"
        return Check(name, "problem", f"cannot reach {where} ({first_line(exc)})", fix)
    if model and model not in listed:
        shown = ", ".join(listed[:5]) or "none"
        return Check(name, "problem", f"{where} answers but does not list model '{model}' (it lists: {shown})",
                     "set llm.model / --model to one it lists")
    chosen = model or (listed[0] if listed else None)
    if chosen is None:
        return Check(name, "problem", f"{where} lists no model", "load a model into the server")
    return Check(name, "ok", f"{where} answers, model '{chosen}' listed")


def _chromium(ws: Workspace) -> Iterator[Check]:
    found = CHROMIUM if CHROMIUM.is_file() else shutil.which("chromium")
    if found:
        yield Check("chromium", "ok", f"{found} (for the browser test)")
    else:
        yield Check("chromium", "note", f"no {CHROMIUM}: only the browser test needs it",
                    "bash scripts/setup-browser.sh")


STEPS: list[Callable[[Workspace], Iterator[Check]]] = [
    _python, _embedding, _local_model, _tiktoken, _library, _backend, _chromium,
]
