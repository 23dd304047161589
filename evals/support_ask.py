"""The support sets driven end to end: `litreview ask --batch --json --llm openai-compatible` against a
scripted OpenAI-compatible server on 127.0.0.1 that plays each claim as the model's answer.

Run: .venv/bin/python evals/support_ask.py test [--limit N] [--out DIR]   (LITREVIEW_HOME: a sample library)

Each case of evals/support_<split>.jsonl becomes one question, 'What does "<title of the cited paper>"
report?'. The server (benchmarks/overhead.py's handler, in its own process) finds the question in the
prompt and answers with that case's claim, its citations renumbered to where the cited papers stand in
the prompt's sources. A case reaches the check when every paper it cites is among the sources the
chain gave the model; otherwise the server replies NOT_IN_LIBRARY and the case is counted as not
reached. Reached faithful claims should come back "generated" (kept); reached corrupted ones
"fallback" (withdrawn, the draft's failed check named). Several cases may share a question (claims about
one paper); the server plays them in the order of the batch file, which `ask --batch` keeps.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from overhead import Handler  # noqa: E402

_SOURCE = re.compile(r"^\[(\d+)\] (.*?)(?: \(\d{4}\))?\n<<<", re.MULTILINE)
_QUESTION = re.compile(r"^Question: (.*)$", re.MULTILINE)
_CITE = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def question(case: dict[str, Any]) -> str:
    return f'What does "{case["sources"][case["cited"][0] - 1]}" report?'


def play(case: dict[str, Any], prompt: str) -> tuple[str, dict[str, Any]]:
    """The claim with its citations renumbered to the prompt's sources (NOT_IN_LIBRARY when one is missing)."""
    shown = {title: int(n) for n, title in _SOURCE.findall(prompt)}
    where = {i: shown.get(title) for i, title in enumerate(case["sources"], start=1)}
    note = {"id": case["id"], "sources_shown": len(shown),
            "all_case_sources_shown": all(n is not None for n in where.values())}
    if any(where.get(i) is None for i in case["cited"]):
        return "NOT_IN_LIBRARY", {**note, "reached": False}

    def renumber(m: re.Match[str]) -> str:
        nums = [where.get(int(x)) for x in re.split(r"\s*,\s*", m.group(1))]
        return "[" + ", ".join(str(n) for n in nums if n is not None) + "]"

    return _CITE.sub(renumber, case["claim"]), {**note, "reached": True}


def serve(plan_path: str, log_path: str) -> None:
    """The scripted server: each question's cases played in order; what it played is logged as JSON lines."""
    queues: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for case in json.loads(Path(plan_path).read_text(encoding="utf-8")):
        queues[question(case)].append(case)
    log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 (open for the server's life)

    class Player(Handler):
        def reply(self, prompt: str) -> str:
            found = _QUESTION.search(prompt)
            q = found.group(1).strip() if found else ""
            if not queues.get(q):
                log.write(json.dumps({"unexpected": q[:200]}) + "\n")
                log.flush()
                return "NOT_IN_LIBRARY"
            text, note = play(queues[q].pop(0), prompt)
            log.write(json.dumps(note) + "\n")
            log.flush()
            return text

    server = ThreadingHTTPServer(("127.0.0.1", 0), Player)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def summarise(cases: list[dict[str, Any]], answers: dict[str, dict[str, Any]],
              played: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Faithful kept and corrupted caught, per kind, among the cases that reached the check."""
    by_kind: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])  # right, reached, all
    checks: collections.Counter[str] = collections.Counter()
    wrong: list[dict[str, Any]] = []
    for c in cases:
        row = by_kind[c["kind"]]
        row[2] += 1
        a, p = answers.get(c["id"], {}), played.get(c["id"], {})
        if not p.get("reached") or a.get("mode") not in ("generated", "fallback"):
            continue
        row[1] += 1
        kept = a["mode"] == "generated"
        failed = [s for s in a.get("draft_sentences", []) if not s["supported"]]
        if failed:
            checks[f'{c["kind"]}->{failed[0]["check"]}'] += 1
        right = kept if c["kind"] == "faithful" else not kept
        row[0] += right
        if not right:
            wrong.append({"id": c["id"], "kind": c["kind"], "claim": c["claim"][:200],
                          "why": failed[0]["reason"][:160] if failed else "kept"})
    corrupted = [v for k, v in by_kind.items() if k != "faithful"]
    caught, reached = sum(v[0] for v in corrupted), sum(v[1] for v in corrupted)
    return {
        "per_kind": {k: {"right": v[0], "reached": v[1], "cases": v[2],
                         "rate": round(v[0] / v[1], 3) if v[1] else None} for k, v in sorted(by_kind.items())},
        "caught_overall": {"right": caught, "reached": reached,
                           "rate": round(caught / reached, 3) if reached else None},
        "kind_to_check": dict(sorted(checks.items())),
        "wrong": wrong,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("split", choices=("dev", "test"))
    ap.add_argument("--limit", type=int, default=0, help="the first N cases only")
    ap.add_argument("--out", type=Path, default=None, help="folder for the batch, answers and summary")
    args = ap.parse_args()
    cases = [json.loads(line) for line in (ROOT / "evals" / f"support_{args.split}.jsonl").read_text().splitlines()
             if line.strip()]
    cases = cases[: args.limit] if args.limit else cases
    out = args.out or Path(tempfile.mkdtemp(prefix=f"support-ask-{args.split}-"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "plan.json").write_text(json.dumps(cases), encoding="utf-8")
    (out / "batch.jsonl").write_text("".join(json.dumps({"id": c["id"], "query": question(c)}) + "\n" for c in cases),
                                     encoding="utf-8")
    (out / "played.jsonl").write_text("", encoding="utf-8")
    server = subprocess.Popen([sys.executable, __file__, "serve", str(out / "plan.json"), str(out / "played.jsonl")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}/v1"
        exe = Path(sys.executable).parent / "litreview"
        with open(out / "answers.jsonl", "w", encoding="utf-8") as answers_file:
            subprocess.run([str(exe), "ask", "--batch", str(out / "batch.jsonl"), "--json", "--llm",
                            "openai-compatible", "--base-url", url], stdout=answers_file, env=os.environ, check=False)
    finally:
        server.terminate()
        server.wait(timeout=10)
    answers = {a["id"]: a for a in map(json.loads, (out / "answers.jsonl").read_text().splitlines())}
    played = {p["id"]: p for p in map(json.loads, (out / "played.jsonl").read_text().splitlines()) if "id" in p}
    summary = summarise(cases, answers, played)
    summary["not_reached"] = sum(not p["reached"] for p in played.values())
    summary["refused_before_the_model"] = len(cases) - len(played)
    summary["reached_with_every_case_source_shown"] = sum(p["reached"] and p["all_case_sources_shown"]
                                                          for p in played.values())
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "wrong"}, indent=1))
    print(f"details: {out}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        main()
