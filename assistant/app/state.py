"""What the app shares between sessions (one workspace per process) and what each session keeps."""

from __future__ import annotations

from typing import Any, get_args

import streamlit as st
from pydantic import SecretStr

from assistant.settings import LLMSettings, Provider, default_home, load_settings
from assistant.workspace import Workspace

PROVIDERS: tuple[Provider, ...] = get_args(Provider)
PROVIDER_LABELS: dict[Provider, str] = {
    "extractive": "Extractive (no model)",
    "local": "Local SmolLM2-135M",
    "openai": "OpenAI",
    "openai-compatible": "OpenAI-compatible server",
}
# session_state keys of the sidebar widgets
PROVIDER, MODEL, BASE_URL, API_KEY, K, TEMPERATURE = (
    "llm_provider", "llm_model", "llm_base_url", "llm_api_key", "retrieval_k", "llm_temperature",
)


@st.cache_resource(show_spinner=False)
def _shared_workspace(home: str) -> Workspace:
    # One per library home and process: the store, MiniLM and any local model are loaded once and
    # shared by every session (Workspace guards them with locks).
    return Workspace(load_settings())


def workspace() -> Workspace:
    """The process-wide workspace for the configured library."""
    return _shared_workspace(str(default_home()))


def llm_settings() -> LLMSettings:
    """The back-end this session chose in the sidebar (the configured one until then)."""
    base = workspace().settings.llm
    state = st.session_state
    provider = state.get(PROVIDER, base.provider)
    changes: dict[str, Any] = {
        "provider": provider,
        "temperature": float(state.get(TEMPERATURE, base.temperature)),
    }
    if provider != base.provider:  # the configured model and URL belong to the configured provider
        changes |= {"model": None, "base_url": None}
    model = str(state.get(MODEL, "") or "").strip()
    if model:
        changes["model"] = model
    url = str(state.get(BASE_URL, "") or "").strip()
    if url and provider == "openai-compatible":
        changes["base_url"] = url
    key = str(state.get(API_KEY, "") or "").strip()
    if key:  # typed in this session: kept in session_state only, never written anywhere
        changes["api_key"] = SecretStr(key)
    return base.model_copy(update=changes)


def retrieval_k() -> int:
    """How many papers an answer draws on."""
    return int(st.session_state.get(K, workspace().settings.retrieval.k))
