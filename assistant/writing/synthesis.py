"""The synthesis paragraph over several papers, built in code from their abstracts.

Three kinds of sentence, each kept only when it passes the support check: what the papers share (a
noun phrase several of them use, ranked KeyBERT-style: phrases.py), how they differ (each paper's
approach, the method phrase of its contribution sentence: prose.py) and what is open (abstract
sentences with limitation or future-work cues after a paper's contribution, retold about the paper).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.evidence import TermWeights
from assistant.support import SupportChecker
from assistant.text import split_sentences
from assistant.types import Paper, SentenceCheck, Source
from assistant.writing import phrases, prose
from assistant.writing.common import contribution_sentence, third_person

MAX_OPEN_QUESTIONS = 2
MAX_QUOTE_CHARS = 320
MAX_SHARED = 2  # sentences on what the papers share
# "challenging" is left out: abstracts use it for their own tasks, not for open problems.
_OPEN_CUE = re.compile(
    r"\b(?:however|remains?|remained|limitations?|limited|future|open (?:questions?|problems?|challenges?)|"
    r"unclear|unexplored|underexplored|unsolved|unresolved|yet to|lacks?|struggles?|fails? to|still|"
    r"perform poorly|gaps?)\b",
    re.IGNORECASE,
)
_LEAD = re.compile(r"^(?:However|Nevertheless|Nonetheless|Yet|Still|Moreover|Furthermore|Additionally|Finally),\s+")
# A retold sentence must not open on a word pointing back at a sentence the synthesis does not quote.
DANGLING = re.compile(r"^(?:It|They|This|These|Those|Such|Its|Their|He|She)\b")
_POINTER = re.compile(r"^(?:It|They|This|These|Those|Such)(?: (?:method|approach|framework|model|work|paper))?\b")


def open_questions(papers: Sequence[Paper], numbers: Sequence[int]) -> list[str]:
    """Sentences after a paper's contribution naming a limitation or open problem, retold and cited."""
    found: list[tuple[int, int, str]] = []  # (-cues, order, sentence)
    for order, (n, paper) in enumerate(zip(numbers, papers, strict=True)):
        sentences = list(split_sentences(paper.abstract))
        contribution = contribution_sentence(paper)
        start = sentences.index(contribution) + 1 if contribution in sentences else 1
        best: tuple[int, str] | None = None
        for s in sentences[start:]:  # before it, the problem the paper sets out to solve
            cues = {m.group(0).lower() for m in _OPEN_CUE.finditer(s)}
            if cues and len(s) <= MAX_QUOTE_CHARS and (best is None or len(cues) > best[0]):
                best = (len(cues), s)
        if best:
            told = _retell(best[1], n, prose.paper_name(paper))
            if told:
                found.append((-best[0], order, told))
    found.sort()
    return [s for _, _, s in found[:MAX_OPEN_QUESTIONS]]


def _retell(sentence: str, n: int, name: str | None = None) -> str | None:
    """The sentence about paper n: "We find…" → "The authors of [n] find…"; otherwise cited at its end.
    A sentence opening on "It"/"This"/"They" gets the paper's name in its place, or is not retold (None)."""
    text = re.sub(r"[.!?]*$", "", third_person(prose.capital(_LEAD.sub("", sentence.strip()))).rstrip())
    for opening, cited in (("The authors", f"The authors of [{n}]"), ("The paper", f"The paper [{n}]")):
        if text.startswith(opening + " "):
            return f"{cited}{text[len(opening):]}."
    named = named_opening(text, name)
    return f"{named} [{n}]." if named else None


def named_opening(text: str, name: str | None) -> str | None:
    """The text with an opening "It"/"This method"/"They" replaced by the paper's name; the text itself when
    it opens on no pronoun; None when it does and the paper has no name (or it opens on "Its"/"Their").
    A connective first ("Additionally, it …") is dropped."""
    text = prose.capital(_LEAD.sub("", text))
    if not DANGLING.match(text):
        return text
    head = _POINTER.match(text)
    if not name or head is None or head.group(0) in ("Its", "Their"):
        return None
    return name + text[head.end():]


def shared_sentences(
    papers: Sequence[Paper], numbers: Sequence[int], weights: TermWeights, checker: SupportChecker,
) -> list[list[str]]:
    """Wordings of what the papers share: the noun phrases closest to their centroid that several use."""
    found = phrases.rank(papers, weights, checker.embedder, min_papers=2, n=MAX_SHARED)
    return [prose.shared(c.text, [numbers[i] for i in c.papers], len(papers)) for c in found]


def difference_sentences(papers: Sequence[Paper], numbers: Sequence[int]) -> list[str]:
    """Wordings of how the papers differ: each paper's approach, named and cited."""
    items = [(n, a) for n, p in zip(numbers, papers, strict=True) if (a := prose.approach(p))]
    return prose.approaches(items)


def code_synthesis(
    papers: Sequence[Paper], sources: Sequence[Source], weights: TermWeights, checker: SupportChecker,
) -> tuple[str, list[SentenceCheck]]:
    """What the papers share, how they differ and what is open, in sentences that each pass the support check."""
    numbers = [s.n for s in sources]
    candidates: list[Sequence[str]] = [*shared_sentences(papers, numbers, weights, checker),
                                       difference_sentences(papers, numbers),
                                       *((q,) for q in open_questions(papers, numbers))]
    kept: list[SentenceCheck] = []
    for variants in candidates:
        for sentence in variants:
            checks = checker.check(sentence, sources)
            if len(checks) == 1 and checks[0].supported:  # one sentence: the check did not cut it apart
                kept.append(checks[0])
                break
    return " ".join(c.text for c in kept), kept
