"""One nested Settings object: defaults < config file < environment < explicit overrides."""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from assistant.choices import Provider, SearchMode
from assistant.errors import ConfigError

HOME_ENV = "LITREVIEW_HOME"
CONFIG_NAME = "config.toml"
ENV_PREFIX = "LITREVIEW_"
# LITREVIEW_* variables read outside Settings (by the CLI, prompts, set-up and tests): not typos
OTHER_ENV = {"DEBUG", "PROMPTS_DIR", "WHEEL_CACHE", "WHEELHOUSE", "WHEEL_TEST", "VENV", "SCREENSHOTS", "FUZZ_EXAMPLES"}



def default_home() -> Path:
    """Where all of litreview's state lives: $LITREVIEW_HOME or the user's data dir."""
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("litreview"))


class _Section(BaseModel):
    """A settings section: an unknown key is an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class EmbeddingSettings(_Section):
    """Which model turns text into vectors."""

    provider: Literal["minilm", "openai"] = "minilm"
    openai_model: str = "text-embedding-3-small"
    batch_size: int = Field(default=16, ge=1, le=4096)  # fastest on 2 cores: least padding


class StoreSettings(_Section):
    """Where the Chroma library lives."""

    chroma_url: str | None = None  # e.g. http://127.0.0.1:8000 ; None = embedded, under home
    collection_prefix: str = "litreview"
    lock_timeout_s: float = Field(default=600.0, ge=0)
    snapshots: int = Field(default=3, ge=0, le=1000)  # automatic snapshots kept in home/backups (0: none)


class ChunkSettings(_Section):
    """How abstracts are cut into chunks (cl100k tokens; MiniLM reads 256 word pieces)."""

    chunk_tokens: int = Field(default=160, ge=16, le=2000)
    overlap_tokens: int = Field(default=32, ge=0, le=500)


class RetrievalSettings(_Section):
    """How papers are found for a query."""

    k: int = Field(default=5, ge=1, le=200)
    mode: SearchMode = "hybrid"
    candidates: int = Field(default=50, ge=5, le=2000)
    # BM25's weight in a candidate's absolute match score (dense cosine + w * min(BM25 / ideal, 3)), on which
    # the abstention threshold (answer.min_strength) and the topic floor are calibrated
    bm25_weight: float = Field(default=0.14, ge=0.0, le=5.0)
    # the order of hybrid results: z(dense) + rank_bm25_weight * z(BM25) over the candidate pool, where dense is
    # paper_weight * paper-vector cosine + (1 - paper_weight) * best-chunk cosine; both chosen on the dev split
    # by 5-fold cross-validation (docs/retrieval.md)
    paper_weight: float = Field(default=0.3, ge=0.0, le=1.0)
    rank_bm25_weight: float = Field(default=1.0, ge=0.0, le=10.0)


class LLMSettings(_Section):
    """Which back-end writes answers."""

    provider: Provider = "extractive"
    model: str | None = None  # default per provider
    base_url: str | None = None
    api_key: SecretStr | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=256, ge=1, le=8192)
    timeout_s: float = Field(default=60.0, gt=0)
    n_threads: int | None = Field(default=None, ge=1)
    context_tokens: int = Field(default=4096, ge=512, le=131072)


class AnswerSettings(_Section):
    """How answers are grounded: the abstention gate, evidence and the support check."""

    # Refuse when top hybrid score + best paper's query coverage falls below this (calibrated on
    # evals/qa_dev.jsonl: see docs/qa.md).
    min_strength: float = Field(default=1.20, ge=0.0, le=10.0)
    # Survey and compare questions (assistant/gate.py, assistant/survey.py; chosen on the dev split of evals/qa_*.jsonl,
    # docs/qa.md): the gate and the list look at the first `survey_pool` papers of the search order
    survey_cap: int = Field(default=12, ge=1, le=50)  # at most this many papers in a survey answer
    survey_pool: int = Field(default=20, ge=2, le=200)  # papers of the search order the gate and the list look at
    survey_min_papers: int = Field(default=2, ge=1, le=20)  # papers that must each match a survey question
    survey_match_similarity: float = Field(default=0.50, ge=-1.0, le=1.0)  # a paper matches: one sentence this close
    survey_unseen_penalty: float = Field(default=0.2, ge=0.0, le=2.0)  # ...raised by this × the question's unseen share
    survey_min_rank_score: float = Field(default=3.5, ge=-10.0, le=50.0)  # a listed paper's hybrid order score (z)
    survey_strong_similarity: float = Field(default=0.8, ge=-1.0, le=1.0)  # ...or one of its sentences this close
    survey_min_similarity: float = Field(default=0.40, ge=-1.0, le=1.0)  # a bullet's sentence vs the question
    evidence_sentences: int = Field(default=3, ge=1, le=20)  # sentences in an extractive answer
    evidence_margin: float = Field(default=0.15, ge=0.0, le=2.0)  # within this of the best one
    context: Literal["auto", "evidence", "abstracts"] = "auto"  # auto: evidence for local, abstracts else
    sentences_per_source: int = Field(default=1, ge=1, le=20)  # when context is "evidence" (local: speed)
    local_source_tokens: int = Field(default=300, ge=50, le=100000)  # keeps the local first token near 1 s
    min_overlap: float = Field(default=0.75, ge=0.0, le=1.0)
    min_similarity: float = Field(default=0.6, ge=-1.0, le=1.0)
    min_overlap_paraphrase: float = Field(default=0.5, ge=0.0, le=1.0)
    attribution_margin: float = Field(default=0.3, ge=0.0, le=3.0)  # another source fits this much better
    verify: Literal["rules", "model"] = "rules"  # model: one extra call judges the sentences the rules passed


class Settings(BaseSettings):
    """All of litreview's settings in one place."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid"
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
                raise ConfigError(f"unknown setting {section}{_nearest(section, setting_names(0))}")
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


def _one_line(exc: ValidationError, source: str = "") -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown setting {where}{source}{_nearest(where, setting_names(where.count('.')))}"
    return f"invalid setting {where}: {err['msg']}"


def setting_names(depth: int = 1) -> list[str]:
    """The sections (depth 0) or every setting as section.field (depth 1; top-level fields included)."""
    names = []
    for name, field in Settings.model_fields.items():
        section = field.annotation
        if depth and isinstance(section, type) and issubclass(section, _Section):
            names += [f"{name}.{key}" for key in section.model_fields]
        else:
            names.append(name)
    return names


def _nearest(name: str, valid: list[str]) -> str:
    """" (did you mean X?)" for the valid name nearest a misspelt one, or ""."""
    near = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
    return f" (did you mean {near[0]}?)" if near else ""


def _check_env() -> None:
    """Every LITREVIEW_* variable is a setting (LITREVIEW_SECTION__FIELD, or a whole section) or in OTHER_ENV."""
    valid = [ENV_PREFIX + n.upper().replace(".", "__") for n in setting_names()]
    allowed = {*valid, *(ENV_PREFIX + n.upper() for n in setting_names(0)), *(ENV_PREFIX + n for n in OTHER_ENV)}
    for var in sorted(os.environ):
        if var.upper().startswith(ENV_PREFIX) and var.upper() not in allowed:
            raise ConfigError(f"unknown environment variable {var}{_nearest(var.upper(), valid)}")


def load_settings(**sections: dict[str, Any]) -> Settings:
    """Settings from defaults, the config file and LITREVIEW_* variables, plus overrides."""
    _check_env()
    try:
        base = Settings()
    except ValidationError as exc:  # the variables were checked above: an unknown key is the file's
        raise ConfigError(_one_line(exc, f" in {default_home() / CONFIG_NAME}")) from None
    return base.with_overrides(**sections) if sections else base
