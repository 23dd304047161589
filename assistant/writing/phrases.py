"""Noun phrases of abstracts, ranked KeyBERT-style over MiniLM vectors: what names a group of papers.

No part-of-speech tagger ships offline (NLTK's and spaCy's models are downloads; en_core_web_sm is on
PyPI only as third-party re-uploads of unclear provenance), so candidates are cut by rules over
closed word classes: a noun phrase is a run of two to four content words — no determiner, pronoun,
auxiliary, preposition, conjunction, adverb or common verb inside — that does not end in an
adjective or participle suffix, optionally joined to a second such run by "for", "of", "in" or
"with" ("tool learning for language models"). KeyBERT (Grootendorst, 2020) then ranks candidates by
the cosine of their embedding with the documents' embedding: here with the centroid of the papers'
vectors, among the phrases several of the papers use, that are rare in the library (idf).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from assistant.embeddings import NamedEmbeddings
from assistant.evidence import QUESTION_WORDS, TermWeights
from assistant.lexical import query_terms
from assistant.types import Paper

STOP = frozenset(STOPWORDS_EN) | QUESTION_WORDS
# Words every abstract uses to talk about itself (stems): never what a group of papers shares.
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

MAX_RUN = 4
MAX_WORDS = 6
MIN_IDF = 1.0  # mean idf of a phrase's content words ("large language models" names nothing here)
_JOIN = frozenset(["for", "of", "in", "with"])
# Verbs abstracts use between noun phrases; with BOUNDARY they end a run.
_VERBS_TEXT = """is are was were be been being has have had do does did can could will would should may might must
propose proposes proposed introduce introduces introduced present presents presented show shows showed achieve
achieves achieved improve improves improved outperform outperforms outperformed enable enables enabled allow
allows allowed require requires required use uses used leverage leverages leveraged remain remains yield
yields yielded reach reaches reduce reduces reduced increase increases increased demonstrate demonstrates
find finds found study studies studied explore explores explored address addresses addressed develop develops
developed design designs designed evaluate evaluates evaluated train trains trained learn learns suggest
suggests reveal reveals revealed consider considers perform performs performed lead leads led make makes made"""
_VERBS = frozenset(_VERBS_TEXT.split())
_WORD = re.compile(r"[A-Za-z][\w]*(?:[-'’][\w]+)*")
_NOT_HEAD = re.compile(
    r"(?:ive|al|ous|able|ible|ed|ful|less|ly|ary|ant|ing-based|[-](?:based|aware|free|driven|like|level|specific|wise))$"
)
_KEEP_HEAD = frozenset(["signal", "proposal", "retrieval", "trial", "rival", "interval", "removal", "approval",
                        "potential", "material", "tutorial", "journal", "manual", "survival", "rehearsal"])


@dataclass(frozen=True)
class Candidate:
    """A noun phrase: how it reads, its content stems in order, and the papers using it."""

    text: str
    key: tuple[str, ...]
    papers: tuple[int, ...]


def _stem_words(words: Sequence[str]) -> tuple[str, ...]:
    return tuple(t for w in words if w.lower() not in _JOIN for part in w.split("-") for t in _word_terms(part))


def _content(word: str) -> bool:
    low = word.lower()
    return not (low in BOUNDARY or low in _VERBS or low.endswith("ly") or low.isdigit() or len(low) < 2)


def _head_ok(word: str) -> bool:
    low = word.lower()
    return low in _KEEP_HEAD or not _NOT_HEAD.search(low)


def _reading(word: str, first: bool) -> str:
    """A word as it reads mid-sentence: a capital that only starts a sentence or a title goes."""
    if first or word[1:].islower():
        return word.lower() if word[1:].islower() else word
    return word


def noun_phrases(text: str, title: bool = False) -> list[str]:
    """The text's candidate noun phrases, each as written (lowercased where only position capitalised it)."""
    runs: list[list[str]] = [[]]
    joins: list[str | None] = [None]  # the word joining run i to run i-1 ("for"), when adjacent
    prev_end = 0
    for m in _WORD.finditer(text):
        word = m.group(0)
        gap = text[prev_end:m.start()]
        if gap.strip() and runs[-1]:
            runs.append([])
            joins.append(None)
        if _content(word):
            first = title or prev_end == 0 or text[:m.start()].rstrip()[-1:] in ".!?:"
            runs[-1].append(_reading(word, first))
        else:
            joiner = word.lower() if word.lower() in _JOIN and runs[-1] else None
            runs.append([])
            joins.append(joiner)
        prev_end = m.end()
    out: list[str] = []
    for i, run in enumerate(runs):
        for a in range(len(run)):
            for b in range(a + 2, min(a + MAX_RUN, len(run)) + 1):
                if _head_ok(run[b - 1]):
                    out.append(" ".join(run[a:b]))
        # "tool learning for language models": a head run, the joining word, the run right after it
        joiner = joins[i + 1] if i + 1 < len(runs) else None
        if run and joiner and runs[i + 1]:
            nxt = runs[i + 1]
            for a in range(max(0, len(run) - 2), len(run)):
                for b in range(1, min(3, len(nxt)) + 1):
                    words = [*run[a:], joiner, *nxt[:b]]
                    if len(words) <= MAX_WORDS and _head_ok(nxt[b - 1]) and _head_ok(run[-1]):
                        out.append(" ".join(words))
    return out


def _uses(stream: tuple[str, ...], key: tuple[str, ...]) -> bool:
    n = len(key)
    return any(stream[i:i + n] == key for i in range(len(stream) - n + 1))


@cache
def _word_terms(word: str) -> tuple[str, ...]:
    return tuple(query_terms(word))


def _stream(paper: Paper) -> tuple[str, ...]:
    """The paper's content stems in order, repeats kept (query_terms alone drops them)."""
    text = f"{paper.title} {paper.abstract}".replace("-", " ")
    return tuple(t for word in re.findall(r"\w+", text) for t in _word_terms(word))


def used_by(paper: Paper, key: tuple[str, ...]) -> bool:
    """True when the paper's title or abstract writes the phrase's content words side by side, in order."""
    return _uses(_stream(paper), key)


def candidates(papers: Sequence[Paper], weights: TermWeights) -> list[Candidate]:
    """Noun phrases of the papers' titles and abstracts, each with the papers (0-based) whose text uses it."""
    streams = [_stream(p) for p in papers]
    seen: dict[tuple[str, ...], Candidate] = {}
    counts: dict[tuple[str, ...], dict[str, int]] = {}
    for paper in papers:
        for text, title in [(paper.title, True), (paper.abstract, False)]:
            for phrase in noun_phrases(text, title):
                key = _stem_words(phrase.split())
                if len(key) < 2 or len(set(key)) != len(key) or all(k in GENERIC for k in key):
                    continue
                if sum(weights.weight(k) for k in key) / len(key) < MIN_IDF:
                    continue
                counts.setdefault(key, {})
                counts[key][phrase] = counts[key].get(phrase, 0) + (0 if title else 1)
                if key not in seen:
                    users = tuple(i for i, s in enumerate(streams) if _uses(s, key))
                    seen[key] = Candidate(phrase, key, users)
    out = []
    for key, cand in seen.items():
        readings = counts[key]
        text = max(readings, key=lambda r: (readings[r], r.islower(), -len(r)))  # as the abstracts write it
        out.append(Candidate(text, key, cand.papers))
    return out


def rank(
    papers: Sequence[Paper], weights: TermWeights, embedder: NamedEmbeddings, min_papers: int = 2, n: int = 1,
) -> list[Candidate]:
    """The n phrases (at least two words, used by at least `min_papers` of the papers) closest to the papers'
    centroid, none sharing a stem with one ranked above it."""
    pool = [c for c in candidates(papers, weights) if len(c.papers) >= min_papers]
    if not pool:
        return []
    docs = np.asarray(embedder.embed_documents([f"{p.title}\n{p.abstract}" for p in papers]), dtype=np.float32)
    centroid = docs.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    vecs = np.asarray(embedder.embed_documents([c.text for c in pool]), dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True).clip(min=1e-9)
    cover = np.array([len(c.papers) / len(papers) for c in pool])
    score = vecs @ centroid + 0.15 * cover
    chosen: list[Candidate] = []
    used: set[str] = set()
    for i in np.argsort(-score, kind="stable"):
        cand = pool[int(i)]
        if used.isdisjoint(cand.key):
            chosen.append(cand)
            used.update(cand.key)
        if len(chosen) >= n:
            break
    return chosen
