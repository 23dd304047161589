"""`litreview ui`: start the Streamlit app on this machine."""

from __future__ import annotations

import os
import socket
import sys
import tomllib
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from assistant.cli.common import app, err, progress_bar, workspace
from assistant.errors import LitReviewError

APP = Path(__file__).resolve().parents[1] / "app" / "main.py"
# The app's Streamlit settings (theme, headless, no telemetry, no tracebacks): in a checkout a symlink to
# .streamlit/config.toml, copied into the wheel; passed as flags, so they hold wherever `ui` is started.
CONFIG = APP.parent / "streamlit.toml"


@app.command()
def ui(
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve the app on.")] = 8501,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (127.0.0.1: this machine only).")
                    ] = "127.0.0.1",
    sample: Annotated[bool, typer.Option("--sample", help="Load the sample library first when it is empty.")] = False,
) -> None:
    """Start the app (chat, library, summaries, comparison tables, related work) in your browser."""
    from assistant.settings import HOME_ENV

    ws = workspace()
    if sample and not ws.library.count():
        with progress_bar() as bar:
            report = ws.ingest_sample(bar)
        err.print(f"sample library loaded: {report.new} papers", highlight=False)
    check_port(host, port)
    env = {**os.environ, HOME_ENV: str(ws.settings.home.resolve())}
    options = {**streamlit_options(), "server.address": host, "server.port": str(port)}
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), *(f"--{k}={v}" for k, v in options.items())]
    err.print(f"litreview app: http://{escape(host)}:{port}  (Ctrl-C stops it)", highlight=False)
    sys.stdout.flush()
    sys.stderr.flush()
    # Streamlit replaces this process, so a signal sent to `litreview ui` reaches the server itself.
    os.execve(sys.executable, cmd, env)


def streamlit_options(path: Path = CONFIG) -> dict[str, str]:
    """The packaged Streamlit config as {"section.option": value} for `streamlit run` flags."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LitReviewError(f"the app's Streamlit config {path} cannot be read: {exc}") from None
    return {
        f"{section}.{key}": str(value).lower() if isinstance(value, bool) else str(value)
        for section, values in data.items() if isinstance(values, dict)
        for key, value in values.items()
    }


def check_port(host: str, port: int) -> None:
    """Fail with one line when the port cannot be served on."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise LitReviewError(f"cannot serve on {host}:{port}: {exc.strerror or exc} (try --port)") from None
