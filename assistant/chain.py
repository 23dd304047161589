"""The answer chain: question → stand-alone query → hybrid retrieval → abstention gate → evidence →
numbered sources → LLM (streamed) → citations resolved in code → support check → a typed Answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from assistant.citations import echo_hold, resolve_citations, to_citations, withhold_instructions
from assistant.condense import standalone_query
from assistant.context import PROMPT_OVERHEAD_TOKENS, Packing, build_sources, extractive_answer, render_sources
from assistant.embeddings import NamedEmbeddings
from assistant.errors import LitReviewError
from assistant.evidence import EvidencePicker, Sentence, TermWeights, paper_coverage
from assistant.llm.backends import Backend, add_reported_usage
from assistant.llm.local import LOCAL_MAX_TOKENS, sentence_grammar
from assistant.prompts import load_prompt
from assistant.retrieval import Candidate, Retriever, snippet
from assistant.settings import Settings
from assistant.support import SupportChecker
from assistant.support_model import verify_with_model
from assistant.text import split_sentences
from assistant.types import Answer, SearchHit, Source, Turn, Usage

REFUSAL_MARK = "NOT_IN_LIBRARY"
NOT_COVERED = "The library does not cover this question."
TokenSink = Callable[[str], None]


def local_grammar(n_sources: int) -> str:
    """GBNF for the local model: NOT_IN_LIBRARY, or one sentence ending in a valid source number."""
    cites = " | ".join(f'"{i}"' for i in range(1, n_sources + 1))
    return sentence_grammar(f'"{REFUSAL_MARK}" | sent', r'sent ::= [A-Z0-9] chr{8,150} " [" cite "]."',
                            f"cite ::= {cites}")


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
        k = k or self.settings.retrieval.k
        ranked = self.retriever.rank(query, self.settings.retrieval.mode, max(k, self.settings.retrieval.candidates))
        if not ranked and self.retriever.library.count() == 0:
            raise LitReviewError("the library is empty: add papers first (litreview ingest --sample)")
        top = ranked[:k]
        weights = TermWeights(self.retriever.bm25())
        papers = [c.paper for c in top if c.paper is not None]
        coverage = max((paper_coverage(query, p, weights) for p in papers), default=0.0)
        strength = (top[0].score if top else 0.0) + coverage
        base = Answer(
            question=question, query=query, answer="", backend=self.backend.provider,
            model=None if self.backend.chat is None else self.backend.model_name, strength=round(strength, 4),
        )
        if strength < self.settings.answer.min_strength:
            base.timings.retrieval_s = base.timings.total_s = time.perf_counter() - t0
            return self._refuse(base, query, top, "no paper in the library matches the question well enough")
        evidence = self.picker.rank(query, papers, weights)
        base.timings.retrieval_s = time.perf_counter() - t0
        checker = SupportChecker(self.embedder, weights, self.settings.answer)
        checker.remember(self.picker.sentence_vectors(papers))
        if self.backend.chat is None:
            return self._extractive(base, top, evidence, checker, t0, on_token)
        return self._generate(base, top, evidence, checker, t0, on_token)

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
        chat = self.backend.chat
        if chat is None:
            raise LitReviewError("the extractive back-end has no model to generate with")
        local = self.backend.provider == "local"
        ans.contexts = self._sources(top, evidence, self._packing())
        if not ans.contexts:
            return self._refuse(ans, ans.query, top, "no source fits the model's context window")
        prompt = load_prompt("answer_local" if local else "answer")
        values = {"question": ans.question, "sources": render_sources(ans.contexts)}
        if not local:
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
        checks = checker.check(resolved.text, ans.contexts)
        if checks and all(c.supported for c in checks) and self.settings.answer.verify == "model":
            extra = verify_with_model(self.backend, checks, ans.contexts)
            usage.prompt_tokens += extra.prompt_tokens
            usage.completion_tokens += extra.completion_tokens
            usage.cost_usd = self.backend.cost(usage.prompt_tokens, usage.completion_tokens)
        if checks and all(c.supported for c in checks):
            ans.answer, ans.sentences, ans.mode = resolved.text, checks, "generated"
            ans.citations = to_citations(resolved.cited, ans.contexts)
        else:
            ans.draft, ans.draft_sentences = resolved.text, checks
            if self._packing() == "evidence":  # the fallback may quote any sentence of the same papers
                ans.contexts = _abstract_sources(top)[: len(ans.contexts)]
            self._fill_extractive(ans, evidence, checker)
            ans.mode = "fallback"
        ans.timings.total_s = time.perf_counter() - t0
        return ans

    def _refuse(self, ans: Answer, query: str, top: Sequence[Candidate], reason: str) -> Answer:
        ans.refused, ans.mode, ans.refusal_reason = True, "refused", reason
        ans.answer, ans.citations, ans.sentences = NOT_COVERED, [], []
        ans.nearest = [
            SearchHit(rank=i + 1, paper_id=c.paper_id, title=c.paper.title, score=round(c.score, 6),
                      snippet=snippet(query, c, c.paper), year=c.paper.year)
            for i, c in enumerate(top) if c.paper is not None
        ]
        return ans


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
