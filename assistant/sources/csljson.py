""".json files: CSL-JSON (Zotero's and Mendeley's "CSL JSON" export), recognised by content; other JSON as records."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.sources.base import ParsedFile, read_text
from assistant.sources.tabular import add_record, finish, parse_jsonl

# Keys that only CSL items carry (plain paper records use "year", "authors", "doi").
_CSL_KEYS = {"issued", "container-title", "DOI", "URL", "citation-key", "collection-title", "event-title"}
_NAME_PARTS = ("given", "dropping-particle", "non-dropping-particle", "family")


def is_csl(data: object) -> bool:
    """True for a CSL-JSON document: a list of objects with a "type" and at least one CSL-only key."""
    items = data if isinstance(data, list) else []
    items = [item for item in items if isinstance(item, dict)]
    return bool(items) and all("type" in item for item in items) and any(_CSL_KEYS & item.keys() for item in items)


def csl_name(person: object) -> str:
    """One CSL name object as 'Given particle Family, Suffix' (or its literal)."""
    if not isinstance(person, dict):
        return person if isinstance(person, str) else ""
    if isinstance(person.get("literal"), str):
        return str(person["literal"])
    words = [str(person[p]) for p in _NAME_PARTS if isinstance(person.get(p), str) and person[p].strip()]
    suffix = person.get("suffix")
    return " ".join(words) + (f", {suffix}" if isinstance(suffix, str) and suffix.strip() else "")


def csl_record(item: dict[str, object]) -> dict[str, object]:
    """A CSL item as the plain record the tabular reader takes (title, abstract, authors, year, …)."""
    authors = item.get("author")
    hints = [item.get(k) for k in ("number", "archive_location", "note", "DOI", "URL")]
    arxiv = next((h for h in hints if isinstance(h, str) and "arxiv" in h.lower()), None)
    issued = item.get("issued")
    year = issued.get("raw") or issued.get("literal") if isinstance(issued, dict) else None
    return {
        "title": item.get("title"),
        "abstract": item.get("abstract"),
        "authors": [csl_name(p) for p in authors] if isinstance(authors, list) else None,
        "year": year if year else issued,
        "doi": item.get("DOI"),
        "url": item.get("URL"),
        "arxiv_id": arxiv,
        "venue": item.get("container-title") or item.get("event-title"),
    }


def parse_json(path: Path) -> ParsedFile:
    """A .json file: CSL-JSON items when it is CSL, else JSON records (as .jsonl)."""
    text = read_text(path)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None  # the records reader says what is wrong with it
    if not is_csl(data):
        return parse_jsonl(path)
    out = ParsedFile()
    for i, item in enumerate(data, 1):
        if isinstance(item, dict):
            add_record(out, f"item {i}", csl_record(item), path.name)
        else:
            out.problems.append(f"item {i}: not a JSON object")
    return finish(out, "CSL-JSON items")

