"""Summaries over the real sample library: extractive TL;DRs and synthesis, and the logic around a model.

Retrieval, MiniLM, BM25 and the support check are real; where a test is about what happens to a
model's text (invented citations, an unsupported draft, map-reduce) a scripted chat model writes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from clitools import run
from fakes import FakeChatModel, fake_backend
from langchain_core.messages import BaseMessage

import assistant.llm.backends
from assistant.citations import cited_in, strip_markers
from assistant.context import render_source
from assistant.evaluation.writing import dangling, has_verb, sentences, template_phrases
from assistant.evidence import TermWeights
from assistant.llm.backends import Backend
from assistant.settings import LLMSettings
from assistant.support import SupportChecker, answer_sentences
from assistant.text import split_sentences
from assistant.types import Paper, SentenceCheck, Source
from assistant.workspace import Workspace
from assistant.writing import phrases, prose
from assistant.writing.models import Summary
from assistant.writing.summary import Summarizer, retold, shortened, summarize, summary_markdown
from assistant.writing.synthesis import code_synthesis
from assistant.writing.synthesis_llm import budget

INVERSE = "Inverse Scaling: When Bigger Isn't Better"
TOOLACE = "ToolACE-R: Tool Learning with Adaptive Self-Refinement"
LIVEMCP = "LiveMCPBench: Can Agents Navigate an Ocean of MCP Tools?"
METAWORLD = "Meta-World: A Benchmark and Evaluation for Multi-Task and Meta Reinforcement Learning"
TITLES = [TOOLACE, LIVEMCP, INVERSE]
TOPIC = "tool use by language models"
OFF_TOPIC = "How do I keep a sourdough starter alive in a cold kitchen?"
SOURCE_BLOCK = re.compile(r"^\[(\d+)\] .*?\n<<<\n(.*?)\n>>>", re.MULTILINE | re.DOTALL)
Reply = Callable[[list[BaseMessage]], str]


@pytest.fixture(scope="module")
def ws(module_sample_ws: Workspace) -> Workspace:
    """The module's read-only copy of the sample library."""
    return module_sample_ws


@dataclass(frozen=True)
class Named:
    """The extractive summary of TITLES, asked for by (parts of) their titles, and its progress events."""

    summary: Summary
    events: list[tuple[str, int, int]]


@pytest.fixture(scope="module")
def named(ws: Workspace) -> Named:
    events: list[tuple[str, int, int]] = []
    summary = summarize(ws, [TOOLACE, "LiveMCPBench", "inverse scaling: when"], progress=lambda *e: events.append(e))
    return Named(summary, events)


def papers(ws: Workspace, *titles: str) -> list[Paper]:
    return ws.resolve_papers(list(titles or TITLES))


def summarizer(ws: Workspace, model: FakeChatModel, provider: Any = "openai-compatible", **kw: Any) -> Summarizer:
    return Summarizer(ws, fake_backend(model, provider, **kw))


def extractive(ws: Workspace) -> Summarizer:
    return Summarizer(ws, ws.backend(LLMSettings(provider="extractive")))


def shown(messages: list[BaseMessage]) -> dict[int, str]:
    """The numbered texts in a prompt, as the model saw them."""
    return {int(n): text for n, text in SOURCE_BLOCK.findall(str(messages[-1].content))}


def copy_first(cite: str | None = None) -> Reply:
    """A reply copying the first sentence of every numbered text in the prompt, each citing its number."""

    def reply(messages: list[BaseMessage]) -> str:
        return " ".join(f"{split_sentences(text)[0].rstrip('.')} [{cite or n}]." for n, text in shown(messages).items())

    return reply


def first_words(k: int = 8) -> Reply:
    """A reply quoting the first k words of every numbered text in the prompt, each citing its number."""

    def reply(messages: list[BaseMessage]) -> str:
        return " ".join(f"{' '.join(text.split()[:k]).rstrip('.,;:')} [{n}]." for n, text in shown(messages).items())

    return reply


def assert_grounded(summary: Summary, ws: Workspace, chosen: list[Paper]) -> None:
    """Every TL;DR cites only its paper and every synthesis sentence only summarised papers, all re-checked."""
    sources = [Source(n=i, paper_id=p.paper_id, title=p.title, year=p.year, text=p.abstract)
               for i, p in enumerate(chosen, start=1)]
    checker = extractive(ws).checker  # a new checker (sentence vectors cached per process)
    assert [(r.n, r.paper_id) for r in summary.references] == [(s.n, s.paper_id) for s in sources]
    for item, source in zip(summary.papers, sources, strict=True):
        assert (item.n, item.paper_id, item.title) == (source.n, source.paper_id, source.title)
        sentences = answer_sentences(item.tldr)
        assert 1 <= len(sentences) <= 2, item.tldr
        assert all(cited_in(s) == [source.n] for s in sentences), item.tldr
        checks = checker.check(item.tldr, [source])  # checked again here, not taken from the result
        assert checks and all(c.supported for c in checks), checks
    if summary.synthesis:
        checks = checker.check(summary.synthesis, sources)
        assert checks and all(c.supported for c in checks), [c for c in checks if not c.supported]
        assert all(c.cites and set(c.cites) <= {s.n for s in sources} for c in checks)
        assert {c.n for c in summary.citations} == {n for c in checks for n in c.cites}


# -- extractive, on the real library ---------------------------------------------------------------------


def test_extractive_summary_of_named_papers(ws: Workspace, named: Named) -> None:
    summary, events = named.summary, named.events
    assert [p.title for p in summary.papers] == TITLES and summary.topic is None
    assert_grounded(summary, ws, papers(ws))
    assert all(p.mode == "extractive" for p in summary.papers) and summary.synthesis_mode == "extractive"
    assert (summary.backend, summary.model, summary.usage.prompt_tokens) == ("extractive", None, 0)
    # the TL;DR retells the contribution sentence: "In this paper, we propose ToolACE-R…" → "The authors propose…"
    assert summary.papers[0].tldr.startswith("The authors propose ToolACE-R, a novel method")
    assert " we " not in " ".join(p.tldr for p in summary.papers).lower()
    # the synthesis: shared themes, what sets each paper apart, an open question
    assert len(answer_sentences(summary.synthesis)) >= 2  # these three papers share no approach to name
    said = sentences(summary.synthesis)
    assert not [t for x in said for t in template_phrases(x)], summary.synthesis  # no "X is what [1] is about"
    assert all(has_verb(x) and not dangling(x) for x in said), said
    assert "differ in approach" in summary.synthesis and "LiveMCPBench" in summary.synthesis  # approaches named
    assert "perform poorly" in summary.synthesis  # LiveMCPBench: "However, we observe … perform poorly …"
    assert events[0] == ("summaries", 0, 3) and ("summaries", 3, 3) in events and events[-1] == ("synthesis", 1, 1)
    assert summary.seconds > 0


def test_extractive_summary_of_a_topic(ws: Workspace) -> None:
    summary = summarize(ws, topic=TOPIC, max_papers=4)
    chosen = papers(ws, *[p.paper_id for p in summary.papers])
    hits = [h.paper_id for h in ws.search(TOPIC, k=4)]
    assert [p.paper_id for p in summary.papers] == hits[: len(summary.papers)] and len(summary.papers) >= 2
    assert summary.topic == TOPIC
    assert_grounded(summary, ws, chosen)
    assert summary.synthesis and len(summary.synthesis_sentences) >= 3

    md = summary_markdown(summary)
    heads = [line for line in md.splitlines() if line.startswith("#")]
    assert heads == [f"# Summary: {TOPIC}", "## Summaries", "## Synthesis", "## References"]
    for p, r in zip(summary.papers, summary.references, strict=True):
        assert f"- **{p.title}**" in md and p.tldr in md and f"- [{r.n}] {r.title}" in md
    assert f"\n{summary.synthesis}\n" in md


def test_one_paper_has_no_synthesis(ws: Workspace) -> None:
    summary = summarize(ws, [METAWORLD])
    assert len(summary.papers) == 1 and summary.synthesis == "" and summary.citations == []
    assert_grounded(summary, ws, papers(ws, METAWORLD))
    # "In this paper, we propose an open-source simulated benchmark …" and a result sentence
    tldr = summary.papers[0].tldr
    assert tldr.startswith("The authors propose an open-source simulated benchmark") and "[1]. " in tldr
    md = summary_markdown(summary)
    assert "## Synthesis" not in md and f"- **{METAWORLD}** (2019): {tldr}" in md


def test_synthesis_phrases_are_noun_phrases_of_the_papers_they_cite(ws: Workspace) -> None:
    """What the papers share is a phrase of two or more words each cited paper uses; each approach is a
    span of that paper's own abstract (after its name, from its title)."""
    chosen = papers(ws)
    weights = TermWeights(ws.retriever.bm25())
    found = phrases.rank(chosen, weights, ws.embedder, min_papers=2, n=2)
    for cand in found:
        assert len(cand.text.split()) >= 2 and len(cand.papers) >= 2, cand
        assert all(phrases.used_by(chosen[i], cand.key) for i in cand.papers), cand
    for paper in chosen:
        approach = prose.approach(paper)
        assert approach, paper.title
        name = prose.paper_name(paper)
        body = approach.removeprefix(f"{name}, ") if name else approach
        assert body in paper.abstract, (approach, paper.title)


class _RejectingChecker(SupportChecker):
    """The real check, except that every sentence holding `word` fails."""

    word = "differ in approach"

    def check(self, text: str, sources: Sequence[Source]) -> list[SentenceCheck]:
        return [c.model_copy(update={"supported": False, "reason": "rejected"}) if self.word in c.text else c
                for c in super().check(text, sources)]


def test_an_unsupported_synthesis_sentence_is_left_out(ws: Workspace) -> None:
    """code_synthesis keeps only the sentences the checker passes."""
    chosen = papers(ws)
    sources = [Source(n=i, paper_id=p.paper_id, title=p.title, text=p.abstract) for i, p in enumerate(chosen, 1)]
    base = extractive(ws)
    text, checks = code_synthesis(chosen, sources, base.weights, base.checker)
    strict_text, strict_checks = code_synthesis(
        chosen, sources, base.weights, _RejectingChecker(base.embeddings, base.weights, ws.settings.answer))
    word = _RejectingChecker.word
    assert word in text and word not in strict_text
    kept = [c.text for c in checks if word not in c.text]
    assert [c.text for c in strict_checks if c.text in kept] == kept  # the others stay (a plainer wording may join)
    assert all(c.supported for c in strict_checks)
    assert strict_text == " ".join(c.text for c in strict_checks) and strict_checks


def test_retelling_a_contribution_sentence() -> None:
    assert retold("To address this limitation, we present X, a benchmark.", lead=True) == (
        "The authors present X, a benchmark")
    assert retold("In this paper, we propose Y.", lead=True) == "The authors propose Y"
    assert retold("Our method beats Z by 3 points.") == "Their method beats Z by 3 points"
    long = "The authors introduce A, a tool selection approach that equips agents with a retriever" + (
        ", giving agents the autonomy to add tools into their memory as well as a storage pipeline" * 2)
    assert shortened(long) == "The authors introduce A, a tool selection approach that equips agents with a retriever"
    assert shortened("Short, which stays.") == "Short, which stays."


# -- a capable model (scripted) ---------------------------------------------------------------------------


def test_generated_tldrs_and_synthesis(ws: Workspace) -> None:
    chosen = papers(ws)
    model = FakeChatModel().enqueue(copy_first(), copy_first(), copy_first(), copy_first())
    summary = summarizer(ws, model).run(chosen)

    assert [p.mode for p in summary.papers] == ["generated"] * 3 and summary.synthesis_mode == "generated"
    assert_grounded(summary, ws, chosen)
    for p, paper in zip(summary.papers, chosen, strict=True):
        assert p.tldr == f"{split_sentences(paper.abstract)[0].rstrip('.')} [{p.n}]."
    # map: one call per paper with its own abstract and number; reduce: the three abstracts fit one call
    assert len(model.calls) == 4
    for i, paper in enumerate(chosen, start=1):
        assert shown(model.history[i - 1]) == {i: paper.abstract}
        assert f"[{i}]" in str(model.history[i - 1][0].content)
    system = str(model.history[3][0].content)
    assert "numbers 1, 2, 3" in system and shown(model.history[3]) == {i: p.abstract for i, p in enumerate(chosen, 1)}
    assert summary.synthesis == model.calls[3].reply and [c.n for c in summary.citations] == [1, 2, 3]
    assert summary.usage.prompt_tokens > 1000 and summary.usage.completion_tokens > 50
    assert (summary.backend, summary.model, summary.removed_citations) == ("openai-compatible", "fake-model", 0)


def test_invented_citations_are_removed_and_counted(ws: Workspace, named: Named) -> None:
    chosen = papers(ws)
    model = FakeChatModel().enqueue(copy_first("1, 9"), copy_first("2, 1"), copy_first(),
                                    lambda m: copy_first()(m) + " All three agree on everything [9].")
    summary = summarizer(ws, model).run(chosen)

    assert "[1, 9]" in model.calls[0].reply and "[2, 1]" in model.calls[1].reply
    assert summary.papers[0].tldr.endswith("[1].") and summary.papers[1].tldr.endswith("[2].")
    assert [p.mode for p in summary.papers] == ["generated"] * 3
    # [9] and [1] in the second TL;DR (it may cite only its own paper) are gone; the synthesis's [9]
    # sentence is left without a citation, fails the check, and the code-built synthesis replaces it
    assert summary.removed_citations == 3
    assert summary.synthesis_mode == "fallback" and "[9]" not in summary.synthesis
    assert summary.synthesis == named.summary.synthesis
    assert_grounded(summary, ws, chosen)


def test_an_unsupported_tldr_falls_back_to_the_extractive_one(ws: Workspace, named: Named) -> None:
    chosen = papers(ws)
    invented = "The paper reports a 47% gain on 12 datasets scraped from Reddit [1]."
    model = FakeChatModel().enqueue(invented, copy_first(), copy_first(), copy_first())
    summary = summarizer(ws, model).run(chosen)
    reference = named.summary

    assert [p.mode for p in summary.papers] == ["fallback", "generated", "generated"]
    assert summary.papers[0].tldr == reference.papers[0].tldr and "47" not in summary.papers[0].tldr
    assert summary.papers[0].sentences and all(c.supported for c in summary.papers[0].sentences)
    assert summary.synthesis_mode == "generated"
    assert_grounded(summary, ws, chosen)


def test_map_reduce_when_the_papers_do_not_fit_the_window(ws: Workspace) -> None:
    chosen = papers(ws, TOOLACE, LIVEMCP, INVERSE, METAWORLD)
    model = FakeChatModel()
    backend = fake_backend(model, context_tokens=4096, max_tokens=120)
    # room for about two TL;DRs per call: not for the four abstracts, nor for the four TL;DRs at once
    backend.context_tokens += 170 - budget(backend, "synthesis")
    assert budget(backend, "synthesis") == 170

    def reply(messages: list[BaseMessage]) -> str:
        text = str(messages[-1].content)
        if text.startswith("Partial syntheses"):  # merge: the partials joined, citations as they were
            return " ".join(re.findall(r"^Part \d+: (.*)$", text, re.MULTILINE))
        return first_words()(messages) if text.startswith("Papers") else copy_first()(messages)

    model.enqueue(*[reply] * 12)
    events: list[tuple[str, int, int]] = []
    summary = Summarizer(ws, backend).run(chosen, progress=lambda *e: events.append(e))

    partials = [c for c in model.calls[4:] if "Partial syntheses" not in c.messages[-1].content]
    merges = [c for c in model.calls[4:] if "Partial syntheses" in c.messages[-1].content]
    assert len(partials) >= 2 and len(merges) >= 1 and len(model.calls) == 4 + len(partials) + len(merges)
    seen: list[int] = []
    for call in partials:  # each group within the window, the TL;DRs (not abstracts), each paper once
        texts = shown(call.messages)
        seen += list(texts)
        rendered = [render_source(Source(n=n, paper_id=chosen[n - 1].paper_id, title=chosen[n - 1].title, text=t))
                    for n, t in texts.items()]
        assert sum(backend.count_tokens(r) + 2 for r in rendered) <= 170
        for n, text in texts.items():
            assert text == strip_markers(summary.papers[n - 1].tldr) and text != chosen[n - 1].abstract
        assert f"numbers {', '.join(map(str, texts))}" in str(call.messages[0].content)
    assert sorted(seen) == [1, 2, 3, 4]
    assert summary.synthesis_mode == "generated" and summary.synthesis == merges[-1].reply
    assert [c.n for c in summary.citations] == [1, 2, 3, 4]
    assert_grounded(summary, ws, chosen)
    synth = [e for e in events if e[0] == "synthesis"]
    assert synth[-1][1] == synth[-1][2] == len(partials) + len(merges)


def test_a_window_too_small_for_any_paper_gives_the_code_synthesis(ws: Workspace, named: Named) -> None:
    chosen = papers(ws)
    model = FakeChatModel().enqueue(*[copy_first()] * 3)  # the TL;DRs only: no synthesis call is made
    backend = fake_backend(model, context_tokens=4096, max_tokens=120)
    backend.context_tokens += 30 - budget(backend, "synthesis")
    summary = Summarizer(ws, backend).run(chosen)
    assert len(model.calls) == 3 and summary.synthesis_mode == "fallback"
    assert summary.synthesis == named.summary.synthesis


# -- the local model's narrow step (scripted) --------------------------------------------------------------


def test_local_tldr_is_one_grammar_bound_sentence_cited_in_code(ws: Workspace) -> None:
    chosen = papers(ws, TOOLACE, INVERSE, LIVEMCP)
    model = FakeChatModel().enqueue(
        "The authors propose ToolACE-R, a method for adaptive self-refinement of tool invocations.",
        "The authors present evidence that LMs may show inverse scaling due to flaws in the training data and",
        "LiveMCPBench: Can Agents Navigate an Ocean of MCP Tools.",  # the title, which the check would pass
    )
    summary = summarizer(ws, model, "local").run(chosen)

    first, second, third = summary.papers
    assert first.mode == "generated" and first.tldr.startswith(
        "The authors propose ToolACE-R, a method for adaptive self-refinement of tool invocations [1].")
    # cut off by max_tokens (no full stop), or the bare title: no citation is added, the check fails,
    # and the extractive TL;DR stands
    base = extractive(ws)
    for item, paper in ((second, chosen[1]), (third, chosen[2])):
        source = Source(n=item.n, paper_id=paper.paper_id, title=paper.title, text=paper.abstract)
        assert item.mode == "fallback" and item.tldr == " ".join(c.text for c in base.extractive_tldr(paper, source))
    for call in model.calls:
        assert call.kwargs["max_tokens"] <= 100 and 'root ::= [A-Z] chr+ "."' in call.kwargs["grammar"]
    assert "Sentence: The authors propose ToolACE-R, a novel method" in model.prompts[0]
    # the synthesis is built in code: three calls in all (a fourth would have found no reply queued)
    assert len(model.calls) == 3 and summary.synthesis_mode == "extractive" and summary.synthesis
    assert_grounded(summary, ws, chosen)


# -- the command --------------------------------------------------------------------------------------------


def test_cli_json_and_markdown(capsys: pytest.CaptureFixture[str], sample_ws: Workspace) -> None:
    code, out, err = run(capsys, "summarize", "--papers", TOOLACE, "--papers", "LiveMCPBench", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [p["title"] for p in data["papers"]] == [TOOLACE, LIVEMCP]
    assert {"tldr", "mode", "sentences", "n", "paper_id"} <= set(data["papers"][0])
    assert data["synthesis"] and data["synthesis_mode"] == "extractive" and len(data["references"]) == 2
    assert all(f"[{p['n']}]" in p["tldr"] for p in data["papers"])

    code, out, err = run(capsys, "summarize", "--topic", TOPIC, "--max-papers", "3", "--format", "md")
    assert code == 0, err
    assert out.startswith(f"# Summary: {TOPIC}\n\n## Summaries\n") and "## References" in out
    assert "extractive" in err and "TL;DRs 3 extractive" in err and "Traceback" not in err

    code, out, err = run(capsys, "summarize", "--papers", METAWORLD)
    assert code == 0, err
    assert "Summaries" in out and "Meta-World" in out and "Synthesis" not in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--papers", "no such paper anywhere"], "no paper in the library matches 'no such paper anywhere'"),
    ([], "give papers (ids or titles) or a topic, not both and not neither"),
    (["--papers", TOOLACE, "--topic", TOPIC], "give papers (ids or titles) or a topic, not both and not neither"),
    (["--topic", OFF_TOPIC], "the library does not cover the topic"),
    (["--topic", TOPIC, "--max-papers", "0"], "max papers must be between 1 and 30"),
    (["--topic", TOPIC, "--format", "html"], "unknown format 'html'"),
    (["--topic", TOPIC, "--json", "--format", "md"], "give --json or --format, not both"),
    (["--topic", TOPIC, "--llm", "openai-compatible"], "the openai-compatible back-end needs a server URL"),
])
def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str], sample_ws: Workspace,
                                 argv: list[str], message: str) -> None:
    code, out, err = run(capsys, "summarize", *argv)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and out == ""
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err


def test_cli_with_a_model_reports_removed_citations(capsys: pytest.CaptureFixture[str], sample_ws: Workspace,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    model = FakeChatModel().enqueue(copy_first("1, 7"), copy_first(), copy_first())

    def make(llm: LLMSettings) -> Backend:
        return fake_backend(model, llm.provider)

    monkeypatch.setattr(assistant.llm.backends, "make_backend", make)
    code, out, err = run(capsys, "summarize", "--papers", TOOLACE, "--papers", INVERSE, "--llm", "openai-compatible",
                         "--base-url", "http://127.0.0.1:9/v1", "--format", "md")
    assert code == 0, err
    assert "[7]" not in out and "ToolACE-R" in out
    assert "openai-compatible: fake-model" in err and "TL;DRs 2 generated" in err and "synthesis generated" in err
    assert "1 invented citation(s) removed" in err


# -- the bundled model, for real -------------------------------------------------------------------------


@pytest.mark.llm
def test_cli_summarize_with_the_local_model(capsys: pytest.CaptureFixture[str], sample_ws: Workspace) -> None:
    code, out, err = run(capsys, "summarize", "--papers", TOOLACE, "--papers", "LiveMCPBench", "--llm", "local",
                         "--json")
    assert code == 0, err
    summary = Summary.model_validate(json.loads(out))
    assert (summary.backend, summary.model) == ("local", "SmolLM2-135M-Instruct (Q4_1 GGUF)")
    assert all(p.mode in ("generated", "fallback") for p in summary.papers)
    assert summary.usage.prompt_tokens > 0 and summary.usage.completion_tokens > 0
    assert summary.synthesis_mode == "extractive" and summary.synthesis
    assert_grounded(summary, sample_ws, papers(sample_ws, TOOLACE, LIVEMCP))

