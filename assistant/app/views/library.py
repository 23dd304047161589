"""Library: counts, browse/search/filter papers, add files, export references, remove papers."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import get_args

import streamlit as st

from assistant.app import state, ui
from assistant.choices import RefFormat
from assistant.export import MIME, SUFFIX, export_papers
from assistant.sources import PARSERS
from assistant.types import IngestReport, Paper
from assistant.workspace import Workspace

NO_YEAR = "no year"
UPLOAD_COUNTER = "library_upload_n"
LAST_REPORT = "library_last_report"
FORMAT_NAMES: dict[RefFormat, str] = {"bib": "BibTeX", "ris": "RIS", "csljson": "CSL-JSON", "csv": "CSV"}


def render() -> None:
    """The library page."""
    ws = state.workspace()
    st.title("Your library")
    ui.flash()
    stats = ws.stats()
    a, b, c = st.columns(3)
    a.metric("Papers", f"{stats.papers:,}")
    b.metric("Chunks", f"{stats.chunks:,}")
    c.metric("Source files", f"{len(stats.sources):,}")
    add_files(ws)
    if not stats.papers:
        st.info("No papers yet: add files above, or load the sample library.", icon=":material/info:")
        if st.button("Load the sample library", key="load_sample_library"):
            ui.load_sample(ws)
        return
    shown = browse(ws, sorted(stats.sources))
    export(ws, shown)
    remove(ws)
    st.caption(f"Stored in {ui.md(stats.data_dir)} ({stats.backend}, embeddings: {ui.md(stats.embedding_model)}).")


def add_files(ws: Workspace) -> None:
    """Upload files in any format ingest reads; show what happened to each."""
    with st.expander("Add papers", icon=":material/upload_file:", expanded=not ws.library.count()):
        kinds = sorted(k.lstrip(".") for k in PARSERS)
        n = st.session_state.setdefault(UPLOAD_COUNTER, 0)
        files = st.file_uploader(
            f"Files ({', '.join(kinds)})", type=kinds, accept_multiple_files=True, key=f"upload_{n}",
            help="Listing pages (.txt/.md), BibTeX, RIS and CSL-JSON exports, CSV/TSV, JSONL and PDFs.")
        if st.button("Add to library", type="primary", disabled=not files, key="add_files"):
            with ui.guard("Adding files"), tempfile.TemporaryDirectory(prefix="litreview-upload-") as tmp:
                paths = []
                for f in files or []:
                    path = Path(tmp) / safe_name(f.name)
                    path.write_bytes(f.getvalue())
                    paths.append(path)
                with ui.progress_bar("Adding papers") as bar:
                    report = ws.ingest(paths, bar, on_wait=ui.notice)
                st.session_state[LAST_REPORT] = report
                st.session_state[UPLOAD_COUNTER] = n + 1  # a new uploader: the added files are cleared
                st.rerun()
        last = st.session_state.get(LAST_REPORT)
        if isinstance(last, IngestReport):
            show_report(last)


def safe_name(name: str) -> str:
    """An uploaded file's name, usable as a file name here (the extension kept)."""
    base = Path(name).name
    return re.sub(r"[^\w.\- ]+", "_", base).strip(" .") or "upload"


def show_report(report: IngestReport) -> None:
    """The per-file outcome of an ingest."""
    summary = (f"{report.new} new papers, {report.duplicates} duplicates, {report.updated} updated, "
               f"{report.chunks_added} chunks in {report.seconds:.1f} s.")
    (st.warning if report.failed else st.success)(summary)
    rows = [{"file": Path(f.path).name, "status": f.status, "papers": f.papers_found, "new": f.new,
             "duplicates": f.duplicates, "updated": f.updated, "problems": "; ".join(f.problems)}
            for f in report.files]
    st.dataframe(rows, hide_index=True, key="ingest_report")


def browse(ws: Workspace, sources: Sequence[str]) -> list[Paper]:
    """Search and filter the papers; open one. Returns the papers shown."""
    st.subheader("Papers")
    query = st.text_input("Search", key="library_query", placeholder="words or a plain-language description")
    left, right = st.columns(2)
    papers = ws.papers()
    years = sorted({str(p.year) for p in papers if p.year}, reverse=True)
    pick_years = left.multiselect("Year", [*years, NO_YEAR], key="library_years", placeholder="any year")
    pick_sources = right.multiselect("Source file", list(sources), key="library_sources", placeholder="any file")
    shown = papers
    if query.strip():
        with ui.guard("Searching"):
            hits = ws.search(query, k=min(50, len(papers)))
            by_id = {p.paper_id: p for p in papers}
            shown = [by_id[h.paper_id] for h in hits if h.paper_id in by_id]
    shown = [p for p in shown if keep(p, pick_years, pick_sources)]
    st.caption(f"{len(shown):,} of {len(papers):,} papers" + (" (best matches first)" if query.strip() else ""))
    st.dataframe(table(shown), hide_index=True, key="library_table", column_config={
        "title": st.column_config.TextColumn("Title", width="large"),
        "url": st.column_config.LinkColumn("Link", display_text="open"),
    })
    labels = {p.paper_id: p.label() for p in shown}
    pid = st.selectbox("Read a paper", list(labels), index=None, format_func=lambda i: labels.get(i, i),
                       key="library_open", placeholder="choose a paper to read its abstract")
    if pid:
        with st.container(border=True):
            st.markdown(f"**{ui.md(labels[pid])}**")
            ui.paper_card(next(p for p in shown if p.paper_id == pid))
    return shown


def keep(paper: Paper, years: Sequence[str], sources: Sequence[str]) -> bool:
    """True when the paper passes the year and source-file filters (empty = any)."""
    year = str(paper.year) if paper.year else NO_YEAR
    return (not years or year in years) and (not sources or any(s in sources for s in paper.sources))


def table(papers: Sequence[Paper]) -> list[dict[str, object]]:
    """Rows for the papers table (columns no paper fills are left out)."""
    rows: list[dict[str, object]] = [
        {"title": p.title, "year": p.year, "date": p.date, "authors": ", ".join(p.authors[:3]) or None,
         "upvotes": p.upvotes, "sources": ", ".join(p.sources), "url": p.url, "id": p.paper_id} for p in papers]
    empty = [k for k in ("year", "date", "authors", "upvotes", "url") if all(r[k] is None for r in rows)]
    return [{k: v for k, v in r.items() if k not in empty} for r in rows]


def export(ws: Workspace, shown: Sequence[Paper]) -> None:
    """Download the library, the papers shown or chosen papers for a reference manager (what `export` writes)."""
    with st.expander("Export references", icon=":material/download:"):
        papers = ws.papers()
        fmt = st.selectbox("Format", get_args(RefFormat), key="export_format",
                           format_func=lambda f: f"{FORMAT_NAMES[f]} ({SUFFIX[f]})",
                           help="Zotero, Mendeley, EndNote and Papers import each of these.")
        scopes = {"library": f"The whole library ({len(papers):,})",
                  "shown": f"The papers shown above ({len(shown):,})", "chosen": "Papers I choose"}
        scope = st.radio("Papers", list(scopes), format_func=scopes.__getitem__, key="export_scope", horizontal=True)
        chosen: Sequence[Paper] = papers if scope == "library" else shown
        if scope == "chosen":
            labels = {p.paper_id: p.label() for p in papers}
            ids = st.multiselect("Papers to export", list(labels), format_func=lambda i: labels.get(i, i),
                                 key="export_papers", placeholder="choose papers")
            chosen = [p for p in papers if p.paper_id in set(ids)]
        name = f"litreview-{scope}{SUFFIX[fmt]}"
        st.download_button(f"Download {len(chosen):,} papers as {FORMAT_NAMES[fmt]}", export_papers(chosen, fmt),
                           name, MIME[fmt], on_click="ignore", icon=":material/download:", key="export_download",
                           disabled=not chosen)


def remove(ws: Workspace) -> None:
    """Delete chosen papers (and their chunks) after a confirmation."""
    with st.expander("Remove papers", icon=":material/delete:"):
        papers = ws.papers()
        labels = {p.paper_id: p.label() for p in papers}
        chosen = st.multiselect("Papers to remove", list(labels), format_func=lambda i: labels.get(i, i),
                                key="remove_papers", placeholder="choose papers")
        sure = st.checkbox("Yes, remove them from the library", key="remove_confirm", disabled=not chosen)
        if st.button("Remove", type="primary", disabled=not (chosen and sure), key="remove_button"):
            with ui.guard("Removing papers"):
                removed = ws.delete(chosen)
                st.session_state["flash"] = f"Removed {removed} paper(s)."
                for key in ("remove_papers", "remove_confirm"):
                    st.session_state.pop(key, None)
                st.rerun()
