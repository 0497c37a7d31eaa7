"""``python -m evals`` — measure answer quality and speed.

    python -m evals run [--mode llm] [--readme]   dev set: hit@1/@5, MRR, refusal, latency per retrieval mode
    python -m evals run --questions evals/dev2.jsonl [--readme]
                                                  the same on the second question set
    python -m evals fit-relevance [--readme]      fit the relevance model on evals/blind/fit.jsonl (k-fold figures)
                                                  → index/relevance_model.json  (``calibrate`` is the old name)
    python -m evals blind [--core-laws] [--readme] the sealed split's figures (nothing is fitted on it)
    python -m evals latency [--all-laws] [--readme]  warm latency of the dev questions on a (full-DB) index
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from evals.harness import (DEV_SET, EVALS, all_laws_settings, eval_settings, latency_markdown, load_questions,
                           markdown_table, per_category, run_config)
from npcqa.readme import update_readme
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
        engine.answer_extractive(q.q)
    results: dict = {}
    categories = {}
    if args.mode == "llm":
        from index.factory import build_engine

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
            "relevance_model": engine.relevance_model.provenance, "results": results, "hybrid_by_category": categories,
            "time": time.strftime("%Y-%m-%d %H:%M")}
    name = qpath.stem if other_set else "dev"
    path = _write(f"{name}_llm" if args.mode == "llm" else name, data, args.out)
    table = markdown_table(results)
    if args.readme and args.mode != "llm" and other_set:
        update_readme(f"evals-{name}", table + f"\n\n_{len(questions)} questions from `{qpath.name}`, embedding "
                      f"`{engine.embedder.fingerprint}`; from "
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


def _index_settings(args):
    """The eval index for ``fit-relevance``/``blind``: the default one (every current law + the eval
    corpus), or with ``--core-laws`` the 21 core laws only (in a home of its own)."""
    base = get_settings()
    if getattr(args, "core_laws", False):
        core = eval_settings(base.model_copy(update={"core_laws": True}))
        return core.model_copy(update={"home": base.home / "evals" / "home-core-laws"})
    return eval_settings(base)


def cmd_fit_relevance(args) -> int:
    """Fit the relevance model (``evals.understanding.fit``) on the blind set's fitting split only →
    index/relevance_model.json, with k-fold figures; the sealed split is not read."""
    from evals import understanding as u
    from index.relevance import MODEL_FILE

    settings = _index_settings(args)
    engine = _engine(settings, False)
    sets = (u.FIT_SET, u.OTHER_FIT_SET)
    rows = [r for path in sets for r in u.collect(engine, load_questions(path))]
    model, report = u.fit(rows, engine.embedder.fingerprint, [str(p.relative_to(EVALS.parent)) for p in sets])
    MODEL_FILE.write_text(json.dumps(model.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _write("relevance_fit", {"embed_model": engine.embedder.fingerprint, **report,
                             "low": model.low, "high": model.high, "time": time.strftime("%Y-%m-%d %H:%M")}, None)
    print(json.dumps({"low": model.low, "high": model.high, "kfold_mean": report["kfold_mean"]}, ensure_ascii=False))
    return 0


def cmd_blind(args) -> int:
    """The sealed split's figures with the shipped relevance model (and the fitting split's, for contrast)."""
    from evals import understanding as u

    settings = _index_settings(args)
    engine = _engine(settings, args.json)
    if engine.relevance_notice:
        print(engine.relevance_notice, file=sys.stderr)
    out = {"index": "core-laws" if args.core_laws else "all-laws", "embed_model": engine.embedder.fingerprint,
           "relevance_model": engine.relevance_model.provenance.get("time", "conservative"), "sets": {}}
    for name, path in (("sealed", u.SEALED_SET), ("fit", u.FIT_SET), ("other_sealed", u.OTHER_SEALED_SET),
                       ("other_fit", u.OTHER_FIT_SET)):
        questions = load_questions(path)
        t = []
        rows = []
        for q in questions:
            t0 = time.perf_counter()
            rows.extend(u.collect(engine, [q]))
            t.append((time.perf_counter() - t0) * 1000)
        fig = u.figures(rows, u.outcomes(rows, engine.relevance_model))
        t.sort()
        fig["latency_p95_ms"] = round(t[min(len(t) - 1, int(0.95 * len(t)))], 1)
        out["sets"][name] = fig
    out["time"] = time.strftime("%Y-%m-%d %H:%M")
    path = _write("blind_core_laws" if args.core_laws else "blind", out, args.out)
    if args.readme:
        update_readme("blind", u.blind_markdown())
    print(json.dumps(out, ensure_ascii=False) if args.json else f"{json.dumps(out, ensure_ascii=False, indent=2)}\n{path}")
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
        engine.answer_extractive(q.q)
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
    for name in ("fit-relevance", "calibrate"):
        fr = sub.add_parser(name)
        fr.add_argument("--core-laws", action="store_true", help="fit on the 21-core-law index instead of the default")
    bl = sub.add_parser("blind")
    bl.add_argument("--core-laws", action="store_true", help="the 21-core-law index instead of the default (all laws)")
    bl.add_argument("--json", action="store_true")
    bl.add_argument("--readme", action="store_true", help="write the tables into README.md")
    bl.add_argument("--out")
    lat = sub.add_parser("latency")
    lat.add_argument("--all-laws", action="store_true")
    lat.add_argument("--json", action="store_true")
    lat.add_argument("--readme", action="store_true", help="regenerate the README's speed section")
    lat.add_argument("--out")
    args = p.parse_args(argv)
    return {"run": cmd_run, "fit-relevance": cmd_fit_relevance, "calibrate": cmd_fit_relevance,
            "blind": cmd_blind, "latency": cmd_latency}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
