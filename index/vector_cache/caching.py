"""``CachingEmbedder``: the embedder every caller gets (``index.embedding.make_embedder``). It looks
passages up in the shipped vectors, then the local cache, and loads the real model only on a miss or
the first query; ``fill_in_subprocess`` embeds a build's misses in a child process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Sequence

import numpy as np

from index.vector_cache.local import LocalCache
from index.vector_cache.shipped import ShippedVectors, text_keys
from npcqa.paths import REPO_ROOT


class CachingEmbedder:
    """An Embedder that looks vectors up before encoding and loads its backend only when it must.

    ``fingerprint`` and ``dim`` are known without the model (the store checks them at open);
    ``factory()`` builds the real backend on the first cache miss or query. Counters (``hits_shipped``,
    ``hits_local``, ``computed``) say where the vectors of this process came from."""

    def __init__(self, factory: Callable[[], object], fingerprint: str, dim: int,
                 shipped: ShippedVectors | None = None, local: LocalCache | None = None):
        self._factory = factory
        self.fingerprint, self.dim = fingerprint, dim
        self.shipped, self.local = shipped, local
        self._inner = None
        self._load_lock = threading.Lock()
        self.hits_shipped = self.hits_local = self.computed = 0
        self.load_seconds: float | None = None

    @property
    def loaded(self) -> bool:
        return self._inner is not None

    def backend(self):
        """The real model, loaded on first use (thread-safe; later calls return it at once)."""
        if self._inner is None:
            with self._load_lock:
                if self._inner is None:
                    t0 = time.perf_counter()
                    inner = self._factory()
                    if inner.fingerprint != self.fingerprint or inner.dim != self.dim:
                        raise RuntimeError(f"embedding backend is {inner.fingerprint}/{inner.dim}, "
                                           f"expected {self.fingerprint}/{self.dim}")
                    self.load_seconds = round(time.perf_counter() - t0, 2)
                    self._inner = inner
        return self._inner

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        keys = text_keys(texts)
        todo = np.ones(len(texts), dtype=bool)
        if self.shipped is not None:
            found, vecs = self.shipped.lookup(keys)
            out[found] = vecs
            todo &= ~found
            self.hits_shipped += int(found.sum())
        if self.local is not None and todo.any():
            got = self.local.get(self.fingerprint, [int(k) for k in keys[todo]])
            for i in np.flatnonzero(todo):
                v = got.get(int(keys[i]))
                if v is not None and v.shape == (self.dim,):
                    out[i] = v
                    todo[i] = False
                    self.hits_local += 1
        if todo.any():
            idx = np.flatnonzero(todo)
            vecs = np.asarray(self.backend().embed_passages([texts[i] for i in idx]), dtype=np.float32)
            out[idx] = vecs
            self.computed += len(idx)
            if self.local is not None:
                self.local.put(self.fingerprint, [int(keys[i]) for i in idx], vecs)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.backend().embed_query(text)

    def missing(self, texts: Sequence[str]) -> list[str]:
        """The distinct texts neither cache holds (what ``embed_passages`` would hand to the model)."""
        texts = list(dict.fromkeys(texts))
        keys = text_keys(texts)
        todo = np.ones(len(texts), dtype=bool)
        if self.shipped is not None:
            todo &= ~self.shipped.lookup(keys)[0]
        if self.local is not None and todo.any():
            got = self.local.get(self.fingerprint, [int(k) for k in keys[todo]])
            todo &= ~np.isin(keys, np.fromiter(got, dtype=np.uint64, count=len(got)))
        return [t for t, m in zip(texts, todo) if m]


def fill_in_subprocess(settings, texts: Sequence[str]) -> int:
    """Embed ``texts`` into ``settings``' local cache in a child process (``python -m index.vector_cache
    fill``), so the caller never imports torch: a full build then holds the index (~1.1 GB for all laws)
    and the model (~0.85 GB) one after the other, never both (measured: 1.9 GB peak in one process)."""
    if not texts:
        return 0
    fd, tmp = tempfile.mkstemp(prefix="npcqa-fill-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(list(texts), f, ensure_ascii=False)
    try:
        env = {**os.environ, "NPCQA_HOME": str(settings.home), "NPCQA_EMBED_MODEL": settings.embed_model,
               "NPCQA_MODEL_CACHE": str(settings.models_dir), "NPCQA_EMBED_THREADS": str(settings.embed_threads),
               "NPCQA_EMBED_BATCH": str(settings.embed_batch)}
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
        subprocess.run([sys.executable, "-m", "index.vector_cache", "fill", "--texts", tmp], check=True, env=env,
                       cwd=str(REPO_ROOT))
    finally:
        os.unlink(tmp)
    return len(texts)
