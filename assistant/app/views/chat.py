"""Chat: questions about the library, answered with citations, streamed as they are written."""

from __future__ import annotations

from itertools import chain
from typing import Any

import streamlit as st

from assistant.app import state, ui
from assistant.app.answer_view import question_text, show_answer
from assistant.app.streaming import TokenStream
from assistant.types import Answer, Turn

HISTORY = "chat_history"


def render() -> None:
    """The chat page."""
    ws = state.workspace()
    head, clear = st.columns([5, 1], vertical_alignment="bottom")
    head.title("Ask your library")
    history: list[dict[str, Any]] = st.session_state.setdefault(HISTORY, [])
    if clear.button("New chat", icon=":material/refresh:", disabled=not history):
        history.clear()
    ui.flash()
    if ui.library_is_empty(ws):
        return
    if not history:
        st.caption("Every sentence of an answer cites papers from your library; when your library does not "
                   "cover a question, the answer says so and lists the nearest papers.")
    for entry in history:
        with st.chat_message("user"):
            st.markdown(question_text(entry["question"]))
        with st.chat_message("assistant"):
            show_answer(ws, entry["answer"])
    question = st.chat_input("Ask a question about your papers")
    if question:
        ask(question, history)


def ask(question: str, history: list[dict[str, Any]]) -> None:
    """Stream the answer to one question into the chat and keep it for follow-ups."""
    ws = state.workspace()
    turns = [Turn(question=e["question"], query=e["answer"].query, answer=e["answer"].answer) for e in history]
    llm, k = state.llm_settings(), state.retrieval_k()
    with st.chat_message("user"):
        st.markdown(question_text(question))
    with st.chat_message("assistant"), ui.guard("Answering"):
        stream: TokenStream[Answer] = TokenStream(lambda sink: ws.ask(question, turns, k, sink, llm))
        tokens = iter(stream)
        with st.spinner("Searching your library…"):
            first = next(tokens, "")
        slot, note = st.empty(), st.empty()
        if first:
            if llm.provider != "extractive":
                note.caption("Model draft: each sentence is checked against its sources when it is done.")
            slot.write_stream(ui.md(t) for t in chain([first], tokens))
        answer = stream.result()
        slot.empty()
        note.empty()
        show_answer(ws, answer)
        history.append({"question": question, "answer": answer})
