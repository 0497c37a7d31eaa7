"""Item builders: one fact or list in, one 单选 / 多选 / 判断 / 填空 item (with 解析 and 出处) out.

A builder only assembles: the stem is the source sentence (cut to whole clauses) with the fact
blanked or swapped, options are the answer plus distractors from quiz.distractors, shuffled with the
run's seeded rng. It returns None when the corpus has too few distractors; whether the item is sound
is for quiz.validate to say. ``meta`` carries what the validator needs (sentence, left/right context).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from index.normalize import law_short_name
from npcqa.text import to_simplified
from npcqa.types import Chunk
from quiz.cite import budget, cite, end_clean, is_law, prefix, section_label, source_of, window
from quiz.distractors import list_distractors, term_distractors
from quiz.facts import LOW_WEIGHT, Fact
from quiz.lists import ListFact
from quiz.model import (BLANK, FALSE, JUDGE_OPTIONS, LETTERS, MULTI_MAX_OPTIONS, MULTI_MIN_OPTIONS, PAREN,
                        SINGLE_OPTIONS, TRUE, QuizItem)
from quiz.pools import Pools

MULTI_CORRECT = (2, 3, 3, 4)  # correct items of a list 多选, drawn from this (three most often)
MULTI_WRONG = (1, 2)  # distractors of a list 多选 (topped up to MULTI_MIN_OPTIONS options)
STATEMENT_MAX = 72  # longest sentence used as a 多选 statement option
STATEMENT_SET_MIN = 4  # a 下列说法正确的有 question needs at least four sentences of one part…
STATEMENT_SET_SIZE = 5  # …and takes at most five
STATEMENT_SET_WEIGHT = 2.0  # drawn like a good list (lists weigh 2.0–3.0, see quiz.lists)
STATEMENT_FALSE = (1, 2)  # statements made wrong by a swapped fact


def _fact_stem(f: Fact, replacement: str) -> tuple[str, str]:
    """(stem, quote): the sentence window with the fact replaced, prefixed by its source."""
    text, s, e = window(f.sent.text, f.start, f.end, budget(f.sent.chunk))
    body = text[:s] + replacement + text[e:]
    return prefix(f.sent.chunk) + end_clean(body), f.sent.full or f.sent.text


def _fact_meta(f: Fact, distractors: list[str]) -> dict:
    simp = f.sent.simp
    return {"kind": f.kind, "family": f.family, "sentence": f.sent.text, "correct": [f.term],
            "distractors": distractors, "left": simp[:f.start], "right": simp[f.end:], "fact": f.key}


def build_single(f: Fact, rng: random.Random, pools: Pools) -> QuizItem | None:
    ds = term_distractors(f, SINGLE_OPTIONS - 1, rng, pools)
    if ds is None:
        return None
    options = [f.term] + ds
    rng.shuffle(options)
    letter = LETTERS[options.index(f.term)]
    stem, quote = _fact_stem(f, PAREN)
    c = f.sent.chunk
    expl = f"{cite(c)}：“{quote}”故正确答案为{letter}（{f.term}）。"
    return QuizItem("单选", stem, options, letter, expl, source_of(c), _fact_meta(f, ds))


def build_blank(f: Fact, rng: random.Random, pools: Pools) -> QuizItem | None:
    stem, quote = _fact_stem(f, BLANK)
    c = f.sent.chunk
    expl = f"{cite(c)}：“{quote}”故应填“{f.term}”。"
    return QuizItem("填空", stem, [], f.term, expl, source_of(c), _fact_meta(f, []))


def build_judge(f: Fact, rng: random.Random, pools: Pools, truth: bool) -> QuizItem | None:
    c = f.sent.chunk
    quote = f.sent.full or f.sent.text
    if truth:
        text, s, e = window(f.sent.text, f.start, f.end, budget(c))
        stem = prefix(c) + end_clean(text)
        expl = f"正确。{cite(c)}：“{quote}”"
        meta = _fact_meta(f, [])
        meta["statement"] = text.strip("…")
        return QuizItem("判断", stem, list(JUDGE_OPTIONS), TRUE, expl, source_of(c), meta)
    ds = term_distractors(f, 1, rng, pools)
    if ds is None:
        return None
    wrong = ds[0]
    stem, _ = _fact_stem(f, wrong)
    expl = f"错误。应为“{f.term}”，而非“{wrong}”。{cite(c)}：“{quote}”"
    meta = _fact_meta(f, [wrong])
    text, s, e = window(f.sent.text, f.start, f.end, budget(c))
    meta["statement"] = (text[:s] + wrong + text[e:]).strip("…")
    return QuizItem("判断", stem, list(JUDGE_OPTIONS), FALSE, expl, source_of(c), meta)


def _enum_question(lead: str) -> str:
    lead = lead.rstrip("：:").strip()
    if "下列" in lead:
        return lead.replace("下列", "下列哪些", 1) + "？"
    return lead + "。下列属于其内容的有" + PAREN


def build_multi(lf: ListFact, rng: random.Random, pools: Pools) -> QuizItem | None:
    n_items = len(lf.items)
    n_correct = min(n_items, rng.choice(MULTI_CORRECT))
    n_wrong = rng.choice(MULTI_WRONG)
    if n_correct + n_wrong < MULTI_MIN_OPTIONS:
        n_wrong = MULTI_MIN_OPTIONS - n_correct
    n_wrong = min(n_wrong, MULTI_MAX_OPTIONS - n_correct)
    correct = [lf.items[i] for i in sorted(rng.sample(range(n_items), n_correct))]
    ds = list_distractors(lf, n_wrong, rng, pools, correct)
    if ds is None:
        return None
    options = correct + ds
    rng.shuffle(options)
    answer = "".join(LETTERS[i] for i, o in enumerate(options) if o in correct)
    c = lf.chunk
    if lf.kind == "enum":
        stem = prefix(c) + _enum_question(lf.lead)
        quote = lf.quote.replace("\n", "")
    elif lf.kind == "points":
        sec = lf.lead if lf.lead and lf.lead != "正文" else ""
        stem = prefix(c) + (f"“{sec}”部分列举的内容包括" if sec else "文中列举的内容包括") + PAREN
        quote = lf.quote
    else:
        text, s, e = window(lf.sent.text, lf.span[0], lf.span[1], budget(c))
        stem = prefix(c) + end_clean(text[:s] + PAREN + text[e:])
        quote = lf.sent.full or lf.sent.text
    wrong_letters = "".join(LETTERS[i] for i, o in enumerate(options) if o not in correct)
    expl = (f"{cite(c)}：“{quote}”故正确答案为{answer}；{'、'.join(wrong_letters)}项不在原文所列之中。")
    meta = {"kind": lf.kind, "family": lf.family, "sentence": lf.sent.text if lf.sent else lf.quote,
            "correct": correct, "distractors": ds, "items": list(lf.items), "list": lf.key}
    return QuizItem("多选", stem, options, answer, expl, source_of(c), meta)


@dataclass
class StatementSet:
    """4–5 key-fact sentences of one chapter / report section: a 下列说法正确的有 question."""
    doc_id: str
    label: str
    facts: list[Fact]
    weight: float = STATEMENT_SET_WEIGHT

    @property
    def key(self) -> tuple:
        return ("statements", self.doc_id, tuple(f.key for f in self.facts))


def statement_sets(facts: list[Fact], rng: random.Random) -> list[StatementSet]:
    groups: dict[tuple, dict[tuple, Fact]] = {}
    for f in facts:
        c = f.sent.chunk
        if len(f.sent.text) > STATEMENT_MAX or f.weight < LOW_WEIGHT:
            continue
        key = (c.doc_id, str(c.extra.get("chapter") or "") if is_law(c) else section_label(c))
        skey = f.sent.simp
        g = groups.setdefault(key, {})
        if skey not in g or f.weight > g[skey].weight:
            g[skey] = f
    out = []
    for key, g in groups.items():
        fs = sorted(g.values(), key=lambda f: (f.sent.chunk.order, f.sent.index, f.start))
        if len(fs) < STATEMENT_SET_MIN:
            continue
        rng.shuffle(fs)
        for i in range(0, len(fs) - (STATEMENT_SET_MIN - 1), STATEMENT_SET_SIZE):
            part = fs[i:i + STATEMENT_SET_SIZE]
            if len(part) >= STATEMENT_SET_MIN:
                part.sort(key=lambda f: (f.sent.chunk.order, f.sent.index))
                out.append(StatementSet(key[0], key[1], part))
    return out


def build_statements(ss: StatementSet, rng: random.Random, pools: Pools) -> QuizItem | None:
    facts = ss.facts
    m = len(facts)
    n_false = rng.choice(STATEMENT_FALSE)
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
        texts.append(end_clean(t))
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
        notes.append(f"{LETTERS[k]}项{verdict}，{cite(f.sent.chunk)}：“{f.sent.full or f.sent.text}”")
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
