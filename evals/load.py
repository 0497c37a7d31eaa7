"""Bounded load test of the web chat: 20 concurrent clients × 5 questions, localhost only.

    python -m evals.load [--url http://127.0.0.1:7860/] [--clients 20] [--questions 5] [--out PATH]

Without ``--url`` it starts ``app.py`` on a free 127.0.0.1 port (over the index of NPCQA_HOME,
built first if missing), runs the load, and stops the server. Each client is a light page-like
client (``PageClient``: the page's queue protocol and cookie, not ``gradio_client``, whose own CPU
cost would dominate on 2 cores) firing the chat's ``ask`` event (the same event the 提问 button
fires); all clients start together. Every distinct question is first asked once on its own; each
answer under load must equal that sequential answer (``differs_from_sequential`` must be 0). A request counts as an error when it raises, times out, or
returns something other than an answer or a refusal. Prints a JSON report (errors must be 0;
p50/p95 latency in seconds) and writes it to NPCQA_HOME/bench/load.json (or ``--out``).
Exit status is 1 when there were errors. Nothing is sent anywhere but 127.0.0.1.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse
from npcqa.serving import ServerExited, free_port, wait_until_serving

REPO = Path(__file__).resolve().parent.parent
DEV_SET = Path(__file__).resolve().parent / "dev.jsonl"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
FALLBACK_QUESTIONS = ["监督法第十条规定了什么？", "人大代表在闭会期间可以开展哪些活动？", "代表有哪些权利？",
                      "常委会如何听取和审议专项工作报告？", "平凉市如何推动代表活动经常化？"]


def questions(n: int) -> list[str]:
    qs: list[str] = []
    try:
        for line in DEV_SET.read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = json.loads(line).get("q")
                if q:
                    qs.append(q)
    except (OSError, ValueError):
        pass
    qs = qs or FALLBACK_QUESTIONS
    return [qs[i % len(qs)] for i in range(n)]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def check_local(url: str) -> str:
    host = urlparse(url).hostname or ""
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"refusing to load-test {url!r}: only a server on 127.0.0.1/localhost may be used")
    return url if url.endswith("/") else url + "/"


def start_server(log_path: Path, start_timeout: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--host", "127.0.0.1", "--port", str(port)],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(url, proc, start_timeout, interval=1.0)
        return proc, url
    except ServerExited as exc:
        log.close()
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise SystemExit(f"the app exited with status {exc.returncode} before serving:\n{tail}") from None
    except TimeoutError:
        stop_server(proc)
        raise SystemExit(f"the app did not start within {start_timeout:.0f} s (log: {log_path})") from None


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _message_text(chat) -> str:
    if not chat:
        return ""
    content = chat[-1].get("content", "") if isinstance(chat[-1], dict) else ""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


class PageClient:
    """One visitor speaking the page's own wire protocol: ``POST /gradio_api/queue/join`` then the
    ``/gradio_api/queue/data`` event stream, with the page's cookie. Why not ``gradio_client``: it costs
    ~60 ms of CPU per question on the client side (threads, polling), twice what the server spends on
    an answer, so on a 2-core machine the load generator measured itself more than the app (#17)."""

    def __init__(self, url: str, fn_index: int, n_inputs: int, timeout: float):
        import httpx

        self.url, self.fn, self.n_inputs = url.rstrip("/"), fn_index, n_inputs
        self.http = httpx.Client(timeout=timeout)
        self.http.get(self.url + "/")  # the page: its cookie, as a browser gets it

    def ask(self, question: str) -> list:
        import uuid

        session_hash = uuid.uuid4().hex
        data = [None] * self.n_inputs
        data[:6] = [question, [], None, [], "", ""]  # question, chat, (session state), kinds, region, status
        r = self.http.post(self.url + "/gradio_api/queue/join", json={
            "data": data, "fn_index": self.fn, "session_hash": session_hash, "event_data": None, "trigger_id": None})
        r.raise_for_status()
        event_id = r.json()["event_id"]
        with self.http.stream("GET", self.url + "/gradio_api/queue/data", params={"session_hash": session_hash}) as s:
            for line in s.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") != event_id or msg.get("msg") != "process_completed":
                    continue
                if not msg.get("success", False):
                    raise RuntimeError(str(msg.get("output", msg))[:300])
                return msg["output"]["data"][0]
        raise RuntimeError("the event stream ended without a result")

    def close(self) -> None:
        self.http.close()


def ask_endpoint(url: str) -> tuple[int, int]:
    """(fn_index, number of inputs) of the chat's ``ask`` event, from the page's /config."""
    with urllib.request.urlopen(url.rstrip("/") + "/config", timeout=30) as r:
        config = json.load(r)
    for dep in config["dependencies"]:
        if dep.get("api_name") == "ask":
            return dep["id"], len(dep["inputs"])
    raise SystemExit("the app has no /ask event")


def answer_key(chat) -> str:
    """The final answer's HTML without per-request ids, to compare with the sequential run."""
    import re

    return re.sub(r'\b(id|data-[a-z-]*id)="[^"]*"', "", _message_text(chat))


def run_load(url: str, clients: int, per_client: int, timeout: float, deadline_s: float) -> dict:
    qs = questions(clients * per_client)
    fn, n_inputs = ask_endpoint(url)
    # the reference: each distinct question once, one at a time (answers must not depend on the load)
    reference: dict[str, str] = {}
    ref_client = PageClient(url, fn, n_inputs, timeout)
    for q in dict.fromkeys(qs):
        reference[q] = answer_key(ref_client.ask(q))
    ref_client.close()
    mismatches: list[str] = []
    latencies: list[float] = []
    errors: list[dict] = []
    outcomes = {"answered": 0, "cautious": 0, "refused": 0}  # the chat's three outcomes (web/render.py classes)
    lock = threading.Lock()
    barrier = threading.Barrier(clients)
    stop_at = time.monotonic() + deadline_s

    def worker(i: int) -> None:
        try:
            client = PageClient(url, fn, n_inputs, timeout)
        except Exception as exc:  # noqa: BLE001
            with lock:
                errors.extend({"client": i, "question": q, "error": f"connect: {exc}"}
                              for q in qs[i * per_client:(i + 1) * per_client])
            barrier.abort()
            return
        try:
            barrier.wait(timeout=120)
        except threading.BrokenBarrierError:
            pass
        for q in qs[i * per_client:(i + 1) * per_client]:
            if time.monotonic() > stop_at:
                with lock:
                    errors.append({"client": i, "question": q, "error": "not sent: deadline reached"})
                continue
            t0 = time.perf_counter()
            try:
                chat = client.ask(q)
                text = _message_text(chat)
                dt = time.perf_counter() - t0
                kind = "answered" if "npc-msg-answer" in text and "npc-src" in text else \
                    "cautious" if "npc-msg-cautious" in text and "npc-src" in text else \
                    "refused" if "npc-msg-refused" in text else None
                with lock:
                    if kind and answer_key(chat) != reference.get(q):
                        mismatches.append(q)
                    if kind:
                        latencies.append(dt)
                        outcomes[kind] += 1
                    else:
                        errors.append({"client": i, "question": q, "error": "unexpected reply",
                                       "reply": text[:300]})
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append({"client": i, "question": q, "error": f"{type(exc).__name__}: {exc}"[:300]})
        try:
            client.close()
        except Exception:  # noqa: BLE001
            pass

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, stop_at - time.monotonic() + timeout))
    wall = time.perf_counter() - t0
    hung = sum(t.is_alive() for t in threads)
    if hung:
        errors.append({"error": f"{hung} client(s) still running at the deadline"})
    n = clients * per_client
    return {
        "url": url, "clients": clients, "questions_per_client": per_client, "requests": n,
        "ok": len(latencies), **outcomes, "errors": len(errors),
        "differs_from_sequential": len(mismatches), "differing_samples": sorted(set(mismatches))[:5], "error_samples": errors[:10],
        "latency_s": {"p50": round(percentile(latencies, 50), 3), "p95": round(percentile(latencies, 95), 3),
                      "max": round(max(latencies), 3) if latencies else None,
                      "mean": round(sum(latencies) / len(latencies), 3) if latencies else None},
        "wall_s": round(wall, 2), "throughput_qps": round(len(latencies) / wall, 2) if wall else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running app on 127.0.0.1 (default: start app.py on a free port)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=5, help="questions per client")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per answer")
    ap.add_argument("--deadline", type=float, default=600.0, help="no new question is sent after this many seconds")
    ap.add_argument("--start-timeout", type=float, default=3600.0,
                    help="seconds allowed for the app to start (includes building a missing index)")
    ap.add_argument("--out", help="JSON report path (default: NPCQA_HOME/bench/load.json)")
    args = ap.parse_args(argv)
    if not (1 <= args.clients <= 100 and 1 <= args.questions <= 50):
        raise SystemExit("bounded load only: 1–100 clients, 1–50 questions each")
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

    from npcqa.machine import cpu_label
    from npcqa.settings import get_settings

    settings = get_settings()
    out = Path(args.out) if args.out else settings.home / "bench" / "load.json"
    proc = None
    if args.url:
        url = check_local(args.url)
    else:
        print("starting app.py on 127.0.0.1 …", file=sys.stderr, flush=True)
        proc, url = start_server(out.parent / "load-server.log", args.start_timeout)
    try:
        print(f"load: {args.clients} clients × {args.questions} questions against {url}", file=sys.stderr, flush=True)
        report = run_load(url, args.clients, args.questions, args.timeout, args.deadline)
    finally:
        if proc is not None:
            stop_server(proc)
    try:
        import app

        report["server_concurrency_limit"] = app.queue_concurrency(settings)
    except Exception:  # noqa: BLE001
        pass
    report["index_home"] = str(settings.home) if proc is not None else None
    report["cpu"] = cpu_label()
    report["load_average_after"] = list(os.getloadavg())
    report["time"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 1 if report["errors"] or report.get("differs_from_sequential") else 0


if __name__ == "__main__":
    sys.exit(main())
