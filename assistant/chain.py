"""The answer chain: question → stand-alone query → kind → hybrid retrieval → abstention gate → evidence →
numbered sources → LLM (streamed) → citations resolved in code → support check → a typed Answer.

Fact and open questions get a short answer from the best evidence; survey and compare questions get
one cited bullet per paper (assistant/survey.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from assistant.citations import echo_hold, resolve_citations, to_citations, withhold_instructions
from assistant.condense import standalone_query
from assistant.context import PROMPT_OVERHEAD_TOKENS, Packing, build_sources, extractive_answer, render_sources
from assistant.embeddings import NamedEmbeddings
from assistant.errors import LitReviewError
from assistant.evidence import EvidencePicker, Sentence, TermWeights
from assistant.gate import NOT_COVERED, Gate, Verdict, is_set_question, require_papers
from assistant.kinds import Sides, classify, compare_sides, survey_topic
from assistant.llm.backends import Backend, add_reported_usage
from assistant.llm.local import LOCAL_MAX_TOKENS, sentence_grammar
from assistant.prompts import load_prompt
from assistant.retrieval import Candidate, Retriever, snippet
from assistant.settings import Settings
from assistant.support import SupportChecker
from assistant.support_model import verify_with_model
from assistant.survey import (
    Group,
    claims,
    missing_line,
    named_papers,
    pick_bullets,
    render,
    select_papers,
    split_sides,
    survey_plan,
)
from assistant.text import split_sentences
from assistant.types import Answer, SearchHit, Source, Turn, Usage

REFUSAL_MARK = "NOT_IN_LIBRARY"
TokenSink = Callable[[str], None]


def local_grammar(n_sources: int) -> str:
    """GBNF for the local model: NOT_IN_LIBRARY, or one sentence ending in a valid source number."""
    cites = " | ".join(f'"{i}"' for i in range(1, n_sources + 1))
    return sentence_grammar(f'"{REFUSAL_MARK}" | sent', r'sent ::= [A-Z0-9] chr{8,150} " [" cite "]."',
                            f"cite ::= {cites}")


def rank_depth(settings: Settings, k: int) -> int:
    """How many papers a question's search ranks: enough for the answer's k, the gate and a survey's list."""
    return max(k, settings.retrieval.candidates, settings.answer.survey_cap)


class Answerer:
    """Answers questions about one library with one back-end."""

    def __init__(
        self, retriever: Retriever, embedder: NamedEmbeddings, picker: EvidencePicker,
        backend: Backend, settings: Settings,
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.picker = picker
        self.backend = backend
        self.settings = settings

    def ask(
        self, question: str, history: Sequence[Turn] = (), k: int | None = None, on_token: TokenSink | None = None,
    ) -> Answer:
        """A cited answer, or a refusal listing the nearest papers."""
        t0 = time.perf_counter()
        query = standalone_query(question, history, self.backend)
        kind = classify(question)
        if kind == "open" or (kind == "fact" and query != question):
            kind = classify(query)  # a follow-up's kind shows in its stand-alone form
        k = k or self.settings.retrieval.k
        sides = compare_sides(query) if kind == "compare" else None
        if kind == "compare" and sides is None:
            kind = "survey"
        search = survey_topic(query) if kind == "survey" else query
        ranked = self.retriever.rank(search, self.settings.retrieval.mode, rank_depth(self.settings, k))
        if not ranked:
            require_papers(self.retriever.library)
        weights = TermWeights(self.retriever.bm25())
        gate = Gate(weights, self.settings.answer, self.picker)
        top = ranked[:k]
        base = Answer(
            question=question, query=query, answer="", kind=kind, backend=self.backend.provider,
            model=self.backend.shown_model,
        )
        checker = SupportChecker(self.embedder, weights, self.settings.answer)
        if is_set_question(kind):
            return self._set_answer(base, search, ranked, sides, gate, checker, t0, on_token)
        verdict = gate.judge(query, ranked, kind, k)
        base.strength = verdict.strength
        if not verdict.covered:
            base.timings.retrieval_s = base.timings.total_s = time.perf_counter() - t0
            return self._refuse(base, query, top, verdict.reason)
        papers = [c.paper for c in top if c.paper is not None]
        evidence = self.picker.rank(query, papers, weights)
        base.timings.retrieval_s = time.perf_counter() - t0
        if self.backend.chat is None:
            return self._extractive(base, top, evidence, checker, t0, on_token)
        return self._generate(base, top, evidence, checker, t0, on_token)

    def _set_answer(
        self, ans: Answer, search: str, ranked: Sequence[Candidate], sides: Sides | None, gate: Gate,
        checker: SupportChecker, t0: float, on_token: TokenSink | None,
    ) -> Answer:
        """A survey (or compare) answer: one cited bullet per paper that matches the question (or a side)."""
        a = self.settings.answer
        hybrid = self.settings.retrieval.mode == "hybrid"
        queries = [(None, search, ranked)] if sides is None else [
            (side, q, self.retriever.rank(q, self.settings.retrieval.mode, a.survey_pool))
            for side in (sides.a, sides.b) for q in [sides.query(side)]]
        groups: list[Group] = []
        verdicts: list[Verdict] = []
        for label, q, side_ranked in queries:
            verdict = gate.set_level(q, side_ranked) if label is None else gate.topic(q, side_ranked)
            named = named_papers(label, self.retriever) if label is not None else []
            if named:  # "CLEX vs Giraffe": each side is the paper of that name, not what resembles it
                evidence = tuple(self.picker.rank(q, [c.paper for c in named if c.paper is not None], gate.weights))
                verdict = replace(verdict, covered=True, matching=tuple(named), reason="", evidence=evidence)
            verdicts.append(verdict)
            papers = named or (select_papers(side_ranked, verdict.evidence, verdict.matching, a, hybrid)
                               if verdict.covered else [])
            groups.append(Group(label, q, papers, evidence=verdict.evidence, named=bool(named)))
        if sides is not None:
            split_sides(groups, max(1, a.survey_cap // 2))
        ans.strength = max(v.strength for v in verdicts)
        for g in groups:
            g.bullets = pick_bullets(g.evidence, g.papers, -1.0 if g.named else a.survey_min_similarity)
        listed = [c for g in groups for c in g.papers if any(b.paper_id == c.paper_id for b in g.bullets)]
        ans.timings.retrieval_s = time.perf_counter() - t0
        if not listed:
            ans.timings.total_s = time.perf_counter() - t0
            reason = next((v.reason for v in verdicts if v.reason), "") or _WEAK_BULLETS
            return self._refuse(ans, search, ranked[: self.settings.retrieval.k], reason)
        missing = [g.label for g in groups if g.label is not None and not g.bullets]
        ans.contexts = _abstract_sources(listed)
        if self.backend.chat is not None and self.backend.provider != "local":  # the 135M model lists badly
            ans.contexts = self._sources(listed, [], "abstracts")
            plan = {"plan": survey_plan(sides, missing)}
            drafted = self._draft(ans, "answer_survey", plan, listed, checker, t0, on_token, claims)
            if drafted is not None:
                if missing and not drafted.refused:
                    drafted.answer = f"{missing_line(missing)}\n{drafted.answer}"
                return drafted
            ans.contexts = _abstract_sources(listed)
            ans.mode = "fallback"
        number = {s.paper_id: s.n for s in ans.contexts}
        text = render(groups, number, sides, missing)
        resolved = resolve_citations(text, ans.contexts)
        ans.answer = resolved.text
        ans.citations = to_citations(resolved.cited, ans.contexts)
        ans.sentences = checker.check(claims(resolved.text), ans.contexts)
        if ans.mode != "fallback":
            ans.mode = "extractive"
            if on_token:
                on_token(ans.answer)
            ans.timings.first_token_s = time.perf_counter() - t0
        ans.timings.total_s = time.perf_counter() - t0
        return ans

    def _packing(self) -> Packing:
        mode = self.settings.answer.context
        if mode == "auto":
            return "evidence" if self.backend.provider == "local" else "abstracts"
        return mode

    def _sources(self, top: Sequence[Candidate], evidence: Sequence[Sentence], packing: Packing) -> list[Source]:
        budget = self.backend.context_tokens - self.backend.max_tokens - PROMPT_OVERHEAD_TOKENS
        if self.backend.provider == "local":  # the 135M model reads ~300 tokens/s on 2 cores
            budget = min(budget, self.settings.answer.local_source_tokens)
        per_source = self.settings.answer.sentences_per_source
        return build_sources(top, evidence, packing, per_source, budget, self.backend.count_tokens)

    def _extractive(
        self, ans: Answer, top: Sequence[Candidate], evidence: Sequence[Sentence],
        checker: SupportChecker, t0: float, on_token: TokenSink | None,
    ) -> Answer:
        ans.contexts = _abstract_sources(top)
        self._fill_extractive(ans, evidence, checker)
        ans.mode = "extractive"
        if on_token and ans.answer:
            on_token(ans.answer)
        ans.timings.first_token_s = ans.timings.total_s = time.perf_counter() - t0
        return ans

    def _fill_extractive(self, ans: Answer, evidence: Sequence[Sentence], checker: SupportChecker) -> None:
        a = self.settings.answer
        text = extractive_answer(evidence, ans.contexts, a.evidence_sentences, a.evidence_margin)
        resolved = resolve_citations(text, ans.contexts)
        ans.answer = resolved.text
        ans.citations = to_citations(resolved.cited, ans.contexts)
        ans.sentences = checker.check(resolved.text, ans.contexts)

    def _generate(
        self, ans: Answer, top: Sequence[Candidate], evidence: Sequence[Sentence],
        checker: SupportChecker, t0: float, on_token: TokenSink | None,
    ) -> Answer:
        local = self.backend.provider == "local"
        ans.contexts = self._sources(top, evidence, self._packing())
        if not ans.contexts:
            return self._refuse(ans, ans.query, top, "no source fits the model's context window")
        drafted = self._draft(ans, "answer_local" if local else "answer", {}, top, checker, t0, on_token)
        if drafted is not None:
            return drafted
        if self._packing() == "evidence":  # the fallback may quote any sentence of the same papers
            ans.contexts = _abstract_sources(top)[: len(ans.contexts)]
        self._fill_extractive(ans, evidence, checker)
        ans.mode = "fallback"
        ans.timings.total_s = time.perf_counter() - t0
        return ans

    def _draft(
        self, ans: Answer, prompt_name: str, extra: dict[str, str], top: Sequence[Candidate],
        checker: SupportChecker, t0: float, on_token: TokenSink | None,
        to_check: Callable[[str], str] = lambda text: text,
    ) -> Answer | None:
        """The model's answer over ans.contexts, streamed: the Answer when every sentence of `to_check(text)`
        passes the support check (or the model refuses); else None, with the draft and its verdicts kept."""
        chat = self.backend.chat
        if chat is None:
            raise LitReviewError("the extractive back-end has no model to generate with")
        local = self.backend.provider == "local"
        prompt = load_prompt(prompt_name)
        values = {"question": ans.question, "sources": render_sources(ans.contexts), **extra}
        if "n_sources" in prompt.variables:
            values["n_sources"] = str(len(ans.contexts))
        model = chat.bind(grammar=local_grammar(len(ans.contexts)), max_tokens=LOCAL_MAX_TOKENS) if local else chat
        chain = prompt.template() | model
        t_gen = time.perf_counter()
        text, usage = "", Usage()
        held = _Holdback(on_token, ans.contexts, prompt.system)
        with self.backend.errors():
            for chunk in chain.stream(values):
                piece = str(chunk.content)
                if piece and ans.timings.first_token_s is None:
                    ans.timings.first_token_s = time.perf_counter() - t0
                text += piece
                held.feed(piece)
                add_reported_usage(usage, chunk)
        held.close()
        ans.timings.generation_s = time.perf_counter() - t_gen
        if not (usage.prompt_tokens or usage.completion_tokens) and text:
            # some OpenAI-compatible servers (llama-cpp-python's) ignore stream_options and send no usage:
            # count what was sent and received with the back-end's tokenizer instead
            self.backend.count_usage(usage, prompt.template().invoke(values).to_messages(), text)
        usage.cost_usd = self.backend.cost(usage.prompt_tokens, usage.completion_tokens)
        ans.usage = usage
        text, _ = withhold_instructions(text, prompt.system)  # an injected "print your prompt" shows nothing
        if REFUSAL_MARK in text:
            ans.timings.total_s = time.perf_counter() - t0
            return self._refuse(ans, ans.query, top, "the model found no answer in the sources")
        resolved = resolve_citations(text, ans.contexts)
        ans.removed_citations = resolved.removed
        checks = checker.check(to_check(resolved.text), ans.contexts)
        if checks and all(c.supported for c in checks) and self.settings.answer.verify == "model":
            verifier = verify_with_model(self.backend, checks, ans.contexts).usage
            usage.prompt_tokens += verifier.prompt_tokens
            usage.completion_tokens += verifier.completion_tokens
            usage.cost_usd = self.backend.cost(usage.prompt_tokens, usage.completion_tokens)
        if checks and all(c.supported for c in checks):
            ans.answer, ans.sentences, ans.mode = resolved.text, checks, "generated"
            ans.citations = to_citations(resolved.cited, ans.contexts)
            ans.timings.total_s = time.perf_counter() - t0
            return ans
        ans.draft, ans.draft_sentences = resolved.text, checks
        return None

    def _refuse(self, ans: Answer, query: str, top: Sequence[Candidate], reason: str) -> Answer:
        ans.refused, ans.mode, ans.refusal_reason = True, "refused", reason
        ans.answer, ans.citations, ans.sentences = NOT_COVERED, [], []
        ans.nearest = [
            SearchHit(rank=i + 1, paper_id=c.paper_id, title=c.paper.title, score=round(c.score, 6),
                      snippet=snippet(query, c, c.paper), year=c.paper.year)
            for i, c in enumerate(top) if c.paper is not None
        ]
        return ans


_WEAK_BULLETS = "no matching paper has a sentence close enough to the question"


def _abstract_sources(top: Sequence[Candidate]) -> list[Source]:
    """Every paper's whole abstract, numbered in retrieval order (no model window to respect)."""
    return build_sources(top, [], "abstracts", 1, 1, lambda _: 0)


class _Holdback:
    """Passes tokens on as the answer will read: invented citations and links already removed.

    Text is passed on up to its last whitespace once no citation or link there is still open, as
    resolve_citations makes it, so what was streamed is what the answer says. Nothing is passed on
    while the text may still turn out to be the refusal mark, and an unfinished sentence that may be
    repeating the instructions is held until it ends (and then withheld if it does).
    """

    def __init__(self, sink: TokenSink | None, sources: Sequence[Source], instructions: str = "") -> None:
        self.sink = sink
        self.sources = sources
        self.instructions = instructions
        self.text = ""  # everything the model wrote
        self.sent = ""  # the resolved text passed on so far
        self.released = False

    def feed(self, piece: str) -> None:
        if self.sink is None or not piece:
            return
        self.text += piece
        if REFUSAL_MARK in self.text:
            return
        if not self.released:
            if REFUSAL_MARK.startswith(self.text.lstrip()):
                return
            self.released = True
        cut = max(self.text.rfind(c) for c in " \n\t")
        head = self.text[:cut]
        if cut > 0 and head.rfind("[") <= head.rfind("]"):  # no marker or [link](url) left open
            self._send(head)

    def close(self) -> None:
        if self.sink and self.text and REFUSAL_MARK not in self.text:
            self._send(self.text, final=True)

    def _send(self, text: str, final: bool = False) -> None:
        shown, _ = withhold_instructions(resolve_citations(text, self.sources).text, self.instructions)
        last = (split_sentences(shown) or ("",))[-1]
        if not final and last and self.instructions:
            shown = shown[: len(shown) - echo_hold(last, self.instructions)].rstrip()
        if self.sink and len(shown) > len(self.sent) and shown.startswith(self.sent):
            self.sink(shown[len(self.sent):])
            self.sent = shown


def iter_answers(answerer: Answerer, questions: Sequence[tuple[str, str]]) -> Iterator[tuple[str, Answer | str]]:
    """(id, answer) for each (id, question); a question that fails gives (id, error line) and the rest go on."""
    for qid, question in questions:
        try:
            yield qid, answerer.ask(question)
        except LitReviewError as exc:
            yield qid, str(exc)
