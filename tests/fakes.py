"""Fakes for tests about logic: a scripted chat model (a real LangChain BaseChatModel that replies
from a queue) and a deterministic embedder (HashedWordEmbeddings, a real NamedEmbeddings).

    model = FakeChatModel()
    model.enqueue("Transformers use attention [1].")
    backend = fake_backend(model)                # a Backend as make_backend would build it
    ... Answerer(..., backend, ...).ask(...)
    model.history[0]                             # the messages of the first call
    model.bound[0]                               # what was bound: grammar=..., max_tokens=...

Every call (invoke or stream) takes the next queued reply; an empty queue is an error, so a test
that expects no call to the model fails if one is made. A reply may also be a function of the
call's messages (e.g. to copy a sentence from whichever source the prompt numbered 2).
Streaming yields the reply in several pieces, then an empty chunk carrying usage_metadata, as
ChatOpenAI does with stream_usage.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from assistant.embeddings import NamedEmbeddings
from assistant.llm.backends import Backend
from assistant.settings import Provider
from assistant.text import split_sentences
from assistant.tokens import count_tokens

Reply = str | Callable[[list[BaseMessage]], str]
SOURCE_BLOCK = re.compile(r"^\[(\d+)\] .*?\n<<<\n(.*?)\n>>>", re.MULTILINE | re.DOTALL)


class NoReplyQueued(RuntimeError):
    """The fake model was called with nothing left to say."""


@dataclass
class Call:
    """One call to the fake model."""

    messages: list[BaseMessage]
    kwargs: dict[str, Any]
    streamed: bool
    reply: str = ""
    chunks: list[str] = field(default_factory=list)


class FakeChatModel(BaseChatModel):
    """Replies with queued strings, in order; records every prompt and bound keyword."""

    replies: list[Reply] = Field(default_factory=list)
    calls: list[Call] = Field(default_factory=list)
    chunk_chars: int = 5  # a streamed reply comes in pieces of this many characters
    send_usage: bool = True  # False: like a server that ignores stream_options

    @property
    def _llm_type(self) -> str:
        return "fake-chat"

    def enqueue(self, *replies: Reply) -> FakeChatModel:
        """Queue replies for the next calls."""
        self.replies.extend(replies)
        return self

    @property
    def history(self) -> list[list[BaseMessage]]:
        """The messages of each call, in call order."""
        return [c.messages for c in self.calls]

    @property
    def bound(self) -> list[dict[str, Any]]:
        """The keywords each call got from .bind() (e.g. grammar, max_tokens), in call order."""
        return [c.kwargs for c in self.calls]

    @property
    def prompts(self) -> list[str]:
        """Each call's messages joined into one text (for `in` checks)."""
        return ["\n".join(str(m.content) for m in c.messages) for c in self.calls]

    def _take(self, messages: list[BaseMessage], kwargs: dict[str, Any], streamed: bool) -> Call:
        call = Call(messages=list(messages), kwargs=dict(kwargs), streamed=streamed)
        self.calls.append(call)
        if not self.replies:
            raise NoReplyQueued(f"FakeChatModel called (call {len(self.calls)}) with no reply queued")
        reply = self.replies.pop(0)
        call.reply = reply if isinstance(reply, str) else reply(call.messages)
        return call

    def _usage(self, messages: list[BaseMessage], reply: str) -> UsageMetadata:
        prompt = sum(count_tokens(str(m.content)) for m in messages)
        completion = count_tokens(reply)
        return UsageMetadata(input_tokens=prompt, output_tokens=completion, total_tokens=prompt + completion)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        call = self._take(messages, kwargs, streamed=False)
        usage = self._usage(messages, call.reply) if self.send_usage else None
        message = AIMessage(content=call.reply, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = self._take(messages, kwargs, streamed=True)
        size = max(1, self.chunk_chars)
        for i in range(0, len(call.reply), size):
            piece = call.reply[i : i + size]
            call.chunks.append(piece)
            if run_manager:
                run_manager.on_llm_new_token(piece)
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        if self.send_usage:
            usage = self._usage(messages, call.reply)
            yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage))


def fake_backend(
    model: FakeChatModel,
    provider: Provider = "openai-compatible",
    model_name: str = "fake-model",
    context_tokens: int = 4096,
    max_tokens: int = 256,
) -> Backend:
    """A Backend around the fake model, shaped as make_backend builds one for the provider."""
    base_url = "http://127.0.0.1:9/v1" if provider == "openai-compatible" else None
    return Backend(provider, model_name, model, count_tokens, context_tokens, max_tokens, base_url=base_url)


def shown_sources(messages: list[BaseMessage]) -> dict[int, str]:
    """The numbered source texts in a prompt, as the model saw them."""
    return {int(n): text for n, text in SOURCE_BLOCK.findall(str(messages[-1].content))}


def quote(n: int, containing: str = "", cite: str | None = None) -> Callable[[list[BaseMessage]], str]:
    """A reply copying one sentence of source n (the first one holding `containing`), citing [n]."""

    def reply(messages: list[BaseMessage]) -> str:
        sentence = next(s for s in split_sentences(shown_sources(messages)[n]) if containing in s)
        return f"{sentence.rstrip('.')} [{cite or n}]."

    return reply


class HashedWordEmbeddings(NamedEmbeddings):
    """A deterministic embedder for logic tests: hashed word counts, unit length, no model loaded.

    Texts sharing words are near and others are not, which is all that ingest, the store, dedupe or
    locking need; a test about ranking quality uses the real MiniLM instead.
    """

    name = "test/hashed-words"
    dimension = 256

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text."""
        return [self.embed_query(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Counts of the text's words in `dimension` hashed buckets, unit length."""
        vec = [0.0] * self.dimension
        for word in re.findall(r"\w+", text.casefold()):
            vec[zlib.crc32(word.encode()) % self.dimension] += 1.0
        norm = math.sqrt(sum(v * v for v in vec))
        return [v / norm for v in vec] if norm else [1.0] + [0.0] * (self.dimension - 1)
