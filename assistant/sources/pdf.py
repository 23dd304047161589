"""A paper PDF → one paper: title, abstract, DOI and arXiv id from its first pages (pypdf)."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pypdf import PdfReader

from assistant.errors import SourceError
from assistant.sources.base import ParsedFile, make_paper, read_bytes, short_title

_PAGES = 2  # the title, abstract and ids are on the first pages
_ARXIV = re.compile(r"(?:arXiv:\s*|arxiv\.org/(?:abs|pdf)/)(\d{4}\.\d{4,5})(?:v\d+)?", re.I)
_DOI = re.compile(r"\b10\.\d{4,9}/[^\s\"<>]+")
_ABSTRACT = re.compile(r"^[ \t]*(?:(?i:abstract)[ \t]*(?:[—–:.\-]+|$)|ABSTRACT\b)[ \t]*", re.M)
_END = re.compile(
    r"^[ \t]*(?:(?:1|I)\.?[ \t]*(?i:introduction)|(?i:introduction)[ \t]*$"
    r"|(?i:key ?words|index terms|ccs concepts|acm reference format)\b|1\.?[ \t]+[A-Z])",
    re.M,
)
_BAD_META = re.compile(
    r"^(?:untitled\d*|title|paper title.*|none|unknown|microsoft (?:word|powerpoint)\b.*"
    r"|.*\.(?:dvi|tex|docx?|pdf|ps|eps|indd|rtf|odt)|[\W\d_]*)$",
    re.I,
)
_SKIP_LINE = re.compile(
    r"arxiv:|^(?:proceedings|preprint|published|under review|accepted|journal of|vol\.|©|copyright)"
    r"|@|https?://|^[\W\d_]*$",
    re.I,
)
_MIN_ABSTRACT_CHARS = 80


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence pypdf's warnings about the damaged files it recovers from."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR + 10)
    try:
        yield
    finally:
        logger.setLevel(level)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "EOF marker" in text or "startxref" in text or "ended unexpectedly" in text:
        text += "; the file may be truncated"
    return short_title(text, 120)


def _open(data: bytes) -> PdfReader:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            ok = bool(reader.decrypt(""))
        except Exception:  # e.g. AES without the optional crypto library
            ok = False
        if not ok:
            raise SourceError("the PDF is encrypted; decrypt it first")
    if len(reader.pages) == 0:
        raise SourceError("the PDF has no pages")
    return reader


def _read(reader: PdfReader) -> tuple[list[str], list[tuple[str, float]]]:
    """The text of the first pages, and page 1 as (text piece, font size) fragments."""
    frags: list[tuple[str, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        frags.append((text, abs(size * tm[3] * cm[3])))  # rotated text (margin stamps) → 0

    pages = [reader.pages[0].extract_text(visitor_text=visit)]
    pages += [page.extract_text() for page in list(reader.pages)[1:_PAGES]]
    return pages, frags


def _meta_title(reader: PdfReader) -> str | None:
    try:
        title = reader.metadata.title if reader.metadata else None
    except Exception:
        return None
    title = " ".join(str(title or "").split())
    return title if len(title) >= 4 and not _BAD_META.match(title) else None


def _font_title(frags: list[tuple[str, float]]) -> str | None:
    """The run of text in page 1's largest font (margin stamps and page numbers aside)."""
    sized = [s for t, s in frags if len(t.strip()) > 3 and not _ARXIV.search(t)]
    if not sized:
        return None
    top, parts, started = max(sized), [], False
    for text, size in frags:
        if abs(size - top) < 0.5 and text.strip() and not _ARXIV.search(text):
            started = True
        elif started and text.strip():
            break
        if started:
            parts.append(text)
    title = " ".join("".join(parts).split())
    return title if len(title.split()) >= 2 and len(title) <= 300 else None


def _line_title(text: str) -> str | None:
    """The first substantial line of page 1 (and its continuation line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if _ABSTRACT.match(line):
            return None
        if _SKIP_LINE.search(line) or len(line.split()) < 2:
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if nxt and (line.endswith((":", "-")) or nxt[:1].islower()) and not _ABSTRACT.match(nxt):
            line = f"{line} {nxt}" if not line.endswith("-") else line + nxt
        return line
    return None


def _join(text: str) -> str:
    """Lines → one paragraph; words hyphenated across a line break are rejoined."""
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    text = re.sub(r"(\w)-\n(?=[a-z])", r"\1", text)
    return " ".join(text.split())


def _first_paragraph(text: str) -> str:
    """The first paragraph of several long lines: the abstract when it has no heading."""
    lines = [line.strip() for line in text.splitlines()]
    width = max((len(line) for line in lines), default=0)
    para: list[str] = []
    for line in [*lines, ""]:
        if line:
            para.append(line)
        if not line or len(line) < 0.7 * width:
            joined = _join("\n".join(para))
            if len(para) >= 2 and len(joined) >= 200:
                return joined
            para = []
    return ""


def _abstract(text: str) -> str:
    match = _ABSTRACT.search(text)
    if match:
        rest = text[match.end() :]
        end = _END.search(rest)
        abstract = _join(rest[: end.start()] if end else rest[:3000])
        if len(abstract) >= _MIN_ABSTRACT_CHARS:
            return abstract
    return _first_paragraph(text)


def parse_pdf(path: Path) -> ParsedFile:
    """Read one paper from a PDF's text layer: title, abstract, DOI and arXiv id."""
    data = read_bytes(path)
    with _quiet():
        try:
            reader = _open(data)
            pages, frags = _read(reader)
            meta_title = _meta_title(reader)
        except SourceError:
            raise
        except RecursionError:
            raise SourceError("not a readable PDF (its structure is nested too deeply)") from None
        except Exception as exc:  # pypdf raises many kinds on damaged files
            raise SourceError(f"not a readable PDF ({_reason(exc)})") from None
    text = "\n".join(pages)
    if len(text.strip()) < 20:
        raise SourceError("no text layer (scanned PDF?)")
    title = meta_title or _font_title(frags) or _line_title(pages[0])
    if not title:
        raise SourceError("cannot find the title on the first page")
    abstract = _abstract(text)
    if not abstract:
        raise SourceError(f"cannot find the abstract of {short_title(title)!r}")
    arxiv = _ARXIV.search(pages[0])
    doi = _DOI.search(pages[0])
    paper = make_paper(
        title,
        abstract,
        path.name,
        doi=doi.group() if doi else None,
        arxiv_id=arxiv.group(1) if arxiv else None,
        year=2000 + int(arxiv.group(1)[:2]) if arxiv else None,
    )
    return ParsedFile(papers=[paper])
