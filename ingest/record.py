"""The sync record: which documents are completely in the store, and with exactly which chunk ids.

Why it exists: chunks are written to Chroma in groups that span documents, so a sync killed midway can
leave a document with only some of its chunks, all carrying the new content hash. Judged by the chunks
alone, such a document looks synced and would never be completed. The record says what a document's
content hash implies (its full set of chunk ids), and a line is written only after every one of those
chunks is in the store, its kept chunks carry the new metadata and its stale chunks are deleted.

A document is *verified* when the store holds exactly the recorded ids, all with the recorded hash.
Anything else is drift, and the next sync re-syncs that document (``ingest.sync``); the check reads
ids and metadata only, never documents or embeddings (``python -m ingest verify`` runs the same check).

Storage: ``<home>/sync_record.jsonl``, an append-only journal, so recording a document is one small
appended line (flushed and fsync'ed), not a rewrite of the whole record:

- line 1, the header: ``{"format": 1, "collection": <Chroma collection id>, "location": ...}``. A record
  whose collection id is not the store's (``--rebuild`` dropped it, the server was wiped, the home now
  points at another server) describes another collection and is ignored: every stored document is then
  unrecorded and gets re-verified against its source (no embedding when its chunks are all there).
- then ``{"doc": id, "hash": h, "ids": [...], "added": date}`` or ``{"doc": id, "removed": true}``; the
  last line about a document wins. A line torn by a kill mid-write does not parse and is skipped, which
  only makes its document unrecorded, i.e. re-verified.

``compact()`` rewrites the journal as one line per document (temp file + rename) at the end of a sync.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from index import faults
from index.store import ChunkStore
from npcqa.settings import Settings

FORMAT = 1
RECORD_NAME = "sync_record.jsonl"


@dataclass(frozen=True)
class RecordEntry:
    doc_id: str
    hash: str
    ids: frozenset[str]
    added: str = ""

    def to_line(self) -> dict[str, Any]:
        return {"doc": self.doc_id, "hash": self.hash, "ids": sorted(self.ids), "added": self.added}


@dataclass
class Drift:
    """One document whose stored chunks disagree with the record."""

    doc_id: str
    title: str
    reason: str  # unrecorded | absent | missing | extra | hash
    recorded: int  # chunk ids in the record (0 when unrecorded)
    stored: int  # chunks of this document in the store
    missing: int = 0  # recorded ids not in the store
    extra: int = 0  # stored ids not in the record

    @property
    def message(self) -> str:
        """What is wrong, in words a maintainer can act on."""
        if self.reason == "unrecorded":
            return (f"存储中有 {self.stored} 个片段，但同步记录中没有这个文档（上次同步在写完它之前被中断，"
                    "或索引建于同步记录之前）；下次同步会按原文核对并补齐")
        if self.reason == "absent":
            return f"同步记录中有 {self.recorded} 个片段，存储中一个也没有；下次同步会重新写入"
        if self.reason == "hash":
            return "存储中片段的内容版本与同步记录不一致；下次同步会按原文更新"
        parts = []
        if self.missing:
            parts.append(f"缺少 {self.missing} 个片段")
        if self.extra:
            parts.append(f"多出 {self.extra} 个不属于记录版本的片段")
        return (f"存储{'、'.join(parts)}（记录 {self.recorded} 个，存储 {self.stored} 个）；"
                "下次同步会补齐或删除")

    def to_json(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "title": self.title, "reason": self.reason, "recorded": self.recorded,
                "stored": self.stored, "missing": self.missing, "extra": self.extra, "message": self.message}


@dataclass
class SyncRecord:
    path: Path
    collection: str
    location: str
    entries: dict[str, RecordEntry] = field(default_factory=dict)
    existed: bool = False  # a record for this very collection was found
    lines: int = 0  # journal lines after the header (compaction needed when > len(entries))
    torn: bool = False  # the journal does not end with a newline (a kill mid-append)

    # ---------------------------------------------------------------- open / load
    @classmethod
    def open(cls, settings: Settings, store: ChunkStore, write: bool = True) -> "SyncRecord":
        """The record of ``store``'s collection. ``write``: (re)start the journal when it is missing or
        belongs to another collection (readers such as ``verify`` pass False and change nothing)."""
        rec = cls(settings.home / RECORD_NAME, store.collection_id, store.location)
        rec._load()
        if write and (not rec.existed or rec.torn):
            rec._rewrite()  # a torn last line would glue itself to the next appended one
        return rec

    def _load(self) -> None:
        try:
            with open(self.path, encoding="utf-8") as fh:
                raw = fh.read().split("\n")
        except OSError:  # missing (fresh home, legacy index) or unreadable: nothing is vouched for
            return
        self.torn = bool(raw[-1])
        try:
            header = json.loads(raw[0])
        except (ValueError, IndexError):
            return
        if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("collection") != self.collection:
            return
        self.existed = True
        for line in raw[1:]:
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                doc_id = r["doc"]
                if r.get("removed"):
                    self.entries.pop(doc_id, None)
                else:
                    self.entries[doc_id] = RecordEntry(doc_id, str(r["hash"]), frozenset(r["ids"]),
                                                       str(r.get("added", "")))
                self.lines += 1
            except (ValueError, KeyError, TypeError):
                continue  # torn by a kill mid-append: that document counts as unrecorded

    # ---------------------------------------------------------------- writes
    def _header(self) -> str:
        return json.dumps({"format": FORMAT, "collection": self.collection, "location": self.location}) + "\n"

    def _rewrite(self) -> None:
        """Replace the journal by header + one line per entry, atomically (temp file, fsync, rename)."""
        faults.point("record.rewrite")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(self._header())
            for e in sorted(self.entries.values(), key=lambda e: e.doc_id):
                fh.write(json.dumps(e.to_line(), ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)
        self.existed, self.lines = True, len(self.entries)

    def _append(self, obj: dict[str, Any]) -> None:
        faults.point("record.append", obj["doc"])
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.lines += 1

    def mark_synced(self, doc_id: str, doc_hash: str, ids: Iterable[str], added: str = "") -> None:
        """Call only after every chunk in ``ids`` is in the store and nothing else of ``doc_id`` is."""
        entry = RecordEntry(doc_id, doc_hash, frozenset(ids), added)
        self._append(entry.to_line())
        self.entries[doc_id] = entry

    def forget(self, doc_id: str) -> None:
        """Before a document's chunks are deleted: the record must never vouch for chunks that may be gone."""
        if doc_id in self.entries:
            self._append({"doc": doc_id, "removed": True})
            del self.entries[doc_id]

    def compact(self) -> None:
        if self.lines > len(self.entries):
            self._rewrite()

    # ---------------------------------------------------------------- check
    def matches(self, stored_ids: Iterable[str]) -> bool:
        """The cheap check (ids only): the store holds exactly the union of the recorded id sets.

        That is enough to verify every document: a chunk id is a hash over its doc_id, so a stored id that is
        in a document's recorded set is that document's chunk, and a stored id in no set fails the check.
        Not compared: the chunks' doc_hash metadata. It cannot disagree here, because a line is written only
        after the document's kept chunks carry the new hash; a kill between that update and the line leaves
        the old line, whose hash is not the document's, so the sync re-checks that document anyway."""
        recorded: set[str] = set()
        n = 0
        for e in self.entries.values():
            recorded |= e.ids
            n += len(e.ids)
        stored = stored_ids if isinstance(stored_ids, (set, frozenset)) else set(stored_ids)
        return n == len(recorded) == len(stored) and recorded == stored

    def as_registry(self) -> dict[str, dict[str, Any]]:
        """What ``ChunkStore.registry()`` would return for the fields a sync uses, when ``matches`` holds
        (spares reading every chunk's metadata: 5 s on the full law DB against 0.1–0.3 s for the ids)."""
        return {e.doc_id: {"doc_id": e.doc_id, "ids": set(e.ids), "hashes": {e.hash}, "added": e.added}
                for e in self.entries.values()}

    def drift(self, registry: dict[str, dict[str, Any]]) -> list[Drift]:
        """Documents whose stored chunks (``ChunkStore.registry()``) differ from the record."""
        out: list[Drift] = []
        for doc_id in sorted(set(registry) | set(self.entries)):
            have, rec = registry.get(doc_id), self.entries.get(doc_id)
            stored = set(have["ids"]) if have else set()
            title = (have or {}).get("title", "") or doc_id
            if rec is None:
                out.append(Drift(doc_id, title, "unrecorded", 0, len(stored), extra=len(stored)))
            elif not stored:
                out.append(Drift(doc_id, title, "absent", len(rec.ids), 0, missing=len(rec.ids)))
            elif stored != rec.ids:
                out.append(Drift(doc_id, title, "missing" if rec.ids - stored else "extra", len(rec.ids),
                                 len(stored), missing=len(rec.ids - stored), extra=len(stored - rec.ids)))
            elif have["hashes"] != {rec.hash}:
                out.append(Drift(doc_id, title, "hash", len(rec.ids), len(stored)))
        return out


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable across a power cut, not only a killed process (best effort)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_record(settings: Settings) -> None:
    """``--rebuild``: the collection is dropped, so is its record."""
    for p in (settings.home / RECORD_NAME, settings.home / (RECORD_NAME + ".tmp")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
