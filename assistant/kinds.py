"""Question kinds, told apart by rules: fact, survey (a set of papers), compare (two sides), open.

A fact question asks for one value or claim ("How many tasks does Cybench hold?"); a survey question
asks which papers, approaches or works address a topic ("Which papers propose LoRA variants?", or a
bare topic such as "LoRA variants?"); a compare question names two sides ("How do A and B differ?",
"A vs B"); anything else is open. Fact and open questions get one short cited answer; survey and
compare questions get one cited bullet per paper.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.types import QuestionKind

KINDS: tuple[QuestionKind, ...] = ("fact", "survey", "compare", "open")

_F = re.IGNORECASE
_SIDE = r"(?P<a>.+?)"
_OTHER = r"(?P<b>.+?)"
_REST = r"(?P<rest>(?:\s*(?:[:;?]|\bin\s+(?:how|what|the ways?|terms of)\b|\bwhen\b).*)?)$"
_COMPARE = [
    re.compile(rf"^(?:how|in what ways?|in which ways?|where)\s+(?:do|does|did)\s+{_SIDE}\s+(?:and|&)\s+{_OTHER}"
               rf"\s+(?:differ|compare|contrast)\b(?P<rest>.*)$", _F),
    re.compile(rf"^(?:how|in what ways?|in which ways?|where)\s+(?:do|does|did)\s+{_SIDE}\s+"
               rf"(?:differ|compare|contrast)\s+(?:from|with|to|against)\s+{_OTHER}{_REST}", _F),
    re.compile(rf"\bdifferences?\s+between\s+{_SIDE}\s+and\s+{_OTHER}{_REST}", _F),
    re.compile(rf"^(?:please\s+)?(?:compare|contrast)\s+{_SIDE}\s+(?:with|and|to|against|versus|vs\.?)\s+{_OTHER}{_REST}",
               _F),
    re.compile(rf"^(?:what\s+)?distinguishes\s+{_SIDE}\s+from\s+{_OTHER}{_REST}", _F),
    re.compile(rf"^{_SIDE}\s+(?:vs\.?|versus)\s+{_OTHER}{_REST}", _F),
    re.compile(rf"^(?:how\s+(?:do|does)\s+)?{_SIDE}\s+compared?\s+(?:to|with)\s+{_OTHER}{_REST}", _F),
]
# one value or claim: counts, amounts, scores
_FACT = re.compile(
    r"\b(?:how\s+(?:many|much|large|big|often|far|fast)|by\s+how\s+much|up\s+to\s+what|down\s+to\s+what|"
    r"what\s+(?:[\w@.'-]+\s+){0,3}?(?:percentage|fraction|share|proportion|number|size|score|accuracy|rate|gain|"
    r"speedup|improvement|ratio|year|value|amount))\b",
    _F,
)
_PLURAL = (r"papers|studies|articles|publications|authors|groups|methods|approaches|techniques|"
           r"strategies|ideas|directions|lines of work|systems|frameworks|benchmarks|datasets|indexes|"
           r"indices|architectures|algorithms|solutions|variants|ways|models|tools|recipes|suites|evaluations|analyses")
_SURVEY = [
    re.compile(rf"\b(?:which|what)\s+(?:[\w-]+\s+){{0,3}}?(?:{_PLURAL})\b", _F),
    re.compile(r"\b(?:which|what)\s+(?:other\s+|prior\s+|recent\s+|related\s+)?works\b(?!\s+(?:best|well|better))", _F),
    re.compile(r"\b(?:what|who)\s+(?:has|have)\s+(?:been\s+)?(?:tried|done|proposed|studied|worked|explored|"
               r"built|developed|investigated|looked)\b", _F),
    re.compile(r"^(?:who|how)\s+(?:has|have)\b", _F),
    re.compile(r"^(?:has|have)\s+(?:anyone|anybody|any\s+(?:papers?|works?|studies|authors?))\b", _F),
    re.compile(r"\bwho\s+in\s+(?:my|the|this|our)\s+(?:library|collection|corpus)\b", _F),
    re.compile(r"^(?:list|show|find|give me|name)\b", _F),
    re.compile(r"\b(?:papers|works|studies)\s+(?:on|about|that|which|in my library)\b", _F),
    re.compile(r"\b(?:overview|survey|landscape|state of the art)\s+(?:of|on)\b", _F),
    re.compile(r"\b(?:approaches|methods|work)\s+(?:exist|are there)\b", _F),
]
_QUESTION_START = re.compile(
    r"^(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|should|would|"
    r"will|has|have|had|according|on|in|by|up|with|at|to|if|for|from|after|before|under)\b",
    _F,
)
_ASKS_FOR_PAPERS = re.compile(r"^(?:which|what)\s+(?:[\w-]+\s+){0,2}?(?:papers|works|studies)\b", _F)
MAX_TOPIC_WORDS = 8  # a bare phrase this short with no question word is a topic to survey


@dataclass(frozen=True)
class Sides:
    """The two things a compare question sets against each other, and what it asks about them."""

    a: str
    b: str
    aspect: str = ""

    def query(self, side: str) -> str:
        """The search text for one side: the side itself plus the aspect asked about."""
        return f"{side} {self.aspect}".strip()


def compare_sides(question: str) -> Sides | None:
    """The two sides of a compare question, or None when it is not one."""
    q = " ".join(question.split()).strip()
    for pattern in _COMPARE:
        m = pattern.search(q)
        if m is None:
            continue
        a, b = _clean(m.group("a")), _clean(m.group("b"))
        rest = _clean(m.groupdict().get("rest") or "")
        if a and b and a.casefold() != b.casefold() and len(a) <= 120 and len(b) <= 120:
            return Sides(a, b, _aspect(rest))
    return None


def classify(question: str) -> QuestionKind:
    """The question's kind, by rules (in this order): fact (a value), compare, survey, fact or open."""
    q = " ".join(question.split()).strip()
    if not q:
        return "open"
    if _FACT.search(q) and not any(_ASKS_FOR_PAPERS.match(s) for s in sentences(q)):  # "Which papers…how much…" lists
        return "fact"
    if compare_sides(q) is not None:
        return "compare"
    if any(p.search(q) for p in _SURVEY):
        return "survey"
    words = q.rstrip("?.!").split()
    if not _QUESTION_START.match(q) and len(words) <= MAX_TOPIC_WORDS:
        return "survey"  # a bare topic ("LoRA variants?") asks for the papers on it
    if _QUESTION_START.match(q) and re.match(r"^(?:what|which|who|when|where|how|is|are|does|do|did)\b", q, _F):
        return "fact" if not re.match(r"^(?:why|how (?:does|do|did|can|could|would|is|are))\b", q, _F) else "open"
    return "open"


# Framing that says a survey question wants papers but says nothing about its subject.
_FRAMING = re.compile(
    r"\b(?:which|what|who|whom|how)\s+(?:[\w-]+\s+){0,2}?(?:" + _PLURAL + r")\b|"
    r"\b(?:in|from)\s+(?:my|the|this)\s+(?:library|collection|corpus)\b|"
    r"\b(?:has|have)\s+(?:been\s+)?(?:proposed|tried|done|studied|worked on|explored|developed|investigated|"
    r"looked at)\b|"
    r"\b(?:and|,)\s+(?:with\s+)?what\s+(?:results?|did they find|do they find)\b.*$|"
    r"\b(?:and|,)\s+how\s+do\s+they\b.*$|"
    r"\b(?:and|,)\s+what\s+do\s+they\s+change\b.*$|"
    r"^(?:i am|i'm)\b[^:]*:\s*|"
    r"\b(?:papers|works|studies)\s+(?:on|about)\b|"
    r"\b(?:which|what)\s+papers\b|"
    r"\b(?:list|show|find|give me|name)\b|\bpeople\b|\bexist\b|\bare there\b|"
    r"\b(?:which|what)\s+(?:other\s+|prior\s+|recent\s+|related\s+)?works\b|"
    r"^(?:what|who|how|which)\b",
    _F,
)
# A verb left at the start once the framing is gone ("propose X", "has grown X", "look at X"): not the subject.
_LEAD = re.compile(
    r"^(?:(?:has|have)\s+)?(?:propose[sd]?|present(?:s|ed)?|introduce[sd]?|stud(?:y|ies|ied)|look(?:ed)?\s+at|"
    r"are\s+about|is\s+about|deal\s+with|address(?:es)?|try\s+to|use[sd]?|appl(?:y|ies|ied)|has|have|for|to|on|about)\s+",
    _F,
)


# The researcher's situation, which says why they ask, not what about ("I'm writing about…", "My team wants to…").
_SITUATION = re.compile(
    r"^(?:i\s*(?:'m|am)\s+(?:writing|preparing|drafting|putting together|reviewing|working on|reading up on|"
    r"looking (?:at|for|into))(?:\s+(?:about|on))?|"
    r"(?:my|our)\s+(?:team|group|lab|advisor|supervisor)\s+(?:wants?|needs?|plans?|is planning)\s+to|"
    r"(?:i|we)\s+(?:want|need|would like|am looking for|'m looking for|are looking for)(?:\s+to)?|"
    r"(?:for\s+)?(?:a|my|the|our)\s+(?:related[- ]work|background|survey|literature review|reading group|talk|thesis)"
    r"[\w\s-]*?\s+(?:on|about)|"
    r"rather than\s+[^,:]+,)\s*",
    _F,
)
# What the researcher wants to know about the papers once found: not part of the subject.
_ASKS_ABOUT_THEM = re.compile(
    r"(?:,|\band\b)\s*(?:on\s+what\s+(?:tasks|data|problems)|with\s+what\s+results?|"
    r"what\s+(?:do|did)\s+they\s+(?:report|find|conclude|recommend|change|say|show)|how\s+do\s+they\s+compare)\b.*$",
    _F,
)
# "…train models this way", "do this": the subject is in another sentence of the question.
_POINTS_BACK = re.compile(
    r"(?:\bin\s+)?\b(?:this|that|such)\s+(?:an?\s+)?(?:way|route|approach|kind|manner)\b|\bdo (?:this|so)\b", _F)


def sentences(question: str) -> list[str]:
    """The sentences of a question ("e.g. fixing…" does not start one)."""
    return [s for s in re.split(r"(?<=[.?!])\s+(?=[A-Z\"'(])", " ".join(question.split())) if s.strip()]


def survey_topic(question: str) -> str:
    """The subject of a survey question, without the framing ("Which papers propose X?" → "X"); in a question of
    several sentences, the subject of each ("I'm writing about X. Which papers do this?" → "X")."""
    parts = [_subject(s) for s in sentences(question)]
    kept = [p for p in parts if len(p.split()) >= 2] if len(parts) > 1 else parts
    topic = " ".join(kept or parts)
    return topic if len(topic) >= 3 else question


def _subject(sentence: str) -> str:
    topic = " ".join(_FRAMING.sub(" ", sentence).split()).strip(" ,;:?.!")
    topic = _LEAD.sub("", _LEAD.sub("", topic))  # "has grown…" → "grown…"; "propose ways…" → "ways…"
    for _ in range(3):  # "Rather than X, I want systems in which…"
        topic = _SITUATION.sub("", topic).strip(" ,;:")
    topic = _ASKS_ABOUT_THEM.sub("", topic).strip(" ,;:?.!")
    return " ".join(_POINTS_BACK.sub(" ", topic).split())


def _clean(text: str) -> str:
    return text.strip(" \t,;:?.!\"'").strip()


def _aspect(rest: str) -> str:
    """What a compare question asks about its sides, without the question words."""
    rest = re.sub(r"^(?:how|what|in|as|for|when|regarding|with respect to|in terms of)\b", "", rest, flags=_F)
    rest = re.sub(r"\b(?:how|do|does|did|they|these|those|them|differ|compare|the way|ways?)\b", " ", rest, flags=_F)
    return " ".join(rest.split()).strip(" ,;:?.!")
