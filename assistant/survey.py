"""Survey and compare answers: an opening line, then one cited bullet per paper, in the paper's own words.

A survey answer lists, in search order, the papers of the pool that the hybrid order puts well above the
rest (`answer.survey_min_rank_score`, in z units) or that hold a sentence very close to the question
(`answer.survey_strong_similarity`), at most `answer.survey_cap`, each with the sentence of its abstract
that best answers the question, preferring the paper's own contribution or method sentence over background;
a paper whose best sentence is weak is left out. A compare answer does the same per side and says
which side the library lacks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.evidence import CONTRIBUTION_CUE, Sentence, is_contribution
from assistant.gate import best_similarity, usable
from assistant.kinds import Sides
from assistant.retrieval import Candidate, Retriever
from assistant.settings import AnswerSettings

# A bullet says what the paper does: its best contribution sentence ("we propose…") when that sentence is at least
# this close to the question (the paper is already judged relevant; an abstract's opening sentence restates the field
# and is always closer), else its best sentence, where other sentences on its own work ("our method…") get +0.15;
# an added contribution ("Moreover, we also propose…") gives way to the main one.
CONTRIBUTION_FLOOR = 0.15
SECONDARY_PENALTY = 0.1
_SECONDARY = re.compile(r"^(?:moreover|additionally|furthermore|besides|also|in addition)\b|\bwe also\b", re.IGNORECASE)
OWN_WORK_BONUS = 0.15
_LABEL = re.compile(r"^[^\[\]\n]{1,120}:\s*$")  # "On graph indexes:" — a heading, not a claim
_MAX_LABEL_WORDS = 12
_MAX_NAME_WORDS = 3  # "Kimi k1.5", "Model soups"; "Beyond neural scaling laws" is a phrase, not a name


@dataclass
class Group:
    """The papers listed under one heading (a compare side), or under none (a survey)."""

    label: str | None
    query: str
    papers: list[Candidate] = field(default_factory=list)
    bullets: list[Sentence] = field(default_factory=list)
    evidence: Sequence[Sentence] = ()  # the pool's sentences ranked for the group's query
    named: bool = False  # the side names its papers ("CLEX vs Giraffe"): they are listed whatever their sentences


def paper_name(title: str) -> str | None:
    """The name a title opens with when it reads like one ("CLEX: Continuous…" → "CLEX", "Kimi k1.5: …")."""
    head, colon, _ = title.partition(":")
    words = head.split()
    if not colon or not 0 < len(words) <= _MAX_NAME_WORDS:
        return None
    name = head.strip()
    return name if _marked(name) or (len(words) == 1 and name[:1].isupper()) else None


def _marked(name: str) -> bool:
    """A digit or a capital inside a word: a name whatever its case in the question ("kimi k1.5", "clex")."""
    return any(ch.isdigit() for ch in name) or any(any(ch.isupper() for ch in w[1:]) for w in name.split())


def named_papers(side: str, retriever: Retriever, n: int = 20) -> list[Candidate]:
    """The papers a compare side calls by their name (a capitalised one-word name must keep its capital)."""
    hits = retriever.bm25().search(side, n)
    papers = retriever.library.get_papers([pid for pid, _ in hits])
    out: list[Candidate] = []
    for pid, _ in hits:
        paper = papers.get(pid)
        name = paper_name(paper.title) if paper is not None else None
        if name is None:
            continue
        flags = re.IGNORECASE if _marked(name) or " " in name else 0  # "Giraffe" the name, not "giraffe" the word
        if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", side, flags):
            out.append(Candidate(pid, paper=paper))
    return out


def select_papers(
    ranked: Sequence[Candidate], evidence: Sequence[Sentence], matching: Sequence[Candidate],
    settings: AnswerSettings, hybrid: bool = True, cap: int | None = None,
) -> list[Candidate]:
    """The papers to list, in search order: far above the pool in the hybrid order, or with a sentence very
    close to the question; the gate's matching papers when neither holds (a hybrid score exists only in
    the hybrid order)."""
    best = best_similarity(evidence)
    pool = [c for c in ranked[: settings.survey_pool] if c.paper is not None]

    def listed(c: Candidate) -> bool:
        sim = best.get(c.paper_id, -1.0)
        return sim >= settings.survey_min_similarity and (
            (hybrid and c.rank_score >= settings.survey_min_rank_score) or sim >= settings.survey_strong_similarity)

    chosen = [c for c in pool if listed(c)] or list(matching)
    return chosen[: cap or settings.survey_cap]


def bullet_score(s: Sentence) -> float:
    """A sentence's worth as a bullet: its evidence score, plus a bonus when it is on the paper's own work."""
    own = OWN_WORK_BONUS if is_contribution(s.text) else 0.0
    return s.score + own - (SECONDARY_PENALTY if _SECONDARY.search(s.text) else 0.0)


def pick_bullets(evidence: Sequence[Sentence], papers: Sequence[Candidate], min_similarity: float) -> list[Sentence]:
    """Each paper's bullet, in the papers' order; papers with no sentence within `min_similarity` are left out."""
    by_paper: dict[str, list[Sentence]] = {}
    for s in evidence:
        if usable(s):
            by_paper.setdefault(s.paper_id, []).append(s)
    out: list[Sentence] = []
    for c in papers:
        close = [s for s in by_paper.get(c.paper_id, []) if s.similarity >= min_similarity]
        if not close:
            continue
        own = [s for s in by_paper[c.paper_id]
               if s.similarity >= CONTRIBUTION_FLOOR and CONTRIBUTION_CUE.search(s.text)]
        out.append(max(own or close, key=bullet_score))
    return out


def split_sides(groups: Sequence[Group], cap: int) -> None:
    """A paper matching both sides stays on the side where it ranks higher (the first on a tie); at most `cap` each."""
    pos = [{c.paper_id: i for i, c in enumerate(g.papers)} for g in groups]

    def keep(gi: int, pid: str) -> bool:
        mine = pos[gi][pid]
        return all(mine < other.get(pid, mine + 1) or (mine == other[pid] and gi < oj)
                   for oj, other in enumerate(pos) if oj != gi)

    for gi, g in enumerate(groups):
        g.papers = [c for c in g.papers if keep(gi, c.paper_id)][:cap]


def missing_line(missing: Sequence[str]) -> str:
    """The opening line of a compare answer whose library lacks a side ("" when it lacks none)."""
    return f"Your library holds nothing on {' or '.join(missing)}." if missing else ""


def _papers(n: int) -> str:
    return f"{n} paper{'s' if n != 1 else ''}"


def opening(groups: Sequence[Group], sides: Sides | None, missing: Sequence[str]) -> str:
    """The answer's first line: how many papers of the library address the question (or each side)."""
    if sides is None:
        n = sum(len(g.bullets) for g in groups)
        return f"{_papers(n)} in your library address this question:"
    present = [g for g in groups if g.bullets]
    parts = [f"{_papers(len(g.bullets))} on {g.label}" for g in present]
    line = "Your library holds " + " and ".join(parts) + "."
    if missing:
        line += " " + missing_line(missing).replace("Your library holds", "It holds")
    return line


def render(groups: Sequence[Group], number: dict[str, int], sides: Sides | None, missing: Sequence[str]) -> str:
    """The whole extractive answer: the opening line, then per group an optional heading and its bullets."""
    lines = [opening(groups, sides, missing)]
    for g in groups:
        if not g.bullets:
            continue
        if g.label is not None:
            lines.append(f"On {g.label}:")
        lines += [f"{s.text} [{number[s.paper_id]}]" for s in g.bullets]
    return "\n".join(lines)


def claims(text: str) -> str:
    """The lines of an answer that state something (headings and the opening count are not claims)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines and _is_opening(lines[0]):
        lines = lines[1:]
    return "\n".join(ln for ln in lines if not is_label(ln))


def is_label(line: str) -> bool:
    """A short heading line ending in a colon, citing nothing."""
    text = line.strip().strip("*#_ ")
    return bool(_LABEL.match(text)) and len(text.split()) <= _MAX_LABEL_WORDS


def _is_opening(line: str) -> bool:
    return bool(re.match(r"^(?:\d+ papers? in your library address|Your library holds )", line.strip()))


def survey_plan(sides: Sides | None, missing: Sequence[str]) -> str:
    """The shape a capable model is asked to give a survey or compare answer."""
    if sides is None:
        return ("Start with one or two overview sentences, each citing the sources it sums up. Then write one "
                "line per source: one sentence saying what that paper does, citing it. When several papers share "
                "an approach, put their lines under a short heading line ending with a colon.")
    plan = (f"The question compares {sides.a} and {sides.b}. Start with one overview sentence citing sources of "
            f"both sides. Then a heading line 'On {sides.a}:' with one cited sentence per paper about it, and a "
            f"heading line 'On {sides.b}:' with one cited sentence per paper about it.")
    if missing:
        lacking = " or ".join(missing)
        plan += f" The library holds no paper on {lacking}: write nothing about it (the answer says so)."
    return plan
