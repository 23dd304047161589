"""Summaries: a TL;DR per paper (the map step) and, for several papers, a cited synthesis (the reduce step).

Every TL;DR cites only its own paper and every synthesis sentence only the papers summarised; each
sentence is support-checked against the abstracts it cites. The extractive TL;DR quotes the paper's
contribution (and main result) sentence; a model's TL;DR or synthesis that fails a check is replaced
by the extractive one (mode "fallback").
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from assistant.citations import resolve_citations, to_citations
from assistant.evidence import TermWeights, numbers_in
from assistant.llm.backends import Backend
from assistant.llm.local import LOCAL_MAX_TOKENS, sentence_grammar
from assistant.settings import LLMSettings
from assistant.support import SupportChecker, answer_sentences
from assistant.text import split_sentences
from assistant.tokens import truncate_tokens
from assistant.types import Paper, Progress, SentenceCheck, Source, Usage
from assistant.workspace import Workspace
from assistant.writing.common import contribution_sentence, llm_step, references, select_papers, third_person
from assistant.writing.latex import display_text
from assistant.writing.models import PaperSummary, Summary
from assistant.writing.synthesis import code_synthesis
from assistant.writing.synthesis_llm import budget, generated_synthesis

MAX_TLDR_SENTENCES = 2
TLDR_MAX_CHARS = 420  # the result sentence joins the contribution sentence only within this length
_RESULT_CUE = re.compile(
    r"\b(?:outperform\w*|achiev\w*|surpass\w*|improv\w*|state-of-the-art|SOTA|gains?|better|beats?|"
    r"reduc\w*|speed-?ups?|accuracy|matches)\b",
    re.IGNORECASE,
)
# "To address this, we propose X" → "We propose X": the clause before points at sentences left out.
_LEAD = re.compile(r"^(?:(?!\bwe\b).){0,160}?,\s+(?=we\s)", re.IGNORECASE)
LONG_SENTENCE = 200  # characters; a longer contribution sentence loses its trailing clauses
_CLAUSE = re.compile(
    r",\s+(?:which|giving|allowing|enabling|yielding|aiming|where|while|thereby|thus|resulting|leading|making|"
    r"and thus|as well as)\b|;\s|\s--\s|\s—\s"
)
MIN_CLAUSE = 60  # characters kept at least


def summarize(
    ws: Workspace, papers: Sequence[str] = (), topic: str | None = None, max_papers: int = 8,
    llm: LLMSettings | None = None, progress: Progress | None = None,
) -> Summary:
    """TL;DRs of the named papers (or the library's best papers for a topic) and a cited synthesis."""
    chosen = select_papers(ws, papers, topic, max_papers)
    return Summarizer(ws, ws.backend(llm)).run(chosen, topic, progress)


def local_grammar() -> str:
    """GBNF for the local model: one sentence, ended by its first full stop outside a number.

    The citation is not left to the model: a 135M model asked to end with " [n]." rambles on past the
    point where it would stop; the one paper it may cite is added in code.
    """
    return sentence_grammar('[A-Z] chr+ "."')


def retold(sentence: str, lead: bool = False) -> str:
    """An abstract sentence as a TL;DR states it: about the paper, no final stop; `lead` drops a lead-in clause."""
    text = _LEAD.sub("", sentence.strip()) if lead else sentence.strip()
    text = third_person(text[:1].upper() + text[1:])
    return re.sub(r"[\s.!?]+$", "", text)


def shortened(sentence: str) -> str:
    """A long sentence cut before its first trailing clause (", which …", ", yielding …"), else itself."""
    if len(sentence) <= LONG_SENTENCE:
        return sentence
    cut = next((m.start() for m in _CLAUSE.finditer(sentence) if m.start() >= MIN_CLAUSE), None)
    return sentence if cut is None else sentence[:cut]


def result_sentence(paper: Paper) -> str | None:
    """The main-result sentence after the contribution sentence: numbers and result verbs ("outperform")."""
    sentences = list(split_sentences(paper.abstract))
    contribution = contribution_sentence(paper)
    start = sentences.index(contribution) + 1 if contribution in sentences else 0
    best: tuple[int, str] | None = None
    for s in sentences[start:]:  # before it, results are other people's
        cues = len({m.group(0).lower() for m in _RESULT_CUE.finditer(s)})
        score = cues + (2 if numbers_in(s) else 0)
        if cues and score >= 2 and (best is None or score > best[0]):
            best = (score, s)
    return best[1] if best else None


_LABEL = re.compile(r"\b(?:Paper|Sentence|Short sentence):")


def _degenerate(text: str, paper: Paper) -> bool:
    """A small model's failure the support check lets pass: the prompt's labels, the bare title, a loop."""
    words = re.findall(r"\w+", text.lower())
    trigrams = list(zip(words, words[1:], words[2:], strict=False))
    title = re.findall(r"\w+", paper.title.lower())
    return bool(_LABEL.search(text)) or words[: len(title)] == title or len(set(trigrams)) < len(trigrams)


class Summarizer:
    """Summarises papers of one library with one back-end."""

    def __init__(self, ws: Workspace, backend: Backend) -> None:
        self.ws = ws
        self.backend = backend
        self.weights = TermWeights(ws.retriever.bm25())
        self.embeddings = ws.embedder  # remembers vectors: the check re-reads the same abstracts for every sentence
        self.checker = SupportChecker(self.embeddings, self.weights, ws.settings.answer)

    def run(self, papers: Sequence[Paper], topic: str | None = None, progress: Progress | None = None) -> Summary:
        """A TL;DR per paper and, for two or more, the synthesis paragraph."""
        t0 = time.perf_counter()
        refs = references(papers)
        sources = [Source(n=r.n, paper_id=p.paper_id, title=p.title, year=p.year, text=p.abstract or p.title)
                   for r, p in zip(refs, papers, strict=True)]
        # the check compares each sentence with every sentence of its sources: embed them all in one batch
        self.embeddings.embed_documents([s for src in sources for s in split_sentences(f"{src.title}\n{src.text}")])
        out = Summary(topic=topic, references=refs, backend=self.backend.provider, model=self.backend.shown_model)
        for i, (paper, source) in enumerate(zip(papers, sources, strict=True)):
            if progress:
                progress("summaries", i, len(papers))
            out.papers.append(self._tldr(paper, source, out))
        if progress:
            progress("summaries", len(papers), len(papers))
        if len(papers) >= 2:
            self._synthesis(papers, sources, out, progress)
        for p in out.papers:  # checked as written; shown with the abstracts' LaTeX escapes decoded
            p.tldr = display_text(p.tldr)
        out.synthesis = display_text(out.synthesis)
        out.seconds = round(time.perf_counter() - t0, 3)
        return out

    # -- TL;DR ---------------------------------------------------------------------------------------------

    def _tldr(self, paper: Paper, source: Source, out: Summary) -> PaperSummary:
        base = PaperSummary(n=source.n, paper_id=paper.paper_id, title=paper.title, year=paper.year, tldr="")
        if self.backend.chat is not None:
            local = self.backend.provider == "local"
            text = self._local_draft(paper, source, out.usage) if local else self._draft(paper, source, out.usage)
            resolved = resolve_citations(text, [source])
            out.removed_citations += resolved.removed
            sentences = answer_sentences(resolved.text)[:MAX_TLDR_SENTENCES]
            checks = self.checker.check(" ".join(sentences), [source]) if sentences else []
            if checks and all(c.supported for c in checks):
                if local:  # the model shortened the contribution; the result sentence is quoted
                    checks += self._result(paper, source, len(checks[0].text))
                return base.model_copy(update={"tldr": " ".join(c.text for c in checks), "sentences": checks,
                                               "mode": "generated"})
            base.mode = "fallback"
        checks = self.extractive_tldr(paper, source)
        return base.model_copy(update={"tldr": " ".join(c.text for c in checks), "sentences": checks})

    def extractive_tldr(self, paper: Paper, source: Source) -> list[SentenceCheck]:
        """The contribution sentence (and, when short enough, the main-result sentence), retold and cited."""
        contribution = contribution_sentence(paper)
        others = [s for s in split_sentences(paper.abstract) if s != contribution]
        told = retold(contribution, lead=True)
        first = self._first_supported([shortened(told), told, contribution, *others, paper.title], source)
        if first is None:  # nothing of the abstract is checkable: say nothing rather than something unchecked
            return []
        return [first, *self._result(paper, source, len(first.text))]

    def _result(self, paper: Paper, source: Source, used: int) -> list[SentenceCheck]:
        """The main-result sentence, retold and checked, when it fits beside `used` characters."""
        result = result_sentence(paper)
        if not result or used + len(result) > TLDR_MAX_CHARS:
            return []
        second = self._first_supported([retold(result), result], source)
        return [second] if second is not None else []

    def _first_supported(self, candidates: Sequence[str], source: Source) -> SentenceCheck | None:
        for text in candidates:
            cited = re.sub(r"[\s.!?]+$", "", text.strip()) + f" [{source.n}]."
            checks = self.checker.check(cited, [source])
            if len(checks) == 1 and checks[0].supported:  # not cut in two by the sentence splitter
                return checks[0]
        return None

    def _draft(self, paper: Paper, source: Source, usage: Usage) -> str:
        limit = max(budget(self.backend, "summarize"), 64)  # an abstract longer than the window is cut
        abstract = source.text
        if self.backend.count_tokens(abstract) > limit:
            abstract = truncate_tokens(abstract, limit)
        values = {"n": str(source.n), "title": paper.title, "abstract": abstract}
        return llm_step(self.backend, "summarize", values, usage)

    def _local_draft(self, paper: Paper, source: Source, usage: Usage) -> str:
        values = {"title": paper.title, "sentence": retold(contribution_sentence(paper), lead=True) + "."}
        text = llm_step(self.backend, "summarize_local", values, usage,
                        grammar=local_grammar(), max_tokens=LOCAL_MAX_TOKENS).strip()
        # cut off by max_tokens (no full stop) or degenerate: no citation, so the check turns it down
        if not text.endswith(".") or _degenerate(text, paper):
            return text.replace("[", "(").replace("]", ")")  # not even a citation the model wrote
        return f"{text[:-1].rstrip()} [{source.n}]."

    # -- synthesis -----------------------------------------------------------------------------------------

    def _synthesis(self, papers: Sequence[Paper], sources: Sequence[Source], out: Summary,
                   progress: Progress | None) -> None:
        if self.backend.chat is not None and self.backend.provider != "local":
            draft = generated_synthesis(self.backend, sources, out.papers, out.usage, progress)
            if draft is not None:
                resolved = resolve_citations(draft.text, sources)
                out.removed_citations += draft.removed + resolved.removed
                checks = self.checker.check(resolved.text, sources)
                if checks and all(c.supported for c in checks):
                    out.synthesis, out.synthesis_sentences, out.synthesis_mode = resolved.text, checks, "generated"
                    out.citations = to_citations(resolved.cited, sources)
                    return
            out.synthesis_mode = "fallback"
        if progress:
            progress("synthesis", 0, 1)
        text, checks = code_synthesis(papers, sources, self.weights, self.checker)
        out.synthesis, out.synthesis_sentences = text, checks
        cited = [n for c in checks for n in c.cites]
        out.citations = to_citations(list(dict.fromkeys(cited)), sources)
        if progress:
            progress("synthesis", 1, 1)


def summary_markdown(summary: Summary) -> str:
    """The summary as Markdown: Summaries, Synthesis (for several papers) and References."""
    lines = [f"# Summary: {summary.topic}", ""] if summary.topic else []
    lines += ["## Summaries", ""]
    for p in summary.papers:
        year = f" ({p.year})" if p.year else ""
        lines.append(f"- **{p.title}**{year}: {p.tldr or '(no sentence of the abstract passed the check)'}")
    if summary.synthesis:
        lines += ["", "## Synthesis", "", summary.synthesis]
    lines += ["", "## References", ""]
    for r in summary.references:
        lines.append(f"- [{r.n}] {r.title}" + (f" ({r.year})" if r.year else ""))
    return "\n".join(lines) + "\n"
