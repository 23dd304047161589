"""BibTeX / BibLaTeX files (typically Zotero exports) → papers, via bibtexparser v2."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import bibtexparser
from bibtexparser import middlewares as mw
from bibtexparser.library import Library
from bibtexparser.middlewares.names import parse_single_name_into_parts
from bibtexparser.model import (
    Block,
    DuplicateBlockKeyBlock,
    Entry,
    MiddlewareErrorBlock,
    ParsingFailedBlock,
)
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from assistant.errors import SourceError
from assistant.sources.base import ParsedFile, make_paper, read_text, short_title
from assistant.types import Paper

_YEAR_RE = re.compile(r"(?<!\d)([12]\d{3})(?!\d)")
_ARXIV_HINT = re.compile(r"arxiv", re.IGNORECASE)
_LATEX_HINT = re.compile(r"[\\{}$~%&]|--|``|''")


class _Decoder(LatexNodes2Text):
    """pylatexenc's LaTeX → text, skipped for plain values (most of them; it is slow)."""

    def latex_to_text(self, latex: str, **kwargs: object) -> str:
        if not _LATEX_HINT.search(latex):
            return latex
        return str(super().latex_to_text(latex, **kwargs))


def _make_decoder() -> _Decoder:
    context = get_default_latex_context_db()
    macros = [MacroTextSpec("url", simplify_repl="%s"), MacroTextSpec("textbraceleft", simplify_repl="{"),
              MacroTextSpec("textbraceright", simplify_repl="}"), MacroTextSpec("textasciicircum", simplify_repl="^")]
    context.add_context_category("litreview", prepend=True, macros=macros)
    return _Decoder(latex_context=context, math_mode="text", keep_braced_groups=False)


_DECODER = _make_decoder()


def _latex(value: str) -> str:
    """LaTeX → text (not applied to URLs and DOIs, which are verbatim)."""
    try:
        return str(_DECODER.latex_to_text(value))
    except RecursionError:
        raise SourceError("cannot decode its text (braces nested too deeply)") from None
    except Exception:  # pylatexenc gives up on odd input: keep the text without braces
        return value.replace("{", "").replace("}", "")


def _author(raw: str) -> str:
    """One BibTeX name ('Last, First', 'von Last, Jr, First' or 'First Last') → 'First Last'."""
    parts = parse_single_name_into_parts(raw, strict=False)
    words = [*parts.first, *parts.von, *parts.last]
    name = " ".join(words) + (f", {' '.join(parts.jr)}" if parts.jr else "")
    return " ".join(_latex(name).split())


def _line(block: Block) -> str:
    return f"line {block.start_line + 1}" if block.start_line is not None else "an unknown line"


def _problem(block: ParsingFailedBlock) -> str:
    """One line saying which block failed and why."""
    if isinstance(block, DuplicateBlockKeyBlock):
        return f"entry {block.key} ({_line(block)}): the key is used twice; kept the first"
    if isinstance(block, MiddlewareErrorBlock):
        inner = block.ignore_error_block
        key = inner.key if isinstance(inner, Entry) else "?"
        reason = short_title(" ".join(str(block.error).split()), 100)
        return f"entry {key} ({_line(block)}): cannot read its fields ({reason})"
    error = block.error
    reason = getattr(error, "abort_reason", None) or str(error) or type(error).__name__
    reason = " ".join(str(reason).split())
    snippet = short_title((block.raw or "").strip().split("\n", 1)[0], 40)
    return f"{_line(block)}: cannot parse {snippet!r} ({short_title(reason, 100)})"


def _entry_to_paper(entry: Entry, source: str) -> Paper:
    fields: dict[str, object] = {}
    for field in entry.fields:
        fields.setdefault(field.key.casefold(), field.value)

    def text(*names: str, latex: bool = True) -> str | None:
        for name in names:
            value = fields.get(name)
            if isinstance(value, str) and value.strip():
                return " ".join(_latex(value).split()) if latex else value.strip()
        return None

    raw_authors = fields.get("author")
    names = raw_authors if isinstance(raw_authors, list) else []
    authors = tuple(a for a in (_author(n) for n in names if isinstance(n, str)) if a)
    date = text("date", latex=False)
    year_text = text("year", latex=False) or date or ""
    year = _YEAR_RE.search(year_text)
    doi, url = text("doi", latex=False), text("url", latex=False)
    prefix = text("archiveprefix", "eprinttype", latex=False) or ""
    arxiv = text("eprint", latex=False) if (not prefix or _ARXIV_HINT.search(prefix)) else None
    if arxiv is None:
        hinted = [text("arxiv", "arxivid", latex=False), doi, url, text("journal", "note")]
        arxiv = next((v for v in hinted if v and _ARXIV_HINT.search(v)), None)
    return make_paper(
        text("title"),
        text("abstract"),
        source,
        authors=authors,
        year=int(year.group(1)) if year else None,
        date=date,
        doi=doi,
        arxiv_id=arxiv,
        url=url,
        venue=text("journal", "journaltitle", "booktitle") or _venue(text("howpublished")),
        bibtex_key=entry.key or None,
    )


def _venue(howpublished: str | None) -> str | None:
    """@misc's howpublished as a venue (what `export` writes there), unless it is a link."""
    return howpublished if howpublished and "://" not in howpublished else None


def _parse(text: str) -> Library:
    stack = [mw.SeparateCoAuthors()]  # LaTeX is decoded per field: URLs and DOIs stay verbatim
    logger = logging.getLogger("bibtexparser")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # it logs every syntax error it meets
    try:
        return bibtexparser.parse_string(text, append_middleware=stack)
    except RecursionError:
        raise SourceError("cannot parse the BibTeX: braces nested too deeply") from None
    except Exception as exc:
        reason = short_title(" ".join(str(exc).split()) or type(exc).__name__, 100)
        raise SourceError(f"cannot parse the BibTeX ({reason})") from None
    finally:
        logger.setLevel(level)


def _more(n: int) -> str:
    return f" (and {n} more problem{'s' if n > 1 else ''})" if n > 0 else ""


def parse_bibtex(path: Path) -> ParsedFile:
    """Read every entry of a .bib file; entries without title or abstract become problems."""
    library = _parse(read_text(path))
    out = ParsedFile()
    for block in library.blocks:
        if isinstance(block, ParsingFailedBlock):
            out.problems.append(_problem(block))
        elif isinstance(block, Entry):
            name = f"entry {block.key}" if block.key else f"entry at {_line(block)}"
            try:
                out.papers.append(_entry_to_paper(block, path.name))
            except SourceError as exc:
                out.problems.append(f"{name}: {exc}")
            except (RecursionError, ValueError, TypeError) as exc:
                out.problems.append(f"{name}: unreadable ({type(exc).__name__})")
    if not out.papers:
        if not library.entries and not out.problems:
            raise SourceError("no BibTeX entries found")
        more = _more(len(out.problems) - 1)
        first = out.problems[0] if out.problems else "no entries"
        raise SourceError(f"no paper could be read: {first}{more}")
    return out
