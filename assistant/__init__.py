"""litreview: an offline-first literature-review assistant over your own papers."""

__version__ = "0.1.0"
