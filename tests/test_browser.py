"""The app end to end in a real headless Chromium (Playwright) against `litreview ui` on 127.0.0.1.

One server over a private copy of the sample library and one browser session serve the whole
module. The chat test asks the real bundled SmolLM2-135M and watches the answer stream in; the
writing pages run the extractive back-end (the 135M model would take minutes per job on two cores).
Every page is screenshotted: into a temporary folder, or into docs/screenshots when
LITREVIEW_SCREENSHOTS=1 (`LITREVIEW_SCREENSHOTS=1 .venv/bin/pytest tests/test_browser.py`).

Chromium is Debian's (scripts/setup-browser.sh installs it); Playwright's own download is not used.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import SampleBuild
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from servers import app_healthy, free_port

from assistant.app.state import PROVIDER_LABELS
from assistant.settings import HOME_ENV

CHROMIUM = Path("/usr/bin/chromium")  # Debian's, from scripts/setup-browser.sh
pytestmark = [
    pytest.mark.browser, pytest.mark.server, pytest.mark.llm, pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"no {CHROMIUM}: run scripts/setup-browser.sh (make test does)"),
]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS_ENV = "LITREVIEW_SCREENSHOTS"
DOCS_SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
MAX_SHOT_HEIGHT = 2000
STARTUP_LIMIT_S = 120.0
ANSWER_LIMIT_S = 300.0
JOB_LIMIT_MS = 120_000
CYBENCH_Q = "How many professional-level Capture the Flag tasks does Cybench include?"  # qa_dev f021
SURVEY_Q = ("Which papers propose ways for language models to use external tools, and how do they train "
            "them?")  # qa_dev s013
MAIN = "[data-testid='stMainBlockContainer']"  # the page body, without the sidebar
MARKDOWN = "[data-testid='stMarkdownContainer']"
CLI = "import sys; from assistant.cli import main; sys.exit(main())"


@dataclass(frozen=True)
class Server:
    url: str
    log: Path


@dataclass(frozen=True)
class Session:
    page: Page
    server: Server
    shots: Path


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server's process group (litreview ui and its streamlit child), then kill what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            proc.poll()  # reap the leader, or it stays in the group as a zombie
            if not group_alive(proc.pid):
                return
            time.sleep(0.2)


@pytest.fixture(scope="module")
def server(sample_build: SampleBuild) -> Iterator[Server]:
    """`litreview ui` on a free port over a private copy of the sample library; always stopped."""
    root = Path(tempfile.mkdtemp(prefix="litreview-browser-"))  # a short path: the Library page shows it
    home = root / "home"
    shutil.copytree(sample_build.home, home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITREVIEW_")} | {HOME_ENV: str(home)}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", CLI, "ui", "--port", str(port), "--host", "127.0.0.1"],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        started = time.monotonic()
        while not app_healthy(url):
            if proc.poll() is not None or time.monotonic() > started + STARTUP_LIMIT_S:
                pytest.fail(f"the app did not come up on {url}:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        print(f"\nbrowser: app server healthy after {time.monotonic() - started:.1f} s")
        yield Server(url=url, log=log_path)
    finally:
        stop(proc)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def session(server: Server, browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """One browser tab on the app (one Streamlit session, kept across the module's tests)."""
    shots = DOCS_SHOTS if os.environ.get(SHOTS_ENV) == "1" else tmp_path_factory.mktemp("screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(60_000)
    expect.set_options(timeout=60_000)
    started = time.monotonic()
    page.goto(server.url)
    heading(page, "Ask your library").wait_for(timeout=STARTUP_LIMIT_S * 1000)
    print(f"browser: chat page drawn {time.monotonic() - started:.1f} s after opening it")
    try:
        yield Session(page=page, server=server, shots=shots)
    finally:
        context.close()


# -- driving the app -------------------------------------------------------------------------------


def heading(page: Page, text: str) -> Locator:
    return page.locator(f"{MAIN} h1").filter(has_text=text)


def idle(page: Page) -> None:
    """Wait until the script run a click or key set off is over (and no element is left stale)."""
    with suppress(PlaywrightTimeout):  # a quick run may be over before it is seen
        page.wait_for_selector("[data-test-script-state='running']", timeout=1500)
    page.wait_for_selector("[data-test-script-state='notRunning']", state="attached", timeout=JOB_LIMIT_MS)
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')", timeout=JOB_LIMIT_MS)


def open_page(page: Page, title: str, h1: str) -> None:
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).click()
    heading(page, h1).wait_for()
    idle(page)


def choose_backend(page: Page, provider: str) -> None:
    box = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']")
    box.click()
    page.get_by_role("option", name=PROVIDER_LABELS[provider], exact=True).click()
    expect(box.get_by_role("combobox")).to_have_value(PROVIDER_LABELS[provider])
    idle(page)


def type_into(page: Page, label: str, text: str) -> None:
    """Fill a text input and commit it (Enter), as a user would."""
    box = page.locator(MAIN).get_by_role("textbox", name=label, exact=True)
    box.fill(text)
    box.press("Enter")
    idle(page)


def choose_topic_mode(page: Page) -> None:
    page.locator("[data-testid='stRadio']").get_by_text("Topic", exact=True).click()
    page.locator(MAIN).get_by_role("textbox", name="Topic", exact=True).wait_for()
    idle(page)


def set_slider(page: Page, label: str, value: int) -> None:
    """Move a slider with the keyboard (Home, then right arrows), as a user without a mouse would."""
    slider = page.locator(f"{MAIN} [data-testid='stSlider']").filter(has_text=label)
    thumb = slider.get_by_role("slider")
    thumb.focus()
    thumb.press("Home")
    for _ in range(value - int(thumb.get_attribute("min") or 0)):
        thumb.press("ArrowRight")
    page.keyboard.press("Tab")  # the value is sent when the thumb lets go
    idle(page)
    expect(slider.locator("[data-testid='stSliderThumbValue']")).to_have_text(str(value))


def run_button(page: Page, label: str) -> None:
    button = page.locator(f"{MAIN} button").filter(has_text=re.compile(f"^{label}$"))
    expect(button).to_be_enabled()
    button.click()


def no_errors(page: Page) -> None:
    """No Streamlit exception box, no error message and no traceback text anywhere on the page."""
    assert page.locator("[data-testid='stException']").count() == 0
    errors = page.locator("[data-testid='stAlertContentError']")
    assert errors.count() == 0, errors.all_inner_texts()
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and 'File "' not in body


CONTENT_HEIGHT = """() => {
  // the page body scrolls inside its own container, so full_page alone would stop at the viewport
  const body = document.querySelector('[data-testid="stMainBlockContainer"]');
  let box = body.parentElement;
  while (box && box.scrollHeight <= box.clientHeight) box = box.parentElement;
  return box ? box.scrollHeight + (window.innerHeight - box.clientHeight) : window.innerHeight;
}"""


def screenshot(s: Session, name: str) -> Path:
    """The whole page (the viewport grown to the content, up to a limit) as a PNG."""
    page = s.page
    height = page.evaluate(CONTENT_HEIGHT)
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"],
                                                                      min(int(height), MAX_SHOT_HEIGHT))})
    page.wait_for_timeout(500)
    path = s.shots / f"{name}.png"
    try:
        page.screenshot(path=str(path), full_page=True, animations="disabled")
    finally:
        page.set_viewport_size(VIEWPORT)
    assert path.stat().st_size > 10_000  # not blank
    return path


# -- the tests (in order: they share one session) --------------------------------------------------


STREAM_PROBE = """() => {
  // the reply's text so far (not the spinner's), and whether the finished answer (its expanders) is there
  const reply = document.querySelectorAll('[data-testid="stChatMessage"]')[1];
  if (!reply) return {text: '', done: false};
  let text = '';
  for (const md of reply.querySelectorAll('[data-testid="stMarkdownContainer"]')) {
    if (!md.closest('[data-testid="stSpinner"]')) text += md.innerText;
  }
  return {text: text.trim(), done: !!reply.querySelector('[data-testid="stExpander"]')};
}"""


def watch_reply(page: Page) -> tuple[list[tuple[float, str]], float]:
    """Poll the reply until the answer is complete: the texts seen on the way (with when), and the total time."""
    asked = time.monotonic()
    seen: list[tuple[float, str]] = []
    while not (probe := page.evaluate(STREAM_PROBE))["done"]:
        now = time.monotonic() - asked
        if probe["text"] and (not seen or seen[-1][1] != probe["text"]):
            seen.append((now, probe["text"]))
        assert now < ANSWER_LIMIT_S, f"no answer after {ANSWER_LIMIT_S:.0f} s; seen {seen}"
        time.sleep(0.05)
    return seen, time.monotonic() - asked


def expander(scope: Locator, label: str | re.Pattern[str]) -> Locator:
    """The expander whose label (not its content) matches."""
    return scope.locator("[data-testid='stExpander']").filter(
        has=scope.page.locator(f"summary {MARKDOWN}", has_text=label))


def test_chat_streams_a_cited_answer_from_the_bundled_model(session: Session) -> None:
    page = session.page
    choose_backend(page, "local")
    box = page.locator("[data-testid='stChatInputTextArea']")
    box.fill(CYBENCH_Q)
    box.press("Enter")
    seen, total = watch_reply(page)
    idle(page)
    reply = page.locator("[data-testid='stChatMessage']").nth(1)
    answer = reply.locator(MARKDOWN).first.inner_text()
    # streamed: a text seen early that later texts grow from (the final answer may replace the draft)
    grew = [text for _, text in seen if text != answer and text.startswith(seen[0][1])] if seen else []
    print(f"\nbrowser: first text after {seen[0][0] if seen else float('nan'):.1f} s, answer complete after "
          f"{total:.1f} s; lengths seen {[len(t) for _, t in seen]}")
    assert len(grew) >= 2, f"the answer did not stream: {seen}"

    assert "40 professional-level" in answer and re.search(r"\[\d+\]", answer), answer
    labels = [t.strip() for t in reply.locator(f"[data-testid='stExpander'] summary {MARKDOWN}").all_inner_texts()]
    assert labels[-1] == "Details" and labels[:-1], labels
    assert all(re.match(r"^\[\d+\] \S", label) for label in labels[:-1]), labels  # "[n] Title (year)"
    cited = expander(reply, re.compile(r"^\[\d+\] .*Cybench"))
    assert cited.count() == 1, labels
    cited.locator("summary").click()
    expect(cited.locator("[data-testid='stExpanderDetails']")).to_contain_text("we introduce Cybench")
    details = expander(reply, re.compile("^Details$"))
    details.locator("summary").click()
    line = details.locator("[data-testid='stCaptionContainer']").first
    expect(line).to_contain_text("total")
    text = line.inner_text()
    assert text.startswith("local") and "retrieval" in text and "first token" in text, text
    print(f"browser: Details: {text}")
    no_errors(page)
    details.locator("summary").click()  # the screenshot shows the answer and the cited abstract
    screenshot(session, "chat")


def test_chat_lists_the_papers_for_a_survey_question(session: Session) -> None:
    page = session.page
    open_page(page, "Chat", "Ask your library")
    page.get_by_role("button", name="New chat").click()
    idle(page)
    choose_backend(page, "extractive")
    box = page.locator("[data-testid='stChatInputTextArea']")
    box.fill(SURVEY_Q)
    box.press("Enter")
    watch_reply(page)
    idle(page)
    reply = page.locator("[data-testid='stChatMessage']").nth(1)
    expect(reply.locator(MARKDOWN).first).to_contain_text("papers in your library address this question")
    bullets = reply.locator(f"{MARKDOWN} li").all_inner_texts()
    assert len(bullets) >= 3 and all(re.search(r"\[\d+\]", b) for b in bullets), bullets
    labels = [t.strip() for t in reply.locator(f"[data-testid='stExpander'] summary {MARKDOWN}").all_inner_texts()]
    assert len(labels) - 1 == len(bullets), labels  # one citation expander per listed paper, then Details
    details = expander(reply, re.compile("^Details$"))
    details.locator("summary").click()
    expect(details.locator("[data-testid='stCaptionContainer']").first).to_contain_text("survey question")
    no_errors(page)
    details.locator("summary").click()
    screenshot(session, "chat-survey")


def test_library_page_lists_and_searches_the_papers(session: Session) -> None:
    page = session.page
    open_page(page, "Library", "Your library")
    metrics = page.locator("[data-testid='stMetricValue']")
    expect(metrics.nth(0)).to_have_text("282")
    expect(metrics.nth(1)).to_have_text("729")
    type_into(page, "Search", "a small model learns to call external tools")
    page.get_by_text("(best matches first)").wait_for()
    grid = page.locator("[data-testid='stDataFrame'] table[role='grid']")
    expect(grid.locator("td").first).to_have_text(re.compile(r"\w"))
    no_errors(page)
    screenshot(session, "library")


def test_summaries_page_summarises_papers_on_a_topic(session: Session) -> None:
    page = session.page
    open_page(page, "Summaries", "Summaries")
    choose_backend(page, "extractive")
    choose_topic_mode(page)
    set_slider(page, "At most this many papers", 3)
    type_into(page, "Topic", "small language models calling external tools")
    run_button(page, "Summarise")
    main = page.locator(MAIN)
    main.locator("h3").filter(has_text="Synthesis").wait_for(timeout=JOB_LIMIT_MS)
    idle(page)
    tldrs = [t for t in main.locator("[data-testid='stMarkdownContainer'] p").all_inner_texts()
             if re.match(r"^\[\d\] ", t)]
    assert len(tldrs) == 3, tldrs
    no_errors(page)
    screenshot(session, "summaries")


def test_compare_page_builds_a_table_by_topic(session: Session) -> None:
    page = session.page
    open_page(page, "Compare", "Compare papers")
    choose_topic_mode(page)
    set_slider(page, "At most this many papers", 5)
    type_into(page, "Topic", "parameter-efficient fine-tuning with low-rank adapters")
    run_button(page, "Compare")
    table = page.locator("[data-testid='stDataFrame']")
    table.wait_for(timeout=JOB_LIMIT_MS)
    idle(page)
    # the grid is drawn on a canvas; its accessible copy inside the canvas holds the headers and rows
    grid = table.locator("table[role='grid']")
    grid.locator("th").first.wait_for(state="attached", timeout=30_000)  # the canvas draws after the frame
    headers = [h.strip() for h in grid.locator("th").all_text_contents()]  # only the columns in view
    assert headers[:3] == ["Paper", "task", "method"] and grid.get_attribute("aria-colcount") == "6", headers
    rows = int(grid.get_attribute("aria-rowcount") or 0) - 1
    assert 2 <= rows <= 5, rows
    expect(page.get_by_text(f"{rows} papers × 5 fields")).to_be_visible()
    no_errors(page)
    screenshot(session, "compare")


def test_related_work_page_drafts_with_references(session: Session) -> None:
    page = session.page
    open_page(page, "Related work", "Related work")
    set_slider(page, "At most this many papers", 5)
    type_into(page, "Topic", "retrieval-augmented generation")
    run_button(page, "Draft")
    main = page.locator(MAIN)
    main.locator("h3").filter(has_text="References").wait_for(timeout=JOB_LIMIT_MS)
    idle(page)
    heads = main.locator("h3").all_inner_texts()
    assert len(heads) >= 2 and heads[-1].strip() == "References", heads
    assert main.get_by_text(re.compile(r"^\[1\] ")).count() >= 1
    no_errors(page)
    screenshot(session, "related-work")
    main.get_by_role("tab", name="LaTeX + BibTeX").click()
    latex = main.locator("[data-testid='stCode']").first
    expect(latex).to_be_visible()
    expect(latex).to_contain_text("\\cite{")


def test_no_stray_error_in_the_server_log(session: Session) -> None:
    log = session.server.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]

