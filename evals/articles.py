"""Article-recitation eval (issue #15): "<law>第N条的内容是什么？" asked many ways, scored against the DB.

    python -m evals.articles generate              → evals/articles.jsonl (from the law DB itself)
    NPCQA_HOME=… python -m evals.articles run --label default [--readme]
    NPCQA_HOME=… python -m evals.articles run --label all_laws [--readme]

The law DB is the ground truth: every (law, article) pair and its text come from it. Each pair is
asked in three of several styles (full title, short name, 《》 around either, Arabic numerals, 请问/根据
or a category word in front, inside a longer sentence, 第N条第M款, an abbreviation). On an index that holds the law, a question scores
*article@1* when the first citation is that article of that law and *whole* when the answer
contains the article's whole text (every 款 and 项, in order). On an index without it, the only
right answer is the clear miss: refused, no citation, the law named; *wrong-law* counts answers
that cite some other law's article instead.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import statistics
import sys
import time
from pathlib import Path

from evals.harness import EVALS
from npcqa.readme import update_readme
from npcqa.machine import cpu_label
from npcqa.text import int_to_cn

SET = EVALS / "articles.jsonl"
RESULTS = EVALS / "results"
SEED = 15
PAIRS_PER_LAW = 2  # 352 current laws × 2 (fewer for one-article laws) ≈ 700 pairs: over the 600 asked for
STYLES_PER_PAIR = 3
PRC = "中华人民共和国"
PREFIXES = ("请问", "根据", "请问根据", "我想了解一下")
_DECISION = re.compile(r"^(?:全国人民代表大会常务委员会|全国人民代表大会)关于(.+)$")


def _db() -> sqlite3.Connection:
    from npcqa.lawpackage import db_path

    return sqlite3.connect(f"file:{db_path()}?mode=ro", uri=True)


def _short(title: str) -> str:
    """How a cadre names the law: without 中华人民共和国; a 关于… decision by its core words."""
    t = title.removeprefix(PRC)
    m = _DECISION.match(t)
    return m.group(1).replace("《", "").replace("》", "") if m else t


def _styles(title: str, dept: str, no: int, paras: int, abbr: str, rng: random.Random) -> list[tuple[str, str]]:
    short, cn = _short(title), f"第{int_to_cn(no)}条"
    out = [
        ("full", f"{title}{cn}的内容是什么？"),
        ("short", f"{short}{cn}是怎么规定的？"),
        ("book", f"《{short}》{cn}规定了什么？"),
        ("arabic", f"{short}第 {no} 条的内容是什么？"),
        ("prefix", f"{rng.choice(PREFIXES)}{short}{cn}，内容是什么？"),
        ("category", f"{dept}{short}{cn}的内容是什么？"),
        ("full_book", f"《{title}》{cn}的内容是什么？"),
        ("in_sentence", f"我们在审议中遇到一个问题，{short}{cn}规定了哪些内容？请给出条文原文。"),
    ]
    if paras >= 2:
        out.append(("paragraph", f"{short}{cn}第{int_to_cn(rng.randint(1, paras))}款是怎么规定的？"))
    if abbr:
        out.append(("abbreviation", f"{abbr}{cn}的内容是什么？"))
    return out


def generate(path: Path = SET, seed: int = SEED) -> int:
    from index.normalize import law_abbreviations

    rng = random.Random(seed)
    abbr_of: dict[str, list[str]] = {}
    for short, title in law_abbreviations().items():
        abbr_of.setdefault(title, []).append(short)
    con = _db()
    laws = con.execute("SELECT law_id, law_name, COALESCE(law_department, '') FROM laws WHERE status='现行有效' "
                       "ORDER BY law_name").fetchall()
    rows = []
    for law_id, title, dept in laws:
        arts = con.execute("SELECT article_no_arabic, article_text FROM articles WHERE law_id=? AND status='现行有效' "
                           "AND article_no_arabic > 0 ORDER BY id", (law_id,)).fetchall()
        for no, text in rng.sample(arts, min(PAIRS_PER_LAW, len(arts))):
            paras = sum(1 for p in text.split("\n") if p.strip() and not re.match(r"^[（(][一二三四五六七八九十]+[）)]", p))
            abbr = rng.choice(sorted(abbr_of[title])) if title in abbr_of else ""
            styles = _styles(title, dept, no, paras, abbr, rng)
            for style, q in rng.sample(styles, min(STYLES_PER_PAIR, len(styles))):
                rows.append({"id": f"{law_id}-{no}-{style}", "q": q, "title": title, "article_no": no, "style": style})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    pairs = len({(r["title"], r["article_no"]) for r in rows})
    print(f"{len(rows)} questions over {pairs} (law, article) pairs of {len(laws)} laws → {path}")
    return 0


def _squash(s: str) -> str:
    return re.sub(r"\s+|\[\d+\]", "", s)


def _gold_texts() -> dict[tuple[str, int], str]:
    con = _db()
    return {(t, n): txt for t, n, txt in con.execute(
        "SELECT law_name, article_no_arabic, article_text FROM articles WHERE status='现行有效' AND article_no_arabic > 0")}


def run(label: str, path: Path = SET, readme: bool = False) -> dict:
    from index.engine import Engine
    from index.normalize import law_short_name
    from npcqa.settings import get_settings

    settings = get_settings()
    t0 = time.perf_counter()
    engine = Engine.from_settings(settings)
    load_s = time.perf_counter() - t0
    indexed = engine.article.titles
    gold = _gold_texts()
    by_id = {c.id: c for c in engine.chunks}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for r in rows[:20]:  # warm-up: jieba, model, caches
        engine.answer_extractive(r["q"])
    stats = {"indexed": {"n": 0, "article_at_1": 0, "whole": 0}, "not_indexed": {"n": 0, "clear_miss": 0, "wrong_law": 0}}
    by_style: dict[str, list[int]] = {}
    failures = []
    latencies = []
    for r in rows:
        t = time.perf_counter()
        ans = engine.answer_extractive(r["q"])
        latencies.append((time.perf_counter() - t) * 1000)
        title, no = r["title"], r["article_no"]
        if title in indexed:
            s = stats["indexed"]
            s["n"] += 1
            c0 = ans.citations[0] if ans.citations else None
            # the cited chunk's article number, not its label: decisions number their articles 条目一, 条目二 …
            cited = by_id.get(c0.chunk_id) if c0 else None
            hit = bool(cited and cited.title == title and int(cited.extra.get("article_no") or 0) == no)
            whole = hit and _squash(gold[(title, no)]) in _squash(ans.answer)
            s["article_at_1"] += hit
            s["whole"] += whole
            by_style.setdefault(r["style"], [0, 0])
            by_style[r["style"]][0] += 1
            by_style[r["style"]][1] += hit
            if not (hit and whole):
                failures.append({"id": r["id"], "q": r["q"], "got": c0.locator if c0 else ans.answer[:80]})
        else:
            s = stats["not_indexed"]
            s["n"] += 1
            wrong = any(c.title != title for c in ans.citations)
            named = law_short_name(title) in ans.answer or _short(title) in ans.answer
            ok = ans.refused and not ans.citations and named
            s["clear_miss"] += ok
            s["wrong_law"] += wrong
            if not ok:
                failures.append({"id": r["id"], "q": r["q"], "got": ans.answer[:80]})
    lat = sorted(latencies)
    out = {
        "label": label, "questions": len(rows), "pairs": len({(r["title"], r["article_no"]) for r in rows}),
        "laws_indexed": len(indexed | engine.article.articles.unnumbered), "laws_with_numbered_articles": len(indexed),
        "engine_load_s": round(load_s, 2),
        "indexed": {**stats["indexed"],
                    "article_at_1_rate": round(stats["indexed"]["article_at_1"] / max(1, stats["indexed"]["n"]), 4),
                    "whole_rate": round(stats["indexed"]["whole"] / max(1, stats["indexed"]["n"]), 4)},
        "not_indexed": {**stats["not_indexed"],
                        "clear_miss_rate": round(stats["not_indexed"]["clear_miss"] / max(1, stats["not_indexed"]["n"]), 4)},
        "by_style": {k: round(v[1] / v[0], 4) for k, v in sorted(by_style.items())},
        "latency_ms": {"p50": round(statistics.median(lat), 1), "p95": round(lat[int(0.95 * (len(lat) - 1))], 1),
                       "max": round(lat[-1], 1)},
        "failures": failures[:50], "failures_total": len(failures),
        "cpu": cpu_label(), "time": time.strftime("%Y-%m-%d %H:%M"),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"articles_{label}.json").write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if readme:
        update_readme("articles", readme_table())
    return out


def readme_table() -> str:
    lines = ["| index | laws indexed | questions on indexed laws | article@1 | whole article | "
             "questions on laws not indexed | clear miss | cite another law | p50 ms | p95 ms |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    cpu = ""
    for label in ("default", "all_laws"):
        p = RESULTS / f"articles_{label}.json"
        if not p.exists():
            continue
        d = json.loads(p.read_text(encoding="utf-8"))
        cpu = d.get("cpu", cpu)
        i, m = d["indexed"], d["not_indexed"]
        miss = f"{m['clear_miss_rate']:.3f}" if m["n"] else "—"
        lines.append(f"| {label.replace('_', '-')} | {d['laws_indexed']} | {i['n']} | {i['article_at_1_rate']:.3f} | "
                     f"{i['whole_rate']:.3f} | {m['n']} | {miss} | {m['wrong_law']} | "
                     f"{d['latency_ms']['p50']} | {d['latency_ms']['p95']} |")
    return "\n".join(lines) + f"\n\n_From `python -m evals.articles run` (warm, end to end `Engine.ask`; {cpu}, 2 cores)._"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.articles")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("generate")
    r = sub.add_parser("run")
    r.add_argument("--label", required=True, help="result name: default / all_laws")
    r.add_argument("--readme", action="store_true")
    args = p.parse_args(argv)
    if args.cmd == "generate":
        return generate()
    out = run(args.label, readme=args.readme)
    print(json.dumps({k: v for k, v in out.items() if k != "failures"}, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
