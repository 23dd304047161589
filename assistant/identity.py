"""Stable paper ids, duplicate keys (title, DOI, arXiv id) and metadata merging."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

from assistant.types import Paper

_ARXIV_RE = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|arxiv:\s*)?(\d{4}\.\d{4,5})(?:v\d+)?", re.IGNORECASE
)
_DOI_RE = re.compile(r"(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)


def normalize_title(title: str) -> str:
    """Lower-case, accents and punctuation folded, single spaces: the title as a match key."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = re.sub(r"[^\w]+", " ", text)
    return " ".join(text.split())


def clean_text(text: str) -> str:
    """Whitespace folded to single spaces and control characters dropped."""
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return " ".join(text.split())


def paper_id_for(title: str) -> str:
    """The stable id of a paper: a hash of its normalised title."""
    return "p" + hashlib.sha1(normalize_title(title).encode()).hexdigest()[:12]


def normalize_doi(value: str | None) -> str | None:
    """A bare lower-case DOI (10.x/y) from a DOI, doi: string or doi.org URL."""
    if not value:
        return None
    match = _DOI_RE.search(value)
    return match.group(1).rstrip(".,;").lower() if match else None


def normalize_arxiv(value: str | None) -> str | None:
    """A bare arXiv id (2401.01234) without version, from an id or URL."""
    if not value:
        return None
    match = _ARXIV_RE.search(value)
    return match.group(1) if match else None


def dedupe_keys(paper: Paper) -> list[str]:
    """The keys under which two records count as the same paper."""
    keys = [f"title:{normalize_title(paper.title)}"]
    if paper.doi:
        keys.append(f"doi:{paper.doi}")
    if paper.arxiv_id:
        keys.append(f"arxiv:{paper.arxiv_id}")
    return keys


def merge(base: Paper, other: Paper) -> Paper:
    """`base` with the fields it lacks filled from `other` and the sources united."""
    updates: dict[str, object] = {}
    for name in Paper.model_fields:
        if name in ("paper_id", "title", "sources"):
            continue
        mine, theirs = getattr(base, name), getattr(other, name)
        if name == "abstract":
            if len(theirs) > len(mine) * 1.2:  # a truncated abstract gives way to a fuller one
                updates[name] = theirs
        elif mine in (None, (), "") and theirs not in (None, (), ""):
            updates[name] = theirs
    sources = tuple(dict.fromkeys((*base.sources, *other.sources)))
    if sources != base.sources:
        updates["sources"] = sources
    return base.model_copy(update=updates) if updates else base


class PaperIndex:
    """Papers by duplicate key: finds the record an incoming paper duplicates."""

    def __init__(self, papers: Iterable[Paper] = ()) -> None:
        self._by_key: dict[str, str] = {}
        self.papers: dict[str, Paper] = {}
        for paper in papers:
            self.put(paper)

    def find(self, paper: Paper) -> Paper | None:
        """The known paper sharing a key with `paper`, if any."""
        for key in dedupe_keys(paper):
            pid = self._by_key.get(key)
            if pid is not None:
                return self.papers[pid]
        return None

    def put(self, paper: Paper) -> None:
        """Record (or replace) a paper under all its keys."""
        self.papers[paper.paper_id] = paper
        for key in dedupe_keys(paper):
            self._by_key.setdefault(key, paper.paper_id)
