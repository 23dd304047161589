"""The provider factory: the one place a back-end is chosen. Nothing falls back to another silently."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage

from assistant.errors import BackendError, ConfigError, first_line
from assistant.settings import LLMSettings, Provider
from assistant.tokens import count_tokens
from assistant.types import Usage, backend_label

OPENAI_DEFAULT_MODEL = "gpt-4o-mini"
LOCAL_MODEL_NAME = "SmolLM2-135M-Instruct (Q4_1 GGUF)"
LOCAL_INSTALL = "pip install 'litreview[local]' (in a checkout: make run sets it up)"

# US$ per million tokens (input, output), list prices; used only to estimate an answer's cost.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-3.5-turbo": (0.50, 1.50),
}


@dataclass
class Backend:
    """A configured answer writer: a chat model (None for extractive) and how to measure its input."""

    provider: Provider
    model_name: str
    chat: BaseChatModel | None
    count_tokens: Callable[[str], int]
    context_tokens: int
    max_tokens: int
    base_url: str | None = None
    timeout_s: float = 60.0

    @property
    def shown_model(self) -> str | None:
        """The model named on what this back-end writes: None for extractive, which has no model."""
        return None if self.chat is None else self.model_name

    @property
    def label(self) -> str:
        """e.g. "local: SmolLM2-135M-Instruct" or "openai: gpt-4o-mini"."""
        return backend_label(self.provider, self.shown_model)

    def count_usage(self, usage: Usage, sent: Sequence[BaseMessage], reply: str) -> None:
        """Add tokens counted with this back-end's tokenizer, for a server that reports none."""
        usage.prompt_tokens += sum(self.count_tokens(str(m.content)) for m in sent)
        usage.completion_tokens += self.count_tokens(reply)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Estimated US$ for an OpenAI model with a known price, else None."""
        if self.provider != "openai":
            return None
        price = PRICES.get(self.model_name) or next(
            (p for name, p in sorted(PRICES.items(), key=lambda kv: -len(kv[0])) if self.model_name.startswith(name)),
            None,
        )
        if price is None:
            return None
        return round((prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6, 8)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn the client's exceptions into one-line BackendErrors naming the back-end and the fix."""
        try:
            yield
        except BackendError:
            raise
        except Exception as exc:  # the openai client's hierarchy, checked by name below
            raise translate_error(exc, self) from None


def translate_error(exc: Exception, backend: Backend) -> BackendError:
    """A one-line error for a failed call to a back-end."""
    import openai

    where = backend.base_url or "api.openai.com"
    name = backend.provider
    if isinstance(exc, openai.APITimeoutError):
        return BackendError(f"the {name} back-end at {where} did not answer within {backend.timeout_s:g} s "
                            "(raise llm.timeout_s or check the server)")
    if isinstance(exc, openai.APIConnectionError):
        return BackendError(f"cannot reach the {name} back-end at {where}: is the server running?")
    if isinstance(exc, openai.AuthenticationError):
        return BackendError(f"the {name} back-end refused the API key (check OPENAI_API_KEY or llm.api_key)")
    if isinstance(exc, openai.NotFoundError):
        return BackendError(f"the {name} back-end at {where} has no model '{backend.model_name}' (set llm.model)")
    if isinstance(exc, openai.RateLimitError):
        return BackendError(f"the {name} back-end is rate-limiting or out of quota: {first_line(exc)}")
    if isinstance(exc, openai.APIStatusError):
        return BackendError(f"the {name} back-end returned HTTP {exc.status_code}: {first_line(exc)}")
    return BackendError(f"the {name} back-end failed: {type(exc).__name__}: {first_line(exc)}")


def make_backend(settings: LLMSettings) -> Backend:
    """The back-end the settings name; a missing key, URL or model file is a clear error."""
    provider = settings.provider
    if provider == "extractive":
        return Backend("extractive", "none", None, count_tokens, settings.context_tokens, 0)
    if provider == "local":
        return _local(settings)
    if provider == "openai":
        key = settings.api_key.get_secret_value() if settings.api_key else os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ConfigError(
                "the openai back-end needs an API key: set OPENAI_API_KEY (or llm.api_key in config.toml), "
                "or choose --llm local or --llm extractive"
            )
        model = settings.model or OPENAI_DEFAULT_MODEL
        return _openai(settings, "openai", model, key, settings.base_url)
    if not settings.base_url:
        raise ConfigError(
            "the openai-compatible back-end needs a server URL: set LITREVIEW_LLM__BASE_URL or --base-url "
            "(e.g. http://127.0.0.1:11434/v1 for Ollama)"
        )
    key = settings.api_key.get_secret_value() if settings.api_key else os.environ.get("OPENAI_API_KEY", "not-needed")
    model = settings.model or _first_server_model(settings.base_url, key, settings.timeout_s)
    return _openai(settings, "openai-compatible", model, key, settings.base_url)


def _local(settings: LLMSettings) -> Backend:
    from assistant.llm.local import LocalChatModel
    from assistant.offline import smollm_gguf

    try:
        path = smollm_gguf()
    except Exception as exc:  # the package or its file is missing
        raise BackendError(f"the local model is not installed ({exc}): {LOCAL_INSTALL}") from None
    if importlib.util.find_spec("llama_cpp") is None:
        raise BackendError(f"the local model needs llama-cpp-python, which is not installed: {LOCAL_INSTALL}")
    threads = settings.n_threads or max(1, min(4, os.cpu_count() or 1))
    chat = LocalChatModel(
        model_path=path, n_ctx=settings.context_tokens, n_threads=threads,
        temperature=settings.temperature, max_tokens=settings.max_tokens,
    )
    return Backend(
        "local", settings.model or LOCAL_MODEL_NAME, chat, chat.count_tokens,
        settings.context_tokens, settings.max_tokens, timeout_s=settings.timeout_s,
    )


def _openai(settings: LLMSettings, provider: Provider, model: str, key: str, base_url: str | None) -> Backend:
    from langchain_openai import ChatOpenAI

    kwargs: dict[str, Any] = {
        "model": model, "api_key": key, "temperature": settings.temperature, "max_tokens": settings.max_tokens,
        "timeout": settings.timeout_s, "max_retries": 1, "stream_usage": True,
    }
    if base_url:
        kwargs["base_url"] = base_url
    if provider == "openai-compatible":
        # ChatOpenAI sends only max_completion_tokens, which llama.cpp's server (and others) ignore:
        # without max_tokens they write until the context is full
        kwargs["extra_body"] = {"max_tokens": settings.max_tokens}
    return Backend(
        provider, model, ChatOpenAI(**kwargs), count_tokens, settings.context_tokens, settings.max_tokens,
        base_url=base_url, timeout_s=settings.timeout_s,
    )


def _first_server_model(base_url: str, key: str, timeout_s: float) -> str:
    """The first model an OpenAI-compatible server lists, when none is configured."""
    import openai

    probe = Backend("openai-compatible", "?", None, count_tokens, 0, 0, base_url=base_url, timeout_s=timeout_s)
    with probe.errors():
        try:
            models = openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout_s, max_retries=0).models.list()
        except openai.NotFoundError:  # not "no model '?'": the URL is likely missing its /v1
            raise BackendError(
                f"the server at {base_url} has no /models endpoint: check the URL (it usually ends in /v1) "
                "or set llm.model"
            ) from None
        ids = [m.id for m in models.data]
    if not ids:
        raise BackendError(f"the server at {base_url} lists no models: set llm.model")
    return ids[0]


def add_reported_usage(usage: Usage, message: BaseMessage) -> bool:
    """Add the token counts a model reported on a message (or chunk); False when it reported none."""
    meta = getattr(message, "usage_metadata", None)
    if not meta:
        return False
    usage.prompt_tokens += int(meta.get("input_tokens", 0))
    usage.completion_tokens += int(meta.get("output_tokens", 0))
    return True
