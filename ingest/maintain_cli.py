"""``python -m ingest add | remove | list``: the maintainers' commands over ``ingest.add``,
``ingest.remove`` and ``ingest.inventory`` (the 管理 console calls the same functions).

Output contract: ``--json`` prints one JSON object (``add``/``remove``) or list (``list``); a usage
error prints ``{"error"}`` and exits 2; per-file problems exit 1.
"""
from __future__ import annotations

import argparse
import getpass
import sys

from ingest import rejections
from ingest.add import add_files
from ingest.checks import MaintainError
from ingest.inventory import list_docs
from ingest.progress import cli_progress, print_json
from ingest.rejections import Reason
from ingest.remove import remove_docs
from npcqa.settings import get_settings
from npcqa.types import KINDS

STATUS_WORDS = {"new": "新增", "replaced": "替换", "unchanged": "未变"}  # AddedDoc.status as the CLI prints it


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli"


def cmd_add(args) -> int:
    settings = get_settings()
    if args.name and len(args.files) != 1:
        return _arg_error(args, rejections.one_file_only("--name"))
    if args.title and len(args.files) != 1:
        return _arg_error(args, rejections.one_file_only("--title", "（每个文件分别运行一次 add）"))
    items = [(args.files[0], args.name)] if args.name else list(args.files)
    try:
        res = add_files(settings, items, args.kind, title=args.title, region=args.region, date=args.date,
                        actor=_actor(), progress=cli_progress(args.json))
    except MaintainError as exc:
        return _arg_error(args, exc.rejection)
    if args.json:
        print_json(res.to_json())
    else:
        for a in res.added:
            print(f"{STATUS_WORDS[a.status]} {a.doc_id}「{a.title}」{a.chunks} 个片段（本次嵌入 {a.embedded}）")
        for e in res.errors:
            print(f"未添加 {e['path']}: {e['reason']}", file=sys.stderr)
        print(f"索引共 {res.chunks_total} 个片段（{res.seconds:.1f} 秒）")
    return 1 if res.errors else 0


def cmd_remove(args) -> int:
    res = remove_docs(get_settings(), args.doc_ids, actor=_actor())
    if args.json:
        print_json(res.to_json())
    else:
        for r in res.removed:
            print(f"已删除 {r['doc_id']}「{r['title']}」{r['chunks']} 个片段")
        for e in res.errors:
            print(f"未删除 {e['doc_id']}: {e['reason']}", file=sys.stderr)
    return 1 if res.errors else 0


def cmd_list(args) -> int:
    rows = list_docs(get_settings())
    if args.kind:
        rows = [r for r in rows if r["kind"] == args.kind]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        state = "" if r["state"] == "indexed" else f"  ({r['state']})"
        print(f"{r['kind_label']:4} {r['chunks']:5}  {r['date'] or '—':10}  {r['title']}  [{r['doc_id']}]{state}")
    print(f"共 {len(rows)} 个文档，{sum(r['chunks'] for r in rows)} 个片段")
    return 0


def _arg_error(args, reason: Reason) -> int:
    if getattr(args, "json", False):
        print_json({"error": reason.text, "code": reason.code})
    print(f"错误: {reason.text}", file=sys.stderr)
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
