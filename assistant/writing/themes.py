"""Themes for a related-work draft: papers clustered by meaning, each theme named by its distinctive terms.

Clustering: agglomerative (cosine, average linkage) over the papers' MiniLM vectors, the number of
themes chosen by silhouette over 2..4; a split is kept only when every theme holds two papers or more
and the silhouette reaches MIN_SILHOUETTE (else one theme). Naming: class-based TF-IDF over 1–2-grams:
a term scores by the share of the theme's papers holding it, its idf in the whole library and the
share of its occurrences among the selected papers that fall in this theme (a term every theme shares
names none of them); terms from the theme's titles come first, as titles are written in noun phrases.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.metrics import silhouette_score

from assistant.lexical import query_terms
from assistant.types import Paper

MAX_THEMES = 4
# Silhouettes of MiniLM paper vectors are low (0.1–0.35 on the 12 topical dev queries); splits below
# this read as arbitrary when the papers are looked at (e.g. mixture-of-experts papers split 5/3 at 0.14).
MIN_SILHOUETTE = 0.15
NAME_TERMS = 3
_TOKEN = r"(?u)\b[A-Za-z][A-Za-z]+(?:-[A-Za-z]+)*\b"  # words and hyphenated compounds, no digits
# Words of any abstract, and verbs that open titles: they name no theme and set no paper apart.
_GENERIC_TEXT = """
paper papers work works approach approaches method methods model models propose proposed proposes present
presents introduce introduces novel new results result performance based using use used show shows shown
demonstrate demonstrates achieve achieves achieved existing different various large language llm llms
significant significantly improve improves improved improvement better state art extensive experiments
experiment experimental framework task tasks study studies problem problems effective effectively efficient
efficiently key challenge challenges including furthermore code available publicly release released
findings analysis data training trained train recent recently way ways paradigm remains remain able
enables enable enabling provides provide make makes like high low compared best however address addresses
particular specifically simple important critical crucial wide widely range https http www github com
exploring investigating rethinking rethink generalizing improving towards tackling overcoming optimizing
unraveling transcending solving growing benchmarking sculpting enhance enhancing augment matches diversify
conquer retrieve affected generate making understanding revisiting boosting meet meets part relies rely focused
focuses focus combines combine appear appears attains attain tackle increase increases aim aims achieving
similar accurately fall short
"""
_GENERIC = frozenset(_GENERIC_TEXT.split())
_STOP = frozenset(ENGLISH_STOP_WORDS)


@dataclass
class ThemeGroup:
    """The papers of one theme (in the given order) and the terms that name it."""

    papers: list[Paper]
    terms: list[str] = field(default_factory=list)
    label: str = ""  # a noun phrase most of its papers use (phrases.rank), set by the caller

    @property
    def name(self) -> str:
        """The theme's name: its noun phrase, else its first two terms, else its first paper's title."""
        if not self.label and not self.terms:
            return self.papers[0].title
        name = self.label or " and ".join(self.terms[:2])
        if len(name.split()) == 1:  # a lone modifier ("multi-agent") names no approach
            name += " methods"
        return name[0].upper() + name[1:]


def paper_text(paper: Paper) -> str:
    """What a paper is judged on: its title and abstract."""
    return f"{paper.title}\n{paper.abstract}"


def cluster(vectors: np.ndarray, max_themes: int = MAX_THEMES, min_silhouette: float = MIN_SILHOUETTE) -> list[int]:
    """A theme label per vector: the best-silhouette split into 2..max_themes, or all 0 when none is good."""
    n = len(vectors)
    if n <= 3:
        return [0] * n
    best: tuple[float, list[int]] = (min_silhouette, [0] * n)
    for k in range(2, min(max_themes, n - 1) + 1):
        labels = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit_predict(vectors)
        if np.bincount(labels).min() < 2:  # a one-paper theme is an outlier, not a theme
            continue
        score = float(silhouette_score(vectors, labels, metric="cosine"))
        if score >= best[0]:
            best = (score, [int(x) for x in labels])
    order: dict[int, int] = {}  # renumbered by first appearance: the best-ranked paper's theme is 0
    return [order.setdefault(x, len(order)) for x in best[1]]


class Lexicon:
    """Binary 1–2-gram counts of the selected papers (texts and titles), idf over the whole library."""

    def __init__(self, papers: Sequence[Paper], background: Sequence[Paper] = ()) -> None:
        self.papers = list(papers)
        self.row = {p.paper_id: i for i, p in enumerate(self.papers)}
        vectorizer = CountVectorizer(
            stop_words="english", ngram_range=(1, 2), token_pattern=_TOKEN, lowercase=True, binary=True,
        )
        docs = [paper_text(p) for p in self.papers] + [paper_text(p) for p in background]
        counts = vectorizer.fit_transform(docs)
        self.terms = [str(t) for t in vectorizer.get_feature_names_out()]
        df_all = np.asarray(counts.sum(axis=0)).ravel()
        self.idf = np.log((counts.shape[0] + 1) / (df_all + 1)) + 1.0
        # two words side by side in one abstract only are as often a clause boundary as a phrase
        self.phrase = np.array([" " not in t for t in self.terms]) | (df_all >= 2)
        self.bigram = np.array([1.5 if " " in t else 1.0 for t in self.terms])  # two words name more than one
        self.texts = counts[: len(self.papers)].toarray().astype(bool)  # papers × terms
        self.titles = vectorizer.transform([_title_topic(p.title) for p in self.papers]).toarray().astype(bool)
        self.abstracts = vectorizer.transform([p.abstract for p in self.papers]).toarray().astype(bool)
        self.readable = np.array([_readable(t) for t in self.terms])

    def rows(self, papers: Sequence[Paper]) -> list[int]:
        """The lexicon rows of the given papers."""
        return [self.row[p.paper_id] for p in papers]


def _title_topic(title: str) -> str:
    """The descriptive part of a title: after "Name:" when the title has one."""
    head, sep, tail = title.partition(":")
    return tail if sep and len(head.split()) <= 3 and tail.strip() else title


def _readable(term: str) -> bool:
    words = term.split()
    if any(w in _GENERIC or w in _STOP or len(w) < 3 for w in words):
        return False
    return not (len(words) == 2 and words[0] == words[1])


def name_themes(lex: Lexicon, groups: Sequence[Sequence[Paper]]) -> list[list[str]]:
    """Up to NAME_TERMS distinctive terms per theme, as its papers write them ("Low-Rank Adaptation (LoRA)")."""
    df_selected = lex.texts.sum(axis=0)
    out: list[list[str]] = []
    for group in groups:
        rows = lex.rows(group)
        df = lex.texts[rows].sum(axis=0)
        share = np.divide(df, df_selected, out=np.zeros(len(df), dtype=float), where=df_selected > 0)
        score = (df / max(len(group), 1)) * lex.idf * share * lex.readable * lex.bigram * lex.phrase
        if len(group) >= 3 and (score[df >= 2] > 0).any():
            score = np.where(df >= 2, score, 0.0)  # a theme's name is shared by several of its papers
        texts = _texts(group)
        terms = _pick(lex.terms, score * lex.titles[rows].any(axis=0), texts, NAME_TERMS + 1)
        if not terms:  # titles too short or shared: the abstracts' terms name the theme
            terms = _pick(lex.terms, score, texts, 2)
        out.append(merge_acronyms(terms, texts)[:NAME_TERMS])
    return out


def _texts(papers: Sequence[Paper]) -> list[str]:
    """Where a term's written form is looked up: abstracts (running text) before titles (Title Case)."""
    return [p.abstract for p in papers] + [p.title for p in papers]


def _stems(term: str) -> set[str]:
    return set(query_terms(term.replace("-", " ")))


def _pick(
    terms: Sequence[str], score: np.ndarray, texts: Sequence[str], n: int,
    taken: Sequence[str] = (), strict: bool = True,
) -> list[str]:
    """The n best-scoring terms as the texts write them; none sharing a word stem with another or with
    `taken` (strict), or none equal to one of them."""
    chosen: list[str] = []
    seen = [_stems(t) for t in taken]
    for idx in np.argsort(-score, kind="stable"):
        if score[idx] <= 0 or len(chosen) >= n:
            break
        own = _stems(terms[idx])
        if any((own & s) if strict else own == s for s in seen):
            continue
        surface = surface_form(terms[idx], texts)
        if surface is not None:
            chosen.append(surface)
            seen.append(own)
    return chosen


def surface_form(term: str, texts: Sequence[str]) -> str | None:
    """The term as first written in the texts, case kept; None when its words are never written side by side."""
    pattern = re.compile(r"\b" + r"[ \-]+".join(re.escape(w) for w in term.split()) + r"\b", re.IGNORECASE)
    found = [m for text in texts for m in pattern.finditer(text) if m.group(0)]
    # a sentence's first word is capitalised whatever it is: prefer the term as written mid-sentence
    inner = [m for m in found if m.string[: m.start()].rstrip()[-1:] not in ("", ".", "!", "?", ":", "\n")]
    best = (inner or found)[:1]
    return best[0].group(0) if best else None


def _initials(term: str) -> set[str]:
    words = [w for w in re.split(r"[\s\-/]+", term) if w]
    full = "".join(w[0] for w in words).casefold()
    content = "".join(w[0] for w in words if w.casefold() not in _STOP).casefold()
    return {full, content}


def merge_acronyms(terms: Sequence[str], texts: Sequence[str]) -> list[str]:
    """Terms with an acronym and its spelled-out form merged as "Low-Rank Adaptation (LoRA)" when written so."""
    out = list(terms)
    for short in terms:
        caps = "".join(c for c in short if c.isupper()).casefold()
        if " " in short or len(caps) < 2:
            continue
        for long in terms:
            if long != short and long in out and short in out and caps in _initials(long):
                merged = f"{long} ({short})"
                if any(merged.casefold() in t.casefold() for t in texts):
                    out[out.index(long)] = merged
                else:
                    out[out.index(long)] = long
                out.remove(short)
                break
    return out


def find_themes(
    papers: Sequence[Paper], vectors: np.ndarray, lex: Lexicon, max_themes: int = MAX_THEMES,
) -> list[ThemeGroup]:
    """Papers grouped into named themes; themes ordered by their best-ranked paper, papers kept in order."""
    labels = cluster(vectors, max_themes) if len(papers) else []
    groups: list[list[Paper]] = [[] for _ in range(max(labels, default=-1) + 1)]
    for paper, label in zip(papers, labels, strict=True):
        groups[label].append(paper)
    names = name_themes(lex, groups)
    return [ThemeGroup(papers=g, terms=t) for g, t in zip(groups, names, strict=True)]
