"""``python -m evals`` — measure answer quality and speed.

    python -m evals run [--mode llm] [--readme]   dev set: hit@1/@5, MRR, refusal, latency per retrieval mode
    python -m evals calibrate                     choose refusal thresholds on the dev set → index/calibration.json
    python -m evals latency [--all-laws] [--readme]  warm latency of the dev questions on a (full-DB) index
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from evals.harness import (EVALS, all_laws_settings, eval_settings, latency_markdown, load_questions, markdown_table, per_category, run_config,
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
    questions = load_questions()
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
    data = {"dev_set": str(EVALS / "dev.jsonl"), "embed_model": engine.embedder.fingerprint,
            "thresholds": engine.thresholds, "results": results, "hybrid_by_category": categories,
            "time": time.strftime("%Y-%m-%d %H:%M")}
    path = _write("dev_llm" if args.mode == "llm" else "dev", data, args.out)
    table = markdown_table(results)
    if args.readme and args.mode != "llm":
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
    """Grid-search the two refusal thresholds: refuse ≥90% unanswerable, refuse as few answerable as possible."""
    settings = eval_settings(get_settings())
    questions = load_questions()
    engine = _engine(settings, False)
    rows = []
    for q in questions:
        query, ranked = engine.retrieve(q.q)
        rel = engine.relevance(query, ranked)
        exact = bool(query.articles) and any(s == 1.0 for _, s in ranked[:1])
        rows.append((q.answerable, rel.coverage, rel.dense, exact))
    best = None
    for cov in [x / 100 for x in range(20, 101, 2)]:
        for dense in [x / 1000 for x in range(800, 951, 2)]:
            refuse = [(not ex) and c < cov and d < dense for ans, c, d, ex in rows]
            un = [r for r, (ans, *_rest) in zip(refuse, rows) if not ans]
            an = [r for r, (ans, *_rest) in zip(refuse, rows) if ans]
            recall = sum(un) / max(len(un), 1)
            false_ref = sum(an) / max(len(an), 1)
            key = (recall >= 0.9, -false_ref, recall, -abs(cov - 0.5))
            if best is None or key > best[0]:
                best = (key, cov, dense, recall, false_ref)
    _, cov, dense, recall, false_ref = best
    cal = {"coverage": cov, "dense": dense, "dev_refusal_recall": round(recall, 3),
           "dev_answerable_refused": round(false_ref, 3), "embed_model": engine.embedder.fingerprint}
    Path(EVALS.parent / "index" / "calibration.json").write_text(json.dumps(cal, indent=2) + "\n")
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
    r.add_argument("--json", action="store_true")
    r.add_argument("--out")
    r.add_argument("--readme", action="store_true", help="write the table into README.md")
    sub.add_parser("calibrate")
    lat = sub.add_parser("latency")
    lat.add_argument("--all-laws", action="store_true")
    lat.add_argument("--json", action="store_true")
    lat.add_argument("--readme", action="store_true", help="regenerate the README's speed section")
    lat.add_argument("--out")
    args = p.parse_args(argv)
    return {"run": cmd_run, "calibrate": cmd_calibrate, "latency": cmd_latency}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
