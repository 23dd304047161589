"""Compare: one row per paper, one column per field, every cell a span of that paper's abstract."""

from __future__ import annotations

from collections import Counter

import streamlit as st

from assistant.app import state, ui
from assistant.writing.compare import compare_papers, render_csv, render_json, render_markdown
from assistant.writing.compare_fields import DEFAULT_FIELDS, MAX_FIELDS
from assistant.writing.latex import display_text
from assistant.writing.models import ComparisonTable

RESULT = "compare_result"


def render() -> None:
    """The comparison page."""
    ws = state.workspace()
    st.title("Compare papers")
    st.caption("Each cell is a span quoted from that paper's own abstract, or *not stated*; "
               "the sentence it comes from is its provenance.")
    if ui.library_is_empty(ws):
        return
    sel = ui.paper_picker(ws, "compare", min_papers=2)
    fields = st.multiselect("Columns", list(DEFAULT_FIELDS), default=list(DEFAULT_FIELDS), key="compare_fields",
                            accept_new_options=True, max_selections=MAX_FIELDS,
                            help="Pick fields or type your own (e.g. 'model size').")
    if st.button("Compare", type="primary", disabled=not (sel.ready and fields), key="compare_run"):
        st.session_state.pop(RESULT, None)
        with ui.guard("Comparing"), ui.progress_bar("Comparing") as bar:
            st.session_state[RESULT] = compare_papers(
                ws, sel.paper_ids, sel.topic, sel.max_papers, fields, llm=state.llm_settings(),
                progress=bar)
    result = st.session_state.get(RESULT)
    if isinstance(result, ComparisonTable):
        show(result)


def rows(table: ComparisonTable, provenance: bool) -> list[dict[str, object]]:
    """The table as dataframe rows (with each cell's source sentence beside it on demand)."""
    out: list[dict[str, object]] = []
    for row in table.rows:
        line: dict[str, object] = {"paper": f"[{row.n}] {row.title}" + (f" ({row.year})" if row.year else "")}
        for cell in row.cells:
            line[cell.field] = display_text(cell.value)
            if provenance:
                line[f"{cell.field} · source"] = cell.provenance or ""
        out.append(line)
    return out


def show(table: ComparisonTable) -> None:
    """The table, its provenance on demand and downloads."""
    provenance = st.toggle("Show provenance (the abstract sentence behind each cell)", key="compare_provenance")
    st.dataframe(rows(table, provenance), hide_index=True, key="compare_table",
                 column_config={"paper": st.column_config.TextColumn("Paper", width="medium", pinned=True)})
    for row in table.rows:
        with st.expander(f"[{row.n}] {row.title}" + (f" ({row.year})" if row.year else "")):
            for cell in row.cells:
                value = ui.md(display_text(cell.value)) if not cell.not_stated else "*not stated*"
                st.markdown(f"**{ui.md(cell.field)}:** {value}")
                if provenance and cell.provenance:
                    st.caption(f"from: “{ui.md(cell.provenance)}”")
    modes = Counter(c.mode.replace("_", " ") for row in table.rows for c in row.cells)
    st.caption(ui.job_line(table.backend, table.model, table.seconds, table.usage, 0,
                           [f"{len(table.rows)} papers × {len(table.fields)} fields",
                            ", ".join(f"{n} {m}" for m, n in sorted(modes.items()))]))
    a, b, c = st.columns(3)
    a.download_button("Download Markdown", render_markdown(table, provenance=True), "comparison.md",
                      "text/markdown", on_click="ignore", icon=":material/download:", key="compare_md")
    b.download_button("Download CSV", render_csv(table, provenance=True), "comparison.csv", "text/csv",
                      on_click="ignore", icon=":material/download:", key="compare_csv")
    c.download_button("Download JSON", render_json(table), "comparison.json", "application/json",
                      on_click="ignore", icon=":material/download:", key="compare_json")
