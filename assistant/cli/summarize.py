"""`litreview summarize`: a TL;DR per paper and a cited synthesis, as Markdown or JSON."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from assistant.cli.common import LlmFlag, ModelFlag, UrlFlag, app, err, out, print_json, progress_bar, workspace
from assistant.errors import LitReviewError

if TYPE_CHECKING:
    from assistant.writing.models import Summary

FORMATS = ("text", "md", "json")


@app.command()
def summarize(
    papers: Annotated[list[str] | None, typer.Option(
        "--papers", help="A paper id or (unique part of a) title; repeat the option for several papers.")] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="Summarise the library's best papers on it.")] = None,
    max_papers: Annotated[int, typer.Option("--max-papers", help="At most this many papers for --topic.")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="text (rendered), md (plain Markdown) or json.")] = "text",
    llm: LlmFlag = None,
    model: ModelFlag = None,
    base_url: UrlFlag = None,
) -> None:
    """Summarise papers: a one- or two-sentence TL;DR each and, for several, a cited synthesis."""
    from rich.markdown import Markdown

    from assistant.writing.summary import summarize as summarize_papers
    from assistant.writing.summary import summary_markdown

    if fmt not in FORMATS:
        raise LitReviewError(f"unknown format '{fmt}' (choose text, md or json)")
    if as_json and fmt not in ("text", "json"):
        raise LitReviewError("give --json or --format, not both")
    fmt = "json" if as_json else fmt
    ws = workspace(llm={"provider": llm, "model": model, "base_url": base_url})
    ws.backend()  # a missing key or unreachable server is reported before any work
    with progress_bar(fmt != "json") as progress:
        summary = summarize_papers(ws, papers or (), topic, max_papers, progress=progress)
    if fmt == "json":
        print_json(summary)
        return
    text = summary_markdown(summary)
    if fmt == "md":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        out.print(Markdown(text), soft_wrap=False)  # the shared console's soft wrap would crop lines
    err.print(footer(summary), style="dim", markup=False, highlight=False)


def footer(summary: Summary) -> str:
    """One line on how the summary was made: back-end, modes, time, tokens, removed citations."""
    from assistant.types import backend_label, usage_parts

    parts = [backend_label(summary.backend, summary.model)]
    modes: dict[str, int] = {}
    for p in summary.papers:
        modes[p.mode] = modes.get(p.mode, 0) + 1
    parts.append("TL;DRs " + ", ".join(f"{n} {mode}" for mode, n in modes.items()))
    if len(summary.papers) > 1:
        parts.append(f"synthesis {summary.synthesis_mode}" if summary.synthesis else "no synthesis sentence passed")
    parts.append(f"{summary.seconds:.1f} s")
    parts += usage_parts(summary.usage, summary.removed_citations)
    return " · ".join(parts)
