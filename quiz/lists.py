"""Lists found in chunk text — the material of 多选 items (several correct answers at once):

    enum      an article's （一）（二）（三） items under a lead line ending in ：
    inline    X、Y、Z和W inside one sentence (bodies named together, forms, requirements…)
    points    一是…二是…三是… / ——…。 items of one report section

Everything is deterministic: plain lists in text order, no set iteration.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from npcqa.text import cn_to_int, split_sentences
from npcqa.types import Chunk
from quiz.cite import section_label
from quiz.facts import ENUM_LINE, Sentence, sentences
from quiz.lexicon import body_class, lexicon_hits

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
ENUM_ITEM_LEN = (4, 70)  # an （一） item shorter is a fragment, longer a paragraph: neither is an option
POINT_ITEM_LEN = (4, 28)  # a 一是… point of a report: a short phrase
INLINE_ITEM_LEN = (2, 12)  # an item of X、Y、Z和W: a word or a short phrase
INLINE_LEN_SLACK = 3  # the first / last item may differ this much from the middle items' median length…
INLINE_MIDDLE_SLACK = 4  # …and each middle item this much
MIN_ENUM_ITEMS = 2  # a 多选 needs at least two correct items
MIN_POINTS = 3  # 一是…二是…三是…: fewer points are not a list of the section
# How good a question each kind of list makes (see quiz.facts.WEIGHTS for single facts).
LIST_WEIGHTS = {"enum": 3.0, "points": 2.5, "inline:body": 3.0, "inline:item": 2.0}
_ITEM_BAD = re.compile(r"[“”\"《》（）()\d等]|^[的了和及与或]|[的了和及与或]$")


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


def _clean_item(s: str) -> str:
    s = re.sub(r"^（[一二三四五六七八九十]+）\s*", "", s.strip())
    return s.rstrip("；;。.，,")


def extract_lists(chunk: Chunk) -> list[ListFact]:
    out: list[ListFact] = []
    lines = [ln.strip() for ln in chunk.text.splitlines() if ln.strip()]
    # (一)(二)… items under a lead line
    i = 0
    while i < len(lines):
        if lines[i].endswith(("：", ":")) and i + 1 < len(lines) and ENUM_LINE.match(lines[i + 1]):
            lead = split_sentences(lines[i])[-1]
            j = i + 1
            items = []
            while j < len(lines) and (m := ENUM_LINE.match(lines[j])):
                items.append(_clean_item(m.group(2)))
                j += 1
            usable = [it for it in items if ENUM_ITEM_LEN[0] <= len(it) <= ENUM_ITEM_LEN[1] and "其他" not in it]
            if len(usable) >= MIN_ENUM_ITEMS and not re.search(r"前款|本条", lead):
                quote = "\n".join([lead] + lines[i + 1:j])
                out.append(ListFact("enum", "enum", usable, chunk, quote, lead=lead, weight=LIST_WEIGHTS["enum"]))
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
                if len(items) >= MIN_POINTS:
                    break
                items, expect = [body.strip()], 2
        if len(items) < MIN_POINTS:
            items = [m.strip() for m in _DASH_POINT.findall(chunk.text)]
        items = [it for it in items if POINT_ITEM_LEN[0] <= len(it) <= POINT_ITEM_LEN[1] and not _ITEM_BAD.search(it)]
        if len(items) >= MIN_POINTS:
            out.append(ListFact("points", "points", items, chunk, "；".join(items), lead=section_label(chunk),
                                weight=LIST_WEIGHTS["points"]))
    # X、Y、Z和W inside a sentence
    for sent in sentences(chunk):
        lf = _inline_list(sent)
        if lf is not None:
            out.append(lf)
    return out


@functools.lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    from npcqa.text import segment

    return tuple(segment(text))


def _boundaries(text: str) -> set[int]:
    out, pos = {0}, 0
    for w in _words(text):
        pos += len(w)
        out.add(pos)
    return out


def _item_len_ok(item: str) -> bool:
    return INLINE_ITEM_LEN[0] <= len(item) <= INLINE_ITEM_LEN[1]


def _inline_list(sent: Sentence) -> ListFact | None:
    simp = sent.simp
    best = None
    for cm in re.finditer(r"[^，,；;：:。！？]+", simp):
        clause, c0 = cm.group(0), cm.start()
        if clause.count("、") < 2:
            continue
        parts = clause.split("、")
        middles = parts[1:-1]
        if any(not _item_len_ok(p) or _ITEM_BAD.search(p) for p in middles):
            continue
        med = sorted(len(p) for p in middles)[len(middles) // 2]
        # first item: a body term ending the leading part, the whole part, or what follows a lead verb
        first = parts[0]
        hits = [h for h in lexicon_hits(first) if h[1] == len(first)]
        bounds = _boundaries(clause)
        if hits and hits[-1][3] == "body":
            first_item = hits[-1][2]
        elif len(first) <= med + INLINE_LEN_SLACK:
            first_item = first
        else:
            cuts = [first.rfind(ld) + len(ld) for ld in _LEADS if ld in first]
            cuts = [k for k in cuts if k in bounds and INLINE_ITEM_LEN[0] <= len(first) - k]
            first_item = first[max(cuts):] if cuts else ""
        for ld in _PURE_LEADS:
            if first_item.startswith(ld) and len(first_item) - len(ld) >= INLINE_ITEM_LEN[0]:
                first_item = first_item[len(ld):]
                break
        if (not _item_len_ok(first_item) or abs(len(first_item) - med) > INLINE_LEN_SLACK or _ITEM_BAD.search(first_item)
                or re.match(r"^[由对向在从将把以为与和及其]", first_item)):
            continue
        # last item(s): split on a connector; the final item ends the clause or stops at 等 / 的
        last = parts[-1]
        tail_items: list[str] = []
        rest_off = 0
        for con in _CONNECTORS:
            k = last.find(con)
            if INLINE_ITEM_LEN[0] <= k <= INLINE_ITEM_LEN[1]:  # k = the item's length before the connector
                tail_items = [last[:k]]
                rest_off = k + len(con)
                break
        last_rest = last[rest_off:]
        hits = [h for h in lexicon_hits(last_rest) if h[0] == 0 and h[3] == "body"]
        if hits:
            final = hits[0][2]
        else:
            stops = [k for k in (last_rest.find(w) for w in _FINAL_STOPS) if k >= INLINE_ITEM_LEN[0]]
            final = last_rest[:min(stops)] if stops else last_rest
        if not _item_len_ok(final) or abs(len(final) - med) > INLINE_LEN_SLACK or _ITEM_BAD.search(final):
            continue
        if tail_items and (_ITEM_BAD.search(tail_items[0]) or abs(len(tail_items[0]) - med) > INLINE_LEN_SLACK):
            continue
        if any(abs(len(p) - med) > INLINE_MIDDLE_SLACK for p in middles):
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
                      weight=LIST_WEIGHTS[fam])
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
