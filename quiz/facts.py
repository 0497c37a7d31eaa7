"""Single key facts found in chunk text — one term in one sentence, blanked or swapped by a quiz item:

    time      十日前 / 三十日内 / 六个月内 / 十五个工作日内 / 每年六月 / 任期五年
    ratio     五分之一以上 / 过半数 / 半数以上 / 95%
    count     十人以上 / 三十名以上 / 不少于3件 / 1089名 (Arabic counts in reports)
    freq      每年 / 每半年 / 每季度
    body      常务委员会 / 主任会议 / 本级人民政府 / 人民法院 / 专门委员会 / 委员长会议 …
    proc      专题询问 / 执法检查 / 质询案 / 专项工作报告 …
    term      quoted named measures in reports: “四道关口” “半月谈” “四个机关” …

Lists (several correct answers at once) are found by quiz.lists. Everything is deterministic: plain
lists in text order, no set iteration.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from npcqa.text import split_sentences, to_simplified
from npcqa.types import Chunk
from quiz.lexicon import FREQ_TERMS, lexicon_hits
from quiz.numbers import CN_NUM, NUM, num_value

_BAD_SENTENCE = re.compile(r"前款|本条|前两款|前三款|上述|前述|如下|以下简称|我们|<|>|\[|http|……|\.\.\.|…")
FULL_SENTENCE_MAX = 110  # sentences up to this length are asked whole, longer ones clause by clause
_CONTINUATION = re.compile(r"^(可以|并|但|也|或者|以及|应当|且|其|由|对|向|将|根据安排|必要时，(送|由|可以)|经|如果|在)")
ENUM_LINE = re.compile(r"^（([一二三四五六七八九十]+)）\s*(.+)$")
_TIME = re.compile(rf"({NUM})(个工作日|个月|日|天|周|年|小时)(以内|之内|以前|以后|前|内|后)")
_TERM_YEARS = re.compile(rf"(?<=任期)({NUM})年")
_MONTH = re.compile(r"(?<=每年)([一二三四五六七八九十]{1,2})月|(?<=月至)([一二三四五六七八九十]{1,2})月")
_RATIO = re.compile(rf"(?:[{CN_NUM}]+分之[{CN_NUM}]+|\d+(?:\.\d+)?%)(?:以上|以下)?|过半数|半数以上")
_COUNT_CN = re.compile(rf"(?:(?<=不少于)|(?<=至少)|(?<=不超过))?([{CN_NUM}]+)(人|名|件|次|项|个|户|天)(以上|以下)")
_COUNT_LIMIT = re.compile(rf"(?<=不少于|不超过)({NUM})(人|名|件|次|项|个|户|天|场)")
_COUNT_AR = re.compile(r"(?<![\d.+\-至到])(\d{1,5})(人次|名|件|项|个|户|场|条|次|人)(?![\d+])")
_FREQ = re.compile("|".join(sorted(FREQ_TERMS, key=len, reverse=True)))
# How good a question each kind of fact makes (the draw is weighted by these): a legal time limit,
# ratio or count is the classic exam point; a frequency, procedure or body less so; 常务委员会 /
# 人民代表大会 occur in nearly every sentence, and a body inside a list of bodies is a 多选 question.
WEIGHTS = {"time": 3.0, "time:month": 2.0, "ratio": 3.0, "count": 3.0, "count:limit": 2.5, "count:ar": 1.0,
           "freq": 1.5, "term": 3.0, "body": 2.0, "proc": 1.5, "everywhere": 1.0}
EVERYWHERE_BODIES = ("常务委员会", "人民代表大会")
MAX_TIME_VALUE = 1000  # 一千日 is no time limit: larger numbers before a time unit are dates or statistics
MAX_TIME_YEARS = 100  # …and for years the limit is a hundred
MIN_COUNT = 2  # 一人以上 / 1名 say "some", not a number worth asking
MIN_QUOTED_HANZI = 2  # a quoted term needs at least two Chinese characters to be a named measure
MIN_SENTENCE = 12  # shorter sentences are headings or fragments, not statements to ask about
LIST_MEMBER_WEIGHT = 0.05  # a body inside a list of bodies: a 多选 question, a poor blank (see extract_facts)
LOW_WEIGHT = 0.1  # facts weighted below this are asked last and never as 多选 statements
_QUOTE = re.compile(r"“([^“”\"，。、,；：:！？!?（）()]{2,12})”")


@dataclass
class Sentence:
    text: str  # a clause-sentence as split_sentences gives it (ends at 。！？ or ；)
    chunk: Chunk
    index: int
    simp: str = ""
    full: str = ""  # the whole sentence up to 。！？ — what the 解析 quotes

    def __post_init__(self) -> None:
        self.simp = to_simplified(self.text)
        if len(self.simp) != len(self.text):  # keep positions aligned between the two scripts
            self.simp = self.text


@dataclass
class Fact:
    kind: str  # time / ratio / count / freq / body / proc / term
    family: str  # distractor pool key
    term: str  # as written in the sentence
    start: int
    end: int
    sent: Sentence
    value: int | None = None  # numbers
    unit: str = ""
    suffix: str = ""
    weight: float = 1.0

    @property
    def key(self) -> tuple:
        return (self.sent.chunk.id, self.sent.index, self.start, self.term)


def sentences(chunk: Chunk) -> list[Sentence]:
    """Sentences worth asking about: no enumeration items, lead lines, cross-references or markup."""
    out = []
    fulls = [x.strip() for x in re.split(r"(?<=[。！？!?])|\n", chunk.text) if x and x.strip()]
    i = 0
    for full in fulls:
        parts = split_sentences(full)
        # a short sentence stays whole; a long one is asked clause by clause (split at ；), but a clause
        # that goes on without its subject (可以撤销… / 根据安排参加…) is left out
        units = [full] if len(full) <= FULL_SENTENCE_MAX or len(parts) == 1 else parts
        for k, s in enumerate(units):
            i += 1
            if ENUM_LINE.match(s) or s.endswith(("：", ":")) or _BAD_SENTENCE.search(s):
                continue
            if len(s) < MIN_SENTENCE or not _balanced(s):
                continue
            if k > 0 and _CONTINUATION.match(s):
                continue
            out.append(Sentence(s, chunk, i, full=full))
    return out


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        if ch == "“":
            depth += 1
        elif ch == "”":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and s.count('"') % 2 == 0


def _inside_quotes(text: str, start: int) -> bool:
    return text[:start].count("“") > text[:start].count("”")


# ----------------------------------------------------------------------------- single facts
def extract_facts(chunk: Chunk) -> list[Fact]:
    facts: list[Fact] = []
    for sent in sentences(chunk):
        t, simp = sent.text, sent.simp
        taken = [False] * len(t)

        def add(kind, family, start, end, weight, **kw):
            if start >= end or any(taken[start:end]):
                return
            for j in range(start, end):
                taken[j] = True
            facts.append(Fact(kind, family, t[start:end], start, end, sent, weight=weight, **kw))

        for m in _TIME.finditer(simp):
            if m.start() > 0 and re.match(r"[\d年月]", simp[m.start() - 1]):
                continue
            suf = {"以内": "内", "之内": "内", "以前": "前", "以后": "后"}.get(m.group(3), m.group(3))
            v = num_value(m.group(1))
            if v is None or v > MAX_TIME_VALUE or (m.group(2) == "年" and v > MAX_TIME_YEARS):
                continue
            add("time", f"time:{suf}", m.start(), m.end(), WEIGHTS["time"], value=v, unit=m.group(2),
                suffix=m.group(3))
        for m in _TERM_YEARS.finditer(simp):
            add("time", "time:term", m.start(), m.end(), WEIGHTS["time"], value=num_value(m.group(1)), unit="年")
        for m in _MONTH.finditer(simp):
            g = 1 if m.group(1) else 2
            add("time", "time:month", m.start(g), m.end(), WEIGHTS["time:month"], value=num_value(m.group(g)), unit="月")
        for m in _RATIO.finditer(simp):
            add("ratio", "ratio", m.start(), m.end(), WEIGHTS["ratio"],
                value=num_value(re.sub(r"以上|以下", "", m.group(0))) if "%" in m.group(0) else None)
        for m in _COUNT_CN.finditer(simp):
            v = num_value(m.group(1))
            if v is None or v < MIN_COUNT and m.group(3) == "以上" and m.group(2) not in "人名":
                continue
            add("count", f"count:{m.group(3)}", m.start(1), m.end(), WEIGHTS["count"], value=v,
                unit=m.group(2), suffix=m.group(3))
        for m in _COUNT_LIMIT.finditer(simp):
            v = num_value(m.group(1))
            if v is not None:
                add("count", "count:limit", m.start(1), m.end(), WEIGHTS["count:limit"], value=v, unit=m.group(2))
        for m in _COUNT_AR.finditer(simp):
            v = int(m.group(1))
            if v < MIN_COUNT or _inside_quotes(simp, m.start()):
                continue
            add("count", "count:ar", m.start(1), m.end(), WEIGHTS["count:ar"], value=v, unit=m.group(2))
        for m in _FREQ.finditer(simp):
            nxt = simp[m.end():m.end() + 1]
            if nxt and (nxt in CN_NUM or nxt.isdigit() or nxt in "度届"):
                continue
            add("freq", "freq", m.start(), m.end(), WEIGHTS["freq"])
        for m in _QUOTE.finditer(t):
            inner = m.group(1)
            if len(re.findall(r"[\u4e00-\u9fff]", inner)) < MIN_QUOTED_HANZI:
                continue
            fam = "term:numbered" if inner[0] in CN_NUM or inner[0].isdigit() else "term:quoted"
            add("term", fam, m.start(1), m.end(1), WEIGHTS["term"])
        for start, end, term, kind, cls in lexicon_hits(simp):
            if kind == "body" and chunk.kind == "report":
                continue  # bodies in report narrative are mostly parts of names (农业产业代表小组)
            if simp.count(term) != 1:  # the blanked term must not stay visible elsewhere in the stem
                continue
            weight = WEIGHTS["body"] if kind == "body" else WEIGHTS["proc"]
            if term in EVERYWHERE_BODIES:
                weight = WEIGHTS["everywhere"]
            add(kind, f"{kind}:{cls}", start, end, weight)
    # A body inside a list of bodies (人民政府、监察委员会、人民法院和人民检察院) is a 多选 question,
    # not a good blank: the list recurs in dozens of sentences.
    for f in facts:
        if f.kind == "body" and re.search(r"[、和及]$", f.sent.simp[:f.start]) or \
                f.kind == "body" and re.match(r"^[、和]|^或者", f.sent.simp[f.end:]):
            f.weight = LIST_MEMBER_WEIGHT
    # A number blanked where the same token recurs in the sentence would give the answer away.
    return [f for f in facts if f.sent.simp.count(to_simplified(f.term)) == 1]
