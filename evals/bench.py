"""``python -m evals.bench ingest|embed`` — speed benchmarks that write JSON results.

ingest: raw model encode throughput on the corpus chunks vs. the pipeline's end-to-end
chunks/second (read, clean, chunk, embed, store, keyword index), then the time of a no-change
re-run. Libraries and the model are loaded before the clock starts (start-up is not throughput).
Raw encode and the pipeline (a from-scratch build into an empty home) each run ``ROUNDS`` times,
alternating, and the best round of each counts: on a shared VM single runs of the same encode vary
by +-15%, which would otherwise decide the ratio. Both run the bare model (no embedding cache), so they
measure the encoder; ``cached_build`` is the default path (shipped law vectors + local cache, model
loaded only for misses) into another empty home. ``--all-laws`` also builds the full-DB index once with
the default path and reports its time, size and where its vectors came from.
embed: see evals/bench_embed.py.
"""
from __future__ import annotations

import argparse
import importlib
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from evals.harness import all_laws_settings
from npcqa.readme import update_readme
from npcqa.settings import get_settings

RESULTS = Path(__file__).resolve().parent / "results"


ROUNDS = 2


def _dir_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6, 1)


def bench_ingest(all_laws: bool, quiet: bool) -> dict:
    from evals.bench_embed import corpus_passages
    from index.embedding import make_backend, make_embedder
    from ingest.sync import run_sync

    base = get_settings()
    tmp = Path(tempfile.mkdtemp(prefix="npcqa-bench-"))
    try:
        # the bundled corpus as before all laws became the default: the 21 core laws + reports (1,329 chunks)
        settings = base.model_copy(update={"home": tmp / "home", "model_cache": base.models_dir, "core_laws": True})
        embedder = make_backend(settings)  # the bare model: throughput of the encoder, no cache
        texts = corpus_passages(settings)  # exactly what the pipeline embeds
        embedder.embed_passages(texts[:8])  # warm-up
        importlib.import_module("chromadb")  # its import cost stays outside the clock, like the model load

        from npcqa.text import tokenize
        tokenize("预热分词词典")
        raw_runs, pipe_runs = [], []
        for r in range(ROUNDS):
            t0 = time.perf_counter()
            for i in range(0, len(texts), settings.embed_batch):
                embedder.embed_passages(texts[i: i + settings.embed_batch])
            raw_runs.append(time.perf_counter() - t0)
            settings = settings.model_copy(update={"home": tmp / f"home{r}"})  # empty: a build from scratch
            t0 = time.perf_counter()
            first, _ = run_sync(settings, embedder=embedder, quiet=quiet)
            pipe_runs.append(time.perf_counter() - t0)
        raw_s, pipe_s = min(raw_runs), min(pipe_runs)
        t0 = time.perf_counter()
        second, _ = run_sync(settings, embedder=embedder, quiet=True)
        rerun_s = time.perf_counter() - t0
        cached_settings = settings.model_copy(update={"home": tmp / "home-cached"})
        cached = make_embedder(cached_settings)
        t0 = time.perf_counter()
        run_sync(cached_settings, embedder=cached, quiet=True)
        cached_s = time.perf_counter() - t0
        out = {
            "embed_model": embedder.fingerprint, "docs": first.docs_added, "chunks": len(texts),
            "cached_build": {"seconds": round(cached_s, 1), "vectors_shipped": cached.hits_shipped,
                             "vectors_computed": cached.computed},
            "raw_encode_pps": round(len(texts) / raw_s, 2),
            "pipeline_cps": round(first.chunks_embedded / pipe_s, 2),
            "pipeline_seconds": round(pipe_s, 1),
            "pipeline_vs_raw": round((first.chunks_embedded / pipe_s) / (len(texts) / raw_s), 3),
            "raw_runs_seconds": [round(x, 1) for x in raw_runs], "pipeline_runs_seconds": [round(x, 1) for x in pipe_runs],
            "nochange_rerun_seconds": round(rerun_s, 2), "rerun_chunks_embedded": second.chunks_embedded,
            "home_mb": _dir_mb(settings.home),
        }
        if all_laws:  # from scratch, into the home `python -m evals latency --all-laws` then reuses
            full = all_laws_settings(base)
            shutil.rmtree(full.home, ignore_errors=True)
            t0 = time.perf_counter()
            full_emb = make_embedder(full)
            rep, _ = run_sync(full, embedder=full_emb, quiet=quiet)
            out["all_laws"] = {"docs": rep.docs_added, "vectors_shipped": full_emb.hits_shipped,
                               "vectors_computed": full_emb.computed,
                               "chunks": rep.chunks_total, "seconds": round(time.perf_counter() - t0, 1),
                               "store_mb": _dir_mb(full.home), "errors": len(rep.errors),
                               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ingest_table(r: dict) -> str:
    rows = ["| measure | value |", "| --- | --- |",
            f"| embedding backend | `{r['embed_model']}` |",
            f"| bundled corpus | {r['docs']} documents, {r['chunks']} chunks |",
            f"| raw model encode (best of {len(r.get('raw_runs_seconds', [1]))}) | {r['raw_encode_pps']} passages/s |",
            f"| pipeline end to end (read → clean → chunk → embed → store → BM25) | {r['pipeline_cps']} chunks/s "
            f"({r['pipeline_seconds']} s; {r['pipeline_vs_raw']}× raw) |",
            *([f"| same build, default path (shipped law vectors + local cache) | {r['cached_build']['seconds']} s "
               f"({r['cached_build']['vectors_shipped']} vectors shipped, {r['cached_build']['vectors_computed']} computed) |"]
              if r.get("cached_build") else []),
            f"| re-run with nothing changed | {r['nochange_rerun_seconds']} s, {r['rerun_chunks_embedded']} embedded |",
            f"| index size on disk | {r['home_mb']} MB |"]
    if r.get("all_laws"):
        a = r["all_laws"]
        src = (f"; {a['vectors_shipped']} vectors shipped, {a['vectors_computed']} computed"
               if "vectors_shipped" in a else "")
        rows.append(f"| full law DB (`--all-laws`), built from scratch | {a['chunks']} chunks in {a['seconds']} s "
                    f"({a['seconds'] / 60:.1f} min{src}), {a['store_mb']} MB on disk, peak RSS {a['peak_rss_mb']} MB |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.bench")
    p.add_argument("what", choices=["ingest", "embed"])
    p.add_argument("--json", action="store_true")
    p.add_argument("--all-laws", action="store_true")
    p.add_argument("--out")
    p.add_argument("--readme", action="store_true")
    args, rest = p.parse_known_args(argv)
    if args.what == "embed":
        from evals import bench_embed

        return bench_embed.main((["--json"] if args.json else []) + (["--readme"] if args.readme else [])
                                 + (["--out", args.out] if args.out else []) + rest)
    result = bench_ingest(args.all_laws, args.json)
    path = Path(args.out) if args.out else RESULTS / ("ingest_all_laws.json" if args.all_laws else "ingest.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.readme:
        shown = dict(result)
        full = RESULTS / "ingest_all_laws.json"
        if "all_laws" not in shown and full.is_file():  # keep the last full-DB measurement in the table
            shown["all_laws"] = json.loads(full.read_text(encoding="utf-8")).get("all_laws")
        update_readme("bench-ingest", ingest_table(shown))
    print(json.dumps(result, ensure_ascii=False) if args.json else ingest_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
