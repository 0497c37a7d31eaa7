"""Wrong options: real alternatives of the answer's own type, drawn from the distractor pools.

A time limit is replaced by another time limit of the corpus (written the way the answer is written,
near it on a log-day scale), a body by another body of its class and scope, a list item by an item
of another list of similar length and ending. Candidates are filtered (not in the source sentence,
not containing or contained in the answer, not too similar) before the seeded draw, and a draw that
cannot find enough returns None so the builder skips that fact.
"""
from __future__ import annotations

import math
import random
import re
from collections import Counter

from npcqa.text import match_form, to_simplified
from quiz.cite import section_key
from quiz.facts import Fact
from quiz.lexicon import BODY_CLASSES, LOCAL_ONLY, NATIONAL, interchangeable, lexicon_hits
from quiz.lists import ListFact
from quiz.numbers import DAY_UNITS, num_value, render_number, sentence_numbers
from quiz.pools import Pools
from quiz.script import in_script, is_traditional

TOO_SIMILAR = 0.5  # bigram Jaccard at which a distractor reads like a rewording of a correct answer
RESTATES = 0.6  # share of a distractor's bigrams inside a correct item: it restates part of that item
TOO_CLOSE_IN_TIME = 0.25  # a time distractor within 25% of the answer's days (三十日 vs 一个月) is not wrong
MAX_NUMBER = 100000  # larger numbers are statistics, never a plausible limit or count to swap in
NEAR_NUMBERS = 2  # number candidates kept: the k×2 nearest before the seeded draw…
NEAR_NUMBERS_SPARE = 2  # …and at least k+2, so even k=1 is a draw among several
CANDIDATES_PER_OPTION = 3  # term / list candidates kept: the 3×k most plausible (at least MIN_CANDIDATES)
MIN_CANDIDATES = 8  # …so a one-option draw still has a choice
ENUM_LEN_RANGE = (0.4, 2.5, 4)  # an enum distractor's length: from 0.4× to 2.5× the items' median (+4 chars)
ITEM_LEN_SLACK = 3  # other list distractors: at most this many chars longer or shorter than the median
MONTHS = (1, 12)  # a 每年X月 distractor is a month of the year
_LOCAL_CONTEXT = re.compile(r"(本级|各级|地方|县级|下级|上级|乡|镇|该级)[^，。；]{0,12}$")
_FRACTION = re.compile(r"([零一二三四五六七八九十百]+)分之([零一二三四五六七八九十百]+)")


def _bigrams(s: str) -> set[str]:
    s = match_form(s)
    return {s[i:i + 2] for i in range(len(s) - 1)} or {s}


def containment(a: str, b: str) -> float:
    """Share of ``a``'s character bigrams found in ``b`` (a short distractor restating part of a long item)."""
    x = _bigrams(a)
    return len(x & _bigrams(b)) / max(1, len(x))


def similarity(a: str, b: str) -> float:
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / max(1, len(x | y))


def _scope_ok(d: str, answer: str, left: str) -> bool:
    """Keep body distractors plausible: no national organ where the text speaks of 本级/各级/地方 bodies."""
    local_ctx = bool(_LOCAL_CONTEXT.search(left))
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


def _frac_value(s: str) -> float | None:
    m = _FRACTION.fullmatch(s)
    if not m:
        return None
    a, b = num_value(m.group(1)), num_value(m.group(2))
    return (b / a) if a else None


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
        return (d != ans and d not in sent and ans not in d and d not in ans and d not in interchangeable(ans)
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
            if v == f.value or v in sent_nums or v > MAX_NUMBER:
                continue
            if f.kind == "time":
                if f.family in ("time:term", "time:month") and u != f.unit:
                    continue
                days = v * DAY_UNITS.get(u, 1)
                if abs(days - ans_days) <= TOO_CLOSE_IN_TIME * ans_days:
                    continue
                if f.family == "time:month" and not MONTHS[0] <= v <= MONTHS[1]:
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
        top = [by_vu[vu] for vu in ranked[:max(k * NEAR_NUMBERS, k + NEAR_NUMBERS_SPARE)]]
        if len(top) < k:
            return None
        chosen = rng.sample(top, k)
        return [in_script(d, trad) for d in chosen]

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
        return [in_script(d, trad) for d in rng.sample(seen, k)]

    fam_terms = list(pools.terms.get(f.family, []))
    if f.kind in ("body", "proc"):
        cands = [d for d in fam_terms if ok_text(d) and (f.kind != "body" or _scope_ok(d, ans, left))]
    elif f.kind == "freq":
        cands = [d for d in fam_terms if ok_text(d)]
    elif f.kind == "term":
        chunk_text = match_form(f.sent.chunk.text)
        pool = fam_terms + [t for t in pools.terms.get("term:quoted" if f.family == "term:numbered"
                                                         else "term:numbered", []) if t not in fam_terms]
        cands = [d for d in pool if ok_text(d) and d not in chunk_text and similarity(d, ans) < TOO_SIMILAR]
        # plausibility: same leading numeral and a similar length first
        cands.sort(key=lambda d: (0 if d[:1] == ans[:1] else 1, abs(len(d) - len(ans)), pool.index(d)))
        cands = cands[:max(CANDIDATES_PER_OPTION * k, MIN_CANDIDATES)]
    else:
        return None
    if len(cands) < k:
        return None
    return [in_script(d, trad) for d in rng.sample(cands, k)]


def list_distractors(lf: ListFact, k: int, rng: random.Random, pools: Pools, correct: list[str]) -> list[str] | None:
    """k items of other lists (other sections) that could pass for items of ``lf``, or None."""
    chunk_text = match_form(lf.chunk.text)
    sent = match_form(lf.sent.text) if lf.sent else chunk_text
    own_sec = section_key(lf.chunk)
    all_items = [to_simplified(i) for i in lf.items]
    trad = is_traditional(lf.quote)
    out: list[str] = []

    def ok(d: str) -> bool:
        return (d not in all_items and d not in out and d not in (sent if lf.kind == "inline" else chunk_text)
                and not any(d in i or i in d for i in all_items)
                and all(similarity(d, i) < TOO_SIMILAR for i in all_items))

    if lf.family == "inline:body":
        classes = []
        for it in all_items:
            for cls, ts in BODY_CLASSES.items():
                if it in ts and cls not in classes:
                    classes.append(cls)
        left = match_form(lf.sent.text[:lf.span[0]]) if lf.sent else ""
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
        lo, hi, pad = ENUM_LEN_RANGE
        for fam in fams.get(lf.family, [lf.family]):
            for item, key, sec, doc_id in pools.list_items.get(fam, []):
                if sec == own_sec or not ok(item):
                    continue
                if lf.family == "enum" and not (lo * med <= len(item) <= hi * med + pad):
                    continue
                if lf.family != "enum" and abs(len(item) - med) > ITEM_LEN_SLACK:
                    continue
                if any(containment(item, i) >= RESTATES for i in all_items):
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
        cands = list(dict.fromkeys(c[-1] for c in pool))[:max(CANDIDATES_PER_OPTION * k, MIN_CANDIDATES)]
    if len(cands) < k:
        return None
    return [in_script(d, trad) for d in rng.sample(cands, k)]
