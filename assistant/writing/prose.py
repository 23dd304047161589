"""Sentences of a synthesis or a related-work paragraph built from the papers' own phrases.

What the papers share is a noun phrase several of them use (phrases.rank); how they differ is each
paper's approach, the method span of its contribution sentence (cell_spans, as in a comparison
table), after its name when its title has one ("ToolACE-R"). Each sentence comes in a few wordings,
best first: the caller keeps the first that passes the support check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.types import Paper
from assistant.writing.cell_spans import phrase_span
from assistant.writing.common import contribution_sentence
from assistant.writing.compare_fields import field_spec

_COUNT = {2: "Both", 3: "All three", 4: "All four", 5: "All five", 6: "All six"}
_SOME = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six"}
_NAME = re.compile(r"^([A-Z][\w\-+.]*[A-Z0-9][\w\-+.]*|[A-Z][a-z]+[A-Z][\w\-+]*)\s*:")
_PASSIVES = ("studied", "addressed", "used", "leveraged", "explored", "proposed", "considered", "investigated")
# "Here, we explore X", "This paper studies X": the approach is X
_STUDY_LEAD = re.compile(
    r"^(?:(?:here|in this (?:paper|work|study)|in particular)\s*,?\s*)?(?:we|this (?:paper|work|study|survey))\s+"
    r"(?:first\s+|also\s+)?(?:stud(?:y|ies)|investigates?|explores?|examines?|considers?|address(?:es)?|"
    r"analy[sz]es?|presents?|proposes?|introduces?|develops?)\s+", re.IGNORECASE)
# a clause, not a phrase: "that: (1) …", "particularly in creating …", "X, provide a metric"
_NOT_A_PHRASE = re.compile(r"^(?:that|which|particularly|and|or|but|to|in|on|for|with|by|as|where|while|we|our|it|"
                           r"they|this|these)\b|[:;]|\(\d\)|,\s+(?:provide|show|propose|use|find)s?\b",
                           re.IGNORECASE)
_ARTICLE = re.compile(r"^(?:a|an|the)\s", re.IGNORECASE)


def cites(numbers: Sequence[int]) -> str:
    """ "[1, 2, 3]" for the numbers, sorted."""
    return "[" + ", ".join(str(n) for n in sorted(numbers)) + "]"


def capital(text: str) -> str:
    """The text with its first letter upper-cased."""
    return text[:1].upper() + text[1:]


def and_list(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def shared(phrase: str, numbers: Sequence[int], total: int) -> list[str]:
    """Wordings of "the cited papers all study <phrase>": the support check keeps the first whose frame
    words the cited abstracts also use."""
    k = len(numbers)
    subject = (f"{_COUNT.get(k, f'All {k}')} papers" if k == total
               else f"{_SOME.get(k, str(k))} of the papers")
    head = re.split(r"\s(?:of|for|in|with|on)\s", phrase)[0]  # "mixture of experts" agrees with "mixture"
    be = "are" if head.endswith("s") and not head.endswith("ss") else "is"
    out = [f"{subject} {verb} {phrase} {cites(numbers)}." for verb in ("study", "address", "use")]
    out += [f"{capital(phrase)} {be} {verb} in {cites(numbers)}." for verb in _PASSIVES]
    return out


def paper_name(paper: Paper) -> str | None:
    """The name a title gives its paper ("ToolACE-R: Tool Learning …" → "ToolACE-R"), or None."""
    m = _NAME.match(paper.title)
    return m.group(1) if m else None


def approach(paper: Paper) -> str | None:
    """The paper's approach as a phrase of its contribution sentence, after its name when its title has one."""
    sentence = contribution_sentence(paper)
    where = phrase_span(field_spec("method"), sentence, paper.title)
    if where is None:
        return None
    phrase = _STUDY_LEAD.sub("", sentence[where[0]:where[1]].strip())  # "we investigate X" → "X"
    if len(phrase.split()) < 2 or _NOT_A_PHRASE.search(phrase):
        return None
    name = paper_name(paper)
    if name and name.casefold() not in phrase.casefold() and _ARTICLE.match(phrase):
        return f"{name}, {phrase}"
    return phrase


def approaches(items: Sequence[tuple[int, str]]) -> list[str]:
    """Wordings of how the papers differ: each paper's approach named and cited."""
    if len(items) < 2:
        return []
    parts = [f"{text} [{n}]" for n, text in items]
    listed = "; ".join(parts[:-1]) + "; and " + parts[-1] if any("," in t for _, t in items) else and_list(parts)
    two = "The two papers" if len(items) == 2 else "The papers"
    return [f"{two} differ in approach: {listed}.", f"The approaches are {listed}."]
