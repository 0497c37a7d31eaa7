"""Quiz builder benchmark: 100 items from 监督法 + 代表法.

    python -m evals.bench_quiz                 # markdown table + 2 sample items per type; JSON to <NPCQA_HOME>/bench/quiz.json
    python -m evals.bench_quiz --json          # the JSON on stdout
    python -m evals.bench_quiz --out b.json --seeds 5

Uses the index of the current NPCQA_HOME when it holds both laws; otherwise builds a small index
of just those two laws (real embedding model) in a temporary home first. Reports wall time (cold:
first quiz on a freshly loaded corpus, distractor pools included; warm: pools cached), items the
validator dropped and why, the type mix, 判断 true/false balance, shortfalls, and the same numbers
summed over several seeds.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LAWS = ["中华人民共和国各级人民代表大会常务委员会监督法", "中华人民共和国全国人民代表大会和地方各级人民代表大会代表法"]
SOURCE = "监督法,代表法"
COUNT = 100


def _two_law_index(root: Path):
    """A fresh index of just the two laws (no reports) under ``root``."""
    from ingest.sync import run_sync
    from npcqa.settings import Settings

    corpus = root / "corpus"
    for sub in ("laws", "opinions", "reports"):
        (corpus / sub).mkdir(parents=True, exist_ok=True)
    names = ", ".join(f'"{n}"' for n in LAWS)
    (corpus / "manifest.toml").write_text(f'[laws]\nstatus = "现行有效"\nnames = [{names}]\n', encoding="utf-8")
    settings = Settings(home=root / "home", corpus_dir=corpus)
    report, _ = run_sync(settings, quiet=True)
    if report.errors:
        raise SystemExit(f"index build failed: {report.errors}")
    return settings


def load_corpus(settings):
    from quiz.select import Corpus, QuizError

    try:
        corpus = Corpus.from_settings(settings)
    except QuizError:  # no index in this home
        return None
    have = set(corpus.law_docs())
    return corpus if all(t in have for t in LAWS) else None


def markdown(data: dict) -> str:
    from quiz.model import DROP_REASONS, TYPES

    rows = ["| metric | value |", "| --- | --- |",
            f"| source | {data['source']} ({data['chunks']} chunks) |",
            f"| items | {data['items']} (requested {data['count']}) |",
            "| type mix | " + ", ".join(f"{t} {data['type_mix'].get(t, 0)}" for t in TYPES) + " |",
            f"| 判断 true / false | {data['judge_truth'].get('正确', 0)} / {data['judge_truth'].get('错误', 0)} |",
            f"| time, cold (incl. distractor pools) | {data['generate_ms_cold']:.0f} ms |",
            f"| time, warm | {data['generate_ms_warm']:.0f} ms |",
            f"| dropped by validator (seed {data['seed']}) | {data['dropped_total']} |"]
    for k, v in data["dropped"].items():
        rows.append(f"| — {DROP_REASONS.get(k, k)} (`{k}`) | {v} |")
    agg = data["over_seeds"]
    rows.append(f"| over {agg['seeds']} seeds: items / dropped / shortfall | {agg['items']} / {agg['dropped_total']} / "
                f"{agg['shortfall_total']} |")
    rows.append(f"| over {agg['seeds']} seeds: mean time | {agg['mean_ms']:.0f} ms |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench_quiz", description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the JSON on stdout")
    ap.add_argument("--out", default="", help="write the JSON here (default <NPCQA_HOME>/bench/quiz.json)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seeds", type=int, default=5, help="also run this many seeds and sum drops")
    ap.add_argument("--samples", type=int, default=2, help="sample items printed per type")
    args = ap.parse_args(argv)

    from npcqa.settings import get_settings
    from quiz.export import to_text
    from quiz.generate import build_quiz
    from quiz.model import TYPES

    settings = get_settings()
    t0 = time.perf_counter()
    corpus = load_corpus(settings)
    built = False
    tmp = None
    if corpus is None:
        tmp = tempfile.TemporaryDirectory(prefix="npcqa-bench-quiz-")
        print("no index with 监督法 + 代表法 in NPCQA_HOME: building a two-law index…", file=sys.stderr)
        settings = _two_law_index(Path(tmp.name))
        corpus = load_corpus(settings)
        built = True
    load_ms = (time.perf_counter() - t0) * 1000

    t1 = time.perf_counter()
    result = build_quiz(SOURCE, count=COUNT, seed=args.seed, corpus=corpus)
    cold = (time.perf_counter() - t1) * 1000
    t2 = time.perf_counter()
    build_quiz(SOURCE, count=COUNT, seed=args.seed + 1000, corpus=corpus)
    warm = (time.perf_counter() - t2) * 1000
    rep = result.report

    seeds = []
    for s in range(args.seed, args.seed + args.seeds):
        ts = time.perf_counter()
        r = build_quiz(SOURCE, count=COUNT, seed=s, corpus=corpus)
        seeds.append({"seed": s, "ms": round((time.perf_counter() - ts) * 1000, 1), "items": len(r.items),
                      "type_mix": r.report.produced, "dropped": r.report.dropped,
                      "shortfall": r.report.shortfall})
    agg_drop: dict[str, int] = {}
    for s in seeds:
        for k, v in s["dropped"].items():
            agg_drop[k] = agg_drop.get(k, 0) + v

    samples = {t: [it.to_json() for it in result.items if it.type == t][:args.samples] for t in TYPES}
    data = {
        "source": SOURCE, "count": COUNT, "seed": args.seed, "index_home": str(settings.home),
        "index_built_for_bench": built, "chunks": rep.chunks, "load_ms": round(load_ms, 1),
        "generate_ms_cold": round(cold, 1), "generate_ms_warm": round(warm, 1), "items": len(result.items),
        "type_mix": rep.produced, "judge_truth": rep.judge_truth, "dropped_total": rep.total_dropped,
        "dropped": rep.dropped, "dropped_by_type": rep.dropped_by_type, "shortfall": rep.shortfall,
        "filled": rep.filled, "material": rep.material, "drop_samples": rep.drop_samples,
        "over_seeds": {"seeds": len(seeds), "items": sum(s["items"] for s in seeds),
                       "dropped_total": sum(agg_drop.values()), "dropped": agg_drop,
                       "shortfall_total": sum(sum(s["shortfall"].values()) for s in seeds),
                       "mean_ms": round(sum(s["ms"] for s in seeds) / max(1, len(seeds)), 1), "runs": seeds},
        "samples": samples,
    }
    out = Path(args.out) if args.out else get_settings().home / "bench" / "quiz.json"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    except OSError as e:
        print(f"could not write {out}: {e}", file=sys.stderr)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(markdown(data))
        print()
        print("Sample items (real output, seed %d):\n" % args.seed)
        flat = [it for t in TYPES for it in samples[t]]
        print(to_text(flat))
        print(f"(JSON written to {out})", file=sys.stderr)
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
