"""What every source parser returns, and the shared helpers for reading files safely."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import SourceError
from assistant.identity import clean_text, normalize_arxiv, normalize_doi, paper_id_for
from assistant.types import Paper

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_TITLE_CHARS = 500
MAX_ABSTRACT_CHARS = 20_000


@dataclass
class ParsedFile:
    """Papers read from one file, and one line per entry that could not be read."""

    papers: list[Paper] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, refusing empty and oversized files."""
    try:
        size = path.stat().st_size
        if size == 0:
            raise SourceError("the file is empty")
        if size > MAX_FILE_BYTES:
            raise SourceError(f"the file is {size // 2**20} MiB, over the {MAX_FILE_BYTES // 2**20} MiB limit")
        return path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read the file ({exc.strerror or exc})") from None


def read_text(path: Path) -> str:
    """The file as UTF-8 text (a BOM is fine); binary or other encodings are refused."""
    data = read_bytes(path)
    if b"\x00" in data[:8192]:
        raise SourceError("the file is binary, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from None
    if not text.strip():
        raise SourceError("the file holds only white space")
    return text


def make_paper(
    title: str | None,
    abstract: str | None,
    source: str,
    **fields: object,
) -> Paper:
    """A Paper from raw fields: text cleaned, ids normalised, limits enforced."""
    title = clean_text(title or "")
    abstract = clean_text(abstract or "")
    if not title:
        raise SourceError("no title")
    if len(title) > MAX_TITLE_CHARS:
        raise SourceError(f"title is {len(title)} characters long (limit {MAX_TITLE_CHARS})")
    if not abstract:
        raise SourceError("no abstract")
    if len(abstract) > MAX_ABSTRACT_CHARS:
        abstract = abstract[:MAX_ABSTRACT_CHARS]
    doi = normalize_doi(str(fields.pop("doi", None) or "")) or None
    arxiv = normalize_arxiv(str(fields.pop("arxiv_id", None) or "")) or None
    url = fields.get("url")
    if arxiv is None and isinstance(url, str):
        arxiv = normalize_arxiv(url) if "arxiv" in url.lower() else None
    if doi is None and isinstance(url, str) and "doi.org/" in url.lower():
        doi = normalize_doi(url)
    clean = {k: v for k, v in fields.items() if v not in (None, "", ())}
    return Paper(
        paper_id=paper_id_for(title),
        title=title,
        abstract=abstract,
        doi=doi,
        arxiv_id=arxiv,
        sources=(source,),
        **clean,  # type: ignore[arg-type]
    )


def short_title(title: str, limit: int = 60) -> str:
    """A title shortened for one-line messages."""
    title = " ".join(title.split())
    return title if len(title) <= limit else title[: limit - 1] + "…"
