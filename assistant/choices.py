"""The closed sets of names a user picks from (back-ends, search modes, formats), importable without pydantic."""

from typing import Literal

Provider = Literal["extractive", "local", "openai", "openai-compatible"]  # who writes answers (the app's order)
SearchMode = Literal["hybrid", "dense", "bm25", "rrf"]  # how papers are ranked for a query
EvalSplit = Literal["dev", "test", "both"]  # which split of a dataset folder `litreview eval` runs
RefFormat = Literal["bib", "ris", "csljson", "csv"]  # reference formats `export` writes (and `ingest` reads back)
