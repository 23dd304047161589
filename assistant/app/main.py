"""The app's entry point (`litreview ui` runs `streamlit run` on this file): sidebar settings and pages."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from assistant.app import state, ui
from assistant.app.views import chat, compare, library, related, summaries

PAGES: dict[str, tuple[Callable[[], None], str, str]] = {
    "chat": (chat.render, "Chat", ":material/forum:"),
    "library": (library.render, "Library", ":material/library_books:"),
    "summaries": (summaries.render, "Summaries", ":material/summarize:"),
    "compare": (compare.render, "Compare", ":material/table_chart:"),
    "related-work": (related.render, "Related work", ":material/article:"),
}


def sidebar() -> None:
    """Back-end, model, URL, key, k and temperature for this session."""
    ws = state.workspace()
    base = ws.settings.llm
    with st.sidebar:
        st.header("Settings")
        provider = st.selectbox(
            "Back-end", state.PROVIDERS, index=state.PROVIDERS.index(base.provider), key=state.PROVIDER,
            format_func=lambda p: state.PROVIDER_LABELS[p],
            help="Who writes answers. Every back-end cites only papers it was shown; nothing falls back silently.")
        if provider in ("openai", "openai-compatible"):
            st.text_input("Model", key=state.MODEL,
                          placeholder="gpt-4o-mini" if provider == "openai" else "the server's first model")
        if provider == "openai-compatible":
            st.text_input("Base URL", key=state.BASE_URL, placeholder="http://127.0.0.1:11434/v1")
        if provider in ("openai", "openai-compatible"):
            st.text_input("API key", type="password", key=state.API_KEY,
                          help="Kept in this browser session only: never written to disk or logs.")
        st.slider("Papers per answer (k)", 1, 20, ws.settings.retrieval.k, key=state.K)
        st.slider("Temperature", 0.0, 1.0, float(base.temperature), 0.05, key=state.TEMPERATURE,
                  disabled=provider == "extractive")
        if provider == "local":  # load the model now rather than in the middle of the first answer
            with st.spinner("Loading the local model…"), ui.guard("Loading the local model"):
                ws.backend(state.llm_settings())
        st.caption(f"Library: {ws.library.count():,} papers")


def main(page: str | None = None) -> None:
    """Draw the app; `page` renders one page directly (tests), else the navigation chooses."""
    st.set_page_config(page_title="litreview", page_icon=":material/menu_book:", layout="wide")
    with ui.guard("Reading the library"):  # e.g. its Chroma server stopped answering: one message, not a crash
        sidebar()
    if page is not None:
        with ui.guard("This page"):
            PAGES[page][0]()
        return
    nav = st.navigation([st.Page(fn, title=title, icon=icon, url_path=path, default=path == "chat")
                         for path, (fn, title, icon) in PAGES.items()])
    with ui.guard("This page"):
        nav.run()


if __name__ == "__main__":
    main()
