"""Server processes for the tests: free ports, stopping, a real `chroma run` on 127.0.0.1, copying a library into it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.store import Library

STARTUP_LIMIT_S = 60.0


def chroma_executable() -> str | None:
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.is_file() else shutil.which("chroma")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server process, killing it if it has not gone within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def answers(url: str) -> bool:
    """True when a GET of the URL (a server's health or heartbeat endpoint) returns 200 within 2 s."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def app_healthy(url: str) -> bool:
    """True when the Streamlit app at the URL answers its health endpoint."""
    return answers(f"{url}/_stcore/health")


def start_chroma(data: Path, port: int) -> subprocess.Popen[bytes]:
    """`chroma run` on 127.0.0.1:port with its data in data/db, once it answers (log appended to data/server.log)."""
    exe = chroma_executable()
    if exe is None:
        raise RuntimeError("the chroma executable is not installed (it comes with the chromadb package)")
    url = f"http://127.0.0.1:{port}"
    log_path = data / "server.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen([exe, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while not answers(f"{url}/api/v2/heartbeat"):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"chroma run did not answer on {url}: {log_path.read_text()[-2000:]}")
        time.sleep(0.2)
    return proc


@contextmanager
def chroma_server(data: Path) -> Iterator[str]:
    """Start `chroma run` on a free port with its data in `data`; yield its URL; always stop it."""
    port = free_port()
    proc = start_chroma(data, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def copy_library(source: Library, target: Library) -> None:
    """Every record of one library (vectors included) written into another, e.g. embedded → server."""
    for name in ("_papers", "_chunks", "_meta"):
        src, dst = getattr(source, name), getattr(target, name)
        got = src.get(include=["embeddings", "documents", "metadatas"])
        for i in range(0, len(got["ids"]), 500):
            docs = got["documents"][i : i + 500] if got["documents"] is not None else None
            dst.upsert(ids=got["ids"][i : i + 500], embeddings=got["embeddings"][i : i + 500],
                       documents=docs, metadatas=got["metadatas"][i : i + 500])
