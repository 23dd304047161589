"""Sentences about one paper for a related-work draft: its contribution sentence retold, citing it."""

from __future__ import annotations

import re

from assistant.citations import strip_markers
from assistant.support import answer_sentences
from assistant.types import Paper
from assistant.writing.common import WE_OPENER, contribution_sentence, third_person

MAX_SENTENCE_WORDS = 45  # a longer contribution sentence is cut at a clause boundary
# An opening that points back at sentences the draft does not quote ("To address these issues, we ...").
_LEAD_IN = re.compile(
    r"^(?:(?:To|In order to) [^,]{3,80}|Motivated by [^,]{3,80}|Inspired by [^,]{3,80}|Building on [^,]{3,80}|"
    r"In (?:this|that) (?:context|light|regard)|Here|Therefore|Thus|Hence|Instead|However|Specifically|"
    r"Consequently|Accordingly|In response|To this end),\s*(?=(?:we|our|this (?:paper|work|study))\b)",
    re.IGNORECASE,
)
_SELF = re.compile(r"^(?:The authors|They)\b")
_FIRST_WE = re.compile(rf"{WE_OPENER.pattern}|\bwe\b")
_DOCUMENT = re.compile(r"^(?:This|The present|Our|The) (paper|work|study|survey|report|article|technical report)\b")
_CLAUSE = re.compile(r",\s(?:which|while|where|enabling|allowing|giving|thereby|as well as|and)\b|;\s")


def paper_sentences(paper: Paper, n: int) -> list[str]:
    """Candidate sentences about one paper, citing it: its contribution retold, then the sentence as written."""
    sentence = contribution_sentence(paper)
    parts = answer_sentences(strip_markers(sentence)) or [sentence]
    plain = max(parts, key=len).strip()  # the check splits at "e.g. X": keep the sentence whole
    retold = retell(shorten_clauses(plain), n)
    verbatim = f"{plain.rstrip('.!?;: ')} [{n}]."
    return [retold, verbatim] if retold != verbatim else [verbatim]


def retell(sentence: str, n: int) -> str:
    """The sentence told about paper n: "The authors of [n] propose …", "The survey [n] covers …", or "… [n]."."""
    s = _LEAD_IN.sub("", sentence).strip()
    s = s[0].upper() + s[1:] if s else s
    s = _DOCUMENT.sub(lambda m: f"The {m.group(1)} [{n}]", s, count=1)
    if f"[{n}]" not in s:  # the first "we" becomes the paper's authors, the later ones "they"
        s = _FIRST_WE.sub(lambda m: ("The" if m.group(0)[0].isupper() else "the") + f" authors of [{n}]", s, count=1)
    s = third_person(s)
    if f"[{n}]" not in s:
        return f"{s.rstrip('.!?;: ')} [{n}]."
    return s.rstrip("!?;: ") if s.endswith(".") else f"{s.rstrip('!?;: ')}."


def cite_paper(sentence: str, n: int) -> str:
    """ "The authors propose X [n]." → "The authors of [n] propose X." (the model writes the first form)."""
    end = f" [{n}]."
    if not sentence.endswith(end):
        return sentence
    head = sentence[: -len(end)]
    if _SELF.match(head):
        return _SELF.sub(f"The authors of [{n}]", head, count=1) + "."
    if _DOCUMENT.match(head):
        return _DOCUMENT.sub(lambda m: f"The {m.group(1)} [{n}]", head, count=1) + "."
    return sentence


def plain_sentence(sentence: str) -> str:
    """A sentence without its citations ("The authors of [2] propose" → "The authors propose")."""
    return " ".join(strip_markers(sentence.replace(" of [", " [")).split())


def shorten_clauses(sentence: str) -> str:
    """A very long sentence cut at its last clause boundary within MAX_SENTENCE_WORDS words."""
    if len(sentence.split()) <= MAX_SENTENCE_WORDS:
        return sentence
    cuts = [m.start() for m in _CLAUSE.finditer(sentence)
            if 12 <= len(sentence[: m.start()].split()) <= MAX_SENTENCE_WORDS]
    return sentence[: cuts[-1]].rstrip() + "." if cuts else sentence
