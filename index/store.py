"""The Chroma collection: the single source of truth for which chunks exist.

One collection; our own embeddings (never Chroma's default embedding function, which would
download a model); flat metadata. The collection's metadata records the embedding model's
fingerprint and dimension, and a store built with another model is refused.
Embedded ``PersistentClient`` by default, ``HttpClient`` when ``chroma_host`` is set.
"""
from __future__ import annotations

import hashlib
from typing import Any, Iterable, Sequence

import numpy as np

from index import faults
from index.embedding import Embedder
from npcqa.settings import Settings
from npcqa.types import Chunk

_PAGE = 5000


class StoreError(RuntimeError):
    """Base: the message is meant for a person (in Chinese, with the command that fixes it)."""


class ModelMismatch(StoreError):
    pass


class IndexMissing(StoreError):
    pass


class IndexUnavailable(StoreError):
    pass


def chroma_client(settings: Settings):
    """The Chroma client ``settings`` name: HTTP when ``chroma_host`` is set, else embedded under the home."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    cs = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=cs)
        except Exception as exc:
            raise IndexUnavailable(
                f"无法连接 Chroma 服务器 {settings.chroma_host}:{settings.chroma_port}（{exc}）；请用 "
                "`chroma run --path DIR --host HOST --port PORT` 启动它（服务器恢复后，运行中的应用会自动恢复回答）") from exc
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=cs)


def ids_digest_of(ids: Iterable[str]) -> str:
    """Digest of a set of chunk ids: the keyword index is tagged with it to tell whether it matches the store."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]


def _docs_of(chunks: Sequence[Chunk]) -> str:
    """The documents a write touches, for the fault-injection trace."""
    return ",".join(dict.fromkeys(c.doc_id for c in chunks))


def date_num(date: str) -> int:
    digits = "".join(ch for ch in date if ch.isdigit())[:8]
    return int(digits.ljust(8, "0")) if digits else 0


class ChunkStore:
    def __init__(self, settings: Settings, fingerprint: str | None, dim: int, create: bool = False):
        """``fingerprint``: the embedding model's; a store built with another one is refused. ``None`` opens an
        existing store for reading ids and metadata only (``ingest verify``), without loading a model."""
        self.settings = settings
        self.fingerprint, self.dim = fingerprint, dim
        self._client = chroma_client(settings)
        self._broken = False  # set after a failed call: the next call reconnects (server restarted, …)
        self._col = self._open(create)
        meta = self._col.metadata or {}
        built_with = meta.get("embed_model")
        if built_with and fingerprint is not None and built_with != fingerprint:
            raise ModelMismatch(
                f"{self.location} 中的索引是用嵌入模型 {built_with!r} 建立的，而当前设置为 {fingerprint!r}。"
                "请重建索引：`python -m ingest --rebuild`（或把 NPCQA_EMBED_MODEL 改回原来的值）。")

    @property
    def collection_id(self) -> str:
        """The collection's identity: a dropped and recreated collection (``--rebuild``, a wiped server) gets a
        new one, so a sync record written for the old collection is recognized as not describing this one."""
        return str(self._col.id)

    @property
    def location(self) -> str:
        s = self.settings
        return f"chroma://{s.chroma_host}:{s.chroma_port}" if s.chroma_host else str(s.chroma_dir)

    def _open(self, create: bool = False):
        name = self.settings.collection
        try:
            if create:
                return self._client.get_or_create_collection(
                    name, embedding_function=None, metadata={"embed_model": self.fingerprint, "dim": self.dim},
                    configuration={"hnsw": {"space": "cosine"}})
            return self._client.get_collection(name, embedding_function=None)
        except StoreError:
            raise
        except Exception as exc:
            if not create and ("does not exist" in str(exc) or "NotFound" in type(exc).__name__):
                raise IndexMissing(
                    f"在 {self.location} 中没有找到索引：请用 `make ingest`（python -m ingest）建立") from exc
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: Exception) -> IndexUnavailable:
        s = self.settings
        if s.chroma_host:
            return IndexUnavailable(
                f"索引暂不可用：Chroma 服务器 {s.chroma_host}:{s.chroma_port} 没有响应（{type(exc).__name__}: {exc}）。"
                f"请启动它（`chroma run --path DIR --host {s.chroma_host} --port {s.chroma_port}`）；"
                "服务器恢复后会自动恢复回答。")
        return IndexUnavailable(f"{self.location} 处的索引暂不可用：{exc}")

    def _reconnect(self) -> None:
        """After a failure: a fresh client and collection handle (the server may have restarted)."""
        try:
            self._client = chroma_client(self.settings)
        except IndexUnavailable:
            raise
        except Exception as exc:
            raise self._unavailable(exc) from exc
        self._col = self._open(create=False)
        self._broken = False

    def _guarded(self, call):
        """Run ``call()`` against the store; any failure becomes IndexUnavailable and the next call reconnects."""
        if self._broken:
            self._reconnect()
        try:
            return call()
        except StoreError:
            raise
        except Exception as exc:
            self._broken = True
            raise self._unavailable(exc) from exc

    def _guard(self, method: str, *args, **kwargs):
        """Call a collection method through ``_guarded``."""
        return self._guarded(lambda: getattr(self._col, method)(*args, **kwargs))

    def _bump(self) -> None:
        self._dirty = True

    def commit(self) -> None:
        """After a finished batch of writes, record a new revision token in the collection metadata, so
        processes sharing a Chroma server notice the change cheaply (``revision()``) and rebuild their
        keyword index once per sync, not once per batch of a sync still running."""
        if not getattr(self, "_dirty", False):
            return
        import uuid

        faults.point("store.commit")
        self._guard("modify", metadata={"embed_model": self.fingerprint, "dim": self.dim,
                                        "rev": uuid.uuid4().hex[:16]})
        self._dirty = False

    def revision(self) -> str:
        """Cheap change token: the revision committed by the last finished write (one request; a fresh
        collection handle, since a cached one keeps the metadata it was opened with)."""
        def fetch() -> str:
            col = self._client.get_collection(self.settings.collection, embedding_function=None)
            return str((col.metadata or {}).get("rev", ""))

        return self._guarded(fetch)

    # ---------------------------------------------------------------- reads
    def count(self) -> int:
        return self._guard("count")

    def _get(self, **kwargs) -> dict:
        return self._guard("get", **kwargs)

    def _pages(self, include: Sequence[str], where: dict | None = None) -> Iterable[dict]:
        """Chroma ``get`` results, ``_PAGE`` records at a time (the one paging loop over the store)."""
        total = self.count()
        for offset in range(0, total, _PAGE):
            yield self._get(include=list(include), limit=_PAGE, offset=offset, where=where)

    def iter_records(self, include: Sequence[str] = ("metadatas",), where: dict | None = None) -> Iterable[tuple]:
        for res in self._pages(include, where):
            docs = res.get("documents") or [None] * len(res["ids"])
            metas = res.get("metadatas") or [None] * len(res["ids"])
            yield from zip(res["ids"], docs, metas)

    def iter_vectors(self) -> Iterable[tuple[list[str], np.ndarray]]:
        """Every stored vector, a page at a time: (ids, float32 matrix), so no list of 9M Python floats."""
        for res in self._pages(["embeddings"]):
            if res["ids"]:
                yield list(res["ids"]), np.asarray(res["embeddings"], dtype=np.float32)

    def ids(self) -> list[str]:
        return sorted(i for i, _, _ in self.iter_records(include=()))

    def ids_digest(self) -> str:
        return ids_digest_of(self.ids())

    def all_chunks(self, where: dict | None = None) -> list[Chunk]:
        return [Chunk.from_record(i, d, m) for i, d, m in self.iter_records(("documents", "metadatas"), where)]

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        if not ids:
            return []
        res = self._get(ids=list(ids), include=["documents", "metadatas"])
        by_id = {i: Chunk.from_record(i, d, m) for i, d, m in zip(res["ids"], res["documents"], res["metadatas"])}
        return [by_id[i] for i in ids if i in by_id]

    def registry(self) -> dict[str, dict[str, Any]]:
        """doc_id → {hashes, ids, title, kind, …}: what the store holds, derived from chunk metadata."""
        docs: dict[str, dict[str, Any]] = {}
        for cid, _, m in self.iter_records(("metadatas",)):
            d = docs.setdefault(m["doc_id"], {
                "doc_id": m["doc_id"], "title": m.get("title", ""), "kind": m.get("kind", ""),
                "region": m.get("region", ""), "date": m.get("date", ""), "status": m.get("status", ""),
                "source": m.get("source", ""), "file": m.get("x_file", m.get("x_package_version", "")),
                "added": m.get("x_added", ""), "hashes": set(), "ids": set(),
            })
            d["hashes"].add(m.get("doc_hash", ""))
            d["ids"].add(cid)
        return docs

    def query(self, vector: np.ndarray, n: int, where: dict | None = None) -> list[tuple[Chunk, float]]:
        n = max(1, min(n, self.count()))
        res = self._guard("query", query_embeddings=[np.asarray(vector, dtype=np.float32).tolist()],
                          n_results=n, where=where, include=["documents", "metadatas", "distances"])
        out = []
        for cid, doc, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0]):
            out.append((Chunk.from_record(cid, doc, meta), 1.0 - float(dist)))
        return out

    # ---------------------------------------------------------------- writes
    @staticmethod
    def _metadatas(chunks: Sequence[Chunk]) -> list[dict]:
        """Flat Chroma metadata per chunk, plus a numeric date for range filters."""
        return [{**c.to_metadata(), "date_num": date_num(c.date)} for c in chunks]

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if not chunks:
            return
        faults.point("store.upsert", _docs_of(chunks))
        self._guard("upsert", ids=[c.id for c in chunks], embeddings=np.asarray(vectors, dtype=np.float32),
                    documents=[c.text for c in chunks], metadatas=self._metadatas(chunks))
        self._bump()

    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        if not chunks:
            return
        faults.point("store.update", _docs_of(chunks))
        self._guard("update", ids=[c.id for c in chunks], metadatas=self._metadatas(chunks))
        self._bump()

    def delete(self, ids: Iterable[str], why: str = "") -> None:
        """``why``: which document's chunks these are (only for the fault-injection trace)."""
        ids = list(ids)
        for i in range(0, len(ids), _PAGE):
            faults.point("store.delete", why)
            self._guard("delete", ids=ids[i: i + _PAGE])
        if ids:
            self._bump()


def open_store(settings: Settings, embedder: Embedder | None = None, create: bool = False) -> ChunkStore:
    """The one way to open the store. With ``embedder``: checked against its vector space (refused when
    the index was built with another model), and ``create`` makes the collection if there is none.
    Without: an existing store opened to read ids and metadata only (``ingest verify``), so no model
    needs to load; creating one needs the model's fingerprint and dimension."""
    if embedder is None:
        if create:
            raise ValueError("open_store(create=True) needs the embedder whose vectors the new index will hold")
        return ChunkStore(settings, None, 0)
    return ChunkStore(settings, embedder.fingerprint, embedder.dim, create=create)
