"""Incremental sync of the store with the corpus, decided by content hashes and the sync record.

Crash safety: a sync killed at any point (SIGKILL, OOM, a Chroma server going away) leaves the old
chunks queryable, and the next run converges to exactly a clean build's chunk set. Per document, new
chunks are embedded and upserted first, then kept chunks get the new metadata, then stale chunks are
deleted, and only then is the document recorded as synced (``ingest.record``). Each run starts by
comparing the store with that record (chunk ids only while they agree, every chunk's metadata only to
explain a difference; never an embedding): a document whose stored chunk ids are not exactly what its
recorded content hash implies is re-synced. The keyword index is re-derived
from the collection last (and again at load time if the two disagree). A file that fails to read keeps
its previously indexed chunks: a bad upload never erases good data.
"""
from __future__ import annotations

import contextlib
import fcntl
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index import faults
from index.embedding import Embedder, make_embedder
from index.keyword import KeywordIndex, sync_keyword_index
from index.store import ChunkStore, open_store
from ingest import rejections
from ingest.chunking import chunk_document
from ingest.corpus import FileSource, Manifest, build_document, discover_files, load_manifest
from ingest.lawdb import manifest_laws
from ingest.progress import Progress, terminal_progress
from ingest.readers import ReadError
from ingest.record import Drift, SyncRecord, remove_record
from npcqa.clock import utc_now_iso
from npcqa.settings import Settings
from npcqa.types import Chunk, Document

WAITING_MESSAGE = "等待其他同步完成…"  # shown as it is by the CLI progress line and the console
WRITE_BATCH = 256  # embedded chunks per Chroma upsert (see apply_documents); tests shrink it (index.faults)


@dataclass
class SyncReport:
    docs_added: int = 0
    docs_updated: int = 0
    docs_deleted: int = 0
    docs_unchanged: int = 0
    chunks_embedded: int = 0
    chunks_total: int = 0
    errors: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    changed_doc_ids: list[str] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)  # found at the start (and re-synced by this run)

    @property
    def docs_repaired(self) -> int:
        return len(self.drift)

    def to_json(self) -> dict:
        out = {k: getattr(self, k) for k in ("docs_added", "docs_updated", "docs_deleted", "docs_unchanged",
                                             "chunks_embedded", "chunks_total", "errors", "seconds")}
        out["docs_repaired"] = self.docs_repaired  # added after the first eight keys, which stay as they were
        return out


class SyncBusy(RuntimeError):
    pass


@contextlib.contextmanager
def sync_lock(settings: Settings, wait: bool = True):
    """One writer at a time (CLI, web console, several app processes on one home)."""
    settings.ensure_home()
    with open(settings.home / "sync.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as exc:
            raise SyncBusy("另一个同步正在进行；请等它结束后再试") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@contextlib.contextmanager
def sync_lock_waiting(settings: Settings, progress: Progress | None):
    """The sync lock for a maintainer's add / remove: says so (through ``progress``) when it has to wait
    for another sync, then waits."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(sync_lock(settings, wait=False))
        except SyncBusy:
            if progress:
                progress(0, 0, WAITING_MESSAGE)
            stack.enter_context(sync_lock(settings))
        yield


def collect_documents(settings: Settings, manifest: Manifest | None = None,
                      only: list[FileSource] | None = None) -> tuple[list[Document], list[dict], set[str]]:
    """Every document the corpus defines. Returns (documents, errors, doc_ids that failed to read)."""
    manifest = manifest or load_manifest(settings.corpus_dir)
    docs: list[Document] = []
    errors: list[dict] = []
    failed: set[str] = set()
    if only is None:
        laws, missing = manifest_laws(settings, manifest)  # all laws or --core-laws (see ingest.lawdb)
        docs.extend(laws)
        for name in missing:
            reason = rejections.law_not_found(name, manifest.law_status)
            errors.append({"path": "corpus/manifest.toml", "reason": reason.text, "code": reason.code})
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    for src in only if only is not None else discover_files(settings, manifest):
        try:
            docs.append(build_document(src, max_bytes))
        except ReadError as exc:
            errors.append({"path": str(src.path), **exc.to_json()})
            failed.add(src.rel)
    return docs, errors, failed


def is_synced(doc: Document, registry: dict, record: SyncRecord, verified: set[str]) -> bool:
    """True when ``doc`` needs no work: the store holds exactly what the record says for this content hash."""
    entry = record.entries.get(doc.doc_id)
    return doc.doc_id in verified and entry is not None and entry.hash == doc.hash


def verified_docs(registry: dict, record: SyncRecord, drift: list[Drift]) -> set[str]:
    """Stored documents whose chunks are exactly the recorded ones: the only ones a sync may skip."""
    bad = {d.doc_id for d in drift}
    return {doc_id for doc_id in registry if doc_id not in bad and doc_id in record.entries}


@dataclass
class _DocPlan:
    doc: Document
    chunks: list[Chunk]
    existing: set[str]  # this document's chunk ids in the store now
    added: str
    end: int  # position in the embedding queue after this document's last new chunk


def apply_documents(store: ChunkStore, embedder: Embedder, docs: list[Document], registry: dict,
                    report: SyncReport, batch: int, progress: Progress | None, delete_missing: set[str] | None,
                    now: str, record: SyncRecord, verified: set[str]) -> None:
    """Bring the store in line with ``docs``; delete the doc_ids in ``delete_missing``.

    Crash safety, per document: its new chunks are upserted (in groups of WRITE_BATCH that may span
    documents), then its kept chunks get the new metadata, then its stale chunks are deleted, and only
    then is it recorded as synced (``record.mark_synced``). A kill anywhere leaves the document either
    recorded with exactly its stored chunks, or not verified, and the next run re-syncs it (embedding
    only the chunks that are not stored yet). A removed document is forgotten by the record before its
    chunks are deleted.
    """
    plans: list[_DocPlan] = []
    to_embed: list[Chunk] = []
    for doc in docs:
        if is_synced(doc, registry, record, verified):
            report.docs_unchanged += 1
            continue
        have = registry.get(doc.doc_id)
        chunks = chunk_document(doc)
        ids = {c.id for c in chunks}
        existing = set(have["ids"]) if have else set()
        added = (have or {}).get("added") or (record.entries[doc.doc_id].added if doc.doc_id in record.entries
                                               else "") or now
        if have and existing == ids and have["hashes"] == {doc.hash}:
            # every chunk of this version is stored, only the record is missing (an interrupted sync, or an
            # index built before the record existed): record it, nothing to write or embed
            record.mark_synced(doc.doc_id, doc.hash, ids, added)
            report.docs_unchanged += 1
            continue
        for c in chunks:
            c.extra["added"] = added
        to_embed.extend(c for c in chunks if c.id not in existing)
        plans.append(_DocPlan(doc, chunks, existing, added, len(to_embed)))
        if have:
            report.docs_updated += 1
        else:
            report.docs_added += 1
        report.changed_doc_ids.append(doc.doc_id)

    total = len(to_embed)
    if progress:
        progress(0, total, "embedding")
    write_batch = faults.write_batch(WRITE_BATCH)
    # Chroma's cost per upsert call is mostly fixed (measured: 1,329 chunks in 5.9 s as 32-chunk calls,
    # 1.8 s as 256-chunk calls), so embedded chunks are written in groups of WRITE_BATCH. A crash
    # loses at most one group of embeddings, which the next run embeds again.
    pending: list[Chunk] = []
    pending_vecs: list[np.ndarray] = []
    written = 0  # chunks of the queue that are in the store
    waiting = list(reversed(plans))  # documents not yet finished, next one last

    def finish_ready() -> None:
        """Finish (metadata, stale deletion, record) every document whose new chunks are all written."""
        while waiting and waiting[-1].end <= written:
            p = waiting.pop()
            ids = {c.id for c in p.chunks}
            store.update_metadata([c for c in p.chunks if c.id in p.existing])
            store.delete(sorted(p.existing - ids), why=p.doc.doc_id)
            record.mark_synced(p.doc.doc_id, p.doc.hash, ids, p.added)

    def flush() -> None:
        nonlocal written
        if pending:
            store.upsert(pending, np.concatenate(pending_vecs))
            written += len(pending)
            pending.clear()
            pending_vecs.clear()
        finish_ready()

    finish_ready()  # documents with nothing to embed (only stale chunks or metadata)
    for i in range(0, total, batch):
        part = to_embed[i: i + batch]
        pending_vecs.append(np.asarray(embedder.embed_passages([c.embed_text for c in part]), dtype=np.float32))
        pending.extend(part)
        if len(pending) >= write_batch:
            flush()
        report.chunks_embedded += len(part)
        if progress:
            progress(report.chunks_embedded, total, "embedding")
    flush()
    for doc_id in sorted(delete_missing or ()):
        record.forget(doc_id)
        store.delete(sorted(registry.get(doc_id, {}).get("ids", ())), why=doc_id)
        report.docs_deleted += 1
        report.changed_doc_ids.append(doc_id)


def _stored_state(store: ChunkStore, record: SyncRecord, stored_ids: list[str] | None = None
                  ) -> tuple[dict, list[Drift]]:
    """(registry, drift). Ids only when the store matches the record (the usual case); only otherwise every
    chunk's metadata, to find out which documents differ and how."""
    stored_ids = store.ids() if stored_ids is None else stored_ids
    if record.matches(stored_ids):
        return record.as_registry(), []
    registry = store.registry()
    return registry, record.drift(registry)


def _sync_locked(settings: Settings, embedder: Embedder, progress: Progress | None, report: SyncReport,
                 only: set[str] | None = None) -> KeywordIndex:
    """The sync proper (the caller holds the lock). ``only``: restrict to these doc_ids (``verify --repair``)."""
    store = open_store(settings, embedder, create=True)
    docs, errors, failed = collect_documents(settings)
    report.errors = errors
    record = SyncRecord.open(settings, store)
    registry, drift = _stored_state(store, record)
    report.drift = [d for d in drift if d.doc_id not in failed and (only is None or d.doc_id in only)]
    verified = verified_docs(registry, record, drift)
    wanted = {d.doc_id for d in docs}
    gone = {doc_id for doc_id in set(registry) | set(record.entries) if doc_id not in wanted and doc_id not in failed}
    if only is not None:
        docs = [d for d in docs if d.doc_id in only]
        gone &= only
    now = utc_now_iso()
    apply_documents(store, embedder, docs, registry, report, settings.embed_batch, progress, gone, now, record,
                    verified)
    kw = sync_keyword_index(store, settings.keyword_dir)
    record.compact()
    report.chunks_total = len(kw.chunks)
    return kw


def run_sync(settings: Settings, embedder: Embedder | None = None, quiet: bool = False,
             progress: Progress | None = None, rebuild: bool = False) -> tuple[SyncReport, KeywordIndex]:
    """``python -m ingest``: make the store equal to the corpus.

    Starts by checking the store against the sync record (ids and metadata, no embeddings): a document
    a killed sync left incomplete is re-synced, whatever its content hash says."""
    t0 = time.perf_counter()
    report = SyncReport()
    embedder = embedder or make_embedder(settings)
    progress = progress or terminal_progress(quiet)
    with sync_lock(settings):
        if rebuild:
            drop_collection(settings)
        kw = _sync_locked(settings, embedder, progress, report)
    report.seconds = round(time.perf_counter() - t0, 3)
    return report, kw


@dataclass
class KeywordCheck:
    ok: bool
    chunks: int  # chunks in the persisted keyword index (0 when there is none)
    reason: str = ""  # why it does not match, for a person

    def to_json(self) -> dict:
        return {"ok": self.ok, "chunks": self.chunks, "reason": self.reason}


@dataclass
class VerifyReport:
    """``python -m ingest verify``: store vs sync record vs keyword index."""

    docs_stored: int
    docs_recorded: int
    chunks_stored: int
    drift: list[Drift]
    keyword: KeywordCheck
    repaired: bool = False
    remaining: list[Drift] = field(default_factory=list)  # drift left after --repair (unreadable sources)
    keyword_after: KeywordCheck | None = None
    repair_errors: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No drift found (before any repair)."""
        return not self.drift and self.keyword.ok

    def to_json(self) -> dict:
        return {"ok": self.ok, "docs_stored": self.docs_stored, "docs_recorded": self.docs_recorded,
                "chunks_stored": self.chunks_stored, "drift": [d.to_json() for d in self.drift],
                "keyword": self.keyword.to_json(), "repaired": self.repaired,
                "remaining": [d.to_json() for d in self.remaining],
                "keyword_after": self.keyword_after.to_json() if self.keyword_after else None,
                "repair_errors": self.repair_errors, "seconds": self.seconds}


def _check(settings: Settings, store: ChunkStore) -> tuple[int, int, SyncRecord, list[Drift], KeywordCheck]:
    """(documents stored, chunks stored, record, drift, keyword check)."""
    from index.keyword import stored_digest
    from index.store import ids_digest_of

    stored_ids = store.ids()
    record = SyncRecord.open(settings, store, write=False)
    registry, drift = _stored_state(store, record, stored_ids)
    kw = stored_digest(settings.keyword_dir)
    if kw is None:
        check = KeywordCheck(False, 0, "关键词索引缺失或不完整；同步或 --repair 会按存储重建")
    elif kw[0] != ids_digest_of(stored_ids):
        check = KeywordCheck(False, kw[1], f"关键词索引（{kw[1]} 个片段）与存储（{len(stored_ids)} 个片段）不一致；"
                                           "同步或 --repair 会按存储重建")
    else:
        check = KeywordCheck(True, kw[1])
    return len(registry), len(stored_ids), record, drift, check


def verify_index(settings: Settings, repair: bool = False, embedder: Embedder | None = None) -> VerifyReport:
    """Compare store, sync record and keyword index: chunk ids only while they agree (every chunk's metadata
    only to explain a difference); no documents, vectors or embedding, no corpus read.

    ``repair``: re-sync exactly the drifted documents from their sources (embedding only chunks that are
    not stored) and re-derive the keyword index; other corpus changes are left to the next sync.
    Raises SyncBusy when a sync is running (its half-done state is not drift), IndexMissing without an index.
    """
    t0 = time.perf_counter()
    with sync_lock(settings, wait=False):
        store = open_store(settings)  # reads only: no model needed (loading it takes seconds)
        docs_stored, chunks_stored, record, drift, kw = _check(settings, store)
        out = VerifyReport(docs_stored, len(record.entries), chunks_stored, drift, kw)
        if repair and not out.ok:
            report = SyncReport()
            embedder = embedder or make_embedder(settings)
            _sync_locked(settings, embedder, None, report, only={d.doc_id for d in drift})
            out.repaired, out.repair_errors = True, report.errors
            _, _, _, out.remaining, out.keyword_after = _check(settings, store)
    out.seconds = round(time.perf_counter() - t0, 3)
    return out


def drop_collection(settings: Settings) -> None:
    from index.store import chroma_client

    client = chroma_client(settings)
    try:
        client.delete_collection(settings.collection)
    except Exception:
        pass
    import shutil

    shutil.rmtree(settings.keyword_dir, ignore_errors=True)
    remove_record(settings)


def write_log(settings: Settings, name: str, payload: dict) -> Path:
    from npcqa.jsonl import append_jsonl

    path = settings.logs_dir / f"{name}.jsonl"
    append_jsonl(path, {"time": utc_now_iso(), **payload})
    return path
