"""Question commands: ask (one question or a batch file) and chat."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from assistant.choices import Provider
from assistant.cli.common import (
    LlmFlag,
    ModelFlag,
    UrlFlag,
    app,
    err,
    finish,
    out,
    print_json,
    print_json_line,
    workspace,
)
from assistant.errors import LitReviewError, first_line
from assistant.workspace import check_query

if TYPE_CHECKING:
    from assistant.cli.batch import BatchItem
    from assistant.types import Answer, Turn
    from assistant.workspace import Workspace


KFlag = Annotated[int | None, typer.Option("-k", min=1, max=50, help="How many papers to read.")]
HISTORY_TURNS = 6


def _workspace(llm: Provider | None, model: str | None, base_url: str | None) -> Workspace:
    return workspace(llm={"provider": llm, "model": model, "base_url": base_url})


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="Your question about the library.")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="JSONL file of {\"id\", \"query\"}.")] = None,
    llm: LlmFlag = None,
    model: ModelFlag = None,
    base_url: UrlFlag = None,
    k: KFlag = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    show_sources: Annotated[bool, typer.Option("--show-sources", help="Print each cited abstract.")] = False,
) -> None:
    """Answer a question from the library, citing its papers (or say the library does not cover it)."""
    if question is not None and batch is not None:
        raise LitReviewError("give a question or --batch FILE, not both")
    ws = _workspace(llm, model, base_url)
    ws.backend()  # a missing key or unreachable server is reported before any work
    if batch is not None:
        finish(_ask_batch(ws, batch, k, as_json))
        return
    if question is None:
        raise LitReviewError("give a question, or --batch FILE")
    if as_json:
        print_json(answer_data(ws.ask(question, k=k)))
        return
    streamed = _Printer()
    answer = ws.ask(question, k=k, on_token=streamed)
    print_answer(answer, streamed.used, show_sources)


def answer_data(answer: Answer) -> dict[str, Any]:
    """The answer as JSON-able data (contexts carry the text the model was shown)."""
    return answer.model_dump(mode="json")


def _ask_batch(ws: Workspace, path: Path, k: int | None, as_json: bool) -> bool:
    items, failed = _read_batch(path)
    answerer = ws.answerer()  # one back-end, loaded once, for every line
    for item in items:
        try:
            answer = answerer.ask(check_query(item.query), k=k)
        except LitReviewError as exc:
            failed = True
            err.print(f"[yellow]failed[/yellow] {escape(item.id)}: {escape(str(exc))}", highlight=False)
            if as_json:
                print_json_line({"id": item.id, "query": item.query, "error": str(exc)})
            continue
        if as_json:
            print_json_line({"id": item.id, **answer_data(answer)})
        else:
            out.print(f"[bold]{escape(item.id)}[/bold] {escape(answer.answer)}", highlight=False)
    return failed


def _read_batch(path: Path) -> tuple[list[BatchItem], bool]:
    from pydantic import ValidationError

    from assistant.cli.batch import BatchItem

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LitReviewError(f"cannot read batch file {path}: {exc}") from None
    items: list[BatchItem] = []
    failed = False
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = BatchItem.model_validate(json.loads(line))
            if not item.query.strip():
                raise ValueError("the query is empty")
            items.append(item)
        except (json.JSONDecodeError, ValidationError, ValueError) as exc:
            failed = True
            why = first_line(exc)
            where = escape(f"{path}:{n}")
            err.print(f'[yellow]skipped[/yellow] {where}: not an {{"id", "query"}} line ({escape(why)})',
                      highlight=False)
    return items, failed


class _Printer:
    """Writes streamed tokens to the terminal as they arrive."""

    def __init__(self) -> None:
        self.used = False

    def __call__(self, token: str) -> None:
        self.used = True
        out.print(token, end="", markup=False, highlight=False)


def print_answer(answer: Answer, streamed: bool, show_sources: bool) -> None:
    """The answer (unless already streamed), its cited sources and a footer of timings."""
    if answer.refused:
        if streamed:
            out.print()
        out.print(answer.answer, highlight=False, markup=False)
        if answer.nearest:
            out.print("Nearest papers in the library (none cited):", style="dim", highlight=False)
            for hit in answer.nearest:
                out.print(f"  - {hit.title}", markup=False, highlight=False)
    else:
        if answer.mode == "fallback":
            reason = next((c.reason for c in answer.draft_sentences if not c.supported), "no sentence to check")
            out.print()
            err.print(f"[yellow]draft withdrawn[/yellow]: {escape(reason)}. The answer from the evidence:",
                      highlight=False)
            out.print(answer.answer, markup=False, highlight=False)
        elif streamed:
            out.print()
        else:
            out.print(answer.answer, markup=False, highlight=False)
        if answer.citations:
            out.print("Sources:", style="bold", highlight=False)
        by_n = {s.n: s for s in answer.contexts}
        for c in answer.citations:
            out.print(f"  [{c.n}] {c.title}", markup=False, highlight=False)
            if show_sources and c.n in by_n:
                out.print(f"      {by_n[c.n].text}", style="dim", markup=False, highlight=False)
    out.print(_footer(answer), style="dim", highlight=False, markup=False)


def _footer(answer: Answer) -> str:
    from assistant.types import backend_label, usage_parts

    t = answer.timings
    parts = [backend_label(answer.backend, answer.model)]
    if t.first_token_s is not None and answer.mode in ("generated", "fallback"):
        parts.append(f"first token {t.first_token_s:.1f} s")
    parts.append(f"{t.total_s:.1f} s")
    parts += usage_parts(answer.usage, answer.removed_citations)
    return " · ".join(parts)


@app.command()
def chat(
    llm: LlmFlag = None,
    model: ModelFlag = None,
    base_url: UrlFlag = None,
    k: KFlag = None,
) -> None:
    """Ask questions one after another; follow-ups may refer to earlier answers (/reset, /exit)."""
    from assistant.types import Turn

    ws = _workspace(llm, model, base_url)
    ws.backend()
    history: list[Turn] = []
    out.print(f"litreview chat over {ws.library.count()} papers. /reset clears the history, /exit leaves.",
              style="dim", highlight=False)
    while True:
        try:
            question = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if question in ("/exit", "/quit"):
            return
        if question == "/reset":
            history.clear()
            out.print("history cleared", style="dim")
            continue
        if not question:
            continue
        streamed = _Printer()
        try:
            answer = ws.ask(question, history=history, k=k, on_token=streamed)
        except LitReviewError as exc:
            err.print(f"[red]error[/red]: {escape(str(exc))}", highlight=False)
            continue
        print_answer(answer, streamed.used, show_sources=False)
        history.append(Turn(question=question, query=answer.query, answer=answer.answer))
        del history[:-HISTORY_TURNS]

