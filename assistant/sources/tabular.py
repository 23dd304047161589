"""CSV/TSV tables and JSON Lines (or a JSON array) of paper records → papers."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

from assistant.errors import SourceError
from assistant.sources.base import MAX_FILE_BYTES, ParsedFile, make_paper, read_text, short_title
from assistant.types import Paper

# Any field fits: no file over MAX_FILE_BYTES is read, so no field can exceed it.
csv.field_size_limit(MAX_FILE_BYTES)

_DELIMITERS = ",;\t|"
# Our field → the column names (normalised: lower case, "_" for other characters) it may have.
_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "paper_title", "article_title"),
    "abstract": ("abstract", "summary", "abstract_note"),
    "authors": ("authors", "author", "creators", "author_names"),
    "year": ("year", "publication_year", "pub_year"),
    "date": ("date", "published", "publication_date", "issued", "published_date"),
    "doi": ("doi",),
    "url": ("url", "link"),
    "arxiv_id": ("arxiv_id", "arxiv", "arxivid", "eprint", "arxiv_url"),
    "venue": (
        "venue", "journal", "booktitle", "publication_title", "container_title", "conference",
    ),
}
_YEAR_RE = re.compile(r"(?<!\d)([12]\d{3})(?!\d)")
_SUFFIX = re.compile(r"^(?:jr|sr|ii|iii|iv)\.?$", re.IGNORECASE)
_SCALARS = (str, int, float)
_JSON_KINDS = {"list": "an array", "str": "a string", "int": "a number", "float": "a number",
               "bool": "true/false", "NoneType": "null"}


def normalize_key(key: str) -> str:
    """A column/key name as matched against the aliases: 'Abstract Note' → 'abstract_note'."""
    return re.sub(r"[^0-9a-z]+", "_", key.strip().casefold()).strip("_")


def flip_name(name: str) -> str:
    """'Last, First' → 'First Last'; 'Last, First, Jr.' / 'Last, Jr., First' → 'First Last, Jr.'; else as is."""
    name = " ".join(name.split()).strip(" ,;")
    parts = [part.strip() for part in name.split(",")]
    if not all(parts) or len(parts) not in (2, 3):
        return name
    if len(parts) == 2:  # 'Rafael Santos, Jr.' is already in order
        return name if _SUFFIX.match(parts[1]) else f"{parts[1]} {parts[0]}"
    if _SUFFIX.match(parts[2]):  # RIS and Zotero: 'Last, First, Jr.'
        return f"{parts[1]} {parts[0]}, {parts[2]}"
    if _SUFFIX.match(parts[1]):  # BibTeX: 'Last, Jr., First'
        return f"{parts[2]} {parts[0]}, {parts[1]}"
    return name


def split_authors(value: object) -> tuple[str, ...]:
    """Authors from a list (of names or name objects) or a '; ' / ' and ' separated string."""
    if isinstance(value, list):
        names = [_person(item) for item in value]
    elif isinstance(value, str):
        if ";" in value:
            names = value.split(";")
        elif re.search(r"\s+and\s+", value):
            names = re.split(r"\s*,?\s+and\s+", value)
            if _full_names(names[0]):  # "Jane Doe, John Smith and Ann Lee"
                names = [*names[0].split(","), *names[1:]]
        else:
            names = value.split(",") if _full_names(value) else [value]
    else:
        return ()
    return tuple(n for n in (flip_name(name) for name in names) if n)


def _full_names(text: str) -> bool:
    """True for 'Jane Doe, John Smith' (a comma list of full names), not for 'Doe, Jane'."""
    parts = text.split(",")
    return len(parts) > 1 and all(len(part.split()) > 1 for part in parts)


def _person(item: object) -> str:
    if isinstance(item, dict):
        low = {normalize_key(str(k)): v for k, v in item.items()}
        if isinstance(low.get("name") or low.get("literal"), str):
            return str(low.get("name") or low.get("literal"))
        first = low.get("given") or low.get("first_name") or low.get("firstname") or ""
        last = low.get("family") or low.get("last_name") or low.get("lastname") or ""
        return f"{first} {last}" if isinstance(first, str) and isinstance(last, str) else ""
    return str(item) if isinstance(item, _SCALARS) and not isinstance(item, bool) else ""


def _text(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, _SCALARS):
        return str(value).strip() or None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return " ".join(value) or None  # e.g. a title given as ["part", "part"]
    return None


def _year(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 1000 <= value <= 2999 else None
    if isinstance(value, dict):  # CSL-JSON: {"date-parts": [[2021, 5, 3]]}
        parts = value.get("date-parts")
        first = parts[0] if isinstance(parts, list) and parts else None
        return _year(first[0]) if isinstance(first, list) and first else None
    if isinstance(value, str | float):
        match = _YEAR_RE.search(str(value))
        return int(match.group(1)) if match else None
    return None


def record_to_paper(record: dict[str, object], source: str) -> Paper:
    """A Paper from one row/record keyed by (any-case, aliased) column names."""
    low: dict[str, object] = {}
    for key, value in record.items():
        low.setdefault(normalize_key(str(key)), value)
    fields: dict[str, object] = {}
    for name, aliases in _ALIASES.items():
        fields[name] = next((low[a] for a in aliases if low.get(a) not in (None, "", [])), None)
    raw_title = fields.pop("title")
    if raw_title is not None and _text(raw_title) is None:
        raise SourceError("the title is not text")
    title, abstract = _text(raw_title), _text(fields.pop("abstract"))
    date = fields.pop("date")
    year = _year(fields.pop("year")) or _year(date)
    doi = _text(fields.pop("doi"))
    arxiv = _text(fields.pop("arxiv_id"))
    if arxiv is None and doi and "10.48550/arxiv." in doi.lower():
        arxiv = doi
    return make_paper(
        title,
        abstract,
        source,
        authors=split_authors(fields.pop("authors")),
        year=year,
        date=date.strip() if isinstance(date, str) else None,
        doi=doi,
        arxiv_id=arxiv,
        url=_text(fields.pop("url")),
        venue=_text(fields.pop("venue")),
    )


def add_record(out: ParsedFile, where: str, record: dict[str, object], source: str) -> None:
    """Add the record's paper to `out`, or one problem line naming it and why."""
    try:
        out.papers.append(record_to_paper(record, source))
    except SourceError as exc:
        title = _text(
            next((v for k, v in record.items() if normalize_key(str(k)) in _ALIASES["title"]), None)
        )
        label = f"{where} ({short_title(title, 40)!r})" if title else where
        out.problems.append(f"{label}: {exc}")


def finish(out: ParsedFile, what: str) -> ParsedFile:
    """The file's result; an error when no paper could be read."""
    if not out.papers:
        if not out.problems:
            raise SourceError(f"no {what} found")
        n = len(out.problems) - 1
        more = f" (and {n} more problem{'s' if n > 1 else ''})" if n > 0 else ""
        raise SourceError(f"no paper could be read: {out.problems[0]}{more}")
    return out


def _delimiter(path: Path, text: str) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(path: Path) -> ParsedFile:
    """Read a CSV/TSV table with a header row; one paper per row."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(path, text))
    out = ParsedFile()
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise SourceError("no header row found")
        keys = [normalize_key(cell) for cell in header]
        if not any(k in _ALIASES["title"] for k in keys):
            shown = ", ".join(short_title(c.strip(), 30) for c in header[:12] if c.strip())
            raise SourceError(f"no 'title' column (columns: {shown})")
        start = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                add_record(out, f"line {start}", dict(zip(header, row, strict=False)), path.name)
            start = reader.line_num + 1
    except csv.Error as exc:
        out.problems.append(f"line {reader.line_num}: malformed CSV ({exc}); stopped reading")
    return finish(out, "rows below the header")


def _json_records(path: Path, text: str) -> Iterator[tuple[str, object]]:
    stripped = text.lstrip()
    if stripped.startswith("[") or path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            if stripped.startswith(("[", "{")) and "\n{" not in stripped:
                raise SourceError(f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
        except (ValueError, RecursionError):
            raise SourceError("not valid JSON (too deeply nested or a huge number)") from None
        else:
            items = data if isinstance(data, list) else [data]
            yield from ((f"item {i}", item) for i, item in enumerate(items, 1))
            return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"line {n}", json.loads(line)
        except json.JSONDecodeError as exc:
            yield f"line {n}", SourceError(f"malformed JSON ({exc.msg} at column {exc.colno})")
        except (ValueError, RecursionError):
            yield f"line {n}", SourceError("malformed JSON (too deeply nested or a huge number)")


def parse_jsonl(path: Path) -> ParsedFile:
    """Read JSON Lines (one object per line) or a JSON array of objects; one paper each."""
    out = ParsedFile()
    for where, item in _json_records(path, read_text(path)):
        if isinstance(item, SourceError):
            out.problems.append(f"{where}: {item}")
        elif not isinstance(item, dict):
            kind = _JSON_KINDS.get(type(item).__name__, type(item).__name__)
            out.problems.append(f"{where}: not a JSON object but {kind}")
        else:
            add_record(out, where, item, path.name)
    return finish(out, "JSON records")
