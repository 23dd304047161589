"""Hugging Face daily-papers listings (and any plain title/abstract text) → papers."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.errors import SourceError
from assistant.sources.base import ParsedFile, make_paper, read_text, short_title

_HEADERS = {
    "new",
    "get trending papers in your email inbox!",
    "subscribe",
    "daily papers",
    "byak and the research community",
}
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
_DATE = rf"{_MONTH} \d{{1,2}}(?:, (\d{{4}}))?"
_DATE_LINE = re.compile(rf"^{_DATE}$")
# "• 7 authors / · / Jul 3, 2024 3"  or  "kaist-ai KAIST AI / · / Oct 7 3"  (the "·" line is optional)
_META = re.compile(
    rf"^(?:•\s*(?P<n>\d+)\s+authors?|(?P<org>[^\n]+?))\n(?:·\n)?(?P<date>{_DATE})(?:\s+(?P<up>\d+))?$"
)
_MIN_ABSTRACT_CHARS = 40
_MAX_TITLE_CHARS = 400


def _blocks(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = (b.strip() for b in re.split(r"\n[ \t]*\n", text))
    return [re.sub(r"[ \t]*\n[ \t]*", "\n", b) for b in blocks if b]


def _is_noise(block: str) -> bool:
    return block.casefold() in _HEADERS or bool(_DATE_LINE.match(block))


def _meta_fields(block: str) -> dict[str, object] | None:
    match = _META.match(block)
    if not match:
        return None
    fields: dict[str, object] = {"date": match.group("date")}
    year = re.search(r"\d{4}", match.group("date"))
    if year:
        fields["year"] = int(year.group())
    if match.group("n"):
        fields["n_authors"] = int(match.group("n"))
    elif match.group("org"):
        slug, _, name = match.group("org").strip().partition(" ")
        fields["organization"] = name.strip() or slug
    if match.group("up"):
        fields["upvotes"] = int(match.group("up"))
    return fields


def parse_listing(path: Path) -> ParsedFile:
    """Read title/abstract entries, with their metadata lines where the listing has them."""
    blocks = _blocks(read_text(path))
    out = ParsedFile()
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if _is_noise(block) or _meta_fields(block) is not None:
            i += 1
            continue
        if "\n" in block or len(block) > _MAX_TITLE_CHARS:
            out.problems.append(f"block {i + 1} is not a title line: {short_title(block)!r}")
            i += 1
            continue
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if nxt is None or _is_noise(nxt) or _meta_fields(nxt) is not None or len(nxt) < _MIN_ABSTRACT_CHARS:
            out.problems.append(f"entry {short_title(block)!r} has no abstract")
            i += 1
            continue
        meta = _meta_fields(blocks[i + 2]) if i + 2 < len(blocks) else None
        try:
            out.papers.append(make_paper(block, nxt, path.name, **(meta or {})))
        except SourceError as exc:
            out.problems.append(f"entry {short_title(block)!r}: {exc}")
        i += 3 if meta is not None else 2
    if not out.papers:
        raise SourceError("no papers found (expected title lines each followed by an abstract paragraph)")
    return out
