"""`litreview related-work`: a cited related-work draft for a topic, in Markdown or LaTeX (+ BibTeX)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast, get_args

import typer
from rich.markup import escape

from assistant.choices import RefFormat
from assistant.cli.common import LlmFlag, ModelFlag, UrlFlag, app, err, print_json, progress_bar, workspace
from assistant.errors import LitReviewError

if TYPE_CHECKING:
    from assistant.workspace import Workspace
    from assistant.writing.models import RelatedWorkDraft

DEFAULT_BIB = Path("related-work.bib")


def _default_papers() -> int:
    """The drafting module's default (it loads scikit-learn, so only when the command runs)."""
    from assistant.writing.related import DEFAULT_PAPERS

    return DEFAULT_PAPERS


def _ref_format(value: str) -> str:
    """A --refs value checked against the reference formats (Typer takes no list of Literal)."""
    if value not in get_args(RefFormat):
        raise typer.BadParameter(f"'{value}' is not one of " + ", ".join(map(repr, get_args(RefFormat))))
    return value


class Format(StrEnum):
    """Output formats of the draft."""

    md = "md"
    latex = "latex"


@app.command("related-work")
def related_work_command(
    topic: Annotated[str, typer.Option("--topic", help="What the related-work section is about.")],
    max_papers: Annotated[int, typer.Option("--max-papers", min=1, default_factory=_default_papers,
                                            help="At most this many papers.")],
    fmt: Annotated[Format, typer.Option("--format",
                                        help="md (\\[n] citations) or latex (\\cite + BibTeX).")] = Format.md,
    bib: Annotated[Path | None, typer.Option("--bib", help="BibTeX file, written with --format latex or when given "
                                             "(default: the --out file with .bib, or related-work.bib).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the draft to this file.")] = None,
    refs: Annotated[list[str] | None, typer.Option(
        "--refs", parser=_ref_format, metavar="[ris|csljson|csv]",
        help="Also write the cited papers as ris, csljson or csv beside the draft (FILE.ris, FILE.json, "
        "FILE.csv; default name related-work); repeat for several.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the draft as JSON.")] = False,
    llm: LlmFlag = None,
    model: ModelFlag = None,
    base_url: UrlFlag = None,
) -> None:
    """Draft a related-work section: the library's papers on a topic in themes, every sentence cited."""
    from assistant.writing.related import related_work

    ws = workspace(llm={"provider": llm, "model": model, "base_url": base_url})
    ws.backend()  # a missing key or unreachable server is reported before any work
    bib_path = _bib_path(fmt, bib, out_file)
    formats = [cast(RefFormat, f) for f in refs or ()]  # each checked by _ref_format
    ref_paths = {f: _refs_path(f, out_file) for f in formats}
    with progress_bar(True) as progress:
        draft = related_work(ws, topic, max_papers, progress=progress)
    text = (draft.latex or "") if fmt is Format.latex else draft.markdown
    if out_file is not None:
        _write(out_file, text)
        err.print(f"draft written to {escape(str(out_file))}", highlight=False)
    if bib_path is not None:
        _write(bib_path, draft.bibtex or "")
        err.print(f"BibTeX ({len(draft.references)} entries) written to {escape(str(bib_path))}", highlight=False)
    for ref_fmt, path in ref_paths.items():
        _write_refs(ws, draft, ref_fmt, path)
    if as_json:
        print_json(draft)
    elif out_file is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    err.print(_footer(draft), style="dim", highlight=False, markup=False)


def _bib_path(fmt: Format, bib: Path | None, out_file: Path | None) -> Path | None:
    """Where the BibTeX goes: --bib, else beside --out, else related-work.bib (LaTeX only, unless --bib)."""
    if bib is None and fmt is not Format.latex:
        return None
    path = bib or (out_file.with_suffix(".bib") if out_file is not None else DEFAULT_BIB)
    if out_file is not None and path.resolve() == out_file.resolve():
        raise LitReviewError(f"the BibTeX file would overwrite the draft {out_file}: give --bib another name")
    return path


def _refs_path(fmt: RefFormat, out_file: Path | None) -> Path:
    """Where --refs FORMAT goes: beside the draft, named like it (BibTeX has --bib)."""
    if fmt == "bib":
        raise LitReviewError("--refs takes ris, csljson or csv; BibTeX is written with --bib or --format latex")
    from assistant.export import SUFFIX

    path = (out_file or DEFAULT_BIB).with_suffix(SUFFIX[fmt])
    if out_file is not None and path.resolve() == out_file.resolve():
        raise LitReviewError(f"the {fmt} references would overwrite the draft {out_file}: rename --out")
    return path


def _write_refs(ws: Workspace, draft: RelatedWorkDraft, fmt: RefFormat, path: Path) -> None:
    """The draft's references, in citation order, in a reference manager's format."""
    from assistant.export import export_papers

    found = ws.get_papers([r.paper_id for r in draft.references])
    _write(path, export_papers([found[r.paper_id] for r in draft.references if r.paper_id in found], fmt))
    err.print(f"{fmt} ({len(found)} entries) written to {escape(str(path))}", highlight=False)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LitReviewError(f"cannot write {path}: {exc.strerror or exc}") from None


def _footer(draft: RelatedWorkDraft) -> str:
    from assistant.types import backend_label, usage_parts

    parts = [backend_label(draft.backend, draft.model)]
    parts.append(f"{len(draft.themes)} theme(s), {len(draft.references)} papers cited")
    fallback = sum(t.mode == "fallback" for t in draft.themes)
    if fallback:
        parts.append(f"{fallback} theme(s) fell back to the extractive text")
    parts.append(f"{draft.seconds:.1f} s")
    parts += usage_parts(draft.usage, draft.removed_citations)
    return " · ".join(parts)
