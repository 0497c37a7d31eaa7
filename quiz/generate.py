"""Deterministic quiz generation: 单选 / 多选 / 判断 / 填空 from key facts of the selected chunks, no LLM.

    result = build_quiz("监督法", counts={"单选": 5, "多选": 5, "判断": 5, "填空": 5}, seed=1)
    result.items        # [QuizItem], grouped by type in the order asked
    result.report       # QualityReport: counts by type, drops and why, shortfalls

* Material comes from quiz.facts: single key facts (time limits, ratios, counts, bodies, procedures,
  quoted named measures) and lists (an article's （一）（二） items, X、Y、Z和W inside a sentence,
  一是/二是 points of a report section).
* Distractors are real alternatives of the same type taken from the whole index (other time limits,
  other bodies of the same class, quoted measures of other reports, items of other lists), never
  invented strings; numbers are re-written in the answer's form (三十日 → 三十日前 when the blank is
  ``X日前``) but the number itself always occurs in the corpus.
* Every item passes ``validate`` before it is kept: the answer is in the source text, no distractor
  is in the source sentence / answer set / similar to an answer, no distractor yields a phrase that
  occurs anywhere in the corpus (which would make it correct there), options unique, stems unique.
  Failing items are dropped (counted by reason) and replaced by the next candidate.
* 判断 items carry ``options == ["正确", "错误"]`` and ``answer`` 正确/错误; 填空 items have no
  options and the blank is ``____``; 单选/多选 answers are letters ("A", "ABD").
* Randomness: ``random.Random(f"{seed}:{type}")`` per type, candidates in text order before the
  seeded shuffle, no set iteration — the same seed gives byte-identical JSON in any process.
"""
from __future__ import annotations

import math
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from index.normalize import law_short_name
from npcqa.text import to_simplified
from npcqa.types import Chunk
from quiz.facts import (BODY_CLASSES, DAY_UNITS, FREQ_TERMS, LOCAL_ONLY, NATIONAL, PROC_CLASSES, SYNONYMS, Fact,
                        ListFact, extract_facts, extract_lists, is_traditional, lexicon_hits, norm, num_value,
                        render_number, sentence_numbers, to_traditional)
from quiz.select import Corpus, QuizError, Selection, section_label, select_chunks

TYPES = ("单选", "多选", "判断", "填空")
TYPE_ALIASES = {"单选": "单选", "单选题": "单选", "single": "单选", "多选": "多选", "多选题": "多选", "multi": "多选",
                "multiple": "多选", "判断": "判断", "判断题": "判断", "judge": "判断", "truefalse": "判断",
                "填空": "填空", "填空题": "填空", "blank": "填空", "fill": "填空"}
BLANK = "____"
PAREN = "（　　）"
LETTERS = "ABCDEF"
TRUE, FALSE = "正确", "错误"
JUDGE_OPTIONS = [TRUE, FALSE]
WINDOW = 96  # max chars of a law sentence shown in a stem; longer ones are cut at clause boundaries
REPORT_WINDOW = 64  # reports run on: their stems are cut shorter


# ============================================================================ data
@dataclass
class QuizItem:
    type: str
    stem: str
    options: list[str]
    answer: str
    explanation: str
    source: dict  # title, locator, text, chunk_id
    meta: dict = field(default_factory=dict, repr=False, compare=False)  # validator inputs; not exported

    def to_json(self) -> dict:
        return {"type": self.type, "stem": self.stem, "options": list(self.options), "answer": self.answer,
                "explanation": self.explanation,
                "source": {k: self.source.get(k, "") for k in ("title", "locator", "text", "chunk_id")}}

    def correct_texts(self) -> list[str]:
        if self.type in ("单选", "多选"):
            return [self.options[LETTERS.index(ch)] for ch in self.answer if ch in LETTERS[:len(self.options)]]
        return [self.answer]


@dataclass
class QualityReport:
    seed: int
    requested: dict[str, int]
    produced: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)  # reason → n
    dropped_by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    shortfall: dict[str, int] = field(default_factory=dict)  # type → items that could not be made
    filled: dict[str, int] = field(default_factory=dict)  # type → extra items made to cover a shortfall
    material: dict[str, int] = field(default_factory=dict)  # candidate facts / lists by kind
    judge_truth: dict[str, int] = field(default_factory=dict)
    chunks: int = 0
    sources: dict = field(default_factory=dict)
    elapsed_ms: float = 0.0
    drop_samples: list[dict] = field(default_factory=list)

    @property
    def total_dropped(self) -> int:
        return sum(self.dropped.values())

    def to_json(self) -> dict:
        return {"seed": self.seed, "requested": self.requested, "produced": self.produced,
                "total": sum(self.produced.values()), "dropped_total": self.total_dropped, "dropped": self.dropped,
                "dropped_by_type": self.dropped_by_type, "shortfall": self.shortfall, "filled": self.filled,
                "judge_truth": self.judge_truth, "material": self.material, "chunks": self.chunks,
                "sources": self.sources, "elapsed_ms": self.elapsed_ms, "drop_samples": self.drop_samples}

    def summary(self) -> str:
        lines = ["出题质量报告：",
                 "  题型  要求  生成  校验剔除",
                 *[f"  {t}  {self.requested.get(t, 0):>4}  {self.produced.get(t, 0):>4}  "
                   f"{sum(self.dropped_by_type.get(t, {}).values()):>6}" for t in TYPES
                   if t in self.requested or t in self.produced],
                 f"  来源文本块 {self.chunks} 个；候选素材 {sum(self.material.values())} 条；用时 {self.elapsed_ms:.0f} ms"]
        if self.dropped:
            lines.append("  剔除原因：" + "，".join(f"{DROP_REASONS.get(k, k)} {v}" for k, v in self.dropped.items()))
        if self.shortfall:
            lines.append("  素材不足：" + "，".join(f"{t} 少 {n} 题" for t, n in self.shortfall.items()))
        if self.filled:
            lines.append("  已用其他题型补足：" + "，".join(f"{t} +{n}" for t, n in self.filled.items()))
        return "\n".join(lines)


DROP_REASONS = {
    "bad_structure": "结构不合规",
    "duplicate_options": "选项重复",
    "answer_not_in_source": "答案在原文中找不到",
    "false_statement_in_source": "错误表述竟在原文中",
    "distractor_in_answer": "干扰项与答案重合",
    "distractor_in_sentence": "干扰项出现在原句中",
    "distractor_number_in_sentence": "干扰数字出现在原句中",
    "distractor_similar_to_answer": "干扰项与正确项过于相似",
    "distractor_correct_elsewhere": "干扰项代入后在语料中成立",
    "answer_visible_in_stem": "答案在题干中可见",
    "duplicate_stem": "题干重复",
    "blank_ambiguous": "空格可填多个答案",
}


@dataclass
class QuizResult:
    items: list[QuizItem]
    report: QualityReport
    selection: Selection | None = None

    def to_json(self) -> list[dict]:
        return [it.to_json() for it in self.items]


# ============================================================================ counts
def parse_types(spec: str | list[str] | None) -> list[str]:
    if not spec:
        return list(TYPES)
    raw = re.split(r"[,，、\s]+", spec) if isinstance(spec, str) else list(spec)
    out = []
    for r in raw:
        r = r.strip()
        if not r:
            continue
        t = TYPE_ALIASES.get(r) or TYPE_ALIASES.get(r.lower())
        if t is None:
            raise QuizError(f"未知题型“{r}”：可选 单选、多选、判断、填空。")
        if t not in out:
            out.append(t)
    if not out:
        raise QuizError("没有指定题型：可选 单选、多选、判断、填空。")
    return out


def split_count(count: int, types: list[str]) -> dict[str, int]:
    """20 over 4 types → 5 each; a remainder goes to the first types."""
    if count < 0:
        raise QuizError("题目数量不能为负数。")
    base, extra = divmod(count, len(types))
    return {t: base + (1 if i < extra else 0) for i, t in enumerate(types)}


def parse_counts(spec: str) -> dict[str, int]:
    """``单选=5,多选=5,判断=3,填空=2`` → {type: n}."""
    out: dict[str, int] = {}
    for part in re.split(r"[,，;；\s]+", spec or ""):
        if not part.strip():
            continue
        m = re.fullmatch(r"(.+?)\s*[=:：]\s*(\d+)", part.strip())
        if not m:
            raise QuizError(f"无法识别题量“{part}”：请写成 单选=5,多选=5,判断=5,填空=5。")
        t = parse_types(m.group(1))[0]
        out[t] = int(m.group(2))
    if not out:
        raise QuizError("题量为空：请写成 单选=5,多选=5,判断=5,填空=5。")
    return out


# ============================================================================ pools (whole corpus)
@dataclass
class Pools:
    numbers: dict[str, list[tuple[int, str]]]  # family → [(value, unit)]
    terms: dict[str, list[str]]  # family → simplified terms, first-seen order
    list_items: dict[str, list[tuple[str, str, str, str]]]  # family → [(item, list key, section key, doc_id)]
    corpus_text: str  # normalized text of every chunk, for "is this phrase true somewhere?"


def _facts_of(corpus: Corpus, c: Chunk) -> list[Fact]:
    cache = corpus._cache.setdefault("facts", {})
    if c.id not in cache:
        cache[c.id] = extract_facts(c)
    return cache[c.id]


def _lists_of(corpus: Corpus, c: Chunk) -> list[ListFact]:
    cache = corpus._cache.setdefault("lists", {})
    if c.id not in cache:
        cache[c.id] = extract_lists(c)
    return cache[c.id]


def _section_key(c: Chunk) -> str:
    return f"{c.doc_id}\x1f{section_label(c) if c.kind != 'law' else c.locator}"


POOL_CHUNKS = 4000  # distractor material is mined from at most this many chunks (all of a normal corpus)


def _pool_chunks(corpus: Corpus) -> list[Chunk]:
    """Every chunk of a normal corpus; of a huge one (--all-laws), the people's-congress laws, all reports
    and opinions, and an evenly spaced sample of the rest."""
    if len(corpus.chunks) <= POOL_CHUNKS:
        return corpus.chunks
    from index.normalize import alias_tables

    core_titles = set(alias_tables()[0].values())
    core = [c for c in corpus.chunks if c.kind != "law" or c.title in core_titles]
    rest = [c for c in corpus.chunks if not (c.kind != "law" or c.title in core_titles)]
    room = max(0, POOL_CHUNKS - len(core))
    step = max(1, len(rest) // room) if room else len(rest) + 1
    return core + rest[::step][:room]


def pools_for(corpus: Corpus, extra: list[Chunk] | None = None) -> Pools:
    """Distractor pools of the corpus (cached on it); ``extra`` chunks not mined yet are added on the fly."""
    base = corpus._cache.get("pools")
    if base is None:
        base = _build_pools(corpus, _pool_chunks(corpus))
        corpus._cache["pools"] = base
        corpus._cache["pool_ids"] = {c.id for c in _pool_chunks(corpus)}
    missing = [c for c in (extra or []) if c.id not in corpus._cache["pool_ids"]]
    if not missing:
        return base
    more = _build_pools(corpus, missing, text="")
    merged = Pools({k: list(dict.fromkeys(base.numbers.get(k, []) + more.numbers.get(k, [])))
                    for k in set(base.numbers) | set(more.numbers)},
                   {k: list(dict.fromkeys(base.terms.get(k, []) + more.terms.get(k, [])))
                    for k in set(base.terms) | set(more.terms)},
                   {k: list(dict.fromkeys(base.list_items.get(k, []) + more.list_items.get(k, [])))
                    for k in set(base.list_items) | set(more.list_items)},
                   base.corpus_text)
    return merged


def _build_pools(corpus: Corpus, chunks: list[Chunk], text: str | None = None) -> Pools:
    numbers: dict[str, dict[tuple[int, str], None]] = {}
    terms: dict[str, dict[str, None]] = {}
    items: dict[str, dict[tuple[str, str, str, str], None]] = {}
    for c in chunks:
        for f in _facts_of(corpus, c):
            t = to_simplified(f.term)
            if f.value is not None and f.kind in ("time", "count"):
                numbers.setdefault(f.family, {})[(f.value, f.unit)] = None
                numbers.setdefault(f"{f.kind}:unit:{f.unit}", {})[(f.value, f.unit)] = None
            if f.kind in ("ratio", "freq", "body", "proc", "term"):
                terms.setdefault(f.family, {})[t] = None
        for lf in _lists_of(corpus, c):
            key = f"{c.id}:{lf.kind}:{lf.span}"
            for it in lf.items:
                items.setdefault(lf.family, {})[(to_simplified(it), key, _section_key(c), c.doc_id)] = None
    # bodies / procedures / frequencies that occur anywhere in the corpus, even when never blankable
    if text is None:
        text = "\n".join(norm(c.text) for c in corpus.chunks)
    for cls, ts in list(BODY_CLASSES.items()):
        for t in ts:
            if t in text:
                terms.setdefault(f"body:{cls}", {})[t] = None
    for cls, ts in PROC_CLASSES.items():
        for t in ts:
            if t in text:
                terms.setdefault(f"proc:{cls}", {})[t] = None
    for t in FREQ_TERMS:
        if t in text:
            terms.setdefault("freq", {})[t] = None
    return Pools({k: list(v) for k, v in numbers.items()}, {k: list(v) for k, v in terms.items()},
                 {k: list(v) for k, v in items.items()}, text)


# ============================================================================ helpers
def _weighted_order(cands: list, rng: random.Random) -> list:
    """Efraimidis–Spirakis weighted shuffle (deterministic for a seeded rng)."""
    keyed = [(rng.random() ** (1.0 / max(c.weight, 0.01)), i, c) for i, c in enumerate(cands)]
    keyed.sort(key=lambda x: (-x[0], x[1]))
    return [c for _, _, c in keyed]


def _synonyms(term: str) -> set[str]:
    for group in SYNONYMS:
        if term in group:
            return set(group)
    return {term}


def _bigrams(s: str) -> set[str]:
    s = norm(s)
    return {s[i:i + 2] for i in range(len(s) - 1)} or {s}


def containment(a: str, b: str) -> float:
    """Share of ``a``'s character bigrams found in ``b`` (a short distractor restating part of a long item)."""
    x = _bigrams(a)
    return len(x & _bigrams(b)) / max(1, len(x))


def similarity(a: str, b: str) -> float:
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / max(1, len(x | y))


def _script(term: str, like_traditional: bool) -> str:
    return to_traditional(term) if like_traditional else term


def is_law(c: Chunk) -> bool:
    return c.kind == "law"


def locator_of(c: Chunk) -> str:
    if is_law(c):
        return f"《{law_short_name(c.title)}》{c.locator}"
    return section_label(c) or "正文"


def source_of(c: Chunk) -> dict:
    return {"title": c.title, "locator": locator_of(c), "text": c.text, "chunk_id": c.id}


def _prefix(c: Chunk) -> str:
    if is_law(c):
        return f"根据《{law_short_name(c.title)}》，"
    return f"据《{c.title}》，"


def _cite(c: Chunk) -> str:
    if is_law(c):
        return f"《{law_short_name(c.title)}》{c.locator}规定"
    sec = section_label(c)
    return f"《{c.title}》" + (f"（{sec}）" if sec and sec != "正文" else "") + "原文"


def _end_clean(s: str) -> str:
    s = s.strip()
    if s.endswith(("；", ";", "，", ",", "：", ":")):
        s = s[:-1] + "。"
    if not s.endswith(("。", "！", "？", "……", "”")):
        s += "。"
    return s


def window(text: str, start: int, end: int, budget: int = WINDOW) -> tuple[str, int, int]:
    """Cut a long sentence to whole clauses around [start, end); returns (text, new_start, new_end)."""
    if len(text) <= budget:
        return text, start, end
    bounds = [0] + [m.end() for m in re.finditer(r"[，,；;：:]", text)] + [len(text)]
    bounds = sorted(set(bounds))
    clauses = [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1) if bounds[i] < bounds[i + 1]]
    i = next(k for k, (a, b) in enumerate(clauses) if a <= start < b)
    j = next(k for k, (a, b) in enumerate(clauses) if a < end <= b)
    a, b = clauses[i][0], clauses[j][1]
    grow = True
    while grow:
        grow = False
        if j + 1 < len(clauses) and clauses[j + 1][1] - a <= budget:
            j += 1
            b = clauses[j][1]
            grow = True
        if i > 0 and b - clauses[i - 1][0] <= budget:
            i -= 1
            a = clauses[i][0]
            grow = True
    piece = text[a:b]
    lead = "……" if a > 0 else ""
    if b < len(text):
        piece = piece.rstrip("，,；;：:") + "……"
    return lead + piece, start - a + len(lead), end - a + len(lead)


def _letters(n: int) -> str:
    return LETTERS[:n]


# ============================================================================ distractors
def _scope_ok(d: str, answer: str, left: str) -> bool:
    """Keep body distractors plausible: no national organ where the text speaks of 本级/各级/地方 bodies."""
    local_ctx = bool(re.search(r"(本级|各级|地方|县级|下级|上级|乡|镇|该级)[^，。；]{0,12}$", left))
    if answer in NATIONAL:
        return d not in LOCAL_ONLY
    if answer in LOCAL_ONLY or local_ctx:
        return d not in NATIONAL
    return True


def _rank_numbers(cands: list[tuple[int, str]], ans_days: float) -> list[tuple[int, str]]:
    def dist(vu):
        v, u = vu
        days = v * DAY_UNITS.get(u, 1)
        return abs(math.log(max(days, 1e-6)) - math.log(max(ans_days, 1e-6)))

    return sorted(cands, key=lambda vu: (dist(vu), vu[0], vu[1]))


def term_distractors(f: Fact, k: int, rng: random.Random, pools: Pools) -> list[str] | None:
    """k real alternatives of the same type for the blanked fact, or None if the corpus has too few."""
    sent = f.sent.simp
    ans = to_simplified(f.term)
    trad = is_traditional(f.sent.text)
    sent_nums = set(sentence_numbers(sent))
    sent_terms = [h[2] for h in lexicon_hits(sent)]
    left = sent[:f.start]
    out: list[str] = []

    def ok_text(d: str) -> bool:
        return (d != ans and d not in sent and ans not in d and d not in ans and d not in _synonyms(ans)
                and not any(d in t or t in d for t in sent_terms) and d not in out)

    if f.kind in ("time", "count") and f.value is not None:
        ans_days = f.value * DAY_UNITS.get(f.unit, 1) if f.kind == "time" else f.value
        fams = [f.family, f"{f.kind}:unit:{f.unit}"]
        if f.kind == "count":
            fams += ["count:以上", "count:limit", "count:ar"]
        cands: list[tuple[int, str]] = []
        for fam in fams:
            for vu in pools.numbers.get(fam, []):
                if vu not in cands:
                    cands.append(vu)
        scored = []
        for v, u in cands:
            if v == f.value or v in sent_nums or v > 100000:
                continue
            if f.kind == "time":
                if f.family in ("time:term", "time:month") and u != f.unit:
                    continue
                days = v * DAY_UNITS.get(u, 1)
                if abs(days - ans_days) <= 0.25 * ans_days:  # 三十日 vs 一个月: too close to be wrong
                    continue
                if f.family == "time:month" and not 1 <= v <= 12:
                    continue
                unit = f.unit if u in (f.unit,) or f.family in ("time:term", "time:month") else u
            else:
                if u not in (f.unit, "人", "名") or (f.unit in "人名") != (u in "人名"):
                    continue
                unit = f.unit
            d = render_number(v, f.term) + unit + (f.suffix or "")
            if f.family == "time:month":
                d = render_number(v, f.term) + "月"
            elif f.family == "time:term":
                d = render_number(v, f.term) + "年"
            if ok_text(d) and d not in [x for _, x in scored]:
                scored.append(((v, u), d))
        ranked = _rank_numbers([vu for vu, _ in scored], ans_days)
        by_vu = dict(scored)
        top = [by_vu[vu] for vu in ranked[:max(k * 2, k + 2)]]
        if len(top) < k:
            return None
        chosen = rng.sample(top, k)
        return [_script(d, trad) for d in chosen]

    if f.kind == "ratio":
        pct = "%" in ans
        suffix = "以上" if ans.endswith("以上") else "以下" if ans.endswith("以下") else ""
        base_ans = re.sub(r"(以上|以下)$", "", ans)
        seen = []
        for t in pools.terms.get("ratio", []):
            if ("%" in t) != pct:
                continue
            base = re.sub(r"(以上|以下)$", "", t)
            if base in ("过半数", "半数"):
                d = "过半数" if base == "过半数" else "半数以上"
            else:
                d = base + suffix if not base_ans.startswith(("过半数", "半数")) else base
            v = num_value(base) if pct else None
            if pct and v is not None and v in sent_nums:
                continue
            if _frac_value(base) is not None and _frac_value(base) == _frac_value(base_ans):
                continue
            if ok_text(d) and d not in seen:
                seen.append(d)
        if len(seen) < k:
            return None
        return [_script(d, trad) for d in rng.sample(seen, k)]

    fam_terms = list(pools.terms.get(f.family, []))
    if f.kind in ("body", "proc"):
        cands = [d for d in fam_terms if ok_text(d) and (f.kind != "body" or _scope_ok(d, ans, left))]
    elif f.kind == "freq":
        cands = [d for d in fam_terms if ok_text(d)]
    elif f.kind == "term":
        chunk_text = norm(f.sent.chunk.text)
        pool = fam_terms + [t for t in pools.terms.get("term:quoted" if f.family == "term:numbered"
                                                         else "term:numbered", []) if t not in fam_terms]
        cands = [d for d in pool if ok_text(d) and d not in chunk_text and similarity(d, ans) < 0.5]
        # plausibility: same leading numeral and a similar length first
        cands.sort(key=lambda d: (0 if d[:1] == ans[:1] else 1, abs(len(d) - len(ans)), pool.index(d)))
        cands = cands[:max(3 * k, 8)]
    else:
        return None
    if len(cands) < k:
        return None
    return [_script(d, trad) for d in rng.sample(cands, k)]


def _frac_value(s: str) -> float | None:
    m = re.fullmatch(r"([零一二三四五六七八九十百]+)分之([零一二三四五六七八九十百]+)", s)
    if not m:
        return None
    a, b = num_value(m.group(1)), num_value(m.group(2))
    return (b / a) if a else None


def list_distractors(lf: ListFact, k: int, rng: random.Random, pools: Pools, correct: list[str]) -> list[str] | None:
    chunk_text = norm(lf.chunk.text)
    sent = norm(lf.sent.text) if lf.sent else chunk_text
    own_sec = _section_key(lf.chunk)
    all_items = [to_simplified(i) for i in lf.items]
    trad = is_traditional(lf.quote)
    out: list[str] = []

    def ok(d: str) -> bool:
        return (d not in all_items and d not in out and d not in (sent if lf.kind == "inline" else chunk_text)
                and not any(d in i or i in d for i in all_items)
                and all(similarity(d, i) < 0.5 for i in all_items))

    if lf.family == "inline:body":
        classes = []
        for it in all_items:
            for cls, ts in BODY_CLASSES.items():
                if it in ts and cls not in classes:
                    classes.append(cls)
        left = norm(lf.sent.text[:lf.span[0]]) if lf.sent else ""
        cands = [d for cls in classes for d in pools.terms.get(f"body:{cls}", [])
                 if ok(d) and all(_scope_ok(d, a, left) for a in all_items)]
        cands = list(dict.fromkeys(cands))
    else:
        fams = {"enum": ["enum"], "points": ["points", "inline:item"], "inline:item": ["inline:item", "points"]}
        cands_scored = []
        med = sorted(len(i) for i in all_items)[len(all_items) // 2]
        chars = Counter("".join(all_items))
        ends = Counter(i[-1:] for i in all_items)
        endings = {e for e, n in ends.items() if n * 2 >= len(all_items)}
        for fam in fams.get(lf.family, [lf.family]):
            for item, key, sec, doc_id in pools.list_items.get(fam, []):
                if sec == own_sec or not ok(item):
                    continue
                if lf.family == "enum" and not (0.4 * med <= len(item) <= 2.5 * med + 4):
                    continue
                if lf.family != "enum" and abs(len(item) - med) > 3:
                    continue
                if any(containment(item, i) >= 0.6 for i in all_items):
                    continue
                overlap = sum(chars.get(ch, 0) for ch in set(item)) / max(1, len(item))
                same_doc = doc_id == lf.chunk.doc_id
                same_end = item[-1:] in endings
                cands_scored.append((0 if same_end else 1, 0 if same_doc else 1, -round(overlap, 1),
                                     len(cands_scored), item))
        cands_scored.sort()
        # the best tier (same ending as the items, same document) if it has enough, else widen
        for tier in sorted({c[:2] for c in cands_scored}):
            pool = [c for c in cands_scored if c[:2] <= tier]
            if len(pool) >= k:
                break
        else:
            pool = cands_scored
        cands = list(dict.fromkeys(c[-1] for c in pool))[:max(3 * k, 8)]
    if len(cands) < k:
        return None
    return [_script(d, trad) for d in rng.sample(cands, k)]


# ============================================================================ item builders
def _budget(c: Chunk) -> int:
    return WINDOW if is_law(c) else REPORT_WINDOW


def _fact_stem(f: Fact, replacement: str) -> tuple[str, str]:
    """(stem, quote): the sentence window with the fact replaced, prefixed by its source."""
    text, s, e = window(f.sent.text, f.start, f.end, _budget(f.sent.chunk))
    body = text[:s] + replacement + text[e:]
    return _prefix(f.sent.chunk) + _end_clean(body), f.sent.full or f.sent.text


def _fact_meta(f: Fact, distractors: list[str]) -> dict:
    simp = f.sent.simp
    return {"kind": f.kind, "family": f.family, "sentence": f.sent.text, "correct": [f.term],
            "distractors": distractors, "left": simp[:f.start], "right": simp[f.end:], "fact": f.key}


def build_single(f: Fact, rng: random.Random, pools: Pools) -> QuizItem | None:
    ds = term_distractors(f, 3, rng, pools)
    if ds is None:
        return None
    options = [f.term] + ds
    rng.shuffle(options)
    letter = LETTERS[options.index(f.term)]
    stem, quote = _fact_stem(f, PAREN)
    c = f.sent.chunk
    expl = f"{_cite(c)}：“{quote}”故正确答案为{letter}（{f.term}）。"
    return QuizItem("单选", stem, options, letter, expl, source_of(c), _fact_meta(f, ds))


def build_blank(f: Fact, rng: random.Random, pools: Pools) -> QuizItem | None:
    stem, quote = _fact_stem(f, BLANK)
    c = f.sent.chunk
    expl = f"{_cite(c)}：“{quote}”故应填“{f.term}”。"
    return QuizItem("填空", stem, [], f.term, expl, source_of(c), _fact_meta(f, []))


def build_judge(f: Fact, rng: random.Random, pools: Pools, truth: bool) -> QuizItem | None:
    c = f.sent.chunk
    quote = f.sent.full or f.sent.text
    if truth:
        text, s, e = window(f.sent.text, f.start, f.end, _budget(c))
        stem = _prefix(c) + _end_clean(text)
        expl = f"正确。{_cite(c)}：“{quote}”"
        meta = _fact_meta(f, [])
        meta["statement"] = text.strip("…")
        return QuizItem("判断", stem, list(JUDGE_OPTIONS), TRUE, expl, source_of(c), meta)
    ds = term_distractors(f, 1, rng, pools)
    if ds is None:
        return None
    wrong = ds[0]
    stem, _ = _fact_stem(f, wrong)
    expl = f"错误。应为“{f.term}”，而非“{wrong}”。{_cite(c)}：“{quote}”"
    meta = _fact_meta(f, [wrong])
    text, s, e = window(f.sent.text, f.start, f.end, _budget(c))
    meta["statement"] = (text[:s] + wrong + text[e:]).strip("…")
    return QuizItem("判断", stem, list(JUDGE_OPTIONS), FALSE, expl, source_of(c), meta)


def _enum_question(lead: str) -> str:
    lead = lead.rstrip("：:").strip()
    if "下列" in lead:
        return lead.replace("下列", "下列哪些", 1) + "？"
    return lead + "。下列属于其内容的有" + PAREN


def build_multi(lf: ListFact, rng: random.Random, pools: Pools) -> QuizItem | None:
    n_items = len(lf.items)
    n_correct = min(n_items, rng.choice([2, 3, 3, 4]))
    n_wrong = rng.choice([1, 2])
    if n_correct + n_wrong < 4:
        n_wrong = 4 - n_correct
    n_wrong = min(n_wrong, 6 - n_correct)
    correct = [lf.items[i] for i in sorted(rng.sample(range(n_items), n_correct))]
    ds = list_distractors(lf, n_wrong, rng, pools, correct)
    if ds is None:
        return None
    options = correct + ds
    rng.shuffle(options)
    answer = "".join(LETTERS[i] for i, o in enumerate(options) if o in correct)
    c = lf.chunk
    if lf.kind == "enum":
        stem = _prefix(c) + _enum_question(lf.lead)
        quote = lf.quote.replace("\n", "")
    elif lf.kind == "points":
        sec = lf.lead if lf.lead and lf.lead != "正文" else ""
        stem = _prefix(c) + (f"“{sec}”部分列举的内容包括" if sec else "文中列举的内容包括") + PAREN
        quote = lf.quote
    else:
        text, s, e = window(lf.sent.text, lf.span[0], lf.span[1], _budget(c))
        stem = _prefix(c) + _end_clean(text[:s] + PAREN + text[e:])
        quote = lf.sent.full or lf.sent.text
    wrong_letters = "".join(LETTERS[i] for i, o in enumerate(options) if o not in correct)
    expl = (f"{_cite(c)}：“{quote}”故正确答案为{answer}；{'、'.join(wrong_letters)}项不在原文所列之中。")
    meta = {"kind": lf.kind, "family": lf.family, "sentence": lf.sent.text if lf.sent else lf.quote,
            "correct": correct, "distractors": ds, "items": list(lf.items), "list": lf.key}
    return QuizItem("多选", stem, options, answer, expl, source_of(c), meta)


STATEMENT_MAX = 72  # longest sentence used as a 多选 statement option


@dataclass
class StatementSet:
    """4–5 key-fact sentences of one chapter / report section: a 下列说法正确的有 question."""
    doc_id: str
    label: str
    facts: list[Fact]
    weight: float = 2.0

    @property
    def key(self) -> tuple:
        return ("statements", self.doc_id, tuple(f.key for f in self.facts))


def statement_sets(facts: list[Fact], rng: random.Random) -> list[StatementSet]:
    groups: dict[tuple, dict[tuple, Fact]] = {}
    for f in facts:
        c = f.sent.chunk
        if len(f.sent.text) > STATEMENT_MAX or f.weight < 0.1:
            continue
        key = (c.doc_id, str(c.extra.get("chapter") or "") if is_law(c) else section_label(c))
        skey = f.sent.simp
        g = groups.setdefault(key, {})
        if skey not in g or f.weight > g[skey].weight:
            g[skey] = f
    out = []
    for key, g in groups.items():
        fs = sorted(g.values(), key=lambda f: (f.sent.chunk.order, f.sent.index, f.start))
        if len(fs) < 4:
            continue
        rng.shuffle(fs)
        for i in range(0, len(fs) - 3, 5):
            part = fs[i:i + 5]
            if len(part) >= 4:
                part.sort(key=lambda f: (f.sent.chunk.order, f.sent.index))
                out.append(StatementSet(key[0], key[1], part))
    return out


def build_statements(ss: StatementSet, rng: random.Random, pools: Pools) -> QuizItem | None:
    facts = ss.facts
    m = len(facts)
    n_false = rng.choice([1, 2])
    order = list(range(m))
    rng.shuffle(order)
    swaps: dict[int, str] = {}
    for i in order:
        if len(swaps) >= n_false:
            break
        ds = term_distractors(facts[i], 1, rng, pools)
        if ds:
            swaps[i] = ds[0]
    if not swaps:
        return None
    texts = []
    for i, f in enumerate(facts):
        t = f.sent.text
        if i in swaps:
            t = t[:f.start] + swaps[i] + t[f.end:]
        texts.append(_end_clean(t))
    perm = list(range(m))
    rng.shuffle(perm)
    options = [texts[i] for i in perm]
    answer = "".join(LETTERS[k] for k, i in enumerate(perm) if i not in swaps)
    chunks: list[Chunk] = []
    for f in facts:
        if f.sent.chunk not in chunks:
            chunks.append(f.sent.chunk)
    c0 = chunks[0]
    if is_law(c0):
        arts = "、".join(c.locator for c in chunks)
        stem = f"根据《{law_short_name(c0.title)}》{arts}的规定，下列说法正确的有{PAREN}"
        locator = f"《{law_short_name(c0.title)}》{arts}"
    else:
        sec = section_label(c0)
        stem = f"据《{c0.title}》" + (f"“{sec}”部分" if sec and sec != "正文" else "") + f"，下列说法正确的有{PAREN}"
        locator = sec or "正文"
    notes = []
    for k, i in enumerate(perm):
        f = facts[i]
        verdict = "正确" if i not in swaps else f"错误（应为“{f.term}”，而非“{swaps[i]}”）"
        notes.append(f"{LETTERS[k]}项{verdict}，{_cite(f.sent.chunk)}：“{f.sent.full or f.sent.text}”")
    expl = f"正确答案为{answer}。" + "；".join(notes)
    source = {"title": c0.title, "locator": locator, "text": "\n".join(c.text for c in chunks),
              "chunk_id": ",".join(c.id for c in chunks)}
    meta = {"kind": "statements", "family": "statements", "sentence": "\n".join(f.sent.text for f in facts),
            "correct": [texts[i] for i in range(m) if i not in swaps],
            "distractors": [texts[i] for i in sorted(swaps)],
            "swaps": [(facts[i].sent.simp[:facts[i].start], to_simplified(swaps[i]), facts[i].sent.simp[facts[i].end:])
                      for i in sorted(swaps)],
            "facts": [f.key for f in facts]}
    return QuizItem("多选", stem, options, answer, expl, source, meta)


# ============================================================================ validation
def validate(item: QuizItem, pools: Pools, seen_stems: set[str]) -> str | None:
    """The reason this item must be dropped, or None if it is sound."""
    m = item.meta
    opts = item.options
    # structure
    if not item.stem.strip() or not item.explanation.strip():
        return "bad_structure"
    if item.type == "单选":
        if len(opts) != 4 or len(item.answer) != 1 or item.answer not in _letters(4):
            return "bad_structure"
    elif item.type == "多选":
        wrong = len(opts) - len(item.answer)
        if not (4 <= len(opts) <= 6) or len(item.answer) < 2 or wrong < 1 or any(
                ch not in _letters(len(opts)) for ch in item.answer) or list(item.answer) != sorted(set(item.answer)):
            return "bad_structure"
    elif item.type == "判断":
        if opts != JUDGE_OPTIONS or item.answer not in JUDGE_OPTIONS:
            return "bad_structure"
    elif item.type == "填空":
        if opts or item.stem.count(BLANK) != 1 or not item.answer:
            return "bad_structure"
    else:
        return "bad_structure"
    if len({norm(o) for o in opts}) != len(opts) or any(not o.strip() for o in opts):
        return "duplicate_options"
    src = norm(item.source.get("text", ""))
    sent = norm(m.get("sentence", ""))
    correct = [norm(t) for t in m.get("correct", [])]
    distractors = [norm(d) for d in m.get("distractors", [])]
    if m.get("kind") == "statements":  # whole sentences as options: compare without the final mark
        correct = [t.rstrip("。；;，,") for t in correct]
        distractors = [d.rstrip("。；;，,") for d in distractors]
    # the answer is supported by the source text (and is what the item says it is)
    shown = [norm(t).rstrip("。；;，,") if m.get("kind") == "statements" else norm(t) for t in item.correct_texts()]
    if sorted(shown) != sorted(correct) and item.type in ("单选", "多选", "填空"):
        return "bad_structure"
    if not correct or any(t not in src or t not in sent for t in correct):
        return "answer_not_in_source"
    if item.type == "判断":
        stmt = norm(m.get("statement", ""))
        if item.answer == TRUE and stmt not in src:
            return "answer_not_in_source"
        if item.answer == FALSE and stmt in src:
            return "false_statement_in_source"
    # no distractor is also correct
    sent_nums = set(sentence_numbers(sent))
    for d in distractors:
        if any(d == t or d in t or t in d for t in correct):
            return "distractor_in_answer"
        if d in sent:
            return "distractor_in_sentence"
        if m.get("kind") in ("time", "count", "ratio"):
            nums = [n for n in sentence_numbers(d)]
            if any(n in sent_nums for n in nums):
                return "distractor_number_in_sentence"
        if m.get("kind") in ("enum", "points", "inline"):
            if m.get("kind") != "inline" and d in src:
                return "distractor_in_sentence"
            if any(similarity(d, i) >= 0.5 or (m.get("kind") != "inline" and containment(d, i) >= 0.6)
                   for i in m.get("items", [])):
                return "distractor_similar_to_answer"
        if "left" in m and _fits_elsewhere(m["left"], d, m["right"], pools, m.get("sentence", "")):
            return "distractor_correct_elsewhere"
        if m.get("kind") == "statements" and d in src:
            return "false_statement_in_source"
    for left, d, right in m.get("swaps", []):
        if _fits_elsewhere(left, d, right, pools):
            return "distractor_correct_elsewhere"
    # a blank must admit one answer only: no other term of its kind fits the same context in the corpus
    if item.type == "填空" and "left" in m:
        for alt in _alternatives(m, pools):
            if alt not in correct and _fits_elsewhere(m["left"], alt, m["right"], pools, m.get("sentence", "")):
                return "blank_ambiguous"
    # a blank / single choice must not show its answer elsewhere in the stem
    if item.type in ("填空", "单选"):
        shown = norm(item.stem.replace(BLANK, "").replace(PAREN, ""))
        if correct[0] in shown:
            return "answer_visible_in_stem"
    key = norm(item.stem)
    if key in seen_stems:
        return "duplicate_stem"
    return None


_PUNCT = "，。；：、,.;:！？!?）)”"
_LIGHT_VERB = re.compile(r"(?:组织开展|进行|开展|组织)$")


def _fits_elsewhere(left: str, term: str, right: str, pools: Pools, own: str = "") -> bool:
    """Does ``term`` in this context (6 chars before, 4 after; punctuation after matches any punctuation)
    occur anywhere in the corpus outside ``own`` (the source sentence)? Then it is a correct filler
    there, so it cannot be a wrong option / a second answer here."""
    left, right, term = norm(left), norm(right), norm(term)
    own = norm(own) + "。"
    patterns: list[str] = []
    if re.search(r"(、|和|及|或者|以及)$", left) or re.match(r"^(、|和|及|或者|以及)", right):
        # a member of a list (专项工作报告、审计查出问题整改情况报告): the list's neighbours say little,
        # what is said of the list is what matters — the term with either side of context is enough
        lctx = re.sub(r"(、|和|及|或者|以及)$", "", left)[-5:]
        if len(lctx) >= 3:
            patterns.append(re.escape(lctx) + "(?:[^，。；]{0,30}、)?" + re.escape(term))
        rctx = re.sub(r"^(、|和|及|或者|以及)", "", right)[:4]
        if len(rctx) >= 3 and not any(ch in _PUNCT for ch in rctx):
            patterns.append(re.escape(term + rctx))
    left6 = left[-6:]
    right6 = right[:4] if len(left6) >= 3 else right[:6]
    # 进行视察 / 开展视察 / 组织视察 say the same: a light verb before the term matches any light verb
    lead = re.escape(left6)
    if m := _LIGHT_VERB.search(left6):
        lead = re.escape(left6[:m.start()]) + "(?:组织开展|进行|开展|组织)"
    terms = "(?:" + "|".join(re.escape(t) for t in sorted(_synonyms(term), key=len, reverse=True)) + ")"
    cut = next((i for i, ch in enumerate(right6) if ch in _PUNCT), None)
    if cut is not None:
        if not (cut == 0 and len(left6) < 3):  # a bare term before a comma proves nothing
            patterns.append(lead + terms + re.escape(right6[:cut]) + f"[{re.escape(_PUNCT)}]")
    elif len(left6) + len(right6) >= 3:
        patterns.append(lead + terms + re.escape(right6))
    for pat in patterns:
        rx = re.compile(pat)
        if rx.search(pools.corpus_text) and len(rx.findall(pools.corpus_text)) > len(rx.findall(own)):
            return True
    return False


def _alternatives(m: dict, pools: Pools) -> list[str]:
    """Other terms of the same family a blank could be filled with (numbers rendered in the answer's form)."""
    fam = m.get("family", "")
    if fam in pools.terms:
        return list(pools.terms[fam])
    f_term = norm(m["correct"][0])
    mm = re.match(r"^([零〇一二两三四五六七八九十百千\d]+)(.*)$", f_term)
    if not mm:
        return []
    rest = mm.group(2)
    out = []
    for v, _u in pools.numbers.get(fam, []):
        out.append(render_number(v, mm.group(1)) + rest)
    return out


# ============================================================================ driver
def _skey(sent) -> tuple:
    """Sentence identity across overlapping chunks of one document."""
    return (sent.chunk.doc_id, sent.simp)


class _Run:
    def __init__(self, chunks: list[Chunk], corpus: Corpus, seed: int, report: QualityReport):
        self.corpus, self.seed, self.report = corpus, seed, report
        self.pools = pools_for(corpus, chunks)
        facts: dict[tuple, Fact] = {}
        for c in chunks:  # chunks of a long section overlap: the same fact once
            for f in _facts_of(corpus, c):
                facts.setdefault((c.doc_id, f.sent.simp, f.start, f.term), f)
        self.facts: list[Fact] = list(facts.values())
        seen_lists: dict[tuple, None] = {}
        self.lists: list[ListFact] = []
        for c in chunks:
            for lf in _lists_of(corpus, c):
                sig = (c.doc_id, tuple(lf.items))
                if sig not in seen_lists:
                    seen_lists[sig] = None
                    self.lists.append(lf)
        self.stems: set[str] = set()
        self.used_facts: set[tuple] = set()
        self.used_sents: dict[tuple, None] = {}
        mat = Counter(f.kind for f in self.facts)
        mat.update(f"list:{lf.kind}" for lf in self.lists)
        report.material = dict(sorted(mat.items()))

    def drop(self, t: str, item: QuizItem, reason: str) -> None:
        r = self.report
        r.dropped[reason] = r.dropped.get(reason, 0) + 1
        r.dropped_by_type.setdefault(t, {})
        r.dropped_by_type[t][reason] = r.dropped_by_type[t].get(reason, 0) + 1
        if len(r.drop_samples) < 8:
            r.drop_samples.append({"type": t, "reason": reason, "stem": item.stem, "options": item.options})

    def accept(self, t: str, item: QuizItem | None) -> bool:
        if item is None:
            return False
        reason = validate(item, self.pools, self.stems)
        if reason:
            self.drop(t, item, reason)
            return False
        self.stems.add(norm(item.stem))
        return True

    def _ordered_facts(self, rng: random.Random, kinds: tuple[str, ...]) -> list[Fact]:
        cands = [f for f in self.facts if f.kind in kinds]
        order = _weighted_order(cands, rng)
        # sentences not yet used by another item first; the same fact is never asked twice
        # bodies inside a list of bodies come last: they make better 多选 than blanks
        low = [f for f in order if f.weight < 0.1]
        order = [f for f in order if f.weight >= 0.1]
        fresh = [f for f in order if _skey(f.sent) not in self.used_sents]
        reused = [f for f in order if _skey(f.sent) in self.used_sents]
        return fresh + reused + low

    def _mark(self, f: Fact) -> None:
        self.used_facts.add(f.key)
        self.used_sents[_skey(f.sent)] = None

    def items(self, t: str):
        """Yield validated items of type t, best material first."""
        rng = random.Random(f"{self.seed}:{t}")
        if t == "多选":
            sets = statement_sets(self.facts, random.Random(f"{self.seed}:statements"))
            self.report.material["statements"] = len(sets)
            order = _weighted_order(self.lists + sets, rng)
            fresh = [x for x in order if not isinstance(x, ListFact) or x.sent is None
                     or _skey(x.sent) not in self.used_sents]
            order = fresh + [x for x in order if x not in fresh]
            for x in order:
                for _ in range(2):  # a second draw of options if the first is rejected
                    item = build_multi(x, rng, self.pools) if isinstance(x, ListFact) else \
                        build_statements(x, rng, self.pools)
                    if item is None:
                        break
                    if self.accept(t, item):
                        if isinstance(x, ListFact) and x.sent is not None:
                            self.used_sents[_skey(x.sent)] = None
                        yield item
                        break
            return
        kinds = {"单选": ("time", "ratio", "count", "body", "proc", "term", "freq"),
                 "判断": ("time", "ratio", "count", "body", "proc", "term", "freq"),
                 "填空": ("time", "ratio", "count", "term", "body", "proc", "freq")}[t]
        truth_next = rng.random() < 0.5
        n_true = n_false = 0
        judged_sents: set[tuple] = set()
        facts = self._ordered_facts(rng, kinds)
        # one blank per answer term first (办事机构 twice reads like a repeat); repeats go to the back
        seen_terms: Counter = Counter()
        first, later = [], []
        for f in facts:
            k = to_simplified(f.term)
            (first if seen_terms[k] < 1 else later).append(f)
            seen_terms[k] += 1
        # pass 0: one item per sentence within the type; pass 1: the facts pass 0 skipped for that reason
        type_sents: set[tuple] = set()
        skipped: list[Fact] = []
        for pass_, queue in ((0, first + later), (1, skipped)):
            for f in queue:
                if f.key in self.used_facts:
                    continue
                skey = _skey(f.sent)
                if pass_ == 0 and skey in type_sents:
                    skipped.append(f)
                    continue
                if t == "判断":
                    if skey in judged_sents:
                        continue
                    tries = [truth_next] + ([not truth_next] if abs(n_true - n_false) < 1 else [])
                    for truth in tries:
                        item = build_judge(f, rng, self.pools, truth)
                        if item is not None and self.accept(t, item):
                            judged_sents.add(skey)
                            self._mark(f)
                            n_true += truth
                            n_false += not truth
                            truth_next = not truth if rng.random() < 0.85 else truth
                            self.report.judge_truth = {TRUE: n_true, FALSE: n_false}
                            yield item
                            break
                    continue
                builder = build_single if t == "单选" else build_blank
                for _ in range(2 if t == "单选" else 1):
                    item = builder(f, rng, self.pools)
                    if item is None:
                        break
                    if self.accept(t, item):
                        self._mark(f)
                        type_sents.add(skey)
                        yield item
                        break


def generate(chunks: list[Chunk], corpus: Corpus, counts: dict[str, int], seed: int = 1,
             fill: bool = False, selection: Selection | None = None) -> QuizResult:
    """Make ``counts[type]`` items of each type from ``chunks``; distractors come from ``corpus``.

    With ``fill`` a type the material cannot cover is made up by the other types (the total is kept).
    """
    t0 = time.perf_counter()
    order = [t for t in TYPES if counts.get(t, 0) > 0]
    order = [t for t in counts if t in order]  # the order the caller gave
    report = QualityReport(seed=seed, requested={t: counts[t] for t in counts if counts[t] > 0}, chunks=len(chunks),
                           sources=selection.to_json() if selection else {})
    run = _Run(chunks, corpus, seed, report)
    gens = {t: run.items(t) for t in order}
    made: dict[str, list[QuizItem]] = {t: [] for t in order}
    for t in order:
        for item in gens[t]:
            made[t].append(item)
            if len(made[t]) >= counts[t]:
                break
    missing = {t: counts[t] - len(made[t]) for t in order if len(made[t]) < counts[t]}
    if fill and missing:
        need = sum(missing.values())
        progress = True
        while need > 0 and progress:
            progress = False
            for t in order:
                if t in missing or need <= 0:
                    continue
                item = next(gens[t], None)
                if item is not None:
                    made[t].append(item)
                    report.filled[t] = report.filled.get(t, 0) + 1
                    need -= 1
                    progress = True
    report.produced = {t: len(made[t]) for t in order}
    report.shortfall = missing
    report.elapsed_ms = round((time.perf_counter() - t0) * 1000, 1)
    items = [it for t in order for it in made[t]]
    return QuizResult(items, report, selection)


def build_quiz(sources: str | list[str], counts: dict[str, int] | None = None, count: int = 20,
               types: str | list[str] | None = None, seed: int = 1, corpus: Corpus | None = None,
               settings=None, fill: bool | None = None, query_top: int | None = None) -> QuizResult:
    """Resolve ``sources`` against the index and generate. ``counts`` wins over ``count``/``types``.

    Raises QuizError when a source is unknown, nothing matches, or nothing can be asked.
    """
    t0 = time.perf_counter()
    corpus = corpus or Corpus.from_settings(settings)
    kw = {"query_top": query_top} if query_top else {}
    sel = select_chunks(sources, corpus, **kw)
    if counts:
        counts = {t: int(n) for t, n in counts.items()}
        fill = False if fill is None else fill
    else:
        counts = split_count(count, parse_types(types))
        fill = True if fill is None else fill
    if any(n < 0 for n in counts.values()):
        raise QuizError("题目数量不能为负数。")
    if sum(counts.values()) > 500:
        raise QuizError("一次最多出 500 题。")
    result = generate(sel.chunks, corpus, counts, seed=seed, fill=fill, selection=sel)
    if sum(counts.values()) > 0 and not result.items:
        raise QuizError(f"来源 {'、'.join(sel.specs)} 的文本中没有可出题的要点（时限、数字、机关、列举项等）。")
    result.report.elapsed_ms = round((time.perf_counter() - t0) * 1000, 1)
    return result
