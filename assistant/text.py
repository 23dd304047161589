"""Sentence splitting: pysbd for evidence (handles e.g., et al., 3.5%), a fast regex for snippets."""

from __future__ import annotations

import re
import threading
from functools import cache

import pysbd

_LOCK = threading.Lock()


@cache
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


@cache
def split_sentences(text: str) -> tuple[str, ...]:
    """The text's sentences, stripped, empty ones dropped."""
    with _LOCK:  # pysbd keeps state on the segmenter between calls
        parts = _segmenter().segment(text)
    return tuple(s.strip() for s in parts if s.strip())


_QUICK = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")


def quick_sentences(text: str) -> list[str]:
    """Sentences by punctuation and capitals: ~100x faster than pysbd, good enough for snippets."""
    return [s.strip() for s in _QUICK.split(text) if s.strip()]
