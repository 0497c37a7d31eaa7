"""Eval harness: the dev question set against an index of the bundled corpus plus the eval fixtures.

A hit is a citation from the gold document whose text contains the gold answer string (both
compared in Simplified script, whitespace ignored). Metrics are computed on what the engine
returns to a user: a refused answerable question is a miss.
"""
from __future__ import annotations

import json
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from npcqa.settings import Settings
from npcqa.text import match_form

EVALS = Path(__file__).resolve().parent
DEV_SET = EVALS / "dev.jsonl"
# A second set, written later by someone who did not run the system.
DEV2_SET = EVALS / "dev2.jsonl"
FIXTURES = EVALS / "fixtures"


@dataclass
class Question:
    id: str
    q: str
    category: str
    gold_doc: str | None
    answer: str | None
    subtype: str = ""  # unanswerable questions: out_of_domain / near_domain / answer_type_gap

    @property
    def answerable(self) -> bool:
        return self.gold_doc is not None


def load_questions(path: Path = DEV_SET) -> list[Question]:
    """Read a JSONL question set; ValueError names the file and line of anything malformed."""
    if not path.is_file():
        raise ValueError(f"{path}: question file not found")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            out.append(Question(d["id"], d["q"], d.get("category", ""), d.get("gold_doc"), d.get("answer"),
                                d.get("subtype", "")))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{path}:{n}: not a question line {{\"id\", \"q\", \"gold_doc\", \"answer\"}} ({e})") from None
    if not out:
        raise ValueError(f"{path}: no questions")
    return out


def eval_settings(base: Settings) -> Settings:
    """The eval index lives in <home>/evals: bundled corpus + the eval fixtures (opinion)."""
    root = base.home / "evals"
    corpus = root / "corpus"
    if corpus.exists():
        shutil.rmtree(corpus)
    shutil.copytree(base.corpus_dir, corpus, ignore=shutil.ignore_patterns(".*"))
    for sub in FIXTURES.iterdir():
        if sub.is_dir():
            shutil.copytree(sub, corpus / sub.name, dirs_exist_ok=True)
    # the converted model is shared with the main home, not converted again for the eval home
    return base.model_copy(update={"home": root / "home", "corpus_dir": corpus, "model_cache": base.models_dir})


def is_hit(q: Question, citation) -> bool:
    doc_id = citation["doc_id"] if isinstance(citation, dict) else citation.doc_id
    text = citation["text"] if isinstance(citation, dict) else citation.text
    return doc_id == q.gold_doc and match_form(q.answer) in match_form(text)


def all_laws_settings(base: Settings) -> Settings:
    """The full-DB eval index (every current law + the eval corpus), shared by
    ``python -m evals.bench ingest --all-laws`` (which builds it from scratch and times it) and
    ``python -m evals latency --all-laws`` (which reuses it when present)."""
    return eval_settings(base).model_copy(update={"home": base.home / "evals" / "home-all-laws", "all_laws": True})


def retrieval_hits(questions: list[Question], retrieved: list[list]) -> dict:
    """hit@1/@5 of the ranked chunks themselves, before the refusal decision: compares retrieval
    quality across embedding models whose calibrated refusal thresholds differ."""
    pairs = [(q, r) for q, r in zip(questions, retrieved) if q.answerable]
    n = max(len(pairs), 1)
    firsts = [next((i for i, c in enumerate(r[:5], 1) if is_hit(q, c)), None) for q, r in pairs]
    return {"retrieval_hit@1": round(sum(f == 1 for f in firsts) / n, 3),
            "retrieval_hit@5": round(sum(f is not None for f in firsts) / n, 3)}


def score(questions: list[Question], answers: list, latencies: list[float]) -> dict:
    """answers: Answer objects or their JSON dicts, aligned with questions."""
    def get(a, k):
        return a[k] if isinstance(a, dict) else getattr(a, k)

    answerable = [(q, a) for q, a in zip(questions, answers) if q.answerable]
    unanswerable = [(q, a) for q, a in zip(questions, answers) if not q.answerable]
    h1 = h5 = rr = 0.0
    for q, a in answerable:
        cites = get(a, "citations")
        ranks = [i for i, c in enumerate(cites[:5], 1) if is_hit(q, c)]
        if ranks:
            h5 += 1
            rr += 1 / ranks[0]
            h1 += ranks[0] == 1
    refused_ans = sum(1 for _, a in answerable if get(a, "refused"))
    refused_un = sum(1 for _, a in unanswerable if get(a, "refused"))
    refused_all = refused_ans + refused_un
    n = max(len(answerable), 1)
    lat = sorted(latencies)
    return {
        "questions": len(questions), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "hit@1": round(h1 / n, 3), "hit@5": round(h5 / n, 3), "mrr": round(rr / n, 3),
        "refusal_precision": round(refused_un / refused_all, 3) if refused_all else None,
        "refusal_recall": round(refused_un / max(len(unanswerable), 1), 3),
        "answerable_refused": round(refused_ans / n, 3),
        "latency_p50_ms": round(statistics.median(lat), 1) if lat else None,
        "latency_p95_ms": round(lat[min(len(lat) - 1, int(0.95 * len(lat)))], 1) if lat else None,
    }


def run_config(engine, questions: list[Question], mode: str, ask=None) -> tuple[dict, list]:
    """Ask every question with one retrieval mode (hybrid / bm25 / dense)."""
    answers, latencies = [], []
    for q in questions:
        t0 = time.perf_counter()
        a = ask(q.q) if ask else engine.answer_extractive(q.q, mode=mode)
        latencies.append((time.perf_counter() - t0) * 1000)
        answers.append(a)
    res = score(questions, answers, latencies)
    if ask is None:  # the same retrieval again, untimed, without the refusal decision
        res.update(retrieval_hits(questions, [[c for c, _ in engine.retrieve(q.q, mode=mode)[1][:5]]
                                              for q in questions]))
    return res, answers


def per_category(questions: list[Question], answers: list) -> dict:
    cats: dict[str, dict] = {}
    for cat in sorted({q.category for q in questions}):
        idx = [i for i, q in enumerate(questions) if q.category == cat]
        s = score([questions[i] for i in idx], [answers[i] for i in idx], [])
        cats[cat] = {k: s[k] for k in ("questions", "hit@1", "hit@5", "refusal_recall", "answerable_refused")}
    return cats


def markdown_table(results: dict) -> str:
    """hit@1/@5/MRR count an answer's citations (a refused answer has none); the retrieval
    columns count the ranked chunks before the refusal decision."""
    rows = ["| retrieval | hit@1 | hit@5 | MRR | retrieval hit@1 / hit@5 | refusal precision | refusal recall "
            "| answerable refused | p50 ms | p95 ms |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        ret = (f"{r['retrieval_hit@1']:.3f} / {r['retrieval_hit@5']:.3f}" if "retrieval_hit@5" in r else "-")
        rows.append(f"| {name} | {r['hit@1']:.3f} | {r['hit@5']:.3f} | {r['mrr']:.3f} | {ret} | {r['refusal_precision']} | "
                    f"{r['refusal_recall']} | {r['answerable_refused']} | {r['latency_p50_ms']} | {r['latency_p95_ms']} |")
    return "\n".join(rows)


def _load_result(name: str) -> dict | None:
    try:
        return json.loads((EVALS / "results" / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def latency_markdown() -> str:
    """The README's speed section, generated from evals/results/{dev,latency_all_laws,load}.json."""
    out = []
    dev = _load_result("dev")
    if dev and "hybrid" in dev.get("results", {}):
        h, d = dev["results"]["hybrid"], dev["results"]["dense"]
        out.append(f"- **Bundled-corpus index** (`python -m evals run`; embedding `{dev['embed_model']}`): a warm "
                   f"question takes p50 {h['latency_p50_ms']} ms / p95 {h['latency_p95_ms']} ms end to end (hybrid "
                   f"retrieval + extractive answer); dense-only p50 {d['latency_p50_ms']} / p95 {d['latency_p95_ms']} ms.")
    full = _load_result("latency_all_laws")
    if full:
        h, d, b = full["hybrid"], full["dense"], full["bm25"]
        out.append(f"- **Full law DB** (`python -m evals latency --all-laws`: every current law in the DB + the "
                   f"eval corpus, {full['chunks']:,} chunks, {full['home_mb']} MB on disk): warm hybrid p50 "
                   f"{h['p50_ms']} ms / p95 {h['p95_ms']} ms; dense-only p50 {d['p50_ms']} / p95 {d['p95_ms']} ms "
                   f"(hybrid/dense p95 = {full['hybrid_over_dense_p95']}×); BM25-only p50 {b['p50_ms']} / p95 "
                   f"{b['p95_ms']} ms. Targets: p95 < 300 ms and ≤ 1.5× dense-only. Dev-set hit@5 on this index: "
                   f"hybrid {h['hit@5']}, dense {d['hit@5']} (all the other laws now compete for every question).")
    load = _load_result("load")
    if load:
        lat = load["latency_s"]
        out.append(f"- **Web load** (`python -m evals.load`: {load['clients']} concurrent clients × "
                   f"{load['questions_per_client']} questions speaking the page's queue protocol, localhost; "
                   f"{load.get('cpu', 'CPU not recorded')}): {load['requests']} requests, {load['errors']} errors, "
                   f"{load.get('differs_from_sequential', '?')} answers differing from the sequential ones, "
                   f"p50 {lat['p50']} s, p95 {lat['p95']} s per answer (queue concurrency "
                   f"{load['server_concurrency_limit']}; {load['throughput_qps']} answers/s; more runs in the "
                   f"security section).")
    return "**Speed** (this machine: 2 CPU cores, no GPU)\n\n" + "\n".join(out)
