"""Source files → papers: one parser per format, chosen by file extension."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from assistant.errors import SourceError
from assistant.sources.base import ParsedFile


def _listing(path: Path) -> ParsedFile:
    from assistant.sources.listing import parse_listing

    return parse_listing(path)


def _bibtex(path: Path) -> ParsedFile:
    from assistant.sources.bibtex import parse_bibtex

    return parse_bibtex(path)


def _ris(path: Path) -> ParsedFile:
    from assistant.sources.ris import parse_ris

    return parse_ris(path)


def _csv(path: Path) -> ParsedFile:
    from assistant.sources.tabular import parse_csv

    return parse_csv(path)


def _jsonl(path: Path) -> ParsedFile:
    from assistant.sources.tabular import parse_jsonl

    return parse_jsonl(path)


def _json(path: Path) -> ParsedFile:
    from assistant.sources.csljson import parse_json

    return parse_json(path)


def _pdf(path: Path) -> ParsedFile:
    from assistant.sources.pdf import parse_pdf

    return parse_pdf(path)


PARSERS: dict[str, Callable[[Path], ParsedFile]] = {
    ".txt": _listing,
    ".md": _listing,
    ".bib": _bibtex,
    ".bibtex": _bibtex,
    ".ris": _ris,
    ".csv": _csv,
    ".tsv": _csv,
    ".jsonl": _jsonl,
    ".ndjson": _jsonl,
    ".json": _json,
    ".pdf": _pdf,
}


def parse_file(path: Path) -> ParsedFile:
    """Parse one file by its extension; raises SourceError with the reason."""
    parser = PARSERS.get(path.suffix.lower())
    if parser is None:
        kinds = " ".join(sorted(PARSERS))
        raise SourceError(f"unsupported file type '{path.suffix or path.name}' (supported: {kinds})")
    return parser(path)


def expand_paths(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files to ingest (folders searched recursively, sorted) and paths that cannot be used."""
    files: list[Path] = []
    missing: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in PARSERS and not p.name.startswith(".")
            )
            if not found:
                missing.append((path, "the folder holds no supported files"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            missing.append((path, "not a regular file"))
        else:
            missing.append((path, "no such file or folder"))
    return list(dict.fromkeys(files)), missing
