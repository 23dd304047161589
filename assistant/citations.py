"""Citation markers in model text: parsed, checked against the numbered sources, resolved in code.

The model may only cite the numbers of the sources it was shown. Any other number, and any link
that none of the sources holds, is removed from the text and counted; it is never shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.text import split_sentences
from assistant.types import Citation, Source

_ITEM = r"(?:source|src|ref|doc)?\s*#?\s*\d+(?:\s*[-–]\s*\d+)?"
CITE = re.compile(rf"\[\s*{_ITEM}(?:\s*[,;]\s*{_ITEM})*\s*\]", re.IGNORECASE)
_NUM_RANGE = re.compile(r"(\d+)(?:\s*[-–]\s*(\d+))?")
# a link, without the full stop or comma after it; its brackets only when it opens with one
_URL = re.compile(r"(\()?(?:https?://|\bwww\.)[^\s)\]]*[^\s)\].,;:!?'\"](?(1)\))")
_MD_LINK = re.compile(r"\[([^\]\n]{1,200})\]\(((?:https?://|www\.)[^)\s]+)\)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")
MAX_RANGE = 20


def marker_numbers(marker: str) -> list[int]:
    """The source numbers in one citation marker, ranges expanded ("[1-3]" → 1, 2, 3)."""
    out: list[int] = []
    for a, b in _NUM_RANGE.findall(marker):
        lo = int(a)
        hi = int(b) if b else lo
        if hi < lo or hi - lo > MAX_RANGE:
            hi = lo
        out.extend(range(lo, hi + 1))
    return out


@dataclass(frozen=True)
class Resolved:
    """Model text with only valid citations left, and how many were removed."""

    text: str
    cited: tuple[int, ...]  # valid source numbers in order of first appearance
    removed: int


def resolve_citations(text: str, sources: Sequence[Source]) -> Resolved:
    """Keep citations to the given sources (rewritten as "[1, 2]"); strip and count the rest."""
    valid = {s.n for s in sources}
    known_text = "\n".join(s.text for s in sources)
    removed = 0
    cited: list[int] = []

    def fix_marker(match: re.Match[str]) -> str:
        nonlocal removed
        nums = list(dict.fromkeys(marker_numbers(match.group(0))))
        keep = [n for n in nums if n in valid]
        removed += len(nums) - len(keep)
        cited.extend(n for n in keep if n not in cited)
        return "[" + ", ".join(str(n) for n in keep) + "]" if keep else ""

    def fix_link(match: re.Match[str]) -> str:
        nonlocal removed
        url = match.group(0).strip("()")
        if url in known_text:
            return match.group(0)
        removed += 1
        return ""

    def fix_md_link(match: re.Match[str]) -> str:
        nonlocal removed
        if match.group(2) in known_text:
            return match.group(0)
        removed += 1
        label = match.group(1)
        return f"[{label}]" if CITE.fullmatch(f"[{label}]") else label  # "[1](url)": the citation stays

    text = _MD_LINK.sub(fix_md_link, text)
    text = _URL.sub(fix_link, text)
    while True:  # removing "[9]" from "[[9]7]" leaves a new marker "[7]": resolve until nothing changes
        fixed = CITE.sub(fix_marker, text)
        if fixed == text:
            break
        text = fixed
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
    return Resolved(text=text, cited=tuple(cited), removed=removed)


def cited_in(sentence: str) -> list[int]:
    """The source numbers a sentence cites, in order."""
    nums: list[int] = []
    for m in CITE.finditer(sentence):
        nums.extend(n for n in marker_numbers(m.group(0)) if n not in nums)
    return nums


def strip_markers(sentence: str) -> str:
    """The sentence without its citation markers."""
    return _SPACE_BEFORE_PUNCT.sub(r"\1", CITE.sub("", sentence)).strip()


def to_citations(numbers: Sequence[int], sources: Sequence[Source]) -> list[Citation]:
    """Citations for the given source numbers, in order, each paper once."""
    by_n = {s.n: s for s in sources}
    out: list[Citation] = []
    seen: set[str] = set()
    for n in numbers:
        src = by_n.get(n)
        if src is not None and src.paper_id not in seen:
            seen.add(src.paper_id)
            out.append(Citation(n=n, paper_id=src.paper_id, title=src.title))
    return out


WITHHELD = "[withheld: the model repeated its instructions]"
_ECHO_WORDS = 8  # a run of this many words of the instructions in a sentence is an echo, not a claim


def _grams(text: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.casefold())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def _echo_start(sentence: str, runs: set[tuple[str, ...]], n: int) -> int | None:
    """Where the first run of n words of the instructions begins in the sentence, if one does."""
    words = list(re.finditer(r"\w+", sentence))
    lowered = [w.group(0).casefold() for w in words]
    for i in range(len(words) - n + 1):
        if tuple(lowered[i : i + n]) in runs:
            return words[i].start()
    return None


def withhold_instructions(text: str, instructions: str) -> tuple[str, int]:
    """The text with every repeat of the instructions cut from its sentence on; and how many were cut."""
    runs = _grams(instructions, _ECHO_WORDS)
    out, withheld = [], 0
    for sentence in split_sentences(text):
        at = _echo_start(sentence, runs, _ECHO_WORDS)
        if at is None:
            out.append(sentence)
        else:
            out.append(f"{sentence[:at]}{WITHHELD}".strip())
            withheld += 1
    return (" ".join(out) if withheld else text), withheld


def echo_hold(fragment: str, instructions: str) -> int:
    """How many characters at the end of an unfinished sentence to hold back while streaming.

    All of it from where it shares four words in a row with the instructions; otherwise its last
    one to three words when they could begin such a run.
    """
    quads = _grams(instructions, 4)
    at = _echo_start(fragment, quads, 4)
    if at is not None:
        return len(fragment) - at
    words = list(re.finditer(r"\w+", fragment))
    starts = {q[:k] for q in quads for k in (1, 2, 3)}
    for k in (3, 2, 1):
        tail = tuple(w.group(0).casefold() for w in words[-k:])
        if len(words) >= k and tail in starts:
            return len(fragment) - words[-k].start()
    return 0
