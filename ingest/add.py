"""Adding (or replacing) maintainers' files: ``python -m ingest add`` and the 管理 console's 上传.

Safety rules, in the order of an add:

- every file is copied to ``<home>/uploads/<kind>/<name>`` (doc_id ``uploads/<kind>/<name>``); the name
  is checked (``uploads.check_name``: no separators, no ``..``), a name already used by a document of
  another kind or by a ``corpus/`` file is refused, the same name with the same kind replaces;
- size (``max_file_mb``) and type (by content, ``ingest.sniff``) are checked by reading the file,
  cleaning and chunking it in a private staging folder before anything is indexed;
- all of it runs under the sync lock; a file's new chunks are upserted before its stale ones are
  deleted (the chat keeps answering from a consistent state), and only when its indexing succeeded is
  the file moved into place; on failure its new chunks are deleted again and the staged copy removed.
"""
from __future__ import annotations

import contextlib
import filecmp
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from index import faults
from index.embedding import Embedder, make_embedder
from index.keyword import sync_keyword_index
from index.store import ChunkStore, StoreError, open_store
from ingest import rejections
from ingest.checks import (check_date, check_kind, check_source, max_file_bytes, merge_overrides, name_conflict,
                           names_in_use, split_item)
from ingest.chunking import chunk_document
from ingest.corpus import FileSource, build_document
from ingest.progress import Progress
from ingest.readers import ReadError
from ingest.record import SyncRecord
from ingest.rejections import Reason
from ingest.sync import SyncReport, apply_documents, is_synced, sync_lock_waiting, verified_docs
from ingest.uploads import (OVERRIDE_KEYS, UploadRejected, check_name, load_meta, overrides_of, save_meta,
                            upload_doc_id, upload_target)
from npcqa import audit
from npcqa.clock import utc_now_iso
from npcqa.settings import Settings
from npcqa.types import Document

STAGING = ".staging"  # under the upload area: files are read and chunked here before they are indexed
AUDIT_ACTIONS = {"new": "add", "replaced": "replace", "unchanged": "add_unchanged"}  # status → audit action


@dataclass
class AddedDoc:
    doc_id: str
    title: str
    kind: str
    chunks: int  # chunks of the document now in the index
    embedded: int  # chunks embedded by this add (0 when nothing changed)
    status: str  # "new" | "replaced" | "unchanged"
    path: str  # the file given (for a web upload: Gradio's temporary copy)
    file: str  # where it is stored now
    name: str = ""  # the file's original name (what the maintainer uploaded)

    def to_json(self) -> dict:
        return {"doc_id": self.doc_id, "title": self.title, "chunks": self.chunks, "embedded": self.embedded,
                "status": self.status, "kind": self.kind, "file": self.file}


@dataclass
class AddResult:
    added: list[AddedDoc] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"path", "name" (as given), "reason", "code"}
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict:
        return {"added": [a.to_json() for a in self.added], "errors": self.errors,
                "chunks_embedded": self.chunks_embedded, "chunks_total": self.chunks_total, "seconds": self.seconds}

    def reject(self, src: Path, name: str, reason: Reason) -> None:
        self.errors.append({"path": str(src), "name": name, "reason": reason.text, "code": reason.code})


@dataclass
class _Context:
    """What one add works against, opened under the sync lock."""

    settings: Settings
    kind: str
    staging: Path
    store: ChunkStore
    registry: dict
    record: SyncRecord
    verified: set[str]
    meta: dict
    used: dict[str, list[str]]


@dataclass
class _Plan:
    """One accepted file: staged, read and chunked, not indexed yet."""

    src: Path
    name: str
    doc_id: str
    staged: Path
    doc: Document
    overrides: dict
    existing: set[str]  # the document's chunk ids in the store now
    status: str
    chunk_ids: set[str]
    to_embed: int


def add_files(settings: Settings, paths: Iterable, kind: str, title: str | None = None,
              region: str | None = None, date: str | None = None, actor: str = "cli",
              progress: Progress | None = None, embedder: Embedder | None = None) -> AddResult:
    """Copy files into the upload area as ``kind`` documents and index them (incrementally, under the lock).

    ``paths``: file paths, or ``(path, name)`` pairs when the stored name differs from the file's own
    (web uploads). ``title/region/date`` override detection (``""`` clears an earlier override); a file
    already uploaded under the same name and kind is replaced. Per-file problems go to ``errors``.
    Raises MaintainError for a bad kind/date, StoreError when the index cannot be reached.
    """
    t0 = time.perf_counter()
    kind = check_kind(kind)
    date = check_date(date)
    items = [split_item(p) for p in paths]
    embedder = embedder or make_embedder(settings)
    result = AddResult()
    with sync_lock_waiting(settings, progress), _staging_area(settings) as staging:
        ctx = _open(settings, embedder, kind, staging)
        plans = _plan_files(ctx, items, (title, region, date), result)
        _index_plans(ctx, embedder, plans, actor, progress, result)
        kw = sync_keyword_index(ctx.store, settings.keyword_dir)
        ctx.record.compact()
        result.chunks_total = len(kw.chunks)
    result.seconds = round(time.perf_counter() - t0, 3)
    _audit(settings, actor, kind, result)
    return result


@contextlib.contextmanager
def _staging_area(settings: Settings):
    """A fresh staging folder; leftovers of a killed add are cleared first (the caller holds the lock)."""
    root = settings.uploads_dir / STAGING
    shutil.rmtree(root, ignore_errors=True)
    staging = root / uuid.uuid4().hex
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            root.rmdir()


def _open(settings: Settings, embedder: Embedder, kind: str, staging: Path) -> _Context:
    store = open_store(settings, embedder, create=True)
    registry = store.registry()
    record = SyncRecord.open(settings, store)
    verified = verified_docs(registry, record, record.drift(registry))
    return _Context(settings, kind, staging, store, registry, record, verified, load_meta(settings),
                    names_in_use(settings))


def _plan_files(ctx: _Context, items: list[tuple[Path, str]], metadata: tuple, result: AddResult) -> list[_Plan]:
    """Stage, read and chunk every file; refused ones go to ``result.errors`` with their reason."""
    plans: list[_Plan] = []
    seen: set[str] = set()
    for i, (src, given) in enumerate(items):
        try:
            plan = _plan_file(ctx, i, src, given, metadata, seen)
        except (UploadRejected, ReadError) as exc:
            result.reject(src, given, exc.rejection)
            continue
        except OSError as exc:
            result.reject(src, given, rejections.uncopyable(exc))
            continue
        seen.add(plan.doc_id)
        plans.append(plan)
    return plans


def _plan_file(ctx: _Context, i: int, src: Path, given: str, metadata: tuple, seen: set[str]) -> _Plan:
    name = check_name(given)
    doc_id = upload_doc_id(ctx.kind, name)
    target = upload_target(ctx.settings, ctx.kind, name)
    if doc_id in seen:
        raise UploadRejected(rejections.duplicate(name))
    if reason := name_conflict(name, doc_id, ctx.used, ctx.registry):
        raise UploadRejected(reason)
    max_bytes = max_file_bytes(ctx.settings)
    check_source(src, max_bytes)
    staged = ctx.staging / str(i) / name
    staged.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, staged)
    overrides = merge_overrides(ctx.meta.get(doc_id, {}), *metadata)
    doc = build_document(FileSource(staged, doc_id, ctx.kind, dict(overrides)), max_bytes)
    have = ctx.registry.get(doc_id)
    existing = set(have["ids"]) if have else set()
    chunk_ids = {c.id for c in chunk_document(doc)}
    complete = bool(have) and existing == chunk_ids and have["hashes"] == {doc.hash}
    if is_synced(doc, ctx.registry, ctx.record, ctx.verified) or complete:  # complete: only the record was missing
        status, n_new = "unchanged", 0
    else:
        status, n_new = ("replaced" if have or target.exists() else "new"), len(chunk_ids - existing)
    return _Plan(src, name, doc_id, staged, doc, overrides, existing, status, chunk_ids, n_new)


def _index_plans(ctx: _Context, embedder: Embedder, plans: list[_Plan], actor: str, progress: Progress | None,
                 result: AddResult) -> None:
    """Index the planned files one by one (progress over all of them); a failed file is rolled back."""
    total = sum(p.to_embed for p in plans)
    done = 0
    if progress and total:
        progress(0, total, "embedding")
    now = utc_now_iso()
    for plan in plans:
        offset = done

        def sub(d: int, _t: int, msg: str, _offset=offset, _name=plan.name) -> None:
            if progress and total:
                progress(_offset + d, total, f"embedding {_name}")

        report = SyncReport()
        try:
            apply_documents(ctx.store, embedder, [plan.doc], ctx.registry, report, ctx.settings.embed_batch, sub,
                            None, now, ctx.record, ctx.verified)
        except Exception as exc:  # noqa: BLE001 - roll this file back, keep going with the others
            kept = _rollback(ctx.store, plan)
            msg = str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
            result.reject(plan.src, plan.name, rejections.index_failed(msg, kept))
            continue
        done += report.chunks_embedded
        target = _place_file(ctx, plan, actor, now)
        result.chunks_embedded += report.chunks_embedded
        result.added.append(AddedDoc(plan.doc_id, plan.doc.title, ctx.kind, len(plan.chunk_ids),
                                     report.chunks_embedded, plan.status, str(plan.src), str(target), plan.name))
    if progress and total:
        progress(total, total, "done")


def _place_file(ctx: _Context, plan: _Plan, actor: str, now: str) -> Path:
    """Move the indexed file into the upload area and record its metadata; an identical re-add writes nothing."""
    target = upload_target(ctx.settings, ctx.kind, plan.name)
    previous = ctx.meta.get(plan.doc_id, {})
    same = (plan.status == "unchanged" and overrides_of(previous) == plan.overrides
            and target.is_file() and filecmp.cmp(plan.staged, target, shallow=False))
    if not same:
        target.parent.mkdir(parents=True, exist_ok=True)
        faults.point("upload.move", plan.doc_id)
        os.replace(plan.staged, target)
        entry = {k: v for k, v in previous.items() if k not in OVERRIDE_KEYS}
        entry.update(plan.overrides)
        entry.setdefault("added", now)
        entry.update({"updated": now, "actor": actor, "original_name": plan.name})
        ctx.meta[plan.doc_id] = entry
        save_meta(ctx.settings, ctx.meta)
    return target


def _rollback(store: ChunkStore, plan: _Plan) -> bool | None:
    """Delete the chunks this failed add created; the previous version (if any) is untouched. Returns
    whether there is a previous version, or None when the new chunks could not be deleted."""
    try:
        store.delete(sorted(plan.chunk_ids - plan.existing))
    except StoreError:
        return None
    return bool(plan.existing)


def _audit(settings: Settings, actor: str, kind: str, result: AddResult) -> None:
    for a in result.added:
        audit.record(settings, actor, AUDIT_ACTIONS[a.status], [a.doc_id],
                     {"title": a.title, "kind": a.kind, "chunks": a.chunks, "embedded": a.embedded, "name": a.name,
                      "file": a.file, "path": a.path})
    for e in result.errors:
        audit.record(settings, actor, "add_rejected", [], {"path": e["path"], "name": e["name"], "kind": kind,
                                                           "reason": e["reason"], "code": e["code"]})
