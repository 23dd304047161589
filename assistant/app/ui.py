"""Widgets and guards every page shares: errors as one message, progress bars, the paper picker."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st

from assistant.errors import LitReviewError, first_line, redact
from assistant.types import Paper, Progress, Usage, backend_label, usage_parts
from assistant.workspace import Workspace

log = logging.getLogger("litreview.app")

STAGES = {
    "reading": "Reading files", "embedding": "Embedding chunks", "papers": "Choosing papers",
    "summaries": "Writing TL;DRs", "synthesis": "Writing the synthesis", "cells": "Filling cells",
    "themes": "Finding themes", "writing": "Writing paragraphs",
}


@contextmanager
def guard(what: str) -> Iterator[None]:
    """Show a failure inside the block as one message on the page; the session goes on."""
    try:
        yield
    except LitReviewError as exc:
        st.error(f"{what} failed: {redact(str(exc))}", icon=":material/error:")
    except Exception as exc:
        first = first_line(exc)
        log.warning("%s failed: %s: %s", what, type(exc).__name__, first)  # no traceback: it may hold secrets
        st.error(f"{what} failed: unexpected {type(exc).__name__}: {first}", icon=":material/error:")


def md(text: str) -> str:
    """Text from a paper made safe for st.markdown: no LaTeX from '$', no stray emphasis or HTML."""
    for ch in ("\\", "$", "*", "_", "`", "<", ">", "#", "~", "|"):
        text = text.replace(ch, "\\" + ch)
    return text


@contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    """A progress bar on the page while the block runs, and the callback the library's jobs report to."""
    bar = st.progress(0.0, text=label)

    def report(stage: str, done: int, total: int) -> None:
        name = STAGES.get(stage, stage.capitalize())
        frac = min(1.0, done / total) if total else 0.0
        bar.progress(frac, text=f"{label}: {name} {done}/{total}" if total else f"{label}: {name}")

    try:
        yield report
    finally:
        bar.empty()


def library_is_empty(ws: Workspace) -> bool:
    """True, with a notice and a way to load the sample library, when the library holds no paper."""
    if ws.library.count():
        return False
    st.info("Your library is empty. Add papers on the **Library** page, or load the sample library "
            "(282 papers from Hugging Face daily-papers listings).", icon=":material/info:")
    if st.button("Load the sample library", key="load_sample_empty"):
        load_sample(ws)
    return True


def load_sample(ws: Workspace) -> None:
    """Ingest the bundled sample library with a progress bar, then rerun the page."""
    with guard("Loading the sample library"), progress_bar("Loading the sample library") as bar:
        report = ws.ingest_sample(bar)
        st.session_state["flash"] = f"Sample library loaded: {report.new} new papers, {report.chunks_added} chunks."
        st.rerun()


def notice(message: str) -> None:
    """A passing note from a job, such as "library busy ... waiting"."""
    st.info(message, icon=":material/hourglass_top:")


def flash() -> None:
    """Show (once) the message the last action left for the next run."""
    message = st.session_state.pop("flash", None)
    if message:
        st.success(message, icon=":material/check_circle:")


@dataclass(frozen=True)
class Selection:
    """Which papers a writing job runs on: named papers or a topic query."""

    paper_ids: tuple[str, ...] = ()
    topic: str | None = None
    max_papers: int = 8

    @property
    def ready(self) -> bool:
        """True when something was chosen."""
        return bool(self.paper_ids or self.topic)


def paper_picker(ws: Workspace, key: str, min_papers: int = 1, topic_only: bool = False) -> Selection:
    """Choose papers from the library (multiselect) or by a topic query."""
    how = "Topic" if topic_only else st.radio(
        "Papers", ["Pick papers", "Topic"], horizontal=True, key=f"{key}_how",
        help="Pick papers from your library, or let the library's best papers for a topic be chosen.")
    max_papers = st.slider("At most this many papers", 2, 20, 8, key=f"{key}_max") if how == "Topic" else 20
    if how == "Topic":
        topic = st.text_input("Topic", key=f"{key}_topic", placeholder="e.g. small language models calling tools")
        return Selection(topic=topic.strip() or None, max_papers=max_papers)
    papers = ws.papers()
    labels = {p.paper_id: p.label() for p in papers}
    chosen = st.multiselect(
        "Papers", list(labels), format_func=lambda pid: labels.get(pid, pid), key=f"{key}_papers",
        placeholder=f"Choose {min_papers} or more papers", max_selections=20)
    return Selection(paper_ids=tuple(chosen), max_papers=max_papers)


def paper_card(paper: Paper) -> None:
    """A paper's abstract and details, for an expander."""
    st.markdown(md(paper.abstract))
    bits = [b for b in (paper.date or (str(paper.year) if paper.year else None),
                        ", ".join(paper.authors[:6]) + (" et al." if len(paper.authors) > 6 else "") or None,
                        ", ".join(paper.sources) or None) if b]
    if bits:
        st.caption(" · ".join(md(b) for b in bits))
    if paper.url:
        st.markdown(f"[Open the paper]({paper.url})")


def job_line(backend: str, model: str | None, seconds: float, usage: Usage, removed: int,
             extra: Sequence[str] = ()) -> str:
    """One caption on how a writing job's result was made."""
    parts = [backend_label(backend, model), *extra, f"{seconds:.1f} s", *usage_parts(usage, removed)]
    return " · ".join(md(p) for p in parts)
