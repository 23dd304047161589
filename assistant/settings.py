"""One nested Settings object: defaults < config file < environment < explicit overrides."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from assistant.errors import ConfigError

HOME_ENV = "LITREVIEW_HOME"
CONFIG_NAME = "config.toml"


def default_home() -> Path:
    """Where all of litreview's state lives: $LITREVIEW_HOME or the user's data dir."""
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("litreview"))


class EmbeddingSettings(BaseModel):
    """Which model turns text into vectors."""

    provider: Literal["minilm", "openai"] = "minilm"
    openai_model: str = "text-embedding-3-small"
    batch_size: int = Field(default=16, ge=1, le=4096)  # fastest on 2 cores: least padding


class StoreSettings(BaseModel):
    """Where the Chroma library lives."""

    chroma_url: str | None = None  # e.g. http://127.0.0.1:8000 ; None = embedded, under home
    collection_prefix: str = "litreview"
    lock_timeout_s: float = Field(default=600.0, ge=0)
    snapshots: int = Field(default=3, ge=0, le=1000)  # automatic snapshots kept in home/backups (0: none)


class ChunkSettings(BaseModel):
    """How abstracts are cut into chunks (cl100k tokens; MiniLM reads 256 word pieces)."""

    chunk_tokens: int = Field(default=160, ge=16, le=2000)
    overlap_tokens: int = Field(default=32, ge=0, le=500)


class RetrievalSettings(BaseModel):
    """How papers are found for a query."""

    k: int = Field(default=5, ge=1, le=200)
    mode: Literal["hybrid", "dense", "bm25", "rrf"] = "hybrid"
    candidates: int = Field(default=50, ge=5, le=2000)
    bm25_weight: float = Field(default=0.14, ge=0.0, le=5.0)


class LLMSettings(BaseModel):
    """Which back-end writes answers."""

    provider: Literal["local", "openai", "openai-compatible", "extractive"] = "extractive"
    model: str | None = None  # default per provider
    base_url: str | None = None
    api_key: SecretStr | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, ge=1, le=8192)
    timeout_s: float = Field(default=60.0, gt=0)
    n_threads: int | None = Field(default=None, ge=1)
    context_tokens: int = Field(default=4096, ge=512, le=131072)


class AnswerSettings(BaseModel):
    """How answers are grounded: the abstention gate, evidence and the support check."""

    # Refuse when top hybrid score + best paper's query coverage falls below this (calibrated on
    # evals/qa_dev.jsonl: see docs/qa.md).
    min_strength: float = Field(default=1.20, ge=0.0, le=10.0)
    evidence_sentences: int = Field(default=3, ge=1, le=20)  # sentences in an extractive answer
    evidence_margin: float = Field(default=0.15, ge=0.0, le=2.0)  # within this of the best one
    context: Literal["auto", "evidence", "abstracts"] = "auto"  # auto: evidence for local, abstracts else
    sentences_per_source: int = Field(default=1, ge=1, le=20)  # when context is "evidence" (local: speed)
    local_source_tokens: int = Field(default=300, ge=50, le=100000)  # keeps the local first token near 1 s
    min_overlap: float = Field(default=0.75, ge=0.0, le=1.0)
    min_similarity: float = Field(default=0.6, ge=-1.0, le=1.0)
    min_overlap_paraphrase: float = Field(default=0.5, ge=0.0, le=1.0)


class Settings(BaseSettings):
    """All of litreview's settings in one place."""

    model_config = SettingsConfigDict(
        env_prefix="LITREVIEW_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(default_factory=default_home)
    embedding: EmbeddingSettings = EmbeddingSettings()
    store: StoreSettings = StoreSettings()
    chunking: ChunkSettings = ChunkSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    llm: LLMSettings = LLMSettings()
    answer: AnswerSettings = AnswerSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @property
    def data_dir(self) -> Path:
        """The directory holding the embedded Chroma library and caches."""
        return self.home / "library"

    @property
    def cache_dir(self) -> Path:
        """Rebuildable caches (lexical index, tokenizer files)."""
        return self.home / "cache"

    def with_overrides(self, **sections: dict[str, Any]) -> Settings:
        """A copy with some fields of some sections replaced (CLI flags, app widgets)."""
        data = self.model_dump()
        for section, values in sections.items():
            clean = {k: v for k, v in values.items() if v is not None}
            if isinstance(data.get(section), dict):
                data[section].update(clean)
            elif clean:
                raise ConfigError(f"unknown settings section '{section}'")
        try:
            return Settings.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(_one_line(exc)) from None


class _TomlSource(PydanticBaseSettingsSource):
    """Reads $LITREVIEW_HOME/config.toml, if present."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = default_home() / CONFIG_NAME
        if not path.is_file():
            return {}
        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: not a valid TOML config file ({exc})") from None


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"invalid setting {where}: {err['msg']}"


def load_settings(**sections: dict[str, Any]) -> Settings:
    """Settings from defaults, the config file and LITREVIEW_* variables, plus overrides."""
    try:
        base = Settings()
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
    return base.with_overrides(**sections) if sections else base
