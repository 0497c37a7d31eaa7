"""``python -m index ask`` — answer questions from the command line.

    python -m index ask "监督法第十条规定了什么" [--json] [--kind law] [--region 平凉]
    python -m index ask --file questions.jsonl --json      one JSON object per line, "id" added
"""
from __future__ import annotations

import argparse
import json
import sys

from index.embedding import EmbeddingError
from index.engine import Engine, QuestionError
from index.factory import build_engine
from index.retrieve import Filters
from index.store import StoreError
from npcqa.settings import get_settings
from npcqa.types import KIND_LABELS, Answer

CONTRACT_KEYS = ("question", "answer", "refused", "citations", "timings_ms")
CITATION_KEYS = ("n", "doc_id", "title", "kind", "locator", "quote", "text", "source", "date", "status", "score")


def answer_json(ans: Answer, extra: dict | None = None) -> dict:
    full = ans.to_json()
    out = {k: full[k] for k in CONTRACT_KEYS}
    out["citations"] = [{k: c[k] for k in CITATION_KEYS} | {"heading_path": c["heading_path"], "region": c["region"],
                                                            "chunk_id": c["chunk_id"]} for c in full["citations"]]
    for k in ("confidence", "suggestions", "relevance", "mode", "notice", "verification"):
        if k in full:
            out[k] = full[k]
    return {**(extra or {}), **out}


def print_readable(ans: Answer) -> None:
    print(ans.answer)
    if ans.citations:
        print("\n参考依据：")
        for c in ans.citations:
            print(f"[{c.n}] {c.title} {c.locator}（{KIND_LABELS.get(c.kind, c.kind)}"
                  f"{'，' + c.date if c.date else ''}{'，' + c.status if c.status else ''}）")
    print(f"\n（检索 {ans.timings_ms.get('retrieve', 0):.0f} ms，生成 {ans.timings_ms.get('answer', 0):.0f} ms）")


def _filters(args) -> Filters:
    return Filters(kinds=args.kind or [], region=args.region or "", statuses=args.status or [],
                   date_from=args.date_from or "", date_to=args.date_to or "")


def _settings_from_args(args):
    settings = get_settings()
    upd = {}
    if getattr(args, "mode", None):
        upd["answer_mode"] = args.mode
    if getattr(args, "llm_base_url", None):
        upd["llm_base_url"] = args.llm_base_url
        upd.setdefault("answer_mode", "auto")  # naming an endpoint without --mode means: use it when it answers
    if getattr(args, "llm_model", None):
        upd["llm_model"] = args.llm_model
    return settings.model_copy(update=upd) if upd else settings


def cmd_ask(args) -> int:
    settings = _settings_from_args(args)
    if args.question is None and not args.file:
        return _fail(args, "请给出问题，或用 --file 指定问题文件（每行 {\"id\", \"q\"}）")
    if args.question is not None:  # validate before loading anything heavy
        try:
            from index.engine import check_question

            check_question(args.question)
        except QuestionError as exc:
            return _fail(args, str(exc))
    try:
        engine = load_engine(settings)
    except (StoreError, EmbeddingError) as exc:
        return _fail(args, str(exc))
    filters = _filters(args)
    if args.file:
        return _ask_file(engine, args, filters)
    try:
        ans = engine.answer(args.question, filters=filters)
    except QuestionError as exc:
        return _fail(args, str(exc))
    except StoreError as exc:
        return _fail(args, str(exc))
    if args.json:
        print(json.dumps(answer_json(ans), ensure_ascii=False))
    else:
        print_readable(ans)
    return 0


def load_engine(settings) -> Engine:
    """The engine of ``settings``' answer mode, with the relevance model's notice said once on stderr."""
    engine = build_engine(settings)
    if engine.relevance_notice:  # fitted for another embedding model: said once, on stderr
        print(f"注意：{engine.relevance_notice}", file=sys.stderr)
    return engine


def _ask_file(engine: Engine, args, filters: Filters) -> int:
    failures = 0
    try:
        fh = open(args.file, encoding="utf-8")
    except OSError as exc:
        return _fail(args, f"cannot read {args.file}: {exc.strerror}")
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                qid, question = item.get("id", lineno), item["q"]
            except (ValueError, KeyError, AttributeError):
                print(json.dumps({"id": lineno, "error": f"{args.file}:{lineno}: expected {{\"id\", \"q\"}}"},
                                 ensure_ascii=False))
                failures += 1
                continue
            try:
                ans = engine.answer(question, filters=filters)
            except (QuestionError, StoreError) as exc:
                print(json.dumps({"id": qid, "question": question, "error": str(exc)}, ensure_ascii=False))
                failures += 1
                continue
            if args.json:
                print(json.dumps(answer_json(ans, {"id": qid}), ensure_ascii=False), flush=True)
            else:
                print(f"## {qid}. {question}")
                print_readable(ans)
                print()
    return 1 if failures else 0


def _fail(args, msg: str) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"error": msg}, ensure_ascii=False))
    print(f"错误: {msg}", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m index")
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("ask", help="answer a question with cited sources")
    a.add_argument("question", nargs="?")
    a.add_argument("--file", help="JSONL file of {\"id\", \"q\"} lines")
    a.add_argument("--json", action="store_true")
    a.add_argument("--kind", action="append", choices=["law", "opinion", "report"])
    a.add_argument("--region")
    a.add_argument("--status", action="append")
    a.add_argument("--date-from")
    a.add_argument("--date-to")
    a.add_argument("--mode", choices=["extractive", "llm", "auto"])
    a.add_argument("--llm-base-url")
    a.add_argument("--llm-model")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return cmd_ask(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
