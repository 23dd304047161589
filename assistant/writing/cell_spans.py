"""Comparison cells as phrases: the shortest run of a sentence's phrase segments that carries the field.

A sentence is cut into segments at clause boundaries (, ; : which that while …) and at the words
that join a head phrase to its complements (for, based on, by, using, with, through …), never
inside parentheses. Every run of consecutive segments up to MAX_CELL_WORDS words is a candidate,
without a leading joining word ("based on navigable small world graphs"). Each field scores the
candidates by what answers it — benchmark names for datasets, numbers with units for a result, a
name or the words after "we propose" for a method, the title's words for a task, a hedge for a
limitation — less a little per word, so the shortest span holding the signal wins. Spans are
character ranges of the sentence: a row never gives one range to two fields (compare.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.lexical import query_terms
from assistant.writing.compare_fields import MODEL_NAMES, STRONG_CUE, FieldSpec, informative, keep_units, trim_span

MAX_CELL_WORDS = 16
WORD_COST = 0.02  # per word away from TARGET_WORDS: among spans with the same signal, one of about that length wins
TARGET_WORDS = 11
LEAD_SIGNAL = 0.8  # a method span right after "we propose"
NAME_SIGNAL = 0.8  # a method span holding a name (not a known model's: "BERT")
REUSED_WORDS = 3
MARGIN = 0.5  # a span this much worse than the sentence's best (taken by another field) is not used
_I = re.IGNORECASE
# Clause boundaries, then the words joining a head phrase to its complements (kept out of the span's start).
_CLAUSE_CUT = re.compile(
    r"[,;:](?=\s)|\s(?=--\s|—)|\s(?=(?:which|that|while|whereas|where|thereby|leading to|allowing|enabling|"
    r"resulting in|so that|such that|in order to|respectively)\b)", _I)
_JOIN_CUT = re.compile(
    r"\s(?=(?:for|based on|built on|by|using|with|through|via|to|on|in|across|from|over|under|into|"
    r"and|or|but|than|as)\s)", _I)
_LEADING = re.compile(
    r"^(?:(?:which|that|while|whereas|where|thereby|so that|such that|in order to|and|or|but|then|thus|"
    r"for|based on|built on|by|using|with|through|via|to|on|in|across|from|over|under|into|than|as|"
    r"respectively|namely|i\.e\.|e\.g\.|including|such as)\s+)+", _I)
_TRAILING = re.compile(r"(?:\s+(?:and|or|but|the|a|an|of|to|in|on|for|with|by|as|from|that|which|its|their))+$", _I)
_WORD = re.compile(r"\S+")
_NAME = re.compile(r"\(([A-Z][\w\-+.]*[A-Z0-9][\w\-+.]*(?:,\s*[\w\-+. ]+)?)\)|\b(?:called|named|dubbed|coined)\s+\S+"
                   r"|\b[A-Z][a-z]*[A-Z][\w\-+]*\b|\b[A-Z]{2,}[\w\-+]*\b")
_METHOD_LEAD = re.compile(
    r"\b(?:we|this (?:paper|work|study)|our (?:paper|work))\s+(?:first\s+|then\s+|further\s+|also\s+|can\s+)?"
    r"(?:propose|introduce|present|develop|design|build|describe|devise|construct|create|offer|employ|leverage)"
    r"(?:s|d|ed)?\s+", _I)
_TASK_LEAD = re.compile(
    r"\b(?:we|this (?:paper|work|study))\s+(?:study|investigate|explore|consider|address|tackle|focus on|examine|"
    r"revisit|rethink|analy[sz]e)(?:s|d|ed)?\s+|\b(?:the (?:problem|task|challenge|question) of)\s+", _I)
# "… designed for" before a span: what follows is what the method is for
_PURPOSE = re.compile(
    r"\b(?:designed|tailored|intended|built|developed|optimi[sz]ed)\s+for\s+$", _I)
# "In this paper, " "To tackle these two challenges, ": a frame, not part of any cell
_FRAME = re.compile(r"^(?:(?:in|to\s+\w+|for)\s+)?(?:this|these|our)\s+(?:\w+\s+){0,2}?(?:paper|work|study|articles?|"
                    r"challenges?|issues?|limitations?|problems?|gaps?|end)\s*,\s*", _I)
_VERSION = re.compile(r"\s(?:v?\d+(?:\.\d+)+|v\d+)\b(?![%\d]|\.\d)")  # "VBench 2.0": the version is part of the name
_MAGNITUDE = re.compile(r"\b(?:(?:one|two|three|several|an?)\s+(?:to\s+\w+\s+)?)?orders?\s+of\s+magnitude\b", _I)
# "demonstrate substantial improvements" + "in tool retrieval": a gain is shown with what it is a gain in
_GAIN_END = re.compile(r"\b(?:improvements?|gains?|faster|better|speed-?ups?|reductions?|increases?|boosts?)$", _I)
_GAIN_OF = re.compile(r"^\s+(?:in|on|over|than|of)\s", _I)
_PRONOUN_END = re.compile(r"\b(?:it|them|they|this|these|those|its|their)\W*$", _I)
_DATA_TAIL = re.compile(r"^(?:\s+[\w\-]+){0,2}?\s+(?:datasets?|benchmarks?|suites?|corpus|corpora|test sets?)\b", _I)
_STOP_TEXT = "the a an of in on for to and or with by from that this these we our is are be as at it its"
_STOP = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True)
class Span:
    """A candidate cell: a character range of the sentence and how well it answers the field."""

    start: int
    end: int
    score: float


def _segments(text: str) -> list[tuple[int, int]]:
    """Character ranges of the sentence's phrase segments (no cut inside parentheses or brackets)."""
    depth, inside = 0, []
    for ch in text:
        depth += ch in "(["
        depth -= ch in ")]" and depth > 0
        inside.append(depth > 0)
    cuts = sorted({m.end() if m.group(0).strip() else m.start() + 1
                   for pattern in (_CLAUSE_CUT, _JOIN_CUT) for m in pattern.finditer(text)
                   if not inside[min(m.start(), len(text) - 1)]})
    bounds, start = [], 0
    for cut in [*cuts, len(text)]:
        if text[start:cut].strip():
            bounds.append((start, cut))
        start = cut
    return bounds


def _clean(text: str, a: int, b: int) -> tuple[int, int]:
    """The range without surrounding space, a leading joining word, a trailing stop word or punctuation."""
    piece = text[a:b]
    a += len(piece) - len(piece.lstrip())
    if frame := _FRAME.match(text[a:b]):
        a += frame.end()
    lead = _LEADING.match(text[a:b])
    a += lead.end() if lead else 0
    piece = text[a:b].rstrip()
    trimmed = _TRAILING.sub("", trim_span(piece))
    b = a + len(trimmed)
    if text[a:b].count("(") > text[a:b].count(")"):  # "… (Hierarchical NSW" → keep the closing bracket
        close = text.find(")", b)
        b = close + 1 if close != -1 else b
    return a, b


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def candidates(text: str, lo: int = 0) -> list[tuple[int, int]]:
    """Every run of consecutive segments (from `lo`) of at most MAX_CELL_WORDS words, cleaned, no repeats."""
    segs = [(max(a, lo), b) for a, b in _segments(text) if b > lo]
    out: dict[tuple[int, int], None] = {}
    for i in range(len(segs)):
        for j in range(i, len(segs)):
            a, b = _clean(text, segs[i][0], segs[j][1])
            if b <= a:
                continue
            if _words(text[a:b]) > MAX_CELL_WORDS:
                break
            out[(a, b)] = None
    return list(out)


def _hits(spec: FieldSpec, text: str) -> list[tuple[int, int]]:
    """Where the field's strong cues (benchmark names, numbers with units) match in the sentence."""
    spans = []
    for pattern, weight in spec.cues:
        if weight < STRONG_CUE:
            continue
        for m in pattern.finditer(text):
            a, b = m.span()
            lead = re.match(r"(?:on|using|across|with)\s+(?:the\s+)?", text[a:b], _I)
            while b < len(text) and (text[b].isalnum() or (text[b] in "-+." and text[b + 1:b + 2].isalnum())):
                b += 1  # "AIME" of "AIME25": the whole name
            if spec.shape == "names" and (version := _VERSION.match(text, b)):
                b = version.end()
            spans.append((a + (lead.end() if lead else 0), b))
    if spec.shape == "number":
        spans += [m.span() for m in _MAGNITUDE.finditer(text)]
    return spans


def _inside(hits: list[tuple[int, int]], a: int, b: int) -> int:
    return sum(1 for h in hits if a <= h[0] and h[1] <= b)


def _stems(text: str) -> set[str]:
    return set(query_terms(text))


def score_spans(spec: FieldSpec, text: str, title: str = "") -> list[Span]:
    """The sentence's candidate spans for the field, best first (empty for a field with no shape)."""
    shape = spec.shape
    lo = 0
    if shape == "method" and (m := _METHOD_LEAD.search(text)) and _words(text[m.end():]) >= 2:
        lo = m.end()
    task_lead = _TASK_LEAD.search(text) if shape == "task" else None
    hits = _hits(spec, text) if shape in ("names", "number") else []
    title_stems = _stems(title) - _STOP if title else set()
    # the title's words without the paper's name ("LongCat-Flash", "ZIP-FIT"): a name is not a problem
    problem_stems = (_stems(_NAME.sub(" ", title)) - _STOP or title_stems) if shape == "task" else set()
    soft = [(p, w) for p, w in spec.cues]
    out: list[Span] = []
    if shape == "names" and hits:  # the names themselves, a list when several stand together
        ordered = sorted(set(hits))
        for i, (a, _) in enumerate(ordered):
            for j in range(i, len(ordered)):
                b = max(h[1] for h in ordered[i:j + 1])
                if _words(text[a:b]) > MAX_CELL_WORDS:
                    break
                score = 1.5 * (j - i + 1) / len(ordered) - WORD_COST * _words(text[a:b])
                out.append(Span(a, b, round(score, 6)))
        return sorted(out, key=lambda s: (-s.score, s.start, s.end - s.start))
    for a, b in candidates(text, lo):
        piece = text[a:b]
        words = _words(piece)
        if not informative(piece):
            continue
        soft_hits = 2.5 * sum(w for p, w in soft if p.search(piece))  # the field's cue weight, as in ranking
        if shape == "names":
            if hits:
                named = bool(re.search(r"datasets?|benchmarks?", piece, _I))
                signal = 1.5 * _inside(hits, a, b) / len(hits) + 0.2 * named
            else:
                signal = 0.5 * soft_hits
        elif shape == "number":
            signal = 1.5 * _inside(hits, a, b) / max(len(hits), 1) + 0.25 * soft_hits
            signal -= 0.1 * bool(_GAIN_END.search(piece) and _GAIN_OF.match(text[b:]))  # a gain without its "in …"
        elif shape == "method":
            name = any(not re.search(MODEL_NAMES, m.group(0)) for m in _NAME.finditer(piece))  # not "(BERT, GPT-2)"
            signal = NAME_SIGNAL * name + LEAD_SIGNAL * (a <= lo + 2 and lo > 0) + 0.1 * soft_hits
            signal += 0.6 * len(_stems(piece) & title_stems) / max(len(title_stems), 1)
        elif shape == "task":
            overlap = len(_stems(piece) & problem_stems) / max(len(problem_stems), 1)
            after_lead = bool(task_lead and task_lead.start() <= a <= task_lead.end() + 2)
            signal = 1.5 * overlap + 0.6 * after_lead + 0.6 * bool(_PURPOSE.search(text[:a]))
            signal -= 0.5 * bool(_METHOD_LEAD.search(piece))  # "We introduce X" names the method, not the task
            signal += 0.1 * soft_hits
        elif shape == "hedge":
            signal = 1.0 * soft_hits
        else:
            return []
        if _PRONOUN_END.search(piece):
            signal -= 0.5  # "… to alleviate it": the pronoun points outside the cell
        if words < 4 and not (_NAME.search(piece) or _inside(hits, a, b)):
            signal -= 0.4  # "the task", "Experiments": a phrase without a name or number says too little
        out.append(Span(a, b, round(signal - WORD_COST * abs(words - TARGET_WORDS), 6)))
    return sorted(out, key=lambda s: (-s.score, s.start, s.end - s.start))


def phrase_choice(spec: FieldSpec, text: str, title: str = "",
                  taken: tuple[tuple[int, int], ...] = ()) -> Span | None:
    """The best span of the sentence for the field that overlaps none of `taken` (units kept), or None."""
    spans = score_spans(spec, text, title)
    for span in spans:
        if span.score < spans[0].score - MARGIN:
            break  # what is left of the sentence answers the field much worse: the caller tries the next one
        end = keep_units(text, span.start, span.end)
        if spec.shape == "names" and (tail := _DATA_TAIL.match(text[end:])):
            end += tail.end()  # "MetaMathQA" → "MetaMathQA dataset"
        if not any(overlaps((span.start, end), t, text) for t in taken):
            return Span(span.start, end, span.score)
    return None


def phrase_span(spec: FieldSpec, text: str, title: str = "",
                taken: tuple[tuple[int, int], ...] = ()) -> tuple[int, int] | None:
    """The character range of phrase_choice(), or None."""
    span = phrase_choice(spec, text, title, taken)
    return (span.start, span.end) if span else None


def overlaps(a: tuple[int, int], b: tuple[int, int], text: str = "") -> bool:
    """True when two ranges of one sentence reuse a span: they share at least half of the shorter one, and
    (given the text) at least three words of it. A benchmark name inside a result clause is not a reuse."""
    shared = min(a[1], b[1]) - max(a[0], b[0])
    if shared <= 0 or shared * 2 < min(a[1] - a[0], b[1] - b[0]):
        return False
    return not text or _words(text[max(a[0], b[0]):min(a[1], b[1])]) >= REUSED_WORDS


def phrase_options(spec: FieldSpec, text: str, title: str = "", taken: tuple[tuple[int, int], ...] = (),
                   limit: int = 12) -> list[str]:
    """The best few spans a small model may choose among (none overlapping `taken`, no quote or backslash)."""
    out: list[str] = []
    spans = score_spans(spec, text, title)
    for span in spans:
        if span.score < spans[0].score - MARGIN:
            break  # what is left of the sentence answers the field much worse: the caller tries the next one
        end = keep_units(text, span.start, span.end)
        piece = text[span.start:end]
        if any(overlaps((span.start, end), t, text) for t in taken) or '"' in piece or "\\" in piece or piece in out:
            continue
        out.append(piece)
        if len(out) >= limit:
            break
    return out
