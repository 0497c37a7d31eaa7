"""Jieba-tokenized BM25 (bm25s) over every chunk, persisted beside the Chroma store.

The keyword index is derived data: it is tagged with the digest of the collection's chunk ids
and rebuilt from the collection whenever the two disagree (after a crash, a sync by another
process, or a Chroma server shared by several apps). It also keeps every chunk's text and
metadata in memory, which makes keyword hits, article lookups and quizzes free of store reads.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from index import faults
from index.store import ChunkStore, ids_digest_of
from npcqa.text import tokenize
from npcqa.types import Chunk

FORMAT = 1
# A temp dir of a save killed midway (``.kw-*``, or ``<dir>.old`` left between the two renames) is removed by a
# later save once it is this old. Not sooner: another process (an app beside the CLI) may be saving right now,
# and one save of the full law DB takes seconds, never an hour.
STALE_TMP_SECONDS = 3600


def _quiet_bm25s() -> None:
    """bm25s sets its own logger to DEBUG at import; keep its progress chatter out of our output."""
    logging.getLogger("bm25s").setLevel(logging.WARNING)


class KeywordIndex:
    def __init__(self, chunks: list[Chunk], bm25, digest: str):
        self.chunks = chunks
        self.by_id = {c.id: i for i, c in enumerate(chunks)}
        self.bm25 = bm25
        self.digest = digest

    # ---------------------------------------------------------------- build / persist
    @classmethod
    def build(cls, chunks: list[Chunk], digest: str) -> "KeywordIndex":
        import bm25s

        _quiet_bm25s()

        chunks = sorted(chunks, key=lambda c: c.id)
        bm25 = None
        if chunks:
            bm25 = bm25s.BM25()
            corpus = [tokenize(c.embed_text) or ["∅"] for c in chunks]
            bm25.index(corpus, show_progress=False)
        return cls(chunks, bm25, digest)

    def save(self, directory: Path) -> None:
        """Write to a temp dir then swap it in, so readers never see a half-written index.

        A process killed between the two renames leaves no ``directory``; ``load`` then returns None and
        the index is re-derived from the store, so every kill point here is repaired by the next load."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_tmp(directory)
        faults.point("keyword.write")
        tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=".kw-"))
        try:
            if self.bm25 is not None:
                self.bm25.save(str(tmp / "bm25"), show_progress=False)
            with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
                for c in self.chunks:
                    f.write(json.dumps({"id": c.id, "text": c.text, "meta": c.to_metadata()}, ensure_ascii=False) + "\n")
            (tmp / "meta.json").write_text(json.dumps({"format": FORMAT, "digest": self.digest, "n": len(self.chunks)}))
            old = directory.with_name(directory.name + ".old")
            faults.point("keyword.swap")
            if directory.exists():
                shutil.rmtree(old, ignore_errors=True)  # a leftover of a killed save would make the rename fail
                os.replace(directory, old)
                faults.point("keyword.swap.between")
            os.replace(tmp, directory)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> "KeywordIndex | None":
        import bm25s

        _quiet_bm25s()

        try:
            meta = json.loads((directory / "meta.json").read_text())
            if meta.get("format") != FORMAT:
                return None
            chunks = []
            with open(directory / "chunks.jsonl", encoding="utf-8") as f:
                for line in f:
                    r = json.loads(line)
                    chunks.append(Chunk.from_record(r["id"], r["text"], r["meta"]))
            bm25 = bm25s.BM25.load(str(directory / "bm25"), show_progress=False) if chunks else None
            return cls(chunks, bm25, meta["digest"])
        except (OSError, ValueError, KeyError):
            return None

    # ---------------------------------------------------------------- search
    def scores(self, query: str) -> np.ndarray:
        toks = tokenize(query)
        if self.bm25 is None or not toks:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(toks), dtype=np.float32)

    def search(self, query: str, n: int, mask: np.ndarray | None = None) -> list[tuple[Chunk, float]]:
        s = self.scores(query)
        if mask is not None:
            s = np.where(mask, s, 0.0)
        n = min(n, int((s > 0).sum()))
        if n <= 0:
            return []
        top = np.argpartition(-s, n - 1)[:n]
        top = top[np.argsort(-s[top])]
        return [(self.chunks[i], float(s[i])) for i in top]


def _remove_stale_tmp(directory: Path) -> None:
    cutoff = time.time() - STALE_TMP_SECONDS
    for p in [*directory.parent.glob(".kw-*"), directory.with_name(directory.name + ".old")]:
        try:
            if p.is_dir() and p.stat().st_mtime < cutoff:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def stored_digest(directory: Path) -> tuple[str, int] | None:
    """(digest, chunk count) the persisted index was built from, reading only its small meta file (for
    ``ingest verify``); None when there is no complete index."""
    try:
        meta = json.loads((directory / "meta.json").read_text())
        if meta.get("format") != FORMAT or not (directory / "chunks.jsonl").is_file():
            return None
        return str(meta["digest"]), int(meta["n"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def sync_keyword_index(store: ChunkStore, directory: Path, digest: str | None = None) -> KeywordIndex:
    """Load the persisted index if it matches the store; otherwise rebuild it from the store.

    Writers call this last, so it also commits their writes' revision token (see ChunkStore.commit).
    A rebuilt index is tagged with the digest of the chunks it was actually built from (not of a second
    read of the ids), so a store that changed in between is noticed at the next load."""
    store.commit()
    digest = digest or store.ids_digest()
    kw = KeywordIndex.load(directory)
    if kw is not None and kw.digest == digest:
        return kw
    chunks = store.all_chunks()
    kw = KeywordIndex.build(chunks, ids_digest_of(c.id for c in chunks))
    try:
        kw.save(directory)
    except OSError:
        pass  # read-only home: still usable in memory
    return kw
