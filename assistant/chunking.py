"""Cut abstracts into token-bounded, overlapping chunks, the title kept with each."""

from __future__ import annotations

from functools import cache

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.offline import TIKTOKEN_ENCODING, tiktoken_offline
from assistant.settings import ChunkSettings
from assistant.types import Chunk, Paper, chunk_id

_SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]


@cache
def _splitter(chunk_tokens: int, overlap_tokens: int) -> RecursiveCharacterTextSplitter:
    tiktoken_offline()
    return RecursiveCharacterTextSplitter.from_tiktoken_encoder(
        encoding_name=TIKTOKEN_ENCODING,
        chunk_size=chunk_tokens,
        chunk_overlap=min(overlap_tokens, chunk_tokens // 2),
        separators=_SEPARATORS,
        keep_separator="end",
    )


def chunk_paper(paper: Paper, settings: ChunkSettings) -> list[Chunk]:
    """The paper's abstract as chunks (one chunk holding the title if the abstract is empty)."""
    splitter = _splitter(settings.chunk_tokens, settings.overlap_tokens)
    pieces = [p.strip() for p in splitter.split_text(paper.abstract) if p.strip()] or [paper.title]
    return [
        Chunk(
            chunk_id=chunk_id(paper.paper_id, i),
            paper_id=paper.paper_id,
            index=i,
            n_chunks=len(pieces),
            title=paper.title,
            text=piece,
        )
        for i, piece in enumerate(pieces)
    ]
