"""The support check's meaning checks on text: numbers, polarity, scope and strength, novel specifics.

Each takes a claim (citation markers stripped) and the cited text it is judged against and returns ""
when it finds nothing wrong, else the reason. The word lists are package data
(assistant/data/support_lexicon.toml). Attribution and coverage need embeddings: see support.py.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from assistant.evidence import numbers_in, quantities_in

LEXICON_FILE = Path(__file__).resolve().parent / "data" / "support_lexicon.toml"
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*|[,;:()—–]")
_SCOPE_BREAK = frozenset([
    ",", ";", ":", "(", ")", "—", "–", "and", "but", "or", "while", "which", "that", "whereas", "although"
])
_FILLER = frozenset([
    "a", "an", "the", "to", "be", "is", "are", "was", "were", "been", "being", "do", "does", "did", "any", "of",
    "for", "in", "on", "at", "by", "with", "as", "its", "it", "their", "this", "that", "these", "those", "more",
    "most", "much", "very", "so", "such", "even", "yet", "still", "only", "just", "also"
])
_NAME = re.compile(r"(?<![\w-])(?:[A-Za-z]*[A-Z][a-z0-9]*[A-Z0-9][\w.-]*|[A-Z][a-z]+(?:-[A-Za-z0-9]+)*)(?![\w-])")
_NOT_NAMES = frozenset([
    "the", "a", "an", "this", "these", "that", "those", "it", "its", "in", "on", "for", "with", "by", "from", "to",
    "as", "at", "we", "our", "their", "they", "however", "notably", "importantly", "specifically", "crucially",
    "overall", "moreover", "furthermore", "additionally", "finally", "put", "in", "according", "unlike", "compared",
    "while", "when", "where", "although", "both", "each", "all", "many", "most", "some", "such"
])


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The word's Snowball stem, lower-cased (the index's stemmer)."""
    return str(_stemmer().stemWord(word.lower()))


@dataclass(frozen=True)
class Lexicon:
    """The reviewed word lists, stemmed where they are matched by stem."""

    framing: frozenset[str]
    synonym: dict[str, str]  # stem → its group's first word
    up: frozenset[str]
    down: frozenset[str]
    negations: frozenset[str]
    prefixes: tuple[str, ...]
    scope: dict[str, frozenset[str]]  # class → words (phrases joined by "-")
    phrases: tuple[tuple[re.Pattern[str], str], ...]  # "by a wide margin" → "by-a-wide-margin"


@cache
def lexicon() -> Lexicon:
    """The lexicon file, read once."""
    raw = tomllib.loads(LEXICON_FILE.read_text(encoding="utf-8"))
    synonym: dict[str, str] = {}
    for group in raw["synonyms"]:
        ws = group.split()
        for w in ws:
            synonym.setdefault(stem(w), ws[0])
    scope = {k: frozenset(v.split()) for k, v in raw["scope"].items()}
    multi = sorted({w for ws in scope.values() for w in ws if "-" in w}, key=len, reverse=True)
    phrases = tuple((re.compile(r"\b" + r"[\s-]+".join(map(re.escape, w.split("-"))) + r"\b", re.IGNORECASE), w)
                    for w in multi)
    return Lexicon(
        framing=frozenset(stem(w) for w in raw["framing"].split()), synonym=synonym,
        up=frozenset(stem(w) for w in raw["up"].split()), down=frozenset(stem(w) for w in raw["down"].split()),
        negations=frozenset(raw["negations"].split()), prefixes=tuple(raw["negative_prefixes"]), scope=scope,
        phrases=phrases,
    )


def tokens(text: str) -> list[str]:
    """Lower-cased words and clause punctuation; the lexicon's phrases joined into one token."""
    low = text.replace("’", "'")
    for pattern, joined in lexicon().phrases:
        low = pattern.sub(joined, low)
    return [t.lower() for t in _TOKEN.findall(low)]


def canonical(term: str) -> str:
    """A stem's synonym group (itself when it has none)."""
    return lexicon().synonym.get(term, term)


# ---------------------------------------------------------------- numbers


_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
        "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"
    ], start=1)}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)


def spelled_numbers(text: str, with_one: bool = True) -> set[str]:
    """The numbers a text spells out ("eleven" → "11"); "one" only when asked (it is often a pronoun)."""
    found = {_NUMBER_WORDS[w.lower()] for w in _NUMBER_WORD.findall(text)}
    return found if with_one else found - {"1"}


def number_problem(claim: str, cited: str) -> str:
    """A number the cited text does not state, or states with another scale ("560" for "560 billion").

    Spelled-out numbers count as digits ("eleven tasks" for "11 tasks", "two facts" against "one fact")."""
    stated = numbers_in(cited) | spelled_numbers(cited)
    written = numbers_in(claim)
    missing = sorted(written - stated) + sorted(spelled_numbers(claim, with_one=False) - stated - written)
    if missing:
        return f"number {missing[0]} is not in the cited source"
    counted = _miscounted(claim, cited)
    if counted:
        return counted
    src = quantities_in(cited)
    for num, scales in quantities_in(claim).items():
        known = src.get(num)
        if known is None:
            continue
        for scale in scales:
            if scale not in known:
                return f"number {num} {scale}".rstrip() + " does not match how the cited source states that number"
    return ""


_COUNTED = re.compile(r"(?<![\w.^/-])(\d+(?:\.\d+)?)\s+([A-Za-z][A-Za-z-]{3,})")  # not "VILA^2", "4M-21"
_NUMBER_AT = r"(?<![\w.]){}(?![\w.]|\.\d)"
COUNT_WINDOW = 8  # words after a number in the source within which the claim's counted word must stand


def _miscounted(claim: str, cited: str) -> str:
    """A number the source states of something else: "4 professional-level tasks" where the source has "40
    professional-level tasks from 4 distinct competitions" (the word a claim's number counts, by stem, must
    follow that number in the source)."""
    for num, word in _COUNTED.findall(claim):
        want = stem(word.lower())
        after = [stem(w.lower()) for m in re.finditer(_NUMBER_AT.format(re.escape(num)), cited)
                 for w in re.findall(r"[A-Za-z][A-Za-z-]*", cited[m.end():m.end() + 200])[:COUNT_WINDOW]]
        if after and want not in after:
            return f"number {num} counts '{word}' here, something else in the cited source"
    return ""


# ---------------------------------------------------------------- polarity


def _is_negation(tok: str) -> bool:
    lex = lexicon()
    return tok in lex.negations or tok.endswith("n't") or tok.endswith("-free")


def negation_scopes(toks: list[str]) -> list[tuple[str, frozenset[str]]]:
    """Each negation cue with the stems it negates: up to three content words after it, to the clause's end."""
    out = []
    for i, tok in enumerate(toks):
        if not _is_negation(tok):
            continue
        if tok.endswith("-free"):
            out.append((tok, frozenset({stem(tok[: -len("-free")])})))
            continue
        scope: list[str] = []
        for nxt in toks[i + 1 : i + 8]:
            if nxt in _SCOPE_BREAK or len(scope) == 3:
                break
            if nxt not in _FILLER and not _is_negation(nxt):
                scope.append(stem(nxt))
        out.append((tok, frozenset(scope)))
    return out


def _direction(stems: Iterable[str]) -> tuple[set[str], set[str]]:
    lex = lexicon()
    s = set(stems)
    return s & lex.up, s & lex.down


def polarity_problem(claim: str, source: str) -> str:
    """A negation or direction word in the claim that the aligned source text does not carry, or the reverse."""
    ct, st = tokens(claim), tokens(source)
    c_neg, s_neg = negation_scopes(ct), negation_scopes(st)
    c_stems = {stem(t) for t in ct}
    s_stems = {stem(t) for t in st}
    s_negated = frozenset().union(*(scope for _, scope in s_neg)) if s_neg else frozenset()
    for cue, scope in c_neg:
        if not s_neg:
            return f"polarity: '{cue}' negates what the cited source states"
        if scope and not scope & s_negated and scope & s_stems:
            return f"polarity: '{cue}' negates what the cited source states"
    c_negated = frozenset().union(*(scope for _, scope in c_neg)) if c_neg else frozenset()
    for cue, scope in s_neg:
        if len(scope & c_stems) >= 2 and not scope & c_negated:
            return f"polarity: the cited source says '{cue}' where the claim has no negation"
    c_up, c_down = _direction(c_stems)
    s_up, s_down = _direction(s_stems)
    if c_up and not s_up and s_down:
        return f"polarity: '{sorted(c_up)[0]}' where the cited source says '{sorted(s_down)[0]}'"
    if c_down and not s_down and s_up:
        return f"polarity: '{sorted(c_down)[0]}' where the cited source says '{sorted(s_up)[0]}'"
    return _prefix_flip(set(ct), set(st))


def _prefix_flip(claim: set[str], source: set[str]) -> str:
    """"inefficient" for the source's "efficient", or the reverse."""
    for a, b in ((claim, source), (source, claim)):
        for word in a - b:
            for p in lexicon().prefixes:
                base = word[len(p):]
                if word.startswith(p) and len(base) >= 5 and base in b and base not in a:
                    which = "claim" if a is claim else "cited source"
                    return f"polarity: the {which} says '{word}' where the other says '{base}'"
    return ""


# ---------------------------------------------------------------- scope and strength


def scope_cues(toks: list[str]) -> dict[str, str]:
    """Scope and strength cues by class (universal, strength, rank): "any" after a negation does not count."""
    out: dict[str, str] = {}
    for i, tok in enumerate(toks):
        for cls, words in lexicon().scope.items():
            if tok in words and cls not in out:
                if tok == "any" and any(_is_negation(t) for t in toks[max(0, i - 3) : i]):
                    continue
                out[cls] = tok
    return out


def scope_problem(claim: str, source: str) -> str:
    """A quantifier or intensifier of a class (all/every, significantly, state-of-the-art) the source lacks."""
    src_tokens = tokens(source)
    src = scope_cues(src_tokens)
    if "each" in src_tokens or "per" in src_tokens:  # "each layer" may be retold as "every layer"
        src.setdefault("universal", "each")
    for cls, cue in scope_cues(tokens(claim)).items():
        if cls not in src:
            return f"scope: '{cue.replace('-', ' ')}' is stronger than the cited source"
    return ""


# ---------------------------------------------------------------- novel specifics


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@lru_cache(maxsize=4096)
def _source_keys(cited: str) -> tuple[str, frozenset[str]]:
    """The cited text squeezed to letters and digits, and the initials of every run of 2-7 words."""
    words = [w for w in re.split(r"[\s/-]+", re.sub(r"[^\w\s/-]", " ", cited)) if w]
    initials = set()
    for n in range(2, 8):
        for i in range(len(words) - n + 1):
            initials.add("".join(w[0] for w in words[i : i + n]).lower())
    return _key(cited), frozenset(initials)


def names_in(claim: str) -> list[str]:
    """Named things in the claim: acronyms, CamelCase, names with digits, capitalised words mid-sentence."""
    out = []
    for m in _NAME.finditer(claim):
        name = m.group(0).rstrip(".-")
        before = claim[: m.start()].rstrip()
        plain_word = name[0].isupper() and name[1:].islower() and "-" not in name
        if plain_word and (not before or before[-1] in ":;.!?\"“(—–'‘" or name.lower() in _NOT_NAMES):
            continue
        if name.lower() in _NOT_NAMES or len(name) < 2:
            continue
        out.append(name)
    return out


def novel_problem(claim: str, cited: str) -> str:
    """A named thing no cited source contains (its letters and digits, or as the initials of its words)."""
    squeezed, initials = _source_keys(cited)
    for name in names_in(claim):
        key = _key(re.sub(r"['’]s$", "", name))
        if not key or key.isdigit():
            continue
        stems = {key, key[:-1] if key.endswith("s") else key}
        if any(k in squeezed or k in initials for k in stems):
            continue
        return f"novel specific: '{name}' is not in the cited source"
    return ""
