"""Deterministic quiz generation: 单选 / 多选 / 判断 / 填空 from key facts of the selected chunks, no LLM.

    result = build_quiz("监督法", counts={"单选": 5, "多选": 5, "判断": 5, "填空": 5}, seed=1)
    result.items        # [QuizItem], grouped by type in the order asked
    result.report       # QualityReport: counts by type, drops and why, shortfalls

This module is the run: it gathers the material of the selected chunks, draws it best-first with a
seeded rng, has quiz.builders make items and quiz.validate check them, and fills a type the material
cannot cover from the others. The parts:

* quiz.facts / quiz.lists — the material: single key facts (time limits, ratios, counts, bodies,
  procedures, quoted named measures) and lists (an article's （一）（二） items, X、Y、Z和W inside a
  sentence, 一是/二是 points of a report section).
* quiz.pools / quiz.distractors — wrong options are real alternatives of the same type taken from the
  whole index, never invented strings; numbers are re-written in the answer's form (三十日 → 三十日前
  when the blank is ``X日前``) but the number itself always occurs in the corpus.
* quiz.validate — failing items are dropped (counted by reason) and replaced by the next candidate.
* quiz.model — 判断 items carry ``options == ["正确", "错误"]`` and ``answer`` 正确/错误; 填空 items
  have no options and the blank is ``____``; 单选/多选 answers are letters ("A", "ABD").
* Randomness: ``random.Random(f"{seed}:{type}")`` per type, candidates in text order before the
  seeded shuffle, no set iteration — the same seed gives byte-identical JSON in any process.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from typing import Iterator

from npcqa.text import match_form, to_simplified
from npcqa.types import Chunk
from quiz.builders import build_blank, build_judge, build_multi, build_single, build_statements, statement_sets
from quiz.facts import LOW_WEIGHT, Fact
from quiz.lists import ListFact
from quiz.model import FALSE, TRUE, TYPES, QualityReport, QuizItem, QuizResult
from quiz.pools import pools_for
from quiz.select import Corpus, QuizError, Selection, select_chunks
from quiz.spec import check_total, parse_types, split_count
from quiz.validate import validate

FACT_KINDS = {"单选": ("time", "ratio", "count", "body", "proc", "term", "freq"),
              "判断": ("time", "ratio", "count", "body", "proc", "term", "freq"),
              "填空": ("time", "ratio", "count", "term", "body", "proc", "freq")}  # per type, in this order
OPTION_DRAWS = 2  # a 单选 / 多选 whose options are rejected gets a second draw of options
MIN_DRAW_WEIGHT = 0.01  # weights are floored here so a near-zero weight still has a (tiny) chance
JUDGE_TRUE_FIRST = 0.5  # chance the first 判断 is a true statement
JUDGE_ALTERNATE = 0.85  # chance the next 判断 flips truth: mostly alternating, never a fixed pattern


def _weighted_order(cands: list, rng: random.Random) -> list:
    """Efraimidis–Spirakis weighted shuffle (deterministic for a seeded rng)."""
    keyed = [(rng.random() ** (1.0 / max(c.weight, MIN_DRAW_WEIGHT)), i, c) for i, c in enumerate(cands)]
    keyed.sort(key=lambda x: (-x[0], x[1]))
    return [c for _, _, c in keyed]


def _skey(sent) -> tuple:
    """Sentence identity across overlapping chunks of one document."""
    return (sent.chunk.doc_id, sent.simp)


class _Run:
    """One generation: the material of the selected chunks, what has been asked so far (stems, facts,
    sentences) and one item stream per type; the streams share that state so types do not repeat."""

    def __init__(self, chunks: list[Chunk], corpus: Corpus, seed: int, report: QualityReport):
        self.corpus, self.seed, self.report = corpus, seed, report
        self.pools = pools_for(corpus, chunks)
        cache = corpus.pool_cache
        facts: dict[tuple, Fact] = {}
        for c in chunks:  # chunks of a long section overlap: the same fact once
            for f in cache.facts(c):
                facts.setdefault((c.doc_id, f.sent.simp, f.start, f.term), f)
        self.facts: list[Fact] = list(facts.values())
        seen_lists: dict[tuple, None] = {}
        self.lists: list[ListFact] = []
        for c in chunks:
            for lf in cache.lists(c):
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

    def accept(self, t: str, item: QuizItem | None) -> bool:
        if item is None:
            return False
        reason = validate(item, self.pools, self.stems)
        if reason:
            self.report.record_drop(t, item, reason)
            return False
        self.stems.add(match_form(item.stem))
        return True

    def _ordered_facts(self, rng: random.Random, kinds: tuple[str, ...]) -> list[Fact]:
        cands = [f for f in self.facts if f.kind in kinds]
        order = _weighted_order(cands, rng)
        # sentences not yet used by another item first; the same fact is never asked twice
        # bodies inside a list of bodies come last: they make better 多选 than blanks
        low = [f for f in order if f.weight < LOW_WEIGHT]
        order = [f for f in order if f.weight >= LOW_WEIGHT]
        fresh = [f for f in order if _skey(f.sent) not in self.used_sents]
        reused = [f for f in order if _skey(f.sent) in self.used_sents]
        return fresh + reused + low

    def _mark(self, f: Fact) -> None:
        self.used_facts.add(f.key)
        self.used_sents[_skey(f.sent)] = None

    def items(self, t: str) -> Iterator[QuizItem]:
        """Yield validated items of type t, best material first."""
        rng = random.Random(f"{self.seed}:{t}")
        if t == "多选":
            yield from self._multi_items(rng)
        else:
            yield from self._fact_items(t, rng)

    def _multi_items(self, rng: random.Random) -> Iterator[QuizItem]:
        """多选 from lists and from 下列说法正确的有 statement sets, drawn together by weight."""
        t = "多选"
        sets = statement_sets(self.facts, random.Random(f"{self.seed}:statements"))
        self.report.material["statements"] = len(sets)
        order = _weighted_order(self.lists + sets, rng)
        fresh = [x for x in order if not isinstance(x, ListFact) or x.sent is None
                 or _skey(x.sent) not in self.used_sents]
        order = fresh + [x for x in order if x not in fresh]
        for x in order:
            for _ in range(OPTION_DRAWS):
                item = build_multi(x, rng, self.pools) if isinstance(x, ListFact) else \
                    build_statements(x, rng, self.pools)
                if item is None:
                    break
                if self.accept(t, item):
                    if isinstance(x, ListFact) and x.sent is not None:
                        self.used_sents[_skey(x.sent)] = None
                    yield item
                    break

    def _fact_items(self, t: str, rng: random.Random) -> Iterator[QuizItem]:
        """单选 / 判断 / 填空 from single facts; 判断 keeps true and false statements in balance."""
        kinds = FACT_KINDS[t]
        truth_next = rng.random() < JUDGE_TRUE_FIRST
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
                            truth_next = not truth if rng.random() < JUDGE_ALTERNATE else truth
                            self.report.judge_truth = {TRUE: n_true, FALSE: n_false}
                            yield item
                            break
                    continue
                builder = build_single if t == "单选" else build_blank
                for _ in range(OPTION_DRAWS if t == "单选" else 1):
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
    check_total(counts)
    result = generate(sel.chunks, corpus, counts, seed=seed, fill=fill, selection=sel)
    if sum(counts.values()) > 0 and not result.items:
        raise QuizError(f"来源 {'、'.join(sel.specs)} 的文本中没有可出题的要点（时限、数字、机关、列举项等）。")
    result.report.elapsed_ms = round((time.perf_counter() - t0) * 1000, 1)
    return result
