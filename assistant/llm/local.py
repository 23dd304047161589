"""The bundled SmolLM2-135M-Instruct GGUF, run in-process by llama-cpp-python, as a LangChain chat model."""

from __future__ import annotations

import atexit
import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from assistant.errors import BackendError
from assistant.offline import passive_threads

LOCAL_MAX_TOKENS = 80  # one grammar-bound sentence: ~300 characters and its citation; longer is cut off
# One character of a single sentence: no brackets (citations are the grammar's or the code's), no
# newline, and a full stop only inside a number, so the sentence ends at its first full stop.
_SENTENCE_CHAR = r'chr ::= [^\[\]\n.] | [0-9] "." [0-9]'

_MODELS: dict[tuple[str, int, int], Any] = {}
_LOCK = threading.Lock()  # one llama context per process; it is not thread-safe


@atexit.register
def _close_models() -> None:
    """Free the models before interpreter shutdown, when Llama.__del__ fails with a traceback on stderr."""
    for llama in _MODELS.values():
        with contextlib.suppress(Exception):
            llama.close()
    _MODELS.clear()


def load_llama(path: Path, n_ctx: int, n_threads: int) -> Any:
    """The llama.cpp model for a GGUF file, loaded once per process."""
    key = (str(path), n_ctx, n_threads)
    with _LOCK:
        if key not in _MODELS:
            if not path.is_file():
                raise BackendError(f"the local model file {path} is missing: reinstall with `make run`")
            passive_threads()
            try:
                from llama_cpp import Llama
            except ImportError:
                raise BackendError("llama-cpp-python is not installed: run `make run` to set up") from None
            try:
                _MODELS[key] = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise BackendError(f"the local model {path.name} could not be loaded: {exc}") from None
        return _MODELS[key]


def sentence_grammar(root: str, *rules: str) -> str:
    """GBNF for one sentence of the local model: `root` and `rules` may use `chr`, a character of one sentence."""
    return "\n".join([f"root ::= {root}", _SENTENCE_CHAR, *rules])


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")


def _grammar(gbnf: str | None, schema: str | dict[str, Any] | None) -> Any:
    """A llama.cpp grammar from GBNF text or a JSON schema (text or dict), or None for free text."""
    if not gbnf and not schema:
        return None
    if gbnf and schema:
        raise BackendError("bind either a grammar or a json_schema to the local model, not both")
    from llama_cpp import LlamaGrammar

    if gbnf:
        return LlamaGrammar.from_string(gbnf, verbose=False)
    return LlamaGrammar.from_json_schema(schema if isinstance(schema, str) else json.dumps(schema), verbose=False)


class LocalChatModel(BaseChatModel):
    """A chat model over a local GGUF; `grammar` (GBNF text) or `json_schema` may be bound per call."""

    model_path: Path
    n_ctx: int = 4096
    n_threads: int = 2
    temperature: float = 0.0
    max_tokens: int = 256

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    def count_tokens(self, text: str) -> int:
        """Tokens of the text in the model's own tokenizer."""
        llama = load_llama(self.model_path, self.n_ctx, self.n_threads)
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text, usage = "", None
        for chunk in self._stream(messages, stop, run_manager, **kwargs):
            text += str(chunk.message.content)
            usage = getattr(chunk.message, "usage_metadata", None) or usage
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text, usage_metadata=usage))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        llama = load_llama(self.model_path, self.n_ctx, self.n_threads)
        grammar = _grammar(kwargs.get("grammar"), kwargs.get("json_schema"))
        msgs = [{"role": _role(m), "content": str(m.content)} for m in messages]
        produced = 0
        with _LOCK:
            try:
                stream = llama.create_chat_completion(
                    msgs, grammar=grammar, stream=True, stop=stop,
                    max_tokens=kwargs.get("max_tokens", self.max_tokens),
                    temperature=kwargs.get("temperature", self.temperature),
                )
                for part in stream:
                    delta = part["choices"][0]["delta"].get("content")
                    if delta:
                        produced += 1
                        if run_manager:
                            run_manager.on_llm_new_token(delta)
                        yield ChatGenerationChunk(message=AIMessageChunk(content=delta))
            except ValueError as exc:  # e.g. the prompt does not fit the context window
                raise BackendError(f"the local model could not answer: {exc}") from None
            prompt = max(int(llama.n_tokens) - produced, 0)
        usage = UsageMetadata(input_tokens=prompt, output_tokens=produced, total_tokens=prompt + produced)
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=usage))
