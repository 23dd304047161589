"""How one answer is drawn: text with [n] markers, cited papers as expanders, a refusal, the details."""

from __future__ import annotations

import streamlit as st

from assistant.app.ui import md, paper_card
from assistant.citations import cited_in
from assistant.survey import is_label
from assistant.types import Answer, backend_label, usage_parts
from assistant.workspace import Workspace

SHOWN_QUESTION_CHARS = 600


def question_text(question: str) -> str:
    """A question as the chat shows it (a pasted essay is cut short)."""
    if len(question) <= SHOWN_QUESTION_CHARS:
        return md(question)
    return md(question[:SHOWN_QUESTION_CHARS]) + f"… *({len(question):,} characters)*"


def show_answer(ws: Workspace, answer: Answer) -> None:
    """The answer, its citations (each expandable to the cited abstract) and how it was made."""
    if answer.refused:
        show_refusal(answer)
    else:
        st.markdown(survey_markdown(answer) if answer.kind in ("survey", "compare") else md(answer.answer))
        if answer.mode == "fallback":
            st.caption("The model's draft did not pass the check against its sources, so this answer "
                       "quotes the evidence instead (the draft is under *Details*).")
        papers = ws.get_papers([c.paper_id for c in answer.citations])
        for c in answer.citations:
            paper = papers.get(c.paper_id)
            with st.expander(f"[{c.n}] {c.title}" + (f" ({paper.year})" if paper and paper.year else "")):
                if paper is None:
                    st.caption("This paper is no longer in the library.")
                else:
                    paper_card(paper)
    with st.expander("Details", icon=":material/info:"):
        st.caption(details_line(answer))
        if answer.kind in ("survey", "compare") and answer.backend == "local" and not answer.refused:
            st.caption("The bundled model does not write survey answers well: this list is chosen from the "
                       "abstracts in code (extractive), one sentence per paper.")
        if answer.query != answer.question:
            st.caption(f"Searched for: {md(answer.query)}")
        for s in answer.sentences:
            mark = "✓" if s.supported else "✗"
            st.caption(f"{mark} {md(s.text)}")
        if answer.draft:
            st.caption("Model draft (not shown as the answer):")
            st.caption(md(answer.draft))
            for s in answer.draft_sentences:
                if not s.supported:
                    st.caption(f"✗ {md(s.text)} — {md(s.why)}")


def survey_markdown(answer: Answer) -> str:
    """A survey or compare answer as Markdown: the opening line, headings, one bullet per cited paper."""
    titles = {c.n: c.title for c in answer.contexts}
    out: list[str] = []
    for line in answer.answer.splitlines():
        if not line.strip():
            continue
        cites = cited_in(line)
        if is_label(line):
            out.append(f"\n**{md(line.strip().strip('*#_ '))}**\n")
        elif len(cites) == 1 and cites[0] in titles:
            out.append(f"- **{md(titles[cites[0]])}**: {md(line.strip())}")
        else:
            out.append(f"{md(line.strip())}\n")
    return "\n".join(out)


def show_refusal(answer: Answer) -> None:
    """The plain 'not in your library' state, with the nearest papers found."""
    st.info(f"**Not in your library.** {md(answer.answer)}", icon=":material/search_off:")
    if answer.refusal_reason:
        st.caption(f"Why: {md(answer.refusal_reason)}")
    if answer.nearest:
        st.markdown("Nearest papers in your library:")
        for hit in answer.nearest[:5]:
            year = f" ({hit.year})" if hit.year else ""
            st.markdown(f"- **{md(hit.title)}**{year} — {md(hit.snippet)}")


def details_line(answer: Answer) -> str:
    """Back-end, mode, timings, tokens and cost of one answer, as one line."""
    t = answer.timings
    parts = [backend_label(answer.backend, answer.model), f"{answer.kind} question", answer.mode,
             f"retrieval {t.retrieval_s:.2f} s"]
    if t.first_token_s is not None:
        parts.append(f"first token {t.first_token_s:.2f} s")
    parts.append(f"total {t.total_s:.2f} s")
    parts += usage_parts(answer.usage, answer.removed_citations)
    return " · ".join(md(p) for p in parts)
