"""Errors the library raises; only the CLI and the app turn them into messages."""


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
