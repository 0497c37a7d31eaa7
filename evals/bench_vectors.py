"""``python -m evals.bench_vectors`` — do shipped vectors change answers or refusals? (issue #16)

Builds the eval corpus (the 21 core laws + reports + the opinion fixture) three times in temp homes and
asks every question of dev.jsonl and dev2.jsonl on each:

* ``shipped``: the default (``st``, fp32) with the embedding cache — law vectors from index/law_vectors.npz;
* ``scratch``: ``st`` with the cache off — every vector computed now, on this CPU;
* ``int8``: ``st-onnx-int8``, the default before the cache, computed now on this CPU.

Per pair it reports the largest change of the refusal signal (best dense cosine), which refusal
decisions flip (and which way), how many questions get a different top-5 chunk list (order / set), and
retrieval hit@5 of both (answerable questions whose gold passage is among the 5 ranked first). ``shipped`` vs ``scratch`` is
the noise the cache adds (expected: float16 rounding only); ``int8`` vs ``shipped`` is what switching the
default backend moved (the calibrated thresholds in index/calibration.json were fitted on int8).
Writes ``evals/results/vectors.json``.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from evals.harness import DEV2_SET, DEV_SET, eval_settings, is_hit, load_questions
from npcqa.settings import get_settings

RESULTS = Path(__file__).resolve().parent / "results"


def _signals(settings) -> dict:
    from index.engine import Engine
    from ingest.sync import run_sync

    t0 = time.perf_counter()
    report, _ = run_sync(settings, quiet=True)
    build = time.perf_counter() - t0
    engine = Engine.from_settings(settings)
    out = {}
    for path in (DEV_SET, DEV2_SET):
        for q in load_questions(path):
            p = engine.prepare(q.q)
            out[f"{path.name}:{q.id}"] = {"dense": p.rel.dense, "coverage": p.rel.coverage, "refused": p.refused,
                                          "answerable": q.answerable, "top5": [c.id for c, _ in p.top[:5]],
                                          "hit5": q.answerable and any(is_hit(q, c) for c, _ in p.top[:5])}
    emb = engine.embedder
    return {"questions": out, "build_seconds": round(build, 1), "chunks": report.chunks_total,
            "vectors_shipped": getattr(emb, "hits_shipped", None), "vectors_computed": getattr(emb, "computed", None),
            "fingerprint": emb.fingerprint, "thresholds": engine.thresholds}


def _compare(a: dict, b: dict) -> dict:
    qa, qb = a["questions"], b["questions"]
    diffs = [abs(qa[k]["dense"] - qb[k]["dense"]) for k in qa]
    return {"questions": len(qa), "dense_abs_diff_max": round(max(diffs), 6),
            "dense_abs_diff_mean": round(sum(diffs) / len(diffs), 6),
            "refusal_flips": {k: f"{'refused' if qa[k]['refused'] else 'answered'} → "
                              f"{'refused' if qb[k]['refused'] else 'answered'} ({'answerable' if qa[k]['answerable'] else 'unanswerable'})"
                              for k in sorted(qa) if qa[k]["refused"] != qb[k]["refused"]},
            "top5_order_differs": sum(qa[k]["top5"] != qb[k]["top5"] for k in qa),
            "top5_set_differs": sum(set(qa[k]["top5"]) != set(qb[k]["top5"]) for k in qa),
            "retrieval_hit5": [sum(q["hit5"] for q in qa.values()), sum(q["hit5"] for q in qb.values()),
                               sum(q["answerable"] for q in qa.values())]}


def main(argv: list[str] | None = None) -> int:
    base = get_settings()
    tmp = Path(tempfile.mkdtemp(prefix="npcqa-vectors-"))
    try:
        runs = {}
        for name, update in (("shipped", {"embed_model": "st", "embed_cache": True}),
                             ("scratch", {"embed_model": "st", "embed_cache": False}),
                             ("int8", {"embed_model": "st-onnx-int8", "embed_cache": True})):
            s = eval_settings(base.model_copy(update={"home": tmp / name, "core_laws": True, **update}))
            runs[name] = _signals(s)
            print(f"{name}: {runs[name]['chunks']} chunks in {runs[name]['build_seconds']} s", file=sys.stderr)
        from npcqa.machine import cpu_label

        out = {"cpu": cpu_label(), "load_1min": round(os.getloadavg()[0], 2),
               "runs": {k: {kk: vv for kk, vv in v.items() if kk != "questions"} for k, v in runs.items()},
               "shipped_vs_scratch": _compare(runs["shipped"], runs["scratch"]),
               "int8_vs_shipped": _compare(runs["int8"], runs["shipped"]),
               "time": time.strftime("%Y-%m-%d %H:%M")}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "vectors.json").write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
