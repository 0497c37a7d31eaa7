"""``python -m evals.bench_start`` — first start, restarts and memory, as a user meets them (issue #16).

Each step is a separate process, timed by wall clock from outside, in a fresh home:

1. ``python -m ingest --json`` from scratch (the default corpus: every current law + the reports):
   wall time, peak RSS, and where the vectors came from (shipped / local cache / computed);
2. the same with nothing changed (target < 2 s: the model must not load);
3. ``python app.py`` over that index: seconds to the first HTTP 200 (target < 8 s), then one question
   through the API (the model loads in the background after serving starts) and the app's RSS;
4. ``python app.py`` on an empty home: seconds to HTTP 200 including the first index build — what a
   fresh ``make run`` adds after its install (conversion excluded when the model cache is warm).

Results go to ``evals/results/start.json``; ``--readme`` regenerates the README's start-up table. CPU
name, VNNI and the 1-minute load average are recorded: on a shared 2-core machine they decide speed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from npcqa.paths import REPO_ROOT
from npcqa.readme import update_readme
from npcqa.serving import ServerExited, free_port, wait_until_serving
from npcqa.settings import get_settings

RESULTS = Path(__file__).resolve().parent / "results"
SERVE_TIMEOUT = 900  # s: a first start on a slow, shared CPU builds the index before serving


def _env(home: Path) -> dict:
    base = get_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPCQA_")}
    env.update({"NPCQA_HOME": str(home), "NPCQA_MODEL_CACHE": str(base.models_dir), "HF_HUB_OFFLINE": "1",
                "PYTHONPATH": str(REPO_ROOT)})
    return env


def _cpu() -> str:
    from npcqa.machine import cpu_label

    return cpu_label()


def run_ingest(home: Path) -> dict:
    """One ``python -m ingest --json`` in its own process: wall seconds, peak RSS, its JSON report.

    Peak RSS: ``RUSAGE_CHILDREN`` keeps the largest child's maximum over a process's life, so each call
    runs in a fresh helper process that reports the figure of its one child."""
    code = ("import json, resource, subprocess, sys, time; t = time.perf_counter(); "
            "p = subprocess.run([sys.executable, '-m', 'ingest', '--json'], capture_output=True, text=True); "
            "print(json.dumps({'wall': time.perf_counter() - t, 'rc': p.returncode, 'out': p.stdout, 'err': p.stderr[-2000:], "
            "'peak_mb': round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}))")
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=_env(home), capture_output=True, text=True)
    r = json.loads(p.stdout)
    report = json.loads(r["out"].strip().splitlines()[-1]) if r["out"].strip() else {"error": r["err"]}
    return {"wall_seconds": round(r["wall"], 2), "peak_rss_mb": r["peak_mb"], "rc": r["rc"], "report": report}


def _rss_mb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status", encoding="utf-8"):
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024)
    return 0


def run_app(home: Path, ask: bool = True) -> dict:
    """Start ``python app.py``; seconds to HTTP 200, then (``ask``) one answer and the RSS after it."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO_ROOT, env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out: dict = {}
    try:
        try:
            wait_until_serving(f"http://127.0.0.1:{port}/", proc, SERVE_TIMEOUT, interval=0.1)
        except ServerExited as exc:
            raise RuntimeError(f"app exited with {exc.returncode}: {proc.stdout.read()[-2000:]}") from None
        except TimeoutError:
            raise RuntimeError("app did not serve in time") from None
        out["http_200_seconds"] = round(time.perf_counter() - t0, 2)
        out["rss_at_http_200_mb"] = _rss_mb(proc.pid)
        if ask:
            from gradio_client import Client

            t1 = time.perf_counter()
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            chat, *_ = client.predict("监督法第十条规定了什么？", [], ["law"], "", "", api_name="/ask")
            out["first_answer_seconds"] = round(time.perf_counter() - t1, 2)
            out["answered"] = bool(chat)
            time.sleep(1.0)
            out["rss_after_answer_mb"] = _rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return out


def bench(keep: Path | None = None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="npcqa-start-"))
    try:
        load = os.getloadavg()[0]
        home = keep or tmp / "home"
        fresh = run_ingest(home)
        nochange = run_ingest(home)
        app = run_app(home)
        first = run_app(tmp / "home-first", ask=False)
        return {"cpu": _cpu(), "cores": os.cpu_count(), "load_1min_at_start": round(load, 2),
                "embed_model": get_settings().embed_model, "ingest_from_scratch": fresh,
                "ingest_nothing_changed": nochange, "app_restart": app, "app_first_start": first,
                "load_1min_at_end": round(os.getloadavg()[0], 2)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def table(r: dict) -> str:
    f, n, a, s = r["ingest_from_scratch"], r["ingest_nothing_changed"], r["app_restart"], r["app_first_start"]
    rep = f["report"]
    return "\n".join([
        "| measure | value | target |", "| --- | --- | --- |",
        f"| `python -m ingest` from scratch ({rep.get('chunks_total')} chunks; vectors: {rep.get('vectors_shipped')} "
        f"shipped, {rep.get('vectors_computed')} computed) | {f['wall_seconds']} s, peak RSS {f['peak_rss_mb']} MB | "
        "RSS < 1.5 GB |",
        f"| `python -m ingest` with nothing changed | {n['wall_seconds']} s (model loaded: "
        f"{n['report'].get('model_loaded')}) | < 2 s |",
        f"| `python app.py` on an empty home → HTTP 200 (first index build included) | {s['http_200_seconds']} s | "
        "< 3 min with the install |",
        f"| `python app.py` with the index present → HTTP 200 | {a['http_200_seconds']} s | < 8 s |",
        f"| first answer after that (model loading in the background) | {a.get('first_answer_seconds')} s | |",
        f"| app RSS at HTTP 200 / after the first answer (all laws) | {a['rss_at_http_200_mb']} / "
        f"{a.get('rss_after_answer_mb')} MB | < 1.5 GB |",
        "",
        f"_`python -m evals.bench_start --readme`, {r['cpu']}, {r['cores']} cores, embedding `{r['embed_model']}`, "
        f"1-minute load average {r['load_1min_at_start']} at the start and {r['load_1min_at_end']} at the end "
        "(the machine is shared)._",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.bench_start")
    p.add_argument("--readme", action="store_true")
    p.add_argument("--out")
    args = p.parse_args(argv)
    r = bench()
    path = Path(args.out) if args.out else RESULTS / "start.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(r, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.readme:
        update_readme("bench-start", table(r))
    print(table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
