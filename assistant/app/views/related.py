"""Related work: a cited draft for a topic in themes, as Markdown or LaTeX with BibTeX."""

from __future__ import annotations

import streamlit as st

from assistant.app import state, ui
from assistant.writing.models import RelatedWorkDraft
from assistant.writing.related import DEFAULT_PAPERS, related_work

RESULT = "related_result"


def render() -> None:
    """The related-work page."""
    ws = state.workspace()
    st.title("Related work")
    st.caption("The library's papers on a topic, grouped into themes; every sentence about a paper cites it.")
    if ui.library_is_empty(ws):
        return
    topic = st.text_input("Topic", key="related_topic", placeholder="e.g. parameter-efficient fine-tuning")
    max_papers = st.slider("At most this many papers", 2, 20, DEFAULT_PAPERS, key="related_max")
    if st.button("Draft", type="primary", disabled=not topic.strip(), key="related_run"):
        st.session_state.pop(RESULT, None)
        with ui.guard("Drafting"), ui.progress_bar("Drafting") as bar:
            st.session_state[RESULT] = related_work(
                ws, topic, max_papers, llm=state.llm_settings(), progress=bar)
    result = st.session_state.get(RESULT)
    if isinstance(result, RelatedWorkDraft):
        show(result)


def show(draft: RelatedWorkDraft) -> None:
    """Themes with their paragraphs, references and downloads."""
    markdown_tab, latex_tab = st.tabs(["Draft", "LaTeX + BibTeX"])
    with markdown_tab:
        for theme in draft.themes:
            st.subheader(ui.md(theme.name))
            st.markdown(ui.md(theme.paragraph))
        st.subheader("References")
        for r in draft.references:
            st.markdown(f"[{r.n}] {ui.md(r.title)}" + (f" ({r.year})" if r.year else ""))
    with latex_tab:
        st.code(draft.latex or "", language="latex")
        st.code(draft.bibtex or "", language="bibtex")
    fallback = sum(t.mode == "fallback" for t in draft.themes)
    extra = [f"{len(draft.themes)} theme(s), {len(draft.references)} papers cited"]
    if fallback:
        extra.append(f"{fallback} theme(s) fell back to the extractive text")
    st.caption(ui.job_line(draft.backend, draft.model, draft.seconds, draft.usage, draft.removed_citations, extra))
    a, b, c = st.columns(3)
    a.download_button("Download Markdown", draft.markdown, "related-work.md", "text/markdown",
                      on_click="ignore", icon=":material/download:", key="related_md")
    b.download_button("Download LaTeX", draft.latex or "", "related-work.tex", "application/x-tex",
                      on_click="ignore", icon=":material/download:", key="related_tex")
    c.download_button("Download BibTeX", draft.bibtex or "", "related-work.bib", "application/x-bibtex",
                      on_click="ignore", icon=":material/download:", key="related_bib")
