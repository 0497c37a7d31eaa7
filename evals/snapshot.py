"""Record what the product answers, so a refactoring can prove it changed nothing.

    python -m evals.snapshot record --out before.json     answers + quizzes over the index of NPCQA_HOME
    python -m evals.snapshot compare before.json after.json

``record`` asks every question of ``evals/dev.jsonl``, ``evals/dev2.jsonl``, ``evals/articles.jsonl`` and
the blind fit sets (never the sealed split) and keeps, per question, the outcome (refused, confidence),
the answer text and each citation (chunk, locator, quoted sentences); then it builds fixed-seed quizzes
and keeps every item. Timings are left out: they are the one thing allowed to differ. ``compare`` prints
how many records differ and the first few differences; exit status 1 when anything differs.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EVALS = Path(__file__).resolve().parent
QUESTION_SETS = ("dev.jsonl", "dev2.jsonl", "articles.jsonl", "blind/fit.jsonl", "blind/other_fit.jsonl")
#: (sources, seed): a law, a chapter of a law, a report and a query source, each at two seeds.
QUIZZES = [(["监督法"], 1), (["监督法"], 7), (["代表法:第三章"], 1), (["平凉"], 1), (["query:代表建议办理期限"], 3)]
QUIZ_COUNT = 12


def _answer_record(ans) -> dict:
    full = ans.to_json()
    return {"answer": full["answer"], "refused": full["refused"], "confidence": full.get("confidence"),
            "citations": [{k: c.get(k) for k in ("doc_id", "chunk_id", "locator", "quote")} for c in full["citations"]]}


def record(out: Path) -> dict:
    from index.factory import build_engine
    from npcqa.settings import get_settings
    from quiz.export import to_json
    from quiz.generate import build_quiz
    from quiz.select import Corpus

    settings = get_settings()
    engine = build_engine(settings)  # answers in the configured answer_mode, as the app does
    corpus = Corpus.from_settings(settings)
    snap: dict = {"answers": {}, "quizzes": {}}
    for name in QUESTION_SETS:
        for line in (EVALS / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                snap["answers"][f"{name}:{item['id']}"] = _answer_record(engine.answer(item["q"]))
    for sources, seed in QUIZZES:
        key = f"{'+'.join(sources)}@{seed}"
        try:
            quiz = build_quiz(sources, count=QUIZ_COUNT, seed=seed, corpus=corpus)
            snap["quizzes"][key] = json.loads(to_json(quiz.items))
        except Exception as e:  # noqa: BLE001 - a source that cannot be quizzed is itself a behaviour to keep
            snap["quizzes"][key] = {"error": type(e).__name__, "message": str(e)}
    out.write_text(json.dumps(snap, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return snap


def compare(a: dict, b: dict, show: int = 5) -> int:
    diffs = []
    for part in ("answers", "quizzes"):
        keys = sorted(set(a[part]) | set(b[part]))
        for k in keys:
            if a[part].get(k) != b[part].get(k):
                diffs.append((part, k))
        print(f"{part}: {len(keys)} records, {sum(1 for p, _ in diffs if p == part)} differ")
    for part, k in diffs[:show]:
        print(f"--- {part} {k}\n  before: {json.dumps(a[part].get(k), ensure_ascii=False)[:600]}"
              f"\n  after:  {json.dumps(b[part].get(k), ensure_ascii=False)[:600]}")
    return 1 if diffs else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.snapshot", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("before")
    c.add_argument("after")
    args = ap.parse_args(argv)
    if args.cmd == "record":
        snap = record(Path(args.out))
        print(f"{len(snap['answers'])} answers, {len(snap['quizzes'])} quizzes → {args.out}", file=sys.stderr)
        return 0
    load = lambda p: json.loads(Path(p).read_text(encoding="utf-8"))  # noqa: E731
    return compare(load(args.before), load(args.after))


if __name__ == "__main__":
    sys.exit(main())
