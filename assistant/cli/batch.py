"""One line of an ask --batch file (kept apart so `litreview --help` does not load pydantic)."""

from __future__ import annotations

from pydantic import BaseModel


class BatchItem(BaseModel):
    """One line of an ask --batch file."""

    id: str
    query: str
