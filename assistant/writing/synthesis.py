"""The synthesis paragraph over several papers, built in code from their abstracts.

Agreements are key phrases that several of the papers use and that are rare in the library (idf);
differences are each paper's own such phrases; open questions are abstract sentences with
limitation or future-work cues, retold about the paper. The frames around the phrases add at most
one word of their own ("X and Y are common to [1, 2]"; else "X and Y are what [1, 2] are about",
"Where [1] is about X, [2] is about Y": stop words only), so a sentence's content terms come from the
papers it cites. Every sentence is still support-checked, and one that fails is left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from bm25s.stopwords import STOPWORDS_EN

from assistant.evidence import QUESTION_WORDS, TermWeights
from assistant.lexical import query_terms
from assistant.support import SupportChecker
from assistant.text import split_sentences
from assistant.types import Paper, SentenceCheck, Source
from assistant.writing.common import contribution_sentence, third_person

STOP = frozenset(STOPWORDS_EN) | QUESTION_WORDS
# Words every abstract uses to talk about itself: never a theme, however rare in a small library.
_GENERIC_TEXT = """paper work studi propos approach method framework result show novel new task perform effect
signific exist recent state art demonstr introduc present experi extens outperform improv achiev base use via
comprehens code avail releas public github http https www com page project applic"""
GENERIC = frozenset(_GENERIC_TEXT.split())
# Function words and light verbs the stop list lacks: a phrase never starts, ends or runs across them.
_BOUNDARY_TEXT = """from over across through within without after before during under above below also only just
both each all any some more most other than very can may might must shall has have had been being called make
makes made use used uses using while still however often thus hence per via first second one two three well
show shows shown allow allows enable enables provide provides across toward towards among against since until
even further additionally anything something everything various diverse different several multiple given
specific existing current recent prior previous novel new simple effective efficient robust better best strong key
whether how cannot"""
BOUNDARY = frozenset(_BOUNDARY_TEXT.split()) | STOP
MIN_IDF = 1.0  # mean idf of a phrase's terms (sample library: "model" 0.07, "benchmark" 1.1, "tool" 3.0)
MIN_IDF_SINGLE = 2.0  # a lone word must be rarer to name a theme
MULTIWORD_BONUS = 1.5
MAX_WORDS = 3
MAX_AGREEMENTS = 2  # sentences
PHRASES_PER_AGREEMENT = 3
MAX_OPEN_QUESTIONS = 2
MAX_QUOTE_CHARS = 320
_WORD = re.compile(r"\w+(?:(?:[-'’]|\.(?=\d))\w+)*")  # "chain-of-thought", "k1.5", "isn't" are one word
# "target-aware", "inference-time": a phrase ending in such a compound is an adjective without its noun.
_ADJECTIVE_END = re.compile(r"-(?:aware|based|driven|free|wise|time|level|specific|like|agnostic|\w+ing)$")
_ADVERB = re.compile(r"[a-z]+(?:ally|ively|ingly|ously|edly|ently|antly|ately|ely|fully|ssly)")
_CONTRACTION = re.compile(r"(?:n['’]t|['’](?:re|ve|ll|d|m))$", re.IGNORECASE)
_TOKEN = re.compile(r"\w\w+")
# "challenging" is left out: abstracts use it for their own tasks, not for open problems.
_OPEN_CUE = re.compile(
    r"\b(?:however|remains?|remained|limitations?|limited|future|open (?:questions?|problems?|challenges?)|"
    r"unclear|unexplored|underexplored|unsolved|unresolved|yet to|lacks?|struggles?|fails? to|still|"
    r"perform poorly|gaps?)\b",
    re.IGNORECASE,
)
_LEAD = re.compile(r"^(?:However|Nevertheless|Nonetheless|Yet|Still|Moreover|Furthermore|Additionally|Finally),\s+")


@dataclass
class _Occurrences:
    """Where one phrase (a tuple of stems) occurs in one paper."""

    count: int = 0  # in the abstract
    in_title: bool = False
    surfaces: list[str] = field(default_factory=list)  # as written in a title or at a sentence start
    trusted: list[str] = field(default_factory=list)  # as written inside an abstract sentence

    @property
    def emphasis(self) -> int:
        """How central the phrase is to the paper: abstract mentions beyond the first, a title counting two."""
        if self.count == 0:  # a title's phrase the abstract never uses is as often a verb phrase as a topic
            return 0
        return min(self.count - 1, 2) + (2 if self.in_title else 0)


@dataclass(frozen=True)
class Phrase:
    """A key phrase: its stems, how it reads, its weight and the papers (source numbers) using it."""

    key: tuple[str, ...]
    text: str
    weight: float
    papers: tuple[int, ...]


@cache
def _stem(token: str) -> str:
    terms = query_terms(token)
    return terms[0] if terms else ""


def _word_stems(word: str) -> tuple[str, ...]:
    stems = []
    for tok in _TOKEN.findall(word.lower()):
        if tok in BOUNDARY or tok.isdigit():
            continue
        stem = _stem(tok)
        if stem:
            stems.append(stem)
    return tuple(stems)


def _surface(word: str, title: bool) -> str:
    """How a word reads inside a sentence: a title's capitals go, names and acronyms keep theirs."""
    if not title:
        return word
    return "-".join(p.lower() if len(p) > 1 and p[1:].isalpha() and p[1:].islower() else p for p in word.split("-"))


def _runs(text: str, title: bool) -> list[list[tuple[str, tuple[str, ...], bool]]]:
    """Runs of content words (surface, stems, trusted case) not broken by a stop word or punctuation."""
    runs: list[list[tuple[str, tuple[str, ...], bool]]] = [[]]
    prev_end = None
    for m in _WORD.finditer(text):
        word = re.sub(r"['’]s$", "", m.group(0))  # possessive
        lower = word.lower()
        boundary = lower in BOUNDARY or bool(_CONTRACTION.search(word) or _ADVERB.fullmatch(lower))
        stems = () if boundary else _word_stems(word)
        if not stems or (prev_end is not None and text[prev_end : m.start()].strip()):
            runs.append([])
        if stems:
            initial = prev_end is None  # a sentence's first word is capitalised whatever it is
            surface = word.lower() if initial and not title and word[1:].islower() else _surface(word, title)
            runs[-1].append((surface, stems, not title and not initial))
        prev_end = m.end()
    return [r for r in runs if r]


def paper_phrases(paper: Paper) -> dict[tuple[str, ...], _Occurrences]:
    """Every phrase of up to three content words in the paper's title and abstract."""
    out: dict[tuple[str, ...], _Occurrences] = {}
    parts = [(paper.title, True)] + [(s, False) for s in split_sentences(paper.abstract)]
    for text, in_title in parts:
        for run in _runs(text, in_title):
            for i in range(len(run)):
                for j in range(i + 1, min(i + MAX_WORDS, len(run)) + 1):
                    words = run[i:j]
                    key = tuple(s for _, stems, _ in words for s in stems)
                    if len(set(key)) != len(key):
                        continue
                    occ = out.setdefault(key, _Occurrences())
                    occ.count += 0 if in_title else 1
                    occ.in_title = occ.in_title or in_title
                    surface = " ".join(w for w, _, _ in words)
                    (occ.trusted if all(t for _, _, t in words) else occ.surfaces).append(surface)
    return out


def _reading(surfaces: Sequence[str]) -> str:
    """The most frequent way a phrase is written (the first one seen on a tie)."""
    counts: dict[str, int] = {}
    for s in surfaces:
        counts[s] = counts.get(s, 0) + 1
    return max(counts, key=lambda s: counts[s])


def _weight(key: tuple[str, ...], weights: TermWeights) -> float:
    """The phrase's summed idf; 0 for a generic or common phrase."""
    if any(s in GENERIC for s in key):
        return 0.0
    idf = [weights.weight(s) for s in key]
    floor = MIN_IDF_SINGLE if len(key) == 1 else MIN_IDF
    if sum(idf) / len(idf) < floor:
        return 0.0
    return sum(idf) * (MULTIWORD_BONUS if len(key) > 1 else 1.0)


def key_phrases(
    papers: Sequence[Paper], numbers: Sequence[int], weights: TermWeights,
) -> tuple[list[Phrase], dict[int, list[Phrase]]]:
    """Phrases several papers share (best first), and each paper's own phrases (best first).

    A phrase must be rare in the library and more than a passing mention: in a title, or said twice.
    """
    per_paper = {n: paper_phrases(p) for n, p in zip(numbers, papers, strict=True)}
    users: dict[tuple[str, ...], list[int]] = {}
    for n, phrases in per_paper.items():
        for key in phrases:
            users.setdefault(key, []).append(n)
    shared: list[Phrase] = []
    own: dict[int, list[Phrase]] = {n: [] for n in numbers}
    for key, ns in users.items():
        weight = _weight(key, weights)
        occs = [per_paper[n][key] for n in ns]
        emphasis = sum(o.emphasis for o in occs)
        if weight <= 0 or emphasis < 2:
            continue
        trusted = [s for o in occs for s in o.trusted]
        text = _reading(trusted or [s for o in occs for s in o.surfaces])
        if _ADJECTIVE_END.search(text):
            continue
        phrase = Phrase(key, text, weight * (len(ns) + emphasis), tuple(ns))
        # a lone common word says too little, unless several papers put it in their titles
        if len(ns) >= 2 and (len(key) > 1 or _name_like(text) or any(o.in_title for o in occs)):
            shared.append(phrase)
        elif len(ns) == 1 and (len(key) > 1 or _name_like(text)):
            own[ns[0]].append(phrase)
    shared.sort(key=lambda p: (-p.weight, p.text))
    for mine in own.values():
        mine.sort(key=lambda p: (-p.weight, p.text))
    return shared, own


def _name_like(text: str) -> bool:
    """ "LiveMCPBench", "Video-T1", "k1.5": a name, not a word of the language."""
    return any(c.isupper() for c in text[1:]) or any(c.isdigit() for c in text)


def _plural(text: str) -> bool:
    return text.endswith("s") and not text.endswith(("ss", "us", "is"))


def _pick(phrases: Sequence[Phrase], n: int) -> list[Phrase]:
    """The best n phrases that share no stem with one picked before them."""
    used: set[str] = set()
    out: list[Phrase] = []
    for p in phrases:
        if len(out) >= n:
            break
        if used.isdisjoint(p.key):
            out.append(p)
            used.update(p.key)
    return out


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _cites(numbers: Sequence[int]) -> str:
    return "[" + ", ".join(str(n) for n in sorted(numbers)) + "]"


def agreements(shared: Sequence[Phrase]) -> list[tuple[str, ...]]:
    """ "X and Y are common to [1, 3]." (and a second wording) for the broadest groups of shared phrases."""
    picked: list[Phrase] = []
    for p in shared:
        if len(picked) >= MAX_AGREEMENTS * PHRASES_PER_AGREEMENT * 2:
            break
        # "video" used by four papers stays beside "video diffusion" used by two; "diffusion" by 8 beside
        # "diffusion models" by 7 does not
        if not any(_nested(p.key, q.key) and len(p.papers) < len(q.papers) + 2 for q in picked):
            picked.append(p)
    by_group: dict[tuple[int, ...], list[Phrase]] = {}
    for p in picked:
        by_group.setdefault(p.papers, []).append(p)
    ranked = sorted(by_group.items(), key=lambda kv: (-len(kv[0]), -sum(p.weight for p in kv[1])))
    out: list[tuple[str, ...]] = []
    for papers, phrases in ranked[:MAX_AGREEMENTS]:
        names = _and([p.text for p in phrases[:PHRASES_PER_AGREEMENT]])
        verb = "is" if len(phrases) == 1 and not _plural(phrases[0].text) else "are"
        # the second form uses only stop words: it passes where "common" is not in the abstracts
        out.append((f"{_capital(names)} {verb} common to {_cites(papers)}.",
                    f"{_capital(names)} {verb} what {_cites(papers)} are about."))
    return out


def _nested(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return set(a) <= set(b) or set(b) <= set(a)


def differences(own: dict[int, list[Phrase]], per_paper: int) -> list[str]:
    """ "Where [1] is about X, [2] is about Y." for pairs of papers, each with its own phrases."""
    clauses: list[str] = []
    for n in sorted(own):
        picked = _pick(own[n], per_paper)
        if picked:
            clauses.append(f"[{n}] is about {_and([p.text for p in picked])}")
    if len(clauses) == 1:
        return [f"Only {clauses[0]}."]
    out = [f"Where {clauses[i]}, {clauses[i + 1]}." for i in range(0, len(clauses) - 1, 2)]
    if len(clauses) % 2:  # the odd one out joins the last pair
        out[-1] = f"{out[-1][:-1]}, and {clauses[-1]}."
    return out


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
            found.append((-best[0], order, _retell(best[1], n)))
    found.sort()
    return [s for _, _, s in found[:MAX_OPEN_QUESTIONS]]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _retell(sentence: str, n: int) -> str:
    """The sentence about paper n: "We find…" → "The authors of [n] find…"; otherwise cited at its end."""
    text = re.sub(r"[.!?]*$", "", third_person(_capital(_LEAD.sub("", sentence.strip()))).rstrip())
    for opening, cited in (("The authors", f"The authors of [{n}]"), ("The paper", f"The paper [{n}]")):
        if text.startswith(opening + " "):
            return f"{cited}{text[len(opening):]}."
    return f"{text} [{n}]."


def code_synthesis(
    papers: Sequence[Paper], sources: Sequence[Source], weights: TermWeights, checker: SupportChecker,
) -> tuple[str, list[SentenceCheck]]:
    """Agreements, differences and open questions in sentences that each pass the support check."""
    numbers = [s.n for s in sources]
    shared, own = key_phrases(papers, numbers, weights)
    agree = agreements(shared)
    per_paper = 2 if len(papers) <= 6 else 1
    candidates: list[tuple[str, ...]] = [*agree, *((d,) for d in differences(own, per_paper)),
                                         *((q,) for q in open_questions(papers, numbers))]
    kept: list[SentenceCheck] = []
    for variants in candidates:
        for sentence in variants:
            checks = checker.check(sentence, sources)
            if len(checks) == 1 and checks[0].supported:  # one sentence: the check did not cut it apart
                kept.append(checks[0])
                break
    return " ".join(c.text for c in kept), kept
