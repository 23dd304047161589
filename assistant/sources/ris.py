"""RIS files (what Zotero, Mendeley, EndNote and Papers export) → papers, via rispy."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import rispy

from assistant.errors import SourceError
from assistant.identity import normalize_arxiv
from assistant.sources.base import ParsedFile, make_paper, read_text, short_title
from assistant.sources.tabular import flip_name
from assistant.types import Paper

# "TY  - JOUR" as written by the spec; one space before the dash and none after it are common too.
_TAG = re.compile(r"^([A-Z][A-Z0-9])\s{1,2}-(?:\s(.*))?$")
_NEWLINE = re.compile(r"\r\n|\r|\n")  # not str.splitlines: a form feed or U+2028 inside an abstract stays
_YEAR = re.compile(r"(?<!\d)([12]\d{3})(?!\d)")
_ARXIV_HINT = re.compile(r"arxiv", re.IGNORECASE)
# rispy's names for the tags an arXiv id turns up in (notes, accession number, number, venue fields).
_ARXIV_FIELDS = ("doi", "notes", "note", "accession_number", "number", "type_of_work", "journal_name",
                 "secondary_title", "publisher")


def _records(text: str) -> Iterator[tuple[int, list[str], bool]]:
    """(line number of TY, the record's lines in the spec's form, whether an ER closed it) per record."""
    start, lines = 0, list[str]()
    for n, raw in enumerate(_NEWLINE.split(text), start=1):
        line = raw.rstrip()
        tag = _TAG.match(line)
        if tag and tag.group(1) == "TY":
            if lines:
                yield start, lines, False
            start, lines = n, []
        if not start:
            continue  # anything before the first TY: headers such as "1." or "Record #1 of 2"
        if tag and tag.group(1) == "ER":
            yield start, lines, True
            start, lines = 0, []
        else:
            lines.append(f"{tag.group(1)}  - {(tag.group(2) or '').strip()}" if tag else line)
    if lines:
        yield start, lines, False


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def _first(entry: dict[str, object], *names: str) -> str | None:
    return next((t for name in names for t in _texts(entry.get(name))), None)


def _entry_to_paper(entry: dict[str, object], source: str) -> Paper:
    abstracts = _texts(entry.get("abstract")) + _texts(entry.get("notes_abstract"))
    authors = [flip_name(a) for a in _texts(entry.get("authors")) + _texts(entry.get("first_authors"))]
    dated = _first(entry, "year", "publication_year", "date") or ""
    year = _YEAR.search(dated)
    urls = [u for text in _texts(entry.get("urls")) for u in text.split()]
    hints = [t for name in _ARXIV_FIELDS for t in _texts(entry.get(name))] + urls
    return make_paper(
        _first(entry, "title", "primary_title"),
        max(abstracts, key=len, default=None),
        source,
        authors=tuple(dict.fromkeys(a for a in authors if a)),
        year=int(year.group(1)) if year else None,
        date=_first(entry, "date", "publication_year"),
        doi=_first(entry, "doi") or next((u for u in urls if "doi.org/" in u.lower()), None),
        arxiv_id=next((h for h in hints if _ARXIV_HINT.search(h) and normalize_arxiv(h)), None),
        url=urls[0] if urls else None,
        venue=_first(entry, "journal_name", "alternate_title3", "alternate_title2", "secondary_title"),
    )


def parse_ris(path: Path) -> ParsedFile:
    """Read every TY…ER record of a .ris file; records without title or abstract become problems."""
    out = ParsedFile()
    found = 0
    for line, lines, closed in _records(read_text(path)):
        found += 1
        try:
            entries = rispy.loads("\n".join([*lines, "ER  - "]), skip_unknown_tags=True)
        except Exception as exc:  # rispy on odd input: one line, the other records go on
            out.problems.append(f"entry at line {line}: cannot read it ({type(exc).__name__})")
            continue
        title = _first(entries[0], "title", "primary_title") if entries else None
        name = f"entry at line {line}" + (f" ({short_title(title, 40)!r})" if title else "")
        if not closed:
            out.problems.append(f"{name}: no 'ER  -' line closes it (cut short?); read what is there")
        try:
            out.papers.append(_entry_to_paper(entries[0] if entries else {}, path.name))
        except SourceError as exc:
            out.problems.append(f"{name}: {exc}")
    if not out.papers:
        if not found:
            raise SourceError("no RIS records found (each starts with a 'TY  - ' line)")
        more = len(out.problems) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
        raise SourceError(f"no paper could be read: {out.problems[0]}{tail}")
    return out
