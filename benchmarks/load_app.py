"""The app under load: 20 browser sessions at once against `litreview ui` on 127.0.0.1, one of them uploading.

    python benchmarks/load_app.py [--sessions 20] [--base HOME] [--out docs/load-app.json]

Real parts: `litreview ui` (Streamlit) over a copy of the sample library, Debian's Chromium driven by
Playwright (one browser, one context per session: separate cookies, so separate Streamlit sessions).
Each session chooses the "OpenAI-compatible server" back-end with its own API key, asks a question
that carries its session number, then searches the Library page; session 0 also uploads a listing of
new papers while the others work. The back-end is a scripted OpenAI-compatible stub on 127.0.0.1
(below) that records which key each request carried and which session's question it held, so key
isolation is checked on the wire; its draft fails the support check on purpose, so every answer
shown is the evidence-first fallback, which the benchmark checks for the gold fact.

Checked: every session got its answer with the gold fact; its chat shows its own question only; its
sidebar still holds its own key; every request reached the stub with the key of the session whose
question it carried; the upload landed whole (`litreview check` afterwards). Measured: answer and
search latency (p50, p95) and throughput over the wall time of the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from servers import app_healthy, free_port  # noqa: E402

CLI = "import sys; from assistant.cli import main; sys.exit(main())"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
QUESTION = "How many professional-level Capture the Flag tasks does Cybench include?"
GOLD = "40 professional-level"
SEARCHES = ["a framework for evaluating cybersecurity agents", "mixture of experts language model",
            "retrieval augmented generation benchmark", "small models calling external tools",
            "parameter-efficient fine-tuning with low-rank adapters"]
MAIN = "[data-testid='stMainBlockContainer']"
LIMIT_MS = 600_000
UPLOAD_PAPERS = 40
MARK = re.compile(r"\(session (\d+)\)")


class Stub(BaseHTTPRequestHandler):
    """A scripted OpenAI-compatible server: lists one model, answers every chat with one uncited sentence."""

    seen: ClassVar[list[tuple[str, list[str]]]] = []  # (Authorization header, session numbers in the prompt)
    lock = threading.Lock()

    def log_message(self, *args: Any) -> None:
        return

    def _json(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._json({"object": "list", "data": [{"id": "stub", "object": "model", "owned_by": "load"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        prompt = json.dumps(body.get("messages", []))
        with Stub.lock:
            Stub.seen.append((self.headers.get("Authorization", ""), MARK.findall(prompt)))
        text = "The library holds a benchmark of this kind [1]."
        usage = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
        if not body.get("stream"):
            self._json({"id": "c", "object": "chat.completion", "created": 0, "model": "stub", "usage": usage,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                     "finish_reason": "stop"}]})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for i, piece in enumerate(re.findall(r"\S+\s*", text)):
            delta = {"content": piece} | ({"role": "assistant"} if i == 0 else {})
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "stub",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        end = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "stub",
               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        self.wfile.write(f"data: {json.dumps(end)}\n\n".encode())
        tail = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "stub", "choices": [],
                "usage": usage}
        self.wfile.write(f"data: {json.dumps(tail)}\n\ndata: [DONE]\n\n".encode())


def env_for(home: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LITREVIEW_")}
    return {**base, "LITREVIEW_HOME": str(home), "PYTHONPATH": str(ROOT)}


def upload_file(folder: Path) -> Path:
    """A listing of new papers (bare title + abstract layout), distinct from the sample's."""
    topics = ["soil moisture", "greenhouse climate", "pollinator counts", "weed detection", "irrigation timing"]
    parts = []
    for i in range(UPLOAD_PAPERS):
        topic = topics[i % len(topics)]
        parts.append(f"Low-Cost Garden Robots for {topic.title()}: Field Study {i + 1}\n\n"
                     f"We build a garden robot from cheap parts to measure {topic} in plot {i + 1}. Over "
                     f"{20 + i} days it logged readings every ten minutes; yields rose by {i % 9 + 2} percent "
                     "against hand-tended plots, and the robot cost under 90 dollars to build.\n\n")
    path = folder / "garden-robots.txt"
    path.write_text("".join(parts), encoding="utf-8")
    return path


def step(i: int, what: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} session {i}: {what}", file=sys.stderr, flush=True)


async def idle(page: Any) -> None:
    with contextlib.suppress(Exception):  # a quick run may be over before it is seen
        await page.wait_for_selector("[data-test-script-state='running']", timeout=1500)
    await page.wait_for_selector("[data-test-script-state='notRunning']", state="attached", timeout=LIMIT_MS)


async def session(browser: Any, url: str, i: int, upload: Path | None, expected: dict[str, str],
                  out: dict[str, Any]) -> None:
    key = f"sk-load-session-{i:02d}-{os.urandom(4).hex()}"
    rec: dict[str, Any] = {"session": i, "key": key, "errors": []}
    out[i] = rec
    context = await browser.new_context(viewport={"width": 1300, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(LIMIT_MS)
    try:
        t0 = time.monotonic()
        await page.goto(url)
        await page.locator(f"{MAIN} h1").filter(has_text="Ask your library").wait_for()
        rec["open_s"] = time.monotonic() - t0
        step(i, "chat page open")
        side = page.locator("[data-testid='stSidebar']")
        await side.locator("[data-testid='stSelectbox']").click()
        await page.get_by_role("option", name="OpenAI-compatible server", exact=True).click()
        await idle(page)
        base_url = side.get_by_label("Base URL")
        await base_url.fill(expected["stub"])
        await base_url.press("Enter")
        await idle(page)
        secret = side.locator("input[type='password']")
        await secret.fill(key)
        await secret.press("Enter")
        await idle(page)
        step(i, "back-end and key set")

        question = f"{QUESTION} (session {i})"
        box = page.locator("[data-testid='stChatInputTextArea']")
        await box.fill(question)
        t0 = time.monotonic()
        await box.press("Enter")
        reply = page.locator("[data-testid='stChatMessage']").nth(1)
        await reply.locator("[data-testid='stExpander']").filter(has_text="Details").wait_for()
        rec["answer_s"] = time.monotonic() - t0
        step(i, "answered")
        await idle(page)
        rec["answer"] = (await reply.locator("[data-testid='stMarkdownContainer']").first.inner_text()).strip()

        if upload is not None:
            await page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Library").click()
            await page.locator(f"{MAIN} h1").filter(has_text="Your library").wait_for()
            await idle(page)
            await page.locator(f"{MAIN} [data-testid='stExpander'] summary").filter(has_text="Add papers").click()
            await page.locator("input[type='file']").set_input_files(str(upload))
            await page.get_by_text(upload.name).wait_for()
            await idle(page)
            await page.locator(f"{MAIN} button").filter(has_text="Add to library").click()
            t0 = time.monotonic()
            await page.get_by_text(re.compile(r"\d+ new papers, \d+ duplicates")).wait_for()
            rec["upload_s"] = time.monotonic() - t0
            step(i, "upload done")
            rec["upload_report"] = await page.get_by_text(re.compile(r"\d+ new papers, \d+ duplicates")).inner_text()

        query = SEARCHES[i % len(SEARCHES)]
        await page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Library").click()
        await page.locator(f"{MAIN} h1").filter(has_text="Your library").wait_for()
        await idle(page)
        search = page.locator(MAIN).get_by_role("textbox", name="Search", exact=True)
        await search.fill(query)
        t0 = time.monotonic()
        await search.press("Enter")
        await page.get_by_text("(best matches first)").wait_for()
        await idle(page)
        rec["search_s"] = time.monotonic() - t0
        step(i, "searched")
        first = page.locator("[data-testid='stDataFrame'] table[role='grid'] td").first
        rec["search_top"] = (await first.inner_text()).strip()
        rec["search_expected"] = expected[query]

        await page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Chat").click()
        await page.locator(f"{MAIN} h1").filter(has_text="Ask your library").wait_for()
        await idle(page)
        users = await page.locator("[data-testid='stChatMessage']").all_inner_texts()
        rec["history_marks"] = sorted({m for text in users for m in MARK.findall(text)})
        rec["sidebar_key_is_own"] = (await side.locator("input[type='password']").input_value()) == key
        body = await page.locator("body").inner_text()
        rec["error_boxes"] = await page.locator("[data-testid='stAlertContentError']").count()
        rec["traceback"] = "Traceback" in body
    except Exception as exc:
        rec["errors"].append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
        step(i, f"failed: {rec['errors'][-1]}")
    finally:
        await context.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


async def drive(url: str, sessions: int, upload: Path, expected: dict[str, str]) -> tuple[dict[int, Any], float]:
    from playwright.async_api import async_playwright

    out: dict[int, Any] = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            t0 = time.monotonic()
            await asyncio.gather(*(session(browser, url, i, upload if i == 0 else None, expected, out)
                                   for i in range(sessions)))
            wall = time.monotonic() - t0
        finally:
            await browser.close()
    return out, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--base", type=Path, help="a home holding the sample library (copied, not changed)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "load-app.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="litreview-load-"))
    home = work / "home"
    if args.base:
        shutil.copytree(args.base, home)
    else:
        subprocess.run([sys.executable, "-c", CLI, "ingest", "--sample"], env=env_for(home), check=True)
    os.environ["LITREVIEW_HOME"] = str(home)
    from assistant.workspace import Workspace

    ws = Workspace()
    papers_before = ws.library.count()
    expected: dict[str, str] = {q: ws.search(q, k=1)[0].title for q in SEARCHES}
    stub = ThreadingHTTPServer(("127.0.0.1", free_port()), Stub)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    expected["stub"] = f"http://127.0.0.1:{stub.server_address[1]}/v1"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (work / "app.log").open("wb")
    app = subprocess.Popen([sys.executable, "-c", CLI, "ui", "--port", str(port)], env=env_for(home),
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        print(f"app starting on {url}", file=sys.stderr, flush=True)
        while not app_healthy(url):
            if app.poll() is not None:
                raise SystemExit((work / "app.log").read_text()[-3000:])
            time.sleep(0.5)
        results, wall = asyncio.run(drive(url, args.sessions, upload_file(work), expected))
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=30)
        stub.shutdown()
    check = subprocess.run([sys.executable, "-c", CLI, "check"], env=env_for(home), capture_output=True, text=True)
    report = summarize(results, wall, args.sessions, papers_before, check, (work / "app.log").read_text())
    print(json.dumps(report, indent=2))
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)


def summarize(results: dict[int, Any], wall: float, sessions: int, papers_before: int,
              check: subprocess.CompletedProcess[str], app_log: str) -> dict[str, Any]:
    from assistant.workspace import Workspace

    recs = [results[i] for i in sorted(results)]
    keys = {r["key"]: r["session"] for r in recs}
    wire = [(keys.get(auth.removeprefix("Bearer ")), marks) for auth, marks in Stub.seen]
    wire_ok = sum(1 for sess, marks in wire if sess is not None and marks and all(int(m) == sess for m in marks))
    answers = [r["answer_s"] for r in recs if "answer_s" in r]
    searches = [r["search_s"] for r in recs if "search_s" in r]
    papers_after = Workspace().library.count()
    return {
        "sessions": sessions, "wall_s": round(wall, 1),
        "failed_sessions": [{"session": r["session"], "errors": r["errors"]} for r in recs if r["errors"]],
        "answers_with_gold": sum(GOLD in r.get("answer", "") for r in recs),
        "history_own_only": sum(r.get("history_marks") == [str(r["session"])] for r in recs),
        "sidebar_key_own": sum(bool(r.get("sidebar_key_is_own")) for r in recs),
        "requests_at_stub": len(wire), "requests_with_matching_key": wire_ok,
        "search_top_as_expected": sum(r.get("search_top") == r.get("search_expected") for r in recs),
        "error_boxes": sum(r.get("error_boxes", 0) for r in recs), "tracebacks": sum(bool(r.get("traceback"))
                                                                                   for r in recs),
        "answer_s": {"p50": round(statistics.median(answers), 2) if answers else None,
                     "p95": round(pct(answers, 0.95), 2), "max": round(max(answers, default=float("nan")), 2)},
        "search_s": {"p50": round(statistics.median(searches), 2) if searches else None,
                     "p95": round(pct(searches, 0.95), 2), "max": round(max(searches, default=float("nan")), 2)},
        "throughput_ops_per_min": round(60 * (len(answers) + len(searches)) / wall, 1),
        "upload": {k: recs[0].get(k) for k in ("upload_s", "upload_report")},
        "papers_before": papers_before, "papers_after": papers_after,
        "check_after": {"exit": check.returncode, "last": (check.stdout.strip().splitlines() or [""])[-1]},
        "app_log_tracebacks": app_log.count("Traceback"),
    }


if __name__ == "__main__":
    main()
