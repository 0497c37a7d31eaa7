"""Removing documents: ``python -m ingest remove`` and the 管理 console's 删除.

Under the sync lock, per document: its file goes first (upload area or ``corpus/`` only), then the
sync record forgets it, then its chunks are deleted — so a failure half-way leaves chunks the next
sync removes, never a record that vouches for deleted chunks. Laws from the DB are refused with a
reason: they are defined by the manifest, not by a file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from index.embedding import Embedder, make_embedder
from index.keyword import sync_keyword_index
from index.store import StoreError
from ingest import rejections
from ingest.corpus import FileSource, discover_files, load_manifest
from ingest.inventory import stored_registry
from ingest.record import SyncRecord
from ingest.rejections import Reason, Rejected
from ingest.sync import sync_lock_waiting
from ingest.uploads import load_meta, save_meta
from npcqa import audit
from npcqa.settings import Settings


@dataclass
class RemoveResult:
    removed: list[dict] = field(default_factory=list)  # {"doc_id", "title", "chunks", "file"}
    errors: list[dict] = field(default_factory=list)  # {"doc_id", "reason", "code"}
    chunks_total: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict:
        return {"removed": self.removed, "errors": self.errors, "chunks_total": self.chunks_total}

    def reject(self, doc_id: str, reason: Reason) -> None:
        self.errors.append({"doc_id": doc_id, "reason": reason.text, "code": reason.code})


class _Refused(Rejected):
    """One document cannot be removed."""


def remove_docs(settings: Settings, doc_ids: Sequence[str], actor: str = "cli",
                embedder: Embedder | None = None) -> RemoveResult:
    """Delete documents' files (upload area or corpus/ only) and all their chunks, under the sync lock.

    The file goes first, then the chunks: if the chunk deletion fails, the next sync removes them.
    Laws from the DB are refused with a reason (they are defined by the manifest).
    """
    embedder = embedder or make_embedder(settings)
    result = RemoveResult()
    with sync_lock_waiting(settings, None):
        store, registry = stored_registry(settings, embedder)
        record = SyncRecord.open(settings, store) if store is not None else None
        files = {src.rel: src for src in discover_files(settings, load_manifest(settings.corpus_dir))}
        meta = load_meta(settings)
        changed = False
        for doc_id in dict.fromkeys(doc_ids):  # keep order, drop repeats
            have, src = registry.get(doc_id), files.get(doc_id)
            try:
                file = _delete_file(settings, doc_id, have, src)
            except _Refused as exc:
                result.reject(doc_id, exc.rejection)
                continue
            if doc_id in meta:
                meta.pop(doc_id)
                changed = True
            if record is not None:
                record.forget(doc_id)  # before the chunks go: the record never vouches for deleted chunks
            if have and store is not None:
                try:
                    store.delete(sorted(have["ids"]), why=doc_id)
                except StoreError as exc:
                    result.reject(doc_id, rejections.chunks_left(exc))
                    continue
            result.removed.append({"doc_id": doc_id, "title": (have or {}).get("title", "") or Path(doc_id).stem,
                                   "chunks": len(have["ids"]) if have else 0, "file": file})
        if changed:
            save_meta(settings, meta)
        if store is not None:
            kw = sync_keyword_index(store, settings.keyword_dir)
            record.compact()
            result.chunks_total = len(kw.chunks)
    _audit(settings, actor, result)
    return result


def _delete_file(settings: Settings, doc_id: str, have: dict | None, src: FileSource | None) -> str:
    """Delete the document's file (if it has one); returns its path ("" for none). Raises _Refused."""
    if src is None and doc_id.startswith("law:"):
        raise _Refused(rejections.law_from_db(doc_id, bool(have)))
    if src is None and have is None:
        raise _Refused(rejections.unknown_document(doc_id))
    if src is None:
        return ""
    path = src.path
    inside = any(path.is_relative_to(root) for root in (settings.uploads_dir, settings.corpus_dir))
    if not inside or ".." in Path(doc_id).parts:
        raise _Refused(rejections.outside_folders())
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise _Refused(rejections.delete_failed(path, exc.strerror or exc)) from exc
    return str(path)


def _audit(settings: Settings, actor: str, result: RemoveResult) -> None:
    for r in result.removed:
        audit.record(settings, actor, "remove", [r["doc_id"]], {"title": r["title"], "chunks": r["chunks"],
                                                                "file": r["file"]})
    for e in result.errors:
        audit.record(settings, actor, "remove_failed", [e["doc_id"]], {"reason": e["reason"], "code": e["code"]})
