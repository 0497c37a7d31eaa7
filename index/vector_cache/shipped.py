"""The shipped law vectors (``index/law_vectors.npz``): content-addressed float16 rows under sorted
64-bit text keys, verified before use (format, shapes, sorted keys, digest, model fingerprint).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

SHIPPED_PATH = Path(__file__).parent.parent / "law_vectors.npz"  # index/law_vectors.npz, beside this package
FORMAT = 1
# The backend the shipped vectors are computed with: torch fp32 is CPU-independent to ~1e-6
# (measured: see README "Embedding cache"); int8 is not (~0.002 between CPUs).
SHIPPED_BACKEND = "st"
BUILD_COMMAND = "python -m ingest.law_vectors build"  # a string only: index does not import ingest
# float16 halves the file (23.6k x 384 x 2 B = 18 MB); its rounding (relative 2^-11 per component)
# moves a vector's cosine to its fp32 original by < 1e-6, far below the int8-vs-fp32 gap (~3e-3).
SHIPPED_DTYPE = np.float16
KEY_BYTES = 8  # of a text's SHA-256: 23.6k keys collide with probability ~1e-11
DIGEST_CHARS = 32


class CacheError(RuntimeError):
    """The shipped cache file is unusable; the message says how to regenerate it."""


def text_key(text: str) -> int:
    """64-bit key of a text (first 8 bytes of its SHA-256): 23.6k keys collide with probability ~1e-11."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:KEY_BYTES], "little")


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """``text_key`` of every text, as the uint64 array the file is sorted by."""
    return np.fromiter((text_key(t) for t in texts), dtype=np.uint64, count=len(texts))


def _digest(keys: np.ndarray, vectors: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(keys, dtype="<u8").tobytes())
    h.update(np.ascontiguousarray(vectors, dtype="<f2").tobytes())
    return h.hexdigest()[:DIGEST_CHARS]


class ShippedVectors:
    """The verified, read-only vector file shipped in the repository (sorted keys + float16 rows)."""

    def __init__(self, keys: np.ndarray, vectors: np.ndarray, meta: dict):
        self.keys, self.vectors, self.meta = keys, vectors, meta

    @property
    def fingerprint(self) -> str:
        return self.meta.get("fingerprint", "")

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def load(cls, path: Path = SHIPPED_PATH, verify: bool = True) -> "ShippedVectors":
        try:
            with np.load(path, allow_pickle=False) as z:
                keys, vectors = z["keys"], z["vectors"]
                meta = json.loads(str(z["meta"]))
        except (OSError, KeyError, ValueError) as exc:
            raise CacheError(f"embedding cache {path} is unreadable ({exc}); regenerate it: `{BUILD_COMMAND}`") from exc
        if verify:
            if meta.get("format") != FORMAT:
                raise CacheError(f"embedding cache {path} has format {meta.get('format')}, expected {FORMAT}; "
                                 f"regenerate it: `{BUILD_COMMAND}`")
            if keys.dtype != np.uint64 or vectors.dtype != SHIPPED_DTYPE or vectors.shape != (len(keys), meta.get("dim")):
                raise CacheError(f"embedding cache {path} has wrong shapes or types; regenerate it: `{BUILD_COMMAND}`")
            if meta.get("digest") != _digest(keys, vectors):
                raise CacheError(f"embedding cache {path} is corrupt (digest mismatch); regenerate it: `{BUILD_COMMAND}`")
            if len(keys) > 1 and not bool(np.all(keys[1:] > keys[:-1])):
                raise CacheError(f"embedding cache {path} keys are not sorted; regenerate it: `{BUILD_COMMAND}`")
        return cls(keys, vectors, meta)

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(found mask, float32 unit vectors for the found keys, in order)."""
        if not len(self.keys) or not len(keys):
            return np.zeros(len(keys), dtype=bool), np.zeros((0, self.vectors.shape[1] if self.vectors.ndim == 2 else 0),
                                                              dtype=np.float32)
        pos = np.searchsorted(self.keys, keys)
        pos_c = np.minimum(pos, len(self.keys) - 1)
        found = self.keys[pos_c] == keys
        vecs = self.vectors[pos_c[found]].astype(np.float32)
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return found, vecs

    @staticmethod
    def write(path: Path, keys: np.ndarray, vectors: np.ndarray, meta: dict) -> None:
        """Atomically write sorted (keys, float16 vectors) with ``meta`` (+ format, dim, count, digest)."""
        order = np.argsort(keys, kind="stable")
        keys = np.asarray(keys, dtype=np.uint64)[order]
        vectors = np.asarray(vectors, dtype=np.float32)[order].astype(SHIPPED_DTYPE)
        if len(keys) > 1 and not bool(np.all(keys[1:] > keys[:-1])):
            raise CacheError("duplicate text keys: deduplicate the texts before writing")
        meta = {**meta, "format": FORMAT, "dim": int(vectors.shape[1]), "count": int(len(keys)),
                "digest": _digest(keys, vectors)}
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npz", dir=path.parent)
        os.close(fd)
        try:
            np.savez(tmp, keys=keys, vectors=vectors, meta=np.array(json.dumps(meta, ensure_ascii=False)))
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


_SHIPPED: dict[tuple, ShippedVectors | None] = {}
_SHIPPED_LOCK = threading.Lock()


def shipped_vectors(path: Path = SHIPPED_PATH, fingerprint: str | None = None) -> ShippedVectors | None:
    """The shipped file if present, valid and of ``fingerprint``'s vector space; else None (with a
    warning on stderr when the file exists but is unusable). Loaded once per process."""
    key = (str(path), fingerprint)
    with _SHIPPED_LOCK:
        if key in _SHIPPED:
            return _SHIPPED[key]
        result = None
        if path.is_file():
            try:
                sv = ShippedVectors.load(path)
                if fingerprint is None or sv.fingerprint == fingerprint:
                    result = sv
            except CacheError as exc:
                print(f"警告：{exc}（将现场计算向量）", file=sys.stderr)
        _SHIPPED[key] = result
        return result
