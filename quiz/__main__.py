"""``python -m quiz`` — build a quiz from indexed laws / reports, no LLM.

    python -m quiz --source "监督法" --count 20 --types 单选,多选,判断,填空 --seed 1 --json
    python -m quiz --source "监督法:第二章" --source 平利 --counts 单选=5,多选=3,判断=4,填空=2 --out quiz.xlsx
    python -m quiz --source "query:代表建议办理期限" --count 8 --out quiz.docx --report quality.json
    python -m quiz --list-sources

stdout: ``--json`` prints the JSON list of items; without ``--json``/``--out`` the plain-text import
format is printed. The quality report goes to stderr (and to ``--report FILE`` as JSON). An unknown
source, no matching chunks or bad arguments print a message on stderr and exit with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m quiz", description="出题：从已索引的法律、报告生成单选/多选/判断/填空题（不用大模型）")
    p.add_argument("--source", action="append", default=[],
                   help="出题来源，可重复或用逗号分隔：监督法 / 监督法:第二章 / 监督法:第10-20条 / 报告标题的一部分 / doc_id / query:检索词")
    p.add_argument("--count", type=int, default=20, help="总题数，按 --types 平均分配（默认 20）")
    p.add_argument("--types", default="单选,多选,判断,填空", help="题型，逗号分隔（默认 单选,多选,判断,填空）")
    p.add_argument("--counts", default="", help="各题型题数，如 单选=5,多选=5,判断=5,填空=5（优先于 --count/--types）")
    p.add_argument("--seed", type=int, default=1, help="随机种子：同一种子得到完全相同的试题")
    p.add_argument("--json", action="store_true", help="在标准输出打印 JSON 试题列表")
    p.add_argument("--out", default="", help="写入文件：.xlsx / .docx / .txt / .json")
    p.add_argument("--report", default="", help="把质量报告写成 JSON 文件")
    p.add_argument("--query-top", type=int, default=0, help="query: 来源取前几个检索结果（默认 8）")
    p.add_argument("--quiet", action="store_true", help="不在标准错误输出打印质量报告")
    p.add_argument("--list-sources", action="store_true", help="列出可用的出题来源（已索引的法律和报告）")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from quiz.export import FORMATS, to_json, to_text, write
    from quiz.generate import build_quiz
    from quiz.select import Corpus, QuizError
    from quiz.spec import parse_counts

    try:
        if args.list_sources:
            for d in Corpus.from_settings().documents():
                print(f"{d['kind']}\t{d['name']}\t{d['doc_id']}\t{d['chunks']} 块")
            return 0
        if not args.source:
            raise QuizError("请用 --source 指定出题来源，例如 --source 监督法（--list-sources 列出可用来源）。")
        if args.out and Path(args.out).suffix.lstrip(".").lower() not in FORMATS:
            raise QuizError(f"不支持的导出格式“{Path(args.out).suffix or args.out}”：可选 .xlsx、.docx、.txt、.json")
        counts = parse_counts(args.counts) if args.counts else None
        result = build_quiz(args.source, counts=counts, count=args.count, types=args.types, seed=args.seed,
                            query_top=args.query_top or None)
    except QuizError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - a message, never a traceback
        print(f"错误：出题失败（{type(e).__name__}: {e}）", file=sys.stderr)
        return 1

    try:
        if args.out:
            path = write(result.items, args.out)
            print(f"已写入 {path}（{len(result.items)} 题）", file=sys.stderr)
        if args.report:
            Path(args.report).parent.mkdir(parents=True, exist_ok=True)
            Path(args.report).write_text(json.dumps(result.report.to_json(), ensure_ascii=False, indent=2) + "\n",
                                         encoding="utf-8")
    except OSError as e:
        print(f"错误：无法写入文件（{e}）", file=sys.stderr)
        return 1
    if args.json:
        print(to_json(result.items))
    elif not args.out:
        print(to_text(result.items), end="")
    if not args.quiet:
        print(result.report.summary(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
