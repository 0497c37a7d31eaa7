"""How an item names and quotes its source: 根据《监督法》… prefixes, 解析 citations, 出处 locators,
and the clause-boundary window that keeps a long sentence readable in a stem.

One home for the wording every builder shares, so a 单选 and a 多选 of the same article cite it alike.
"""
from __future__ import annotations

import re

from index.normalize import law_short_name
from npcqa.types import Chunk

WINDOW = 96  # max chars of a law sentence shown in a stem; longer ones are cut at clause boundaries
REPORT_WINDOW = 64  # reports run on: their stems are cut shorter
_SECTION_SUFFIX = re.compile(r"（\d+/\d+）$")


def section_label(c: Chunk) -> str:
    """A report chunk's section without the ``（1/3）`` part counter."""
    return _SECTION_SUFFIX.sub("", c.locator or "").strip()


def section_key(c: Chunk) -> str:
    """The document part a chunk belongs to (an article of a law, a section of a report)."""
    return f"{c.doc_id}\x1f{section_label(c) if c.kind != 'law' else c.locator}"


def is_law(c: Chunk) -> bool:
    return c.kind == "law"


def locator_of(c: Chunk) -> str:
    if is_law(c):
        return f"《{law_short_name(c.title)}》{c.locator}"
    return section_label(c) or "正文"


def source_of(c: Chunk) -> dict:
    return {"title": c.title, "locator": locator_of(c), "text": c.text, "chunk_id": c.id}


def prefix(c: Chunk) -> str:
    """The stem's opening: 根据《监督法》， / 据《报告标题》，"""
    if is_law(c):
        return f"根据《{law_short_name(c.title)}》，"
    return f"据《{c.title}》，"


def cite(c: Chunk) -> str:
    """The 解析's citation: 《监督法》第十条规定 / 《报告》（一、…）原文"""
    if is_law(c):
        return f"《{law_short_name(c.title)}》{c.locator}规定"
    sec = section_label(c)
    return f"《{c.title}》" + (f"（{sec}）" if sec and sec != "正文" else "") + "原文"


def end_clean(s: str) -> str:
    """A clause made to end like a sentence (a trailing ，；： becomes 。)."""
    s = s.strip()
    if s.endswith(("；", ";", "，", ",", "：", ":")):
        s = s[:-1] + "。"
    if not s.endswith(("。", "！", "？", "……", "”")):
        s += "。"
    return s


def budget(c: Chunk) -> int:
    """How many characters of this chunk's sentence a stem may show."""
    return WINDOW if is_law(c) else REPORT_WINDOW


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
