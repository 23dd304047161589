"""Errors the library raises, and any exception as one safe line; only the CLI and the app show them."""

import re


class LitReviewError(Exception):
    """Base class: its message is one line a user can act on."""


class ConfigError(LitReviewError):
    """The settings are invalid or a configured part is unusable."""


class SourceError(LitReviewError):
    """An input file cannot be read as papers."""


class StoreError(LitReviewError):
    """The paper library cannot be opened, read or written."""


class EmbeddingMismatchError(StoreError):
    """The library was built with another embedding model than the one configured."""


class LibraryBusyError(StoreError):
    """Another process holds the library's write lock."""


class BackendError(LitReviewError):
    """The configured LLM back-end is unusable or failed."""


# Servers echo keys in their errors ("Incorrect API key provided: sk-..."): never pass one on.
_SECRET = re.compile(
    r"\b(?:sk|pk|rk|api|key)[-_][\w\-]{8,}"  # sk-..., sk-proj-..., key_...
    r"|\bBearer\s+\S+"
    r"|\b(?=[\w\-]*\d)(?=[\w\-]*[A-Za-z])[\w\-]{32,}",  # any long token mixing letters and digits
    re.IGNORECASE,
)
FIRST_LINE_CHARS = 300


def redact(text: str) -> str:
    """The text with anything shaped like an API key or bearer token replaced."""
    return _SECRET.sub("[redacted]", text)


def first_line(exc: BaseException) -> str:
    """An exception's message for one line: its first line, redacted, cut; its type name when it has none."""
    lines = str(exc).strip().splitlines()
    return redact(lines[0])[:FIRST_LINE_CHARS] if lines else type(exc).__name__
