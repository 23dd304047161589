"""`litreview doctor`: one screen of what works and what does not; exit 1 with one line per problem."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from assistant.cli.common import LlmFlag, ModelFlag, UrlFlag, app, err, finish, out, print_json, workspace

MARK = {"ok": "[green]ok[/green]     ", "problem": "[red]PROBLEM[/red]", "note": "[dim]note[/dim]   "}


@app.command()
def doctor(
    llm: LlmFlag = None,
    model: ModelFlag = None,
    base_url: UrlFlag = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check this set-up: Python, models, the library, the LLM back-end, Chromium; each problem with its fix."""
    from assistant.doctor import diagnose

    ws = workspace(llm={"provider": llm, "model": model, "base_url": base_url})
    checks = diagnose(ws)
    problems = [c for c in checks if c.state == "problem"]
    if as_json:
        print_json([c.__dict__ for c in checks])
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            out.print(f"{MARK[c.state]}  {escape(c.name):<{width}}  {escape(c.detail)}", highlight=False)
        for c in problems:
            err.print(f"[red]problem:[/red] {escape(c.name)}: {escape(c.detail)} — fix: {escape(c.fix)}",
                      highlight=False)
        if not problems:
            out.print("everything needed for this configuration works", highlight=False)
    finish(bool(problems))
