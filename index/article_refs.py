"""Reading article references out of a question: "XX法第N条…" → which articles, and which law name before them.

All on ``lawnames.match_text`` (Simplified, no spaces or 《》): ``parse_refs`` finds 第N条 in Chinese or
Arabic numerals, 之一, 第N条第M款, 第N条第M项, ranges 第十条至第十二条 and lists 第十条、第十三条; numbers are
compared as integers, so 第十一条 never matches 第二百一十一条. ``unknown_law_name`` reads the name of a
law the index does not know, written just before a reference, so that the lookup can say it is missing
instead of quoting another law's article (``index.articles``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from npcqa.text import cn_to_int, int_to_cn

# More articles than this in one range is a chapter, not a lookup: only the first ones are quoted
# (a quiz source takes any range; it does not come through here).
MAX_RANGE_ARTICLES = 20
_N = r"[零〇一二三四五六七八九十百千两\d]+"
_ONE = rf"第({_N})条(?:之([一二三四五六七八九十]+))?(?:第({_N})款)?(?:第[（(]?({_N})[）)]?项)?"
_REF = re.compile(_ONE)
_SEP = r"(?:至|到|-|—|–|~|～)"
_COMPACT_RANGE = re.compile(rf"第({_N}){_SEP}({_N})条")  # 第10-12条 / 第十至十二条
_RANGE_TAIL = re.compile(rf"{_SEP}第?({_N})条(?:之([一二三四五六七八九十]+))?")
_LIST_TAIL = re.compile(rf"(?:、|，|,|和|及|以及|与|或)第?({_N})条(?:之([一二三四五六七八九十]+))?"
                        rf"(?:第({_N})款)?(?:第[（(]?({_N})[）)]?项)?")
# Words in front of an unknown law's name that are not part of it.
_LEAD_WORDS = ("请问", "我想问", "想问", "问一下", "请", "查一下", "查询", "根据", "依据", "依照", "按照", "关于", "对照",
               "民法商法", "宪法相关法", "经济法", "行政法", "社会法", "诉讼与非诉讼程序法", "在", "看看", "看")
# An unknown name is taken for a law only when it ends in 法: 条例/办法/规定 are just as often local
# regulations or documents of the corpus, which ordinary retrieval should still find.
_UNKNOWN_LAW = re.compile(r"([\u4e00-\u9fff（）()]{2,40}?(?:法典|法))$")
_DEICTIC = ("本", "该", "此", "这", "那", "上述", "前述")
_NOT_LAW_ENDINGS = ("办法", "方法", "做法", "想法", "看法", "说法", "用法", "依法", "合法", "违法", "执法", "守法")


@dataclass(frozen=True)
class ArticleRef:
    """One article asked for. ``start``/``end``: its span in the question's ``match_text``."""

    number: int
    suffix: str = ""  # 之一 …
    paragraph: int | None = None  # 第M款
    item: int | None = None  # 第M项
    start: int = 0
    end: int = 0

    @property
    def label(self) -> str:
        return f"第{int_to_cn(self.number)}条{self.suffix}"

    @property
    def asked(self) -> str:
        """第十条第二款第（三）项: the reference as the answer repeats it."""
        out = self.label
        if self.paragraph:
            out += f"第{int_to_cn(self.paragraph)}款"
        if self.item:
            out += f"第（{int_to_cn(self.item)}）项"
        return out


def _num(s: str | None) -> int | None:
    return cn_to_int(s) if s else None


def parse_refs(text: str) -> list[ArticleRef]:
    """Article references in ``text`` (``match_text``), ranges expanded, in order of appearance."""
    refs: list[ArticleRef] = []
    pos = 0
    while True:
        m, c = _REF.search(text, pos), _COMPACT_RANGE.search(text, pos)
        if m is None and c is None:
            break
        if c and (m is None or c.start() <= m.start()):
            lo, hi = _num(c.group(1)), _num(c.group(2))
            if lo and hi and hi >= lo:
                refs.extend(ArticleRef(k, "", None, None, c.start(), c.end())
                            for k in range(lo, min(hi, lo + MAX_RANGE_ARTICLES - 1) + 1))
            pos = c.end()
            continue
        n = _num(m.group(1))
        pos = m.end()
        if not n:
            continue
        suffix = f"之{m.group(2)}" if m.group(2) else ""
        refs.append(ArticleRef(n, suffix, _num(m.group(3)), _num(m.group(4)), m.start(), m.end()))
        if r := _RANGE_TAIL.match(text, pos):
            hi = _num(r.group(1))
            if hi and hi > n:
                refs.extend(ArticleRef(k, "", None, None, m.start(), r.end())
                            for k in range(n + 1, min(hi, n + MAX_RANGE_ARTICLES - 1) + 1))
            pos = r.end()
        while li := _LIST_TAIL.match(text, pos):
            k = _num(li.group(1))
            if k:
                refs.append(ArticleRef(k, f"之{li.group(2)}" if li.group(2) else "", _num(li.group(3)),
                                       _num(li.group(4)), li.start(), li.end()))
            pos = li.end()
    return refs


def unknown_law_name(before: str) -> str:
    """The law name written just before an article reference when no known name was found there."""
    m = _UNKNOWN_LAW.search(before)
    if not m:
        return ""
    name = m.group(1)
    changed = True
    while changed:
        changed = False
        for w in _LEAD_WORDS:
            if name.startswith(w) and len(name) > len(w) + 1:
                name, changed = name[len(w):], True
    name = name.removeprefix("中华人民共和国")
    if len(name) < 3 or name.startswith(_DEICTIC) or name.endswith(_NOT_LAW_ENDINGS):
        return ""
    return name
