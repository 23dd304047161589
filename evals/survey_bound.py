"""How far any listing rule can go on the search order: survey answers' best reachable recall and precision.

Run: .venv/bin/python evals/survey_bound.py [dev|test]   (LITREVIEW_HOME: a sample library, e.g. the eval one)

A survey answer lists a prefix of the search order (at most `answer.survey_cap` papers). This script takes
each survey question of evals/qa_<split>.jsonl, ranks the library for its topic as the chain does, and
reports (1) the mean gold recall and precision of the first k papers for every k, and (2) an oracle that
picks, for each question separately and *with its gold set in hand*, the prefix length that is best for
the split as a whole (the upper envelope over prefix choices, found by weighting recall against
precision). No rule that cuts the order can beat the oracle; a better order (a re-ranker) could.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from assistant.chain import rank_depth
from assistant.kinds import survey_topic
from assistant.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]


def prefixes(ranked_titles: list[str], gold: set[str], cap: int, capped: bool) -> list[tuple[float, float]]:
    """(recall, precision) of each prefix of the order, up to `cap` papers."""
    out, hits = [], 0
    for k, title in enumerate(ranked_titles[:cap], 1):
        hits += title in gold
        out.append((hits / (min(cap, len(gold)) if capped else len(gold)), hits / k))
    return out


def envelope(per_question: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    """Mean (recall, precision) pairs an oracle reaches by choosing each question's prefix."""
    points = []
    for step in range(0, 400):
        lam = step / 20
        picks = [max(opts, key=lambda o: o[1] + lam * o[0]) for opts in per_question if opts]
        points.append((sum(p[0] for p in picks) / len(picks), sum(p[1] for p in picks) / len(picks)))
    return points


def main(split: str) -> None:
    """Print the top-k curve and the oracle's best points for the split's survey questions."""
    cases = [json.loads(line) for line in (ROOT / "evals" / f"qa_{split}.jsonl").read_text("utf-8").splitlines()]
    cases = [c for c in cases if c["kind"] == "survey"]
    ws = Workspace()
    cap, mode = ws.settings.answer.survey_cap, ws.settings.retrieval.mode
    orders = []
    for case in cases:
        ranked = ws.retriever.rank(survey_topic(case["query"]), mode, rank_depth(ws.settings, ws.settings.retrieval.k))
        orders.append(([c.paper.title for c in ranked if c.paper is not None], set(case["gold"])))
    print(f"{split}: {len(cases)} survey questions, search mode {mode}, cap {cap}")
    for k in (1, 2, 3, 5, 8, 12):
        rec = [prefixes(t, g, cap, False)[min(k, len(t)) - 1] for t, g in orders]
        print(f"  first {k:2} papers: recall {sum(r for r, _ in rec) / len(rec):.3f}, "
              f"precision {sum(p for _, p in rec) / len(rec):.3f}")
    for capped in (False, True):
        env = envelope([prefixes(t, g, cap, capped) for t, g in orders])
        at_recall = max((p for r, p in env if r >= 0.6), default=float("nan"))
        at_precision = max((r for r, p in env if p >= 0.8), default=float("nan"))
        name = "capped recall" if capped else "recall"
        print(f"  oracle cut ({name}): best precision at {name} >= 0.6: {_fmt(at_recall)}; "
              f"best {name} at precision >= 0.8: {_fmt(at_precision)}")


def _fmt(x: float) -> str:
    """A figure, or "unreachable" when no choice of prefixes reaches the other target."""
    return "unreachable" if x != x else f"{x:.3f}"


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "dev")
