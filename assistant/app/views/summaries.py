"""Summaries: a TL;DR per paper and a cited synthesis of several."""

from __future__ import annotations

import streamlit as st

from assistant.app import state, ui
from assistant.writing.models import Summary
from assistant.writing.summary import summarize, summary_markdown

RESULT = "summary_result"


def render() -> None:
    """The summaries page."""
    ws = state.workspace()
    st.title("Summaries")
    st.caption("A one- or two-sentence TL;DR of each paper from its own abstract and, for several papers, "
               "a synthesis of what they share, where they differ and what they leave open; every "
               "sentence cites its papers.")
    if ui.library_is_empty(ws):
        return
    sel = ui.paper_picker(ws, "summary")
    if st.button("Summarise", type="primary", disabled=not sel.ready, key="summary_run"):
        st.session_state.pop(RESULT, None)
        with ui.guard("Summarising"), ui.progress_bar("Summarising") as bar:
            st.session_state[RESULT] = summarize(
                ws, sel.paper_ids, sel.topic, sel.max_papers, llm=state.llm_settings(),
                progress=bar)
    result = st.session_state.get(RESULT)
    if isinstance(result, Summary):
        show(result)


def show(summary: Summary) -> None:
    """TL;DRs, the synthesis, references and downloads."""
    if summary.topic:
        st.subheader(f"On {ui.md(summary.topic)}")
    for p in summary.papers:
        year = f" ({p.year})" if p.year else ""
        tldr = ui.md(p.tldr) if p.tldr else "*(no sentence of the abstract passed the check)*"
        st.markdown(f"**[{p.n}] {ui.md(p.title)}**{year}: {tldr}")
    if summary.synthesis:
        st.subheader("Synthesis")
        st.markdown(ui.md(summary.synthesis))
    elif len(summary.papers) > 1:
        st.caption("No synthesis sentence passed the check against the abstracts.")
    with st.expander("References"):
        for r in summary.references:
            st.markdown(f"[{r.n}] {ui.md(r.title)}" + (f" ({r.year})" if r.year else ""))
    st.caption(ui.job_line(summary.backend, summary.model, summary.seconds, summary.usage,
                           summary.removed_citations, [f"synthesis {summary.synthesis_mode}"]))
    left, right = st.columns(2)
    left.download_button("Download Markdown", summary_markdown(summary), "summary.md", "text/markdown",
                         on_click="ignore", icon=":material/download:", key="summary_md")
    right.download_button("Download JSON", summary.model_dump_json(indent=2), "summary.json", "application/json",
                          on_click="ignore", icon=":material/download:", key="summary_json")
