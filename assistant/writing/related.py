"""Related-work drafts: the library's papers for a topic, grouped into named themes, a cited paragraph each.

Extractive (no model; also every back-end's fallback): per theme an opening sentence made of the
theme's terms and template words its abstracts hold, one sentence per paper (its contribution
sentence retold in the third person) and a sentence contrasting the papers by their distinctive terms.
Local model: asked to shorten the longest per-paper sentences (one grammar-bound sentence ending in
the paper's number); a rewrite is kept only when it drops words from the middle, adds none and passes
the support check. On 6 dev topics 4 of 24 rewrites passed the support check alone; the 3 looked at
were the sentence cut off early (one ends "...their embedded."), which is now rejected: expect the
extractive text with this model. OpenAI or compatible: a paragraph per theme from a prompt over the theme's
numbered abstracts. Every sentence is support-checked against the abstracts it cites; model text that
fails is replaced by the extractive sentence (local) or paragraph (OpenAI); invented citations are
removed and counted.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.citations import cited_in, resolve_citations, strip_markers
from assistant.context import PROMPT_OVERHEAD_TOKENS, render_sources
from assistant.evidence import TermWeights, numbers_in
from assistant.llm.backends import Backend
from assistant.llm.local import LOCAL_MAX_TOKENS, sentence_grammar
from assistant.settings import LLMSettings
from assistant.support import SupportChecker, answer_sentences
from assistant.text import split_sentences
from assistant.tokens import truncate_tokens
from assistant.types import Progress, SentenceCheck, Source, Usage
from assistant.workspace import Workspace
from assistant.writing.common import llm_step, references, select_papers
from assistant.writing.latex import display_text, renumber, to_bibtex, to_latex, to_markdown
from assistant.writing.models import RelatedWorkDraft, StepMode, Theme
from assistant.writing.phrases import rank
from assistant.writing.prose import shared
from assistant.writing.retell import cite_paper, paper_sentences, plain_sentence
from assistant.writing.synthesis import open_questions
from assistant.writing.themes import Lexicon, ThemeGroup, find_themes

DEFAULT_PAPERS = 8
LOCAL_REWRITE_WORDS = 25  # per-paper sentences longer than this go to the local model to be shortened
LOCAL_REWRITES = 2  # per theme, longest sentences first: each call costs ~1 s and few rewrites pass (docstring)
# How a cut-off sentence ends: the grammar closes any text with the citation, finished or not.
_LOOSE_END = re.compile(r"(?:[,;:(\-]|\b(?:and|or|but|the|a|an|of|to|in|with|for|by|on|as|that|which))$", re.I)


@dataclass
class _Draft:
    """One theme's paragraph in the theme's own numbering (source n = position in the theme)."""

    group: ThemeGroup
    sources: list[Source]
    sentences: list[str] = field(default_factory=list)
    checks: list[SentenceCheck] = field(default_factory=list)
    mode: StepMode = "extractive"


def related_work(
    ws: Workspace, topic: str, max_papers: int = DEFAULT_PAPERS, llm: LLMSettings | None = None,
    progress: Progress | None = None, backend: Backend | None = None,
) -> RelatedWorkDraft:
    """A related-work draft for a topic: named themes, a cited paragraph each, Markdown, LaTeX and BibTeX.

    The back-end is `backend` when given, else the one `llm` (or the workspace's settings) names.
    """
    t0 = time.perf_counter()
    backend = backend or ws.backend(llm)  # a missing key or model file is reported before any work
    report = progress or (lambda stage, done, total: None)
    report("papers", 0, 1)
    papers = select_papers(ws, topic=topic, max_papers=max_papers)
    report("papers", 1, 1)
    report("themes", 0, 1)
    ids = [p.paper_id for p in papers]
    stored = ws.library.paper_vectors(ids)
    missing = [p for p in papers if p.paper_id not in stored]
    if missing:
        fresh = ws.embedder.embed_documents([f"{p.title}\n\n{p.abstract}" for p in missing])
        stored.update({p.paper_id: np.asarray(v, dtype=np.float32) for p, v in zip(missing, fresh, strict=True)})
    lex = Lexicon(papers, [p for p in ws.papers() if p.paper_id not in stored])
    groups = find_themes(papers, np.stack([stored[i] for i in ids]), lex)
    weights = TermWeights(ws.retriever.bm25())
    embedder = ws.embedder  # remembers vectors: the checks of a draft embed the same abstract sentences many times
    for group in groups:  # a noun phrase most of the theme's papers use names it
        label = rank(group.papers, weights, embedder, min_papers=min(len(group.papers), 2 + len(group.papers) // 3))
        named = [x for x in label if len(x.text.split()) >= 2] or label  # a phrase before a lone word
        group.label = named[0].text if named else ""
    report("themes", 1, 1)
    # the abstracts' sentences in one batch, as the support check splits them
    embedder.embed_documents([s for p in papers for s in split_sentences(f"{p.title}\n{p.abstract}")])
    writer = _Writer(backend, SupportChecker(embedder, weights, ws.settings.answer), weights, topic)
    drafts: list[_Draft] = []
    for i, group in enumerate(groups):
        report("writing", i, len(groups))
        drafts.append(writer.write(group))
    report("writing", len(groups), len(groups))
    draft = assemble(topic, drafts)
    draft.removed_citations = writer.removed
    draft.backend = backend.provider
    draft.model = backend.shown_model
    draft.usage = writer.usage
    draft.seconds = round(time.perf_counter() - t0, 3)
    return draft


class _Writer:
    """Writes and checks one theme's paragraph with one back-end."""

    def __init__(
        self, backend: Backend, checker: SupportChecker, weights: TermWeights, topic: str,
    ) -> None:
        self.backend = backend
        self.checker = checker
        self.weights = weights
        self.topic = topic
        self.usage = Usage()
        self.removed = 0

    def write(self, group: ThemeGroup) -> _Draft:
        """The theme's paragraph, checked sentence by sentence."""
        sources = [
            Source(n=i, paper_id=p.paper_id, title=p.title, year=p.year, text=p.abstract)
            for i, p in enumerate(group.papers, start=1)
        ]
        draft = _Draft(group, sources)
        if self.backend.chat is not None and self.backend.provider != "local" and self._generate(draft):
            return draft
        self._extractive(draft)
        if self.backend.provider == "local":
            self._shorten(draft)
        elif self.backend.chat is not None:
            draft.mode = "fallback"
        return draft

    # -- extractive ------------------------------------------------------------------------------

    def _extractive(self, draft: _Draft) -> None:
        draft.sentences, draft.checks = [], []
        numbers = [src.n for src in draft.sources]
        slots = [shared(draft.group.label, numbers, len(numbers)) if draft.group.label and len(numbers) > 1 else []]
        slots += [paper_sentences(draft.group.papers[src.n - 1], src.n) for src in draft.sources]
        slots += [[q] for q in open_questions(draft.group.papers, numbers)[:1]]
        self._prepare([c for slot in slots for c in slot], draft.sources)
        for candidates in slots:
            self._add_first(draft, candidates)

    def _prepare(self, texts: Sequence[str], sources: Sequence[Source]) -> None:
        """Embed the sentences the checks will read in one batch (one at a time is several times slower)."""
        bare = [strip_markers(s) for t in texts for s in answer_sentences(resolve_citations(t, sources).text)]
        self.checker.embedder.embed_documents([b or "-" for b in bare])

    def _add_first(self, draft: _Draft, candidates: Sequence[str]) -> bool:
        """Add the first candidate sentence that passes the support check; False when none does."""
        for text in candidates:
            sentence = resolve_citations(text, draft.sources).text
            checks = self.checker.check(sentence, draft.sources)
            if len(checks) == 1 and checks[0].supported:
                draft.sentences.append(sentence)
                draft.checks.append(checks[0])
                return True
        return False

    # -- local model: shorter per-paper sentences --------------------------------------------------

    def _shorten(self, draft: _Draft) -> None:
        """The longest per-paper sentences rewritten shorter by the local model, kept only when every check passes."""
        long = [i for i, (sentence, check) in enumerate(zip(draft.sentences, draft.checks, strict=True))
                if len(check.cites) == 1 and len(strip_markers(sentence).split()) > LOCAL_REWRITE_WORDS]
        long = sorted(long, key=lambda i: -len(draft.sentences[i]))[:LOCAL_REWRITES]
        failed = 0
        for i in sorted(long):
            sentence, n = draft.sentences[i], draft.checks[i].cites[0]
            plain = plain_sentence(sentence)
            text = llm_step(self.backend, "related_work_local", {"sentence": plain}, self.usage,
                            grammar=local_grammar(n), max_tokens=LOCAL_MAX_TOKENS)
            rewritten = cite_paper(" ".join(text.split()), n)
            checks = self.checker.check(rewritten, draft.sources) if self._only_drops(rewritten, plain) else []
            if len(checks) == 1 and checks[0].supported and checks[0].cites == [n] and len(rewritten) < len(sentence):
                draft.sentences[i], draft.checks[i] = rewritten, checks[0]
            else:
                failed += 1
        if long:
            draft.mode = "fallback" if failed else "generated"

    def _only_drops(self, rewritten: str, original: str) -> bool:
        """True when the rewrite leaves words out of the middle of the sentence and adds nothing.

        The support check accepts any word of the whole abstract; asked to shorten one sentence, the
        135M model pulls in words from elsewhere, repeats itself, or just stops early (the grammar caps
        the length) and leaves a clause half-said: each of these is turned down here.
        """
        plain = plain_sentence(rewritten).rstrip(". ")
        words, source = plain.split(), original.rstrip(". ").split()
        cut_short = words[:-1] == source[: len(words) - 1]  # the sentence's own start, perhaps one word changed
        mine, theirs = self._term_counts(plain), self._term_counts(original)
        loose = _LOOSE_END.search(plain) is not None
        return not (cut_short or loose or mine - theirs) and numbers_in(plain) <= numbers_in(original)

    def _term_counts(self, text: str) -> Counter[str]:
        return Counter(t for word in re.findall(r"[\w\-]+", text) for t in self.weights.terms(word))

    # -- OpenAI / compatible: a paragraph per theme ----------------------------------------------

    def _generate(self, draft: _Draft) -> bool:
        sources = self._fit(draft.sources)
        values = {"topic": self.topic, "theme": draft.group.name, "sources": render_sources(sources),
                  "n_sources": str(len(sources))}
        text = " ".join(llm_step(self.backend, "related_work", values, self.usage).split())
        resolved = resolve_citations(text, sources)
        self.removed += resolved.removed
        checks = self.checker.check(resolved.text, sources)
        if not checks or not all(c.supported for c in checks):
            return False
        draft.sources = sources
        draft.sentences, draft.checks, draft.mode = answer_sentences(resolved.text), checks, "generated"
        cited = {n for c in checks for n in c.cites}
        for src in sources:  # a paper the model left out keeps its place in the draft
            if src.n not in cited:
                self._add_first(draft, paper_sentences(draft.group.papers[src.n - 1], src.n))
        return len(draft.sentences) == len(draft.checks)

    def _fit(self, sources: list[Source]) -> list[Source]:
        """The abstracts, each cut to an equal share of the model's window when they do not all fit."""
        budget = self.backend.context_tokens - self.backend.max_tokens - PROMPT_OVERHEAD_TOKENS
        if self.backend.count_tokens(render_sources(sources)) <= budget:
            return sources
        share = max(budget // max(len(sources), 1) - 30, 32)
        return [s.model_copy(update={"text": truncate_tokens(s.text, share)}) for s in sources]


def local_grammar(n: int) -> str:
    """GBNF for the local model: one sentence, a full stop only inside a number, ending " [n]."."""
    return sentence_grammar(f'[A-Z] chr{{15,170}} " [{n}]."')


# -- assembling the draft ------------------------------------------------------------------------


def assemble(topic: str, drafts: Sequence[_Draft]) -> RelatedWorkDraft:
    """Themes renumbered into one reference list (numbered by first citation), Markdown, LaTeX and BibTeX."""
    order: list[str] = []
    for d in drafts:
        for n in cited_in(" ".join(d.sentences)):
            pid = d.sources[n - 1].paper_id
            if pid not in order:
                order.append(pid)
    number = {pid: i for i, pid in enumerate(order, start=1)}
    papers = {p.paper_id: p for d in drafts for p in d.group.papers}
    refs = references([papers[pid] for pid in order])
    themes = []
    for d in drafts:
        to_global = {s.n: number[s.paper_id] for s in d.sources if s.paper_id in number}
        checks = [
            c.model_copy(update={"text": renumber(c.text, to_global), "cites": [to_global[n] for n in c.cites]})
            for c in d.checks
        ]
        themes.append(Theme(  # shown decoded ("3.2%"); to_latex escapes it again ("3.2\\%")
            name=display_text(d.group.name), terms=d.group.terms, paper_ids=[p.paper_id for p in d.group.papers],
            paragraph=display_text(renumber(" ".join(d.sentences), to_global)), mode=d.mode, sentences=checks,
        ))
    draft = RelatedWorkDraft(topic=topic, themes=themes, references=refs)
    draft.markdown = to_markdown(themes, refs)
    draft.latex = to_latex(themes, refs)
    draft.bibtex = to_bibtex([papers[r.paper_id] for r in refs], refs)
    return draft
