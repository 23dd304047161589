#!/usr/bin/env python3
"""Check retrieval_dev.jsonl, retrieval_test.jsonl, qa_dev.jsonl and qa_test.jsonl against the sample corpus.

The corpus is read with litreview's own listing parser, so a gold title here is a title the library holds.
Usage: python evals/validate.py [corpus_glob]   (exits 1 when any check fails)
"""

from __future__ import annotations

import glob
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from assistant.ingest import sample_dir
from assistant.sources.listing import parse_listing

HERE = Path(__file__).resolve().parent
SETS: dict[str, tuple[list[str], set[str]]] = {  # file: required fields, kinds
    "retrieval_dev.jsonl": (["id", "kind", "query", "gold"], {"paraphrase", "verbatim", "topical"}),
    "retrieval_test.jsonl": (["id", "kind", "query", "gold"],
                             {"paraphrase", "verbatim", "topical", "short", "vocabulary"}),
    "qa_dev.jsonl": (["id", "kind", "query", "answers", "gold"], {"fact", "unanswerable", "survey", "compare"}),
    "qa_test.jsonl": (["id", "kind", "query", "answers", "gold"], {"fact", "unanswerable", "survey", "compare"}),
}


def corpus(pattern: str) -> dict[str, str]:
    """Title → abstract of every paper the listings hold (the first copy of a repeated title)."""
    papers: dict[str, str] = {}
    for name in sorted(glob.glob(pattern)):
        for paper in parse_listing(Path(name)).papers:
            papers.setdefault(paper.title, paper.abstract)
    return papers


class Checker:
    """Loads the sets and collects every problem as one line."""

    def __init__(self, papers: dict[str, str]) -> None:
        self.papers = papers
        self.errors: list[str] = []
        self.counts: Counter[tuple[str, str]] = Counter()
        self.ids: set[str] = set()

    def load(self, name: str) -> list[dict[str, Any]]:
        """The file's well-formed rows; ids, kinds and gold titles checked."""
        required, kinds = SETS[name]
        self.ids = set()  # ids are unique within a file
        rows = []
        for ln, line in enumerate((HERE / name).read_text(encoding="utf-8").splitlines(), 1):
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                self.errors.append(f"{name}:{ln}: invalid JSON ({e})")
                continue
            miss = [k for k in required if k not in r]
            if miss:
                self.errors.append(f"{name}:{ln}: missing fields {miss}")
                continue
            if r["id"] in self.ids:
                self.errors.append(f"{name}:{ln}: duplicate id {r['id']}")
            self.ids.add(r["id"])
            if r["kind"] not in kinds:
                self.errors.append(f"{name}:{ln}: bad kind {r['kind']}")
            if not isinstance(r["gold"], list):
                self.errors.append(f"{r['id']}: gold must be a list")
                continue
            self.errors += [f"{r['id']}: gold title not in corpus: {t!r}" for t in r["gold"] if t not in self.papers]
            if len(set(r["gold"])) != len(r["gold"]):
                self.errors.append(f"{r['id']}: duplicate gold titles")
            self.counts[(name, r["kind"])] += 1
            rows.append(r)
        return rows

    def retrieval(self, r: dict[str, Any], test: bool = False) -> None:
        """One gold paper for a phrase or paraphrase; a phrase of 5-12 words in its gold abstract only. The
        test split's paraphrases are long descriptions (40-70 words) and its topics may be as small as 2."""
        if test and r["kind"] == "paraphrase" and not 40 <= len(r["query"].split()) <= 70:
            self.errors.append(f"{r['id']}: test paraphrase has {len(r['query'].split())} words (want 40-70)")
        if r["kind"] in ("paraphrase", "verbatim", "short", "vocabulary") and len(r["gold"]) != 1:
            self.errors.append(f"{r['id']}: expected exactly one gold title")
        if r["kind"] == "verbatim":
            n = len(r["query"].split())
            if not 5 <= n <= 12:
                self.errors.append(f"{r['id']}: verbatim phrase has {n} words (want 5-12)")
            g = r["gold"][0]
            if g in self.papers and r["query"] not in self.papers[g]:
                self.errors.append(f"{r['id']}: phrase not found verbatim in gold abstract")
            others = [t for t, a in self.papers.items() if t != g and r["query"].lower() in a.lower()]
            if others:
                self.errors.append(f"{r['id']}: phrase also occurs in {others}")
        if r["kind"] == "topical" and not (2 if test else 3) <= len(r["gold"]) <= 25:
            self.errors.append(f"{r['id']}: topical gold size {len(r['gold'])} outside 3-25")

    def qa(self, r: dict[str, Any]) -> None:
        """A fact: one gold paper, short answers, one in its abstract; survey/compare: two or more gold papers
        (a compare question's two sides make up its gold); unanswerable: neither."""
        if r["kind"] in ("survey", "compare"):
            if r["answers"] or len(r["gold"]) < 2:
                self.errors.append(f"{r['id']}: {r['kind']} needs empty answers and >=2 gold titles")
            sides = r.get("sides") or []
            if r["kind"] == "compare" and (
                    len(sides) != 2 or not all(sides) or {t for x in sides for t in x} != set(r["gold"])):
                self.errors.append(f"{r['id']}: compare needs two non-empty sides whose union is gold")
            return
        if r["kind"] != "fact":
            if r["answers"] or r["gold"]:
                self.errors.append(f"{r['id']}: unanswerable must have empty answers and gold")
            return
        if len(r["gold"]) != 1 or not r["answers"]:
            self.errors.append(f"{r['id']}: fact needs one gold title and >=1 answer")
            return
        self.errors += [f"{r['id']}: answer longer than 6 words: {a!r}" for a in r["answers"] if len(a.split()) > 6]
        abstract = self.papers.get(r["gold"][0], "").lower()
        if not any(a.lower() in abstract for a in r["answers"]):
            self.errors.append(f"{r['id']}: no answer string occurs in gold abstract")


def main() -> None:
    """Check every set; print the counts and every problem."""
    pattern = sys.argv[1] if len(sys.argv) > 1 else str(sample_dir() / "*.txt")
    check = Checker(corpus(pattern))
    print(f"parsed {len(check.papers)} unique papers")
    ret, ret_test, qa, qa_test = (check.load(name) for name in SETS)
    for r in ret:
        check.retrieval(r)
    for r in ret_test:
        check.retrieval(r, test=True)
    for r in qa + qa_test:
        check.qa(r)
    # qa_test.jsonl is held out: none of its fact gold papers may be a qa_dev fact gold paper (survey/compare
    # test questions are new questions over topics the dev set also asks about)
    dev_gold = {t for r in qa if r["kind"] == "fact" for t in r["gold"]}
    check.errors += [f"{r['id']}: qa_test gold paper is also a qa_dev gold paper: {t!r}"
                     for r in qa_test if r["kind"] == "fact" for t in r["gold"] if t in dev_gold]

    for (name, kind), c in sorted(check.counts.items()):
        print(f"{name:22s} {kind:13s} {c}")
    for r in ret + ret_test:
        if r["kind"] == "topical":
            print(f"  {r['id']} ({len(r['gold']):2d}) {r['query']}")
    if check.errors:
        print(f"\n{len(check.errors)} ERROR(S):")
        for e in check.errors:
            print("  " + e)
        sys.exit(1)
    print("\nall checks passed")


if __name__ == "__main__":
    main()
