"""``python -m evals`` — measure answer quality and speed.

    python -m evals run [--mode llm] [--readme]   dev set: hit@1/@5, MRR, refusal, latency per retrieval mode
    python -m evals run --questions evals/dev2.jsonl [--readme]
                                                  the same on the second question set
    python -m evals calibrate [--readme]          choose the refusal rule on both question sets → index/calibration.json
    python -m evals latency [--all-laws] [--readme]  warm latency of the dev questions on a (full-DB) index
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from evals.harness import (CALIBRATION_SETS, DEV_SET, EVALS, all_laws_settings, choose_refusal_rule, refusal_errors, refusal_markdown, eval_settings, latency_markdown, load_questions, markdown_table, per_category, run_config,
                           update_readme)
from npcqa.settings import get_settings

RESULTS = EVALS / "results"


def _engine(settings, quiet: bool):
    from index.engine import Engine
    from ingest.sync import run_sync

    report, _ = run_sync(settings, quiet=quiet)
    if not quiet:
        print(f"eval index: {report.chunks_total} chunks ({report.chunks_embedded} embedded now)", file=sys.stderr)
    return Engine.from_settings(settings)


def _write(name: str, data: dict, out: str | None) -> Path:
    path = Path(out) if out else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def cmd_run(args) -> int:
    settings = eval_settings(get_settings())
    qpath = Path(args.questions) if args.questions else DEV_SET
    try:
        questions = load_questions(qpath)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    other_set = qpath.resolve() != DEV_SET.resolve()
    engine = _engine(settings, args.json)
    for q in questions[:3]:  # warm-up: first calls pay jieba/model start-up
        engine.ask(q.q)
    results: dict = {}
    categories = {}
    if args.mode == "llm":
        from index.llm import build_engine

        llm_engine = build_engine(settings.model_copy(update={"answer_mode": "llm"}), engine=engine)
        res, answers = run_config(engine, questions, "hybrid", ask=lambda q: llm_engine.answer(q))
        sents = sum((a.verification or {}).get("sentences", 0) for a in answers)
        kept = sum((a.verification or {}).get("kept", 0) for a in answers)
        res["llm_answers"] = sum(1 for a in answers if a.mode == "llm")
        res["sentences_kept_share"] = round(kept / sents, 3) if sents else None
        results["hybrid+llm"] = res
        categories = per_category(questions, answers)
    else:
        for mode in ("dense", "bm25", "hybrid"):
            res, answers = run_config(engine, questions, mode)
            results[mode] = res
            if mode == "hybrid":
                categories = per_category(questions, answers)
    data = {"dev_set": str(qpath), "embed_model": engine.embedder.fingerprint,
            "thresholds": engine.thresholds, "results": results, "hybrid_by_category": categories,
            "time": time.strftime("%Y-%m-%d %H:%M")}
    name = qpath.stem if other_set else "dev"
    path = _write(f"{name}_llm" if args.mode == "llm" else name, data, args.out)
    table = markdown_table(results)
    if args.readme and args.mode != "llm" and other_set:
        update_readme(f"evals-{name}", table + f"\n\n_{len(questions)} questions from `{qpath.name}`, embedding "
                      f"`{engine.embedder.fingerprint}`, thresholds {engine.thresholds}; from "
                      f"`python -m evals run --questions {qpath.name}` ({data['time']})._")
    elif args.readme and args.mode != "llm":
        update_readme("evals", table + f"\n\n_{len(questions)} dev questions, embedding `{engine.embedder.fingerprint}`; "
                      f"from `python -m evals run` ({data['time']})._")
        update_readme("latency", latency_markdown())
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(table)
        print(f"\nby category (hybrid): {json.dumps(categories, ensure_ascii=False)}")
        print(f"written: {path}")
    return 0


def cmd_calibrate(args) -> int:
    """Choose the refusal rule (``evals.harness.choose_refusal_rule``) on both question sets → index/calibration.json.

    Before fitting on their union it fits on each set alone and measures the rule on the other one:
    those two cross-checks are the estimate of how the rule does on questions it was not fitted to."""
    settings = eval_settings(get_settings())
    engine = _engine(settings, False)
    sets = {}
    for path in CALIBRATION_SETS:
        rows = []
        for q in load_questions(path):
            p = engine.prepare(q.q)
            if p.exact:
                continue  # an exact article hit is never refused
            rows.append((q.answerable, p.rel.coverage, p.rel.dense))
        sets[path.name] = rows
    (a_name, a_rows), (b_name, b_rows) = sets.items()
    cross = {f"fit {a_name} → {b_name}": refusal_errors(choose_refusal_rule(a_rows), b_rows),
             f"fit {b_name} → {a_name}": refusal_errors(choose_refusal_rule(b_rows), a_rows)}
    cal = choose_refusal_rule(a_rows + b_rows)
    cal.update({"fit_on": list(sets), "cross_check": cross, "embed_model": engine.embedder.fingerprint,
                "time": time.strftime("%Y-%m-%d %H:%M")})
    Path(EVALS.parent / "index" / "calibration.json").write_text(json.dumps(cal, ensure_ascii=False, indent=2) + "\n")
    if args.readme:
        update_readme("refusal", refusal_markdown(cal))
    print(json.dumps(cal, ensure_ascii=False))
    return 0


def cmd_latency(args) -> int:
    """Warm per-question latency (hybrid vs dense-only) on an index; --all-laws builds the full-DB one."""
    from index.engine import Engine
    from ingest.sync import run_sync

    base = get_settings()
    settings = all_laws_settings(base) if args.all_laws else eval_settings(base)
    t0 = time.perf_counter()
    report, _ = run_sync(settings, quiet=args.json)
    build_s = time.perf_counter() - t0
    engine = Engine.from_settings(settings)
    questions = load_questions()
    for q in questions[:5]:
        engine.ask(q.q)
    out = {"chunks": report.chunks_total, "sync_seconds": round(build_s, 1),
           "chunks_embedded": report.chunks_embedded, "embed_model": engine.embedder.fingerprint}
    for mode in ("hybrid", "dense", "bm25"):
        res, _ = run_config(engine, questions, mode)
        out[mode] = {"p50_ms": res["latency_p50_ms"], "p95_ms": res["latency_p95_ms"], "hit@5": res["hit@5"]}
    out["hybrid_over_dense_p95"] = round(out["hybrid"]["p95_ms"] / max(out["dense"]["p95_ms"], 1e-6), 2)
    store_bytes = sum(p.stat().st_size for p in settings.home.rglob("*") if p.is_file())
    out["home_mb"] = round(store_bytes / 1e6, 1)
    out["time"] = time.strftime("%Y-%m-%d %H:%M")
    path = _write("latency_all_laws" if args.all_laws else "latency", out, args.out)
    if args.readme:
        update_readme("latency", latency_markdown())
    print(json.dumps(out, ensure_ascii=False) if args.json else f"{json.dumps(out, ensure_ascii=False, indent=2)}\n{path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--mode", choices=["extractive", "llm"], default="extractive")
    r.add_argument("--questions", help="a JSONL question set other than evals/dev.jsonl (e.g. evals/dev2.jsonl)")
    r.add_argument("--json", action="store_true")
    r.add_argument("--out")
    r.add_argument("--readme", action="store_true", help="write the table into README.md")
    cal = sub.add_parser("calibrate")
    cal.add_argument("--readme", action="store_true", help="write the rule and its cross-checks into README.md")
    lat = sub.add_parser("latency")
    lat.add_argument("--all-laws", action="store_true")
    lat.add_argument("--json", action="store_true")
    lat.add_argument("--readme", action="store_true", help="regenerate the README's speed section")
    lat.add_argument("--out")
    args = p.parse_args(argv)
    return {"run": cmd_run, "calibrate": cmd_calibrate, "latency": cmd_latency}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
