"""Query embeddings under concurrency: does the web app's worker pool get parallel forwards?

    python -m evals.bench_query [--clients 4] [--questions 120] [--out evals/results/query_embed.json]

The chat answers several questions at once (``app.queue_concurrency`` workers). Each question embeds its
query first, and that forward pass used to run under one model lock, so the workers took turns.
This benchmark embeds the same ``evals/dev.jsonl`` questions three ways in one run, with the
configured embedding backend and thread count:

- ``sequential``: one caller (one worker thread), one question after another (the reference vectors);
- ``serialised``: ``--clients`` callers behind one lock (what the app did before);
- ``concurrent``: ``--clients`` callers, no lock of ours (what the app does now).

It reports questions per second for each, the ratio ``concurrent / serialised``, and how many
vectors of each concurrent mode are bitwise equal to the sequential ones (they must all be: the
answers may not depend on how busy the server is). The CPU is named (``npcqa.machine.cpu_label``)
with the 1-minute load average, because a shared 2-core machine can halve any figure.
"""
from __future__ import annotations

import argparse
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

EVALS = Path(__file__).resolve().parent


def _timed(fn, questions: list[str], clients: int) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:  # worker threads, as the web app's handlers run
        vectors = list(pool.map(fn, questions))
    return len(questions) / (time.perf_counter() - start), np.stack(vectors)


def run(clients: int, n: int) -> dict:
    from evals.harness import DEV_SET, load_questions
    from index.embedding import make_embedder
    from npcqa.machine import cpu_label
    from npcqa.settings import get_settings

    settings = get_settings()
    embedder = make_embedder(settings)
    questions = [q.q for q in load_questions(DEV_SET)][:n]
    for q in questions:  # untimed pass: the first forward of each new input length is several times slower
        embedder.embed_query(q)
    lock = threading.Lock()

    def serialised(q: str) -> np.ndarray:
        with lock:
            return embedder.embed_query(q)

    seq_qps, reference = _timed(embedder.embed_query, questions, 1)
    ser_qps, ser_vecs = _timed(serialised, questions, clients)
    con_qps, con_vecs = _timed(embedder.embed_query, questions, clients)
    return {
        "embed_model": settings.embed_model, "embed_threads": settings.embed_threads, "clients": clients,
        "questions": len(questions),
        "sequential_qps": round(seq_qps, 1), "serialised_qps": round(ser_qps, 1),
        "concurrent_qps": round(con_qps, 1), "concurrent_vs_serialised": round(con_qps / ser_qps, 2),
        "serialised_equal_rows": int((ser_vecs == reference).all(axis=1).sum()),
        "concurrent_equal_rows": int((con_vecs == reference).all(axis=1).sum()),
        "cpu": cpu_label(), "load_average_after": list(os.getloadavg()),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench_query", description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=4, help="concurrent callers (the app has 2 workers in extractive mode, 4 with an LLM)")
    ap.add_argument("--questions", type=int, default=120)
    ap.add_argument("--out", type=Path, default=EVALS / "results" / "query_embed.json")
    args = ap.parse_args(argv)
    res = run(args.clients, args.questions)
    args.out.write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(res, ensure_ascii=False, indent=2))
    return 0 if res["concurrent_equal_rows"] == res["questions"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
