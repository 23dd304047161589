"""Sentence splitting for snippets and evidence (pysbd: rule-based, handles e.g., et al., 3.5%)."""

from __future__ import annotations

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
