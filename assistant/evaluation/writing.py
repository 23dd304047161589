"""The writing suite: does a table, a synthesis or a related-work draft read as a researcher would write it?

Per topic it runs one job (compare, summarize or related) and counts, by rule: cell length in words,
pairs of cells of one row sharing words of one sentence (a span reused), template phrases (the list
below: the machine-made frames earlier versions wrote), sentences without a verb, sentences opening on
a pronoun with nothing before it to point at, citation markers inside a sentence where no reader
would put one, and theme names of a single token. The rules are heuristics over words, not a parser:
they count what a reviewer would circle, and every count is shown with its sentences in the records.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.errors import LitReviewError
from assistant.evaluation.base import Metrics, Suite, mean
from assistant.writing.cell_spans import overlaps
from assistant.writing.compare import compare_papers
from assistant.writing.compare_fields import find_verbatim
from assistant.writing.related import related_work
from assistant.writing.summary import summarize

# Frames a reader recognises as filled-in templates (kept here, one place; a new frame that reads as
# one goes on this list).
TEMPLATE_PHRASES = (
    r"\bis what\b", r"\bare what\b", r"\bis about\b", r"\bare about\b", r"\bcommon to\b",
    r"^Work on .{1,80} includes\b", r"\bis the focus of\b", r"^Where \[\d", r"^Only \[\d",
    r"\bthe following\b", r"\bin this (?:paper|work)\b", r"^In summary\b", r"\bdelve\b",
)
_TEMPLATE = [re.compile(p, re.IGNORECASE) for p in TEMPLATE_PHRASES]
_VERB = re.compile(
    r"\b(?:is|are|was|were|be|been|being|has|have|had|can|could|may|might|will|would|should|must|do|does|did|"
    r"remains?|differ|study|studies|propose|proposes|introduce|introduces|present|presents|show|shows|find|finds|"
    r"use|uses|achieve|achieves|improve|improves|outperform|outperforms|reach|reaches|enable|enables|"
    r"require|requires|address|addresses|lack|lacks|fail|fails|struggle|struggles|provide|provides|"
    r"offer|offers|evaluate|evaluates|suggest|suggests|reveal|reveals|yield|yields|leverage|leverages|"
    r"explore|explores|investigate|construct|constructs|build|builds|design|designs|develop|develops|"
    r"conduct|conducts|deliver|delivers|demonstrate|train|trains|apply|applies|"
    r"\w+ed|\w+ize[sd]?|\w+ise[sd]?|\w+ates)\b", re.IGNORECASE)
_DANGLING = re.compile(r"^(?:\[[\d,\s–-]+\]\s*)?(?:It|They|Its|Their|This|These|Those|He|She|Such)\b")
_MARKER = re.compile(r"\[\d+(?:\s*[,–-]\s*\d+)*\]")
_MARKER_BEFORE_OK = re.compile(r"(?:authors of|[Tt]he (?:paper|survey|study|work|report|article|benchmark))\s*$")
_MARKER_AFTER_OK = re.compile(r"^\s*(?:$|[.,;:)]|and\b|or\b|but\b|while\b|whereas\b|respectively\b|as well\b)")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[“\"])")

Job = Literal["compare", "summarize", "related"]


class WritingCase(BaseModel):
    """One topic and the job to write about it."""

    id: str
    job: Job
    topic: str = Field(min_length=1)
    max_papers: int = Field(default=4, ge=2, le=30)


def sentences(text: str) -> list[str]:
    """The text's sentences (split after . ! ? before a capital or a citation)."""
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def template_phrases(sentence: str) -> list[str]:
    """The template frames the sentence uses."""
    return [p.pattern for p in _TEMPLATE if p.search(sentence)]


def has_verb(sentence: str) -> bool:
    """True when some word of the sentence (citations aside) reads as a verb."""
    return bool(_VERB.search(_MARKER.sub(" ", sentence)))


def dangling(sentence: str) -> bool:
    """True when the sentence opens on a pronoun ("It", "They", "This") with nothing before it to point at."""
    return bool(_DANGLING.match(sentence))


def misplaced_markers(sentence: str) -> int:
    """Citation markers inside the sentence where a reader would not put one ("[3] is about …", "Where [1] …")."""
    bad = 0
    for m in _MARKER.finditer(sentence):
        before, after = sentence[: m.start()], sentence[m.end():]
        if not (_MARKER_AFTER_OK.match(after) or _MARKER_BEFORE_OK.search(before)):
            bad += 1
    return bad


def prose_counts(texts: Sequence[str]) -> dict[str, Any]:
    """Sentence counts and the sentences each rule flags, over the given paragraphs."""
    sents = [s for t in texts for s in sentences(t)]
    return {
        "sentences": len(sents),
        "template": [s for s in sents if template_phrases(s)],
        "verbless": [s for s in sents if not has_verb(s)],
        "dangling": [s for s in sents if dangling(s)],
        "misplaced_markers": [s for s in sents if misplaced_markers(s)],
    }


class WritingSuite(Suite[WritingCase]):
    """Cell length, reused spans, template phrases, verbless sentences, dangling pronouns, misplaced
    citations and one-word theme names, per job."""

    name = "writing"
    case_model = WritingCase
    files = ("writing.jsonl", "writing_dev.jsonl")

    def check(self, cases: Sequence[WritingCase]) -> None:
        """Nothing to resolve: topics are searched when a job runs."""

    def run_case(self, case: WritingCase) -> dict[str, Any]:
        """One job on the topic and what the rules count in its text; a job the library refuses (a topic
        it does not cover) is recorded with its one-line reason and counted as not written."""
        out: dict[str, Any] = {"id": case.id, "job": case.job, "topic": case.topic}
        try:
            return self._write(case, out)
        except LitReviewError as exc:
            return {**out, "not_written": str(exc)}

    def _write(self, case: WritingCase, out: dict[str, Any]) -> dict[str, Any]:
        if case.job == "compare":
            table = compare_papers(self.ws, topic=case.topic, max_papers=case.max_papers, llm=self.llm)
            words, dup = [], 0
            for row in table.rows:
                ranges = []
                for cell in row.cells:
                    if cell.not_stated:
                        continue
                    words.append(len(cell.value.split()))
                    where = find_verbatim(cell.value, cell.provenance or "")
                    if where is not None:
                        ranges.append((cell.provenance, where))
                dup += sum(1 for i, (s, r) in enumerate(ranges) for t, q in ranges[i + 1:]
                           if s == t and overlaps(r, q, s or ""))
            out.update(cell_words=words, duplicate_spans=dup, rows=len(table.rows))
            return out
        if case.job == "summarize":
            summary = summarize(self.ws, topic=case.topic, max_papers=case.max_papers, llm=self.llm)
            out.update(prose_counts([summary.synthesis]), mode=summary.synthesis_mode)
            return out
        draft = related_work(self.ws, case.topic, max_papers=case.max_papers, llm=self.llm)
        out.update(prose_counts([t.paragraph for t in draft.themes]),
                   themes=[t.name for t in draft.themes],
                   single_token_themes=[t.name for t in draft.themes if len(t.name.split()) < 2])
        return out

    def summarise(self, records: Sequence[dict[str, Any]]) -> tuple[Metrics, dict[str, Any]]:
        """Per job: cells (median and max words, reused spans) or sentences (each rule's count)."""
        metrics: Metrics = {}
        details: dict[str, Any] = {}
        refused = [r for r in records if "not_written" in r]
        metrics["jobs_not_written"] = len(refused)
        if refused:
            details["not_written"] = {r["id"]: r["not_written"] for r in refused}
        records = [r for r in records if "not_written" not in r]
        compare = [r for r in records if r["job"] == "compare"]
        if compare:
            words = [w for r in compare for w in r["cell_words"]]
            metrics.update({
                "compare.cells": len(words),
                "compare.cell_words_median": statistics.median(words) if words else None,
                "compare.cell_words_max": max(words) if words else None,
                "compare.cells_over_12_words": mean([float(w > 12) for w in words]),
                "compare.duplicate_spans": sum(r["duplicate_spans"] for r in compare),
            })
        for job in ("summarize", "related"):
            recs = [r for r in records if r["job"] == job]
            if not recs:
                continue
            metrics[f"{job}.sentences"] = sum(r["sentences"] for r in recs)
            for rule in ("template", "verbless", "dangling", "misplaced_markers"):
                metrics[f"{job}.{rule}"] = sum(len(r[rule]) for r in recs)
                details[f"{job}.{rule}"] = [s for r in recs for s in r[rule]]
        related = [r for r in records if r["job"] == "related"]
        if related:
            metrics["related.themes"] = sum(len(r["themes"]) for r in related)
            metrics["related.single_token_themes"] = sum(len(r["single_token_themes"]) for r in related)
            details["related.themes"] = {r["id"]: r["themes"] for r in related}
        return metrics, details
