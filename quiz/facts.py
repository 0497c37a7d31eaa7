"""Key facts and lists found in chunk text — the raw material of quiz items.

Single facts (one term in one sentence, blanked or swapped):
    time      十日前 / 三十日内 / 六个月内 / 十五个工作日内 / 每年六月 / 任期五年
    ratio     五分之一以上 / 过半数 / 半数以上 / 95%
    count     十人以上 / 三十名以上 / 不少于3件 / 1089名 (Arabic counts in reports)
    freq      每年 / 每半年 / 每季度
    body      常务委员会 / 主任会议 / 本级人民政府 / 人民法院 / 专门委员会 / 委员长会议 …
    proc      专题询问 / 执法检查 / 质询案 / 专项工作报告 …
    term      quoted named measures in reports: “四道关口” “半月谈” “四个机关” …

Lists (several correct answers at once):
    enum      an article's （一）（二）（三） items under a lead line ending in ：
    inline    X、Y、Z和W inside one sentence (bodies named together, forms, requirements…)
    points    一是…二是…三是… / ——…。 items of one report section

Everything is deterministic: plain lists in text order, no set iteration.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from npcqa.text import cn_to_int, match_form, split_sentences, to_simplified
from npcqa.types import Chunk

CN_NUM = "零〇一二两三四五六七八九十百千"
NUM = rf"(?:[{CN_NUM}]+|\d+)"

# ----------------------------------------------------------------------------- lexicons
# class → terms; ``scope`` keeps distractors plausible (no 国务院 where the text says 本级…).
BODY_CLASSES: dict[str, list[str]] = {
    "organ": ["国务院", "中央军事委员会", "国家监察委员会", "最高人民法院", "最高人民检察院",
              "人民政府", "监察委员会", "人民法院", "人民检察院", "审计机关"],
    "npc_organ": ["委员长会议", "主任会议", "主席团", "专门委员会", "常务委员会", "代表团", "代表小组",
                  "代表工作委员会", "宪法和法律委员会", "调查委员会", "执法检查组"],
    "office": ["办事机构", "工作机构"],
    "meeting": ["全体会议", "联组会议", "分组会议", "小组会议", "常务委员会会议", "主席团会议"],
}
NATIONAL = ("国务院", "中央军事委员会", "国家监察委员会", "最高人民法院", "最高人民检察院", "委员长会议",
            "宪法和法律委员会")
LOCAL_ONLY = ("主任会议",)
PROC_CLASSES: dict[str, list[str]] = {
    "proc": ["专题询问", "执法检查", "视察", "专题调查研究", "专题调研", "跟踪监督", "跟踪检查", "备案审查",
             "特定问题调查", "联网监督", "满意度测评", "述职"],
    "motion": ["议案", "质询案", "罢免案"],
    "report": ["专项工作报告", "执法检查报告", "审计工作报告", "决算草案", "中期评估报告", "调整方案",
               "备案审查工作情况报告", "研究处理情况报告"],
}
FREQ_TERMS = ["每年", "每半年", "每季度", "每月", "每两年", "每三年"]
# Terms that say the same thing: never each other's distractor.
SYNONYMS = [("过半数", "半数以上", "二分之一以上"), ("专题调查研究", "专题调研"), ("执法检查", "跟踪检查"),
            ("日", "天")]
DAY_UNITS = {"日": 1, "天": 1, "个工作日": 1.4, "周": 7, "个月": 30, "年": 365, "小时": 1 / 24}

_BAD_SENTENCE = re.compile(r"前款|本条|前两款|前三款|上述|前述|如下|以下简称|我们|<|>|\[|http|……|\.\.\.|…")
FULL_SENTENCE_MAX = 110  # sentences up to this length are asked whole, longer ones clause by clause
_CONTINUATION = re.compile(r"^(可以|并|但|也|或者|以及|应当|且|其|由|对|向|将|根据安排|必要时，(送|由|可以)|经|如果|在)")
_ENUM_LINE = re.compile(r"^（([一二三四五六七八九十]+)）\s*(.+)$")
_TIME = re.compile(rf"({NUM})(个工作日|个月|日|天|周|年|小时)(以内|之内|以前|以后|前|内|后)")
_TERM_YEARS = re.compile(rf"(?<=任期)({NUM})年")
_MONTH = re.compile(r"(?<=每年)([一二三四五六七八九十]{1,2})月|(?<=月至)([一二三四五六七八九十]{1,2})月")
_RATIO = re.compile(rf"(?:[{CN_NUM}]+分之[{CN_NUM}]+|\d+(?:\.\d+)?%)(?:以上|以下)?|过半数|半数以上")
_COUNT_CN = re.compile(rf"(?:(?<=不少于)|(?<=至少)|(?<=不超过))?([{CN_NUM}]+)(人|名|件|次|项|个|户|天)(以上|以下)")
_COUNT_LIMIT = re.compile(rf"(?<=不少于|不超过)({NUM})(人|名|件|次|项|个|户|天|场)")
_COUNT_AR = re.compile(r"(?<![\d.+\-至到])(\d{1,5})(人次|名|件|项|个|户|场|条|次|人)(?![\d+])")
_FREQ = re.compile("|".join(sorted(FREQ_TERMS, key=len, reverse=True)))
_QUOTE = re.compile(r"“([^“”\"，。、,；：:！？!?（）()]{2,12})”")
_POINT = re.compile(r"([一二三四五六七八九十])是([^。，,；;：:]{2,28})[。，,；;]")
_DASH_POINT = re.compile(r"——([^。，,；;——]{2,20})[。，,]")
_CONNECTORS = ("或者", "以及", "和", "及", "与", "或")
_LEADS = ("包括", "采取", "做到", "实行", "实现", "坚持", "促进", "推动", "强化", "突出", "打造", "建立", "完善",
          "健全", "开展", "加强", "围绕", "聚焦", "按照", "通过", "提出", "组织", "形成", "注重", "落实", "深化",
          "召开", "参加", "确保", "提升", "增强", "提高", "成为", "当好", "严把", "紧盯", "宣讲", "践行", "做好",
          "落实", "构建", "创新", "实施", "畅通", "拓展", "履行")
_PURE_LEADS = ("切实做到", "做到", "通过", "按照", "实行", "紧盯", "宣讲", "聚焦", "破除", "覆盖", "覆蓋", "根据",
               "旨在从", "包括", "采取", "严把", "当好", "反映", "加强对", "着力")
_FINAL_STOPS = ("等", "的", "有机统一", "相挂钩", "挂钩", "相结合", "相统一", "能力", "程序", "闭环")
_ITEM_BAD = re.compile(r"[“”\"《》（）()\d等]|^[的了和及与或]|[的了和及与或]$")


norm = match_form  # Simplified script, no whitespace: the form every comparison uses (one home: npcqa.text)


@functools.lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def to_traditional(text: str) -> str:
    return _s2t().convert(text)


def is_traditional(text: str) -> bool:
    return to_simplified(text) != text


def num_value(s: str) -> int | None:
    s = s.strip().rstrip("%")
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return int(float(s))
    return cn_to_int(s)


def sentence_numbers(sentence: str) -> list[int]:
    """Every numeral in a sentence (Arabic or Chinese runs), as ints."""
    out = []
    for m in re.finditer(rf"\d+|[{CN_NUM}]+", sentence):
        tok = m.group(0)
        if re.fullmatch(r"[零〇]+", tok):
            continue
        v = num_value(tok)
        if v is not None and (tok.isdigit() or len(tok) > 1 or tok not in "一"):
            out.append(v)
        for part in re.split(r"分之", tok) if "分之" in tok else []:
            pv = num_value(part)
            if pv is not None:
                out.append(pv)
    return out


def render_number(v: int, like: str) -> str:
    """Write ``v`` the way ``like`` is written (Arabic or Chinese numerals)."""
    from npcqa.text import int_to_cn

    return str(v) if re.search(r"\d", like) else int_to_cn(v)


# ----------------------------------------------------------------------------- data
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


@dataclass
class ListFact:
    kind: str  # enum / inline / points
    family: str
    items: list[str]
    chunk: Chunk
    quote: str  # the text quoted in the 解析
    lead: str = ""  # enum: the lead line; points: the section name
    sent: Sentence | None = None  # inline: the sentence
    span: tuple[int, int] = (0, 0)  # inline: list span in the sentence
    weight: float = 1.0
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple:
        return (self.chunk.id, self.kind, self.span, tuple(self.items))


def body_class(term: str) -> str | None:
    for cls, terms in BODY_CLASSES.items():
        if term in terms:
            return cls
    return None


@functools.lru_cache(maxsize=1)
def _lexicon() -> list[tuple[str, str, str]]:
    """(term, kind, class) longest first."""
    rows = [(t, "body", c) for c, ts in BODY_CLASSES.items() for t in ts]
    rows += [(t, "proc", c) for c, ts in PROC_CLASSES.items() for t in ts]
    return sorted(rows, key=lambda r: (-len(r[0]), r[0]))


def lexicon_hits(simp: str) -> list[tuple[int, int, str, str, str]]:
    """Non-overlapping lexicon matches, longest first: (start, end, term, kind, class)."""
    taken = [False] * len(simp)
    hits = []
    for term, kind, cls in _lexicon():
        start = 0
        while (i := simp.find(term, start)) >= 0:
            if not any(taken[i:i + len(term)]):
                hits.append((i, i + len(term), term, kind, cls))
                for j in range(i, i + len(term)):
                    taken[j] = True
            start = i + 1
    return sorted(hits)


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
            if _ENUM_LINE.match(s) or s.endswith(("：", ":")) or _BAD_SENTENCE.search(s):
                continue
            if len(s) < 12 or not _balanced(s):
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
            if v is None or v > 1000 or (m.group(2) == "年" and v > 100):
                continue
            add("time", f"time:{suf}", m.start(), m.end(), 3.0, value=v, unit=m.group(2), suffix=m.group(3))
        for m in _TERM_YEARS.finditer(simp):
            add("time", "time:term", m.start(), m.end(), 3.0, value=num_value(m.group(1)), unit="年")
        for m in _MONTH.finditer(simp):
            g = 1 if m.group(1) else 2
            add("time", "time:month", m.start(g), m.end(), 2.0, value=num_value(m.group(g)), unit="月")
        for m in _RATIO.finditer(simp):
            add("ratio", "ratio", m.start(), m.end(), 3.0, value=num_value(re.sub(r"以上|以下", "", m.group(0)))
                if "%" in m.group(0) else None)
        for m in _COUNT_CN.finditer(simp):
            v = num_value(m.group(1))
            if v is None or v < 2 and m.group(3) == "以上" and m.group(2) not in "人名":
                continue
            add("count", f"count:{m.group(3)}", m.start(1), m.end(), 3.0, value=v, unit=m.group(2),
                suffix=m.group(3))
        for m in _COUNT_LIMIT.finditer(simp):
            v = num_value(m.group(1))
            if v is not None:
                add("count", "count:limit", m.start(1), m.end(), 2.5, value=v, unit=m.group(2))
        for m in _COUNT_AR.finditer(simp):
            v = int(m.group(1))
            if v < 2 or _inside_quotes(simp, m.start()):
                continue
            add("count", "count:ar", m.start(1), m.end(), 1.0, value=v, unit=m.group(2))
        for m in _FREQ.finditer(simp):
            nxt = simp[m.end():m.end() + 1]
            if nxt and (nxt in CN_NUM or nxt.isdigit() or nxt in "度届"):
                continue
            add("freq", "freq", m.start(), m.end(), 1.5)
        for m in _QUOTE.finditer(t):
            inner = m.group(1)
            if len(re.findall(r"[\u4e00-\u9fff]", inner)) < 2:
                continue
            fam = "term:numbered" if inner[0] in CN_NUM or inner[0].isdigit() else "term:quoted"
            add("term", fam, m.start(1), m.end(1), 3.0)
        for start, end, term, kind, cls in lexicon_hits(simp):
            if kind == "body" and chunk.kind == "report":
                continue  # bodies in report narrative are mostly parts of names (农业产业代表小组)
            if simp.count(term) != 1:  # the blanked term must not stay visible elsewhere in the stem
                continue
            weight = 2.0 if kind == "body" else 1.5
            if term in ("常务委员会", "人民代表大会"):
                weight = 1.0
            add(kind, f"{kind}:{cls}", start, end, weight)
    # A body inside a list of bodies (人民政府、监察委员会、人民法院和人民检察院) is a 多选 question,
    # not a good blank: the list recurs in dozens of sentences.
    for f in facts:
        if f.kind == "body" and re.search(r"[、和及]$", f.sent.simp[:f.start]) or \
                f.kind == "body" and re.match(r"^[、和]|^或者", f.sent.simp[f.end:]):
            f.weight = 0.05
    # A number blanked where the same token recurs in the sentence would give the answer away.
    return [f for f in facts if f.sent.simp.count(to_simplified(f.term)) == 1]


# ----------------------------------------------------------------------------- lists
def _clean_item(s: str) -> str:
    s = re.sub(r"^（[一二三四五六七八九十]+）\s*", "", s.strip())
    return s.rstrip("；;。.，,")


def extract_lists(chunk: Chunk) -> list[ListFact]:
    out: list[ListFact] = []
    lines = [ln.strip() for ln in chunk.text.splitlines() if ln.strip()]
    # (一)(二)… items under a lead line
    i = 0
    while i < len(lines):
        if lines[i].endswith(("：", ":")) and i + 1 < len(lines) and _ENUM_LINE.match(lines[i + 1]):
            lead = split_sentences(lines[i])[-1]
            j = i + 1
            items = []
            while j < len(lines) and (m := _ENUM_LINE.match(lines[j])):
                items.append(_clean_item(m.group(2)))
                j += 1
            usable = [it for it in items if 4 <= len(it) <= 70 and "其他" not in it]
            if len(usable) >= 2 and not re.search(r"前款|本条", lead):
                quote = "\n".join([lead] + lines[i + 1:j])
                out.append(ListFact("enum", "enum", usable, chunk, quote, lead=lead, weight=3.0))
            i = j
        else:
            i += 1
    # 一是…二是… / ——… points of a report section
    if chunk.kind != "law":
        pts = _POINT.findall(chunk.text)
        items: list[str] = []
        expect = 1
        for num, body in pts:
            n = cn_to_int(num)
            if n == expect:
                items.append(body.strip())
                expect += 1
            elif n == 1:
                if len(items) >= 3:
                    break
                items, expect = [body.strip()], 2
        if len(items) < 3:
            items = [m.strip() for m in _DASH_POINT.findall(chunk.text)]
        items = [it for it in items if 4 <= len(it) <= 28 and not _ITEM_BAD.search(it)]
        if len(items) >= 3:
            from quiz.select import section_label

            out.append(ListFact("points", "points", items, chunk, "；".join(items), lead=section_label(chunk),
                                weight=2.5))
    # X、Y、Z和W inside a sentence
    for sent in sentences(chunk):
        lf = _inline_list(sent)
        if lf is not None:
            out.append(lf)
    return out


@functools.lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    from npcqa.text import _jieba

    return tuple(_jieba().lcut(text))


def _boundaries(text: str) -> set[int]:
    out, pos = {0}, 0
    for w in _words(text):
        pos += len(w)
        out.add(pos)
    return out


def _best_cut(text: str, target: int, suffix: bool) -> str:
    """The suffix (first item) / prefix (last item) of ``text`` on a word boundary closest to ``target`` chars."""
    words = _words(text)
    cands = []
    for k in range(1, len(words) + 1):
        piece = "".join(words[-k:]) if suffix else "".join(words[:k])
        if 2 <= len(piece) <= 12:
            cands.append(piece)
    if not cands:
        return ""
    return min(cands, key=lambda p: (abs(len(p) - target), -len(p) if suffix else len(p)))


def _inline_list(sent: Sentence) -> ListFact | None:
    simp = sent.simp
    best = None
    for cm in re.finditer(r"[^，,；;：:。！？]+", simp):
        clause, c0 = cm.group(0), cm.start()
        if clause.count("、") < 2:
            continue
        parts = clause.split("、")
        middles = parts[1:-1]
        if any(not (2 <= len(p) <= 12) or _ITEM_BAD.search(p) for p in middles):
            continue
        med = sorted(len(p) for p in middles)[len(middles) // 2]
        # first item: a body term ending the leading part, the whole part, or what follows a lead verb
        first = parts[0]
        hits = [h for h in lexicon_hits(first) if h[1] == len(first)]
        bounds = _boundaries(clause)
        if hits and hits[-1][3] == "body":
            first_item = hits[-1][2]
        elif len(first) <= med + 3:
            first_item = first
        else:
            cuts = [first.rfind(ld) + len(ld) for ld in _LEADS if ld in first]
            cuts = [k for k in cuts if k in bounds and 2 <= len(first) - k]
            first_item = first[max(cuts):] if cuts else ""
        for ld in _PURE_LEADS:
            if first_item.startswith(ld) and len(first_item) - len(ld) >= 2:
                first_item = first_item[len(ld):]
                break
        if (not (2 <= len(first_item) <= 12) or abs(len(first_item) - med) > 3 or _ITEM_BAD.search(first_item)
                or re.match(r"^[由对向在从将把以为与和及其]", first_item)):
            continue
        # last item(s): split on a connector; the final item ends the clause or stops at 等 / 的
        last = parts[-1]
        tail_items: list[str] = []
        rest_off = 0
        for con in _CONNECTORS:
            k = last.find(con)
            if 2 <= k <= 12:
                tail_items = [last[:k]]
                rest_off = k + len(con)
                break
        last_rest = last[rest_off:]
        hits = [h for h in lexicon_hits(last_rest) if h[0] == 0 and h[3] == "body"]
        if hits:
            final = hits[0][2]
        else:
            stops = [k for k in (last_rest.find(w) for w in _FINAL_STOPS) if k >= 2]
            final = last_rest[:min(stops)] if stops else last_rest
        if not (2 <= len(final) <= 12) or abs(len(final) - med) > 3 or _ITEM_BAD.search(final):
            continue
        if tail_items and (_ITEM_BAD.search(tail_items[0]) or abs(len(tail_items[0]) - med) > 3):
            continue
        if any(abs(len(p) - med) > 4 for p in middles):
            continue
        items = [first_item] + middles + tail_items + [final]
        if len(set(items)) != len(items):
            continue
        start = c0 + len(first) - len(first_item)
        end = c0 + len(clause) - len(last) + rest_off + len(final)
        is_body = all(body_class(it) for it in items)
        if not is_body and any(body_class(it) for it in items):
            continue  # 人民政府及其所属各部门、监察委员会… : item edges unreliable
        fam = "inline:body" if is_body else "inline:item"
        orig_items = [sent.text[start:end][a:b] for a, b in _item_spans(simp[start:end], items)]
        lf = ListFact("inline", fam, orig_items, sent.chunk, sent.text, sent=sent, span=(start, end),
                      weight=3.0 if is_body else 2.0)
        if best is None or len(items) > len(best.items):
            best = lf
    return best


def _item_spans(region: str, items: list[str]) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for it in items:
        k = region.find(it, pos)
        spans.append((k, k + len(it)))
        pos = k + len(it)
    return spans
