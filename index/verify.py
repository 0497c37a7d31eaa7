"""Citation verification for generated answers (pure functions, no model, no I/O).

An LLM answer is split into sentences (ends: 。！？； and line breaks; an unmarked clause ending
in ； joins the clause whose marker follows it, as in "（一）……；（二）……[1]。"); each sentence's
``[n]`` markers are checked against the numbered passages the model was given:

1. a marker pointing to no passage is removed (``dropped_markers``);
2. a marker is *term-supported* when at least ``TERM_SHARE`` (50 %) of the sentence's content
   words (jieba precise mode, stop/question words removed, Simplified script) occur in that
   passage (its title, locator and heading count too): ``index.coverage.term_share``. A word also
   counts when an alias of it does (监督法 ↔ full title, 常委会 ↔ 常务委员会 from
   ``index/aliases.toml``), and a word of three or more characters counts by the share of its
   character bigrams found (paraphrase tolerance);
3. every number in the sentence — Arabic or Chinese numerals with their unit (十日, 3个月),
   ordinals (第十五条, 第十八届), fractions (三分之一), percentages, years (2024年 = 二〇二四年) —
   must occur, with the same value and unit, in at least one term-supported cited passage.
   If one does not, none of the sentence's markers is supported (the sentence states something
   its sources do not say);
4. unsupported markers are removed; a sentence left with no supported marker is **dropped**
   (not flagged): what the user reads is only what the passages back. Headings/connectives
   with no content words ("具体如下：") are kept without counting as sentences.

``verify_answer`` returns the cleaned text and ``{"sentences", "kept", "dropped_markers"}``;
the caller falls back to the extractive answer when fewer than ``MIN_KEPT_SHARE`` survive.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.coverage import CITATION_MARKER, term_share
from npcqa.text import cn_to_int, content_words, match_form, to_simplified

TERM_SHARE = 0.5  # share of a sentence's content words that must occur in a cited passage
MIN_KEPT_SHARE = 0.5  # below this share of kept sentences, the answer falls back to extractive
SENT_ENDS = "。！？；!?;"
# A marker range [1-3] is expanded only when it spans fewer than this many passages (the prompt shows at
# most five); a wider one ([1-100]) is a typo or a year, and only its two ends are kept.
MAX_MARKER_RANGE = 10
# An unmarked line ending in "：" up to this long is a heading ("具体如下：", "法律规定：") and is not checked.
HEADING_CHARS = 20

_FW_DIGITS = str.maketrans("０１２３４５６７８９［］", "0123456789[]")
_MARK_GROUP = re.compile(r"[\[【]\s*(\d{1,3}(?:\s*[,，、\-–]\s*\d{1,3})*)\s*[\]】]")
_MARK = CITATION_MARKER
_MARKS_AFTER_END = re.compile(rf"([{SENT_ENDS}])((?:\s*\[\d{{1,3}}\])+)")
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•·]\s*|\d{1,2}\s*[.、)）](?!\d)\s*|[（(]\s*[一二三四五六七八九十\d]{1,3}\s*[）)]\s*"
                          r"|[一二三四五六七八九十]{1,3}\s*[、.]\s*)")
_MARKDOWN = re.compile(r"\*\*|__|^#{1,6}\s*|`")
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S)

# ------------------------------------------------------------------------------------ numbers
_CN = "零〇一二两三四五六七八九十百千万亿"
_NUM = rf"(?:\d+(?:\.\d+)?|[{_CN}]+)"
_UNIT = r"(?:小时|分钟|工作日|周岁|个月|[日天个月年周名人次届条款项章节倍岁件部类种级位份期批家所户元票页万亿])"
_ORD_UNIT = r"[条款项章节次届个批期号]"
_NUMBER_PATTERNS = [
    ("%", re.compile(rf"百分之({_NUM})")),
    ("frac", re.compile(rf"({_NUM})分之({_NUM})")),
    ("%", re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")),
    ("ord", re.compile(rf"第\s*({_NUM})\s*({_ORD_UNIT})")),
    ("unit", re.compile(rf"({_NUM})\s*({_UNIT})")),
    ("bare", re.compile(r"\d+(?:\.\d+)?")),
]
_UNIT_ALIASES = {"天": "日"}


def cn_number(s: str) -> float | None:
    """'十五' → 15, '二〇二四' → 2024, '3000' → 3000, '1.5' → 1.5; None when not a numeral."""
    s = s.strip()
    if not s:
        return None
    try:
        return float(s)
    except ValueError:
        pass
    if len(s) > 1 and not any(ch in "十百千万亿" for ch in s):  # digit by digit: 二〇二四
        digits = "零〇一二两三四五六七八九"
        vals = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                "八": 8, "九": 9}
        if all(ch in digits for ch in s):
            return float(int("".join(str(vals[ch]) for ch in s)))
        return None
    if "亿" in s:
        head, _, tail = s.partition("亿")
        h = cn_number(head) if head else 1.0
        t = cn_number(tail) if tail else 0.0
        return None if h is None or t is None else h * 1e8 + t
    v = cn_to_int(s)
    return None if v is None else float(v)


def numbers_in(text: str) -> set[tuple[str, float]]:
    """The numeric facts of a text as (unit, value): ('日', 10) for 十日, ('第条', 15) for 第十五条,
    ('frac', 1/3) for 三分之一, ('%', 50) for 50%, ('', 2024) for a bare Arabic 2024.

    Chinese numerals count only with a unit or as an ordinal (so 统一 / 一般 / 一是 are not numbers);
    Arabic numerals count even bare.
    """
    s = to_simplified(text or "").translate(_FW_DIGITS)
    s = _MARK.sub(" ", s)
    found: set[tuple[str, float]] = set()
    taken = [False] * len(s)
    for kind, pat in _NUMBER_PATTERNS:
        for m in pat.finditer(s):
            if any(taken[m.start():m.end()]):
                continue
            fact = _fact(kind, m)
            if fact is None:
                continue
            found.add(fact)
            for i in range(m.start(), m.end()):
                taken[i] = True
    return found


def _fact(kind: str, m: re.Match) -> tuple[str, float] | None:
    if kind == "%":
        v = cn_number(m.group(1))
        return None if v is None else ("%", v)
    if kind == "frac":
        den, num = cn_number(m.group(1)), cn_number(m.group(2))
        return None if not den or num is None else ("frac", round(num / den, 6))
    if kind == "ord":
        v = cn_number(m.group(1))
        return None if v is None else ("第" + m.group(2), v)
    if kind == "unit":
        v = cn_number(m.group(1))
        if v is None:
            return None
        unit = m.group(2)
        if unit in "万亿":  # 3万 = 30000 (a value, not a unit)
            return ("", v * (1e4 if unit == "万" else 1e8))
        return (_UNIT_ALIASES.get(unit, unit), v)
    try:
        return ("", float(m.group(0)))
    except ValueError:
        return None


def number_supported(fact: tuple[str, float], facts: set[tuple[str, float]]) -> bool:
    """Same value, and the same unit (a bare Arabic number on either side matches any unit)."""
    unit, v = fact
    return any(abs(v - v2) < 1e-6 and (u2 == unit or not u2 or not unit) for u2, v2 in facts)


# ------------------------------------------------------------------------------------ sentences
def strip_think(text: str) -> str:
    """Drop a reasoning model's <think>…</think> block (an unclosed one runs to the end)."""
    return _THINK.sub("", text or "")


def clean_reply(text: str) -> str:
    """Model reply → plain lines: no <think> block, Markdown or list numbering; markers as ``[n]``."""
    text = strip_think(text)
    text = text.translate(_FW_DIGITS)
    text = _MARK_GROUP.sub(_expand_group, text)
    lines = []
    for line in text.splitlines():
        line = _LIST_PREFIX.sub("", _MARKDOWN.sub("", line)).strip()
        if line:
            lines.append(line)
    return "\n".join(lines)


def _expand_group(m: re.Match) -> str:
    nums: list[int] = []
    for part in re.split(r"\s*[,，、]\s*", m.group(1)):
        if re.search(r"[\-–]", part):
            a, b = (int(x) for x in re.split(r"\s*[\-–]\s*", part))
            nums.extend(range(a, b + 1) if 0 < b - a < MAX_MARKER_RANGE else [a, b])
        else:
            nums.append(int(part))
    return "".join(f"[{n}]" for n in nums)


def split_answer(text: str) -> list[list[str]]:
    """Lines of sentences; markers written after the end mark (……。[1]) stay with their sentence."""
    out = []
    for line in clean_reply(text).splitlines():
        line = _MARKS_AFTER_END.sub(lambda m: m.group(2).replace(" ", "") + m.group(1), line)
        parts = [p.strip() for p in re.split(rf"(?<=[{SENT_ENDS}])", line) if p.strip()]
        merged: list[str] = []
        for p in parts:  # a fragment that is only markers belongs to the previous sentence
            if merged and not _MARK.sub("", p).strip():
                merged[-1] += p
            else:
                merged.append(p)
        sentences: list[str] = []
        pending = ""
        for p in merged:  # an unmarked clause ending in ； is part of the sentence its next marker closes
            if p[-1] in "；;" and not _MARK.search(p):
                pending += p
                continue
            sentences.append(pending + p)
            pending = ""
        if pending:
            sentences.append(pending)
        out.append(sentences)
    return out


def parse_markers(sentence: str) -> tuple[str, list[int], str]:
    """'监督法规定……十日前送交[1][2]。' → ('监督法规定……十日前送交', [1, 2], '。')."""
    nums = []
    for m in _MARK.finditer(sentence):
        n = int(m.group(1))
        if n not in nums:
            nums.append(n)
    body = _MARK.sub("", sentence).strip()
    end = ""
    if body and body[-1] in SENT_ENDS:
        body, end = body[:-1].rstrip(), body[-1]
    return body, nums, end


@dataclass
class SentenceCheck:
    text: str  # the sentence as written (markers included)
    body: str  # without markers and end mark
    markers: list[int]
    kept_markers: list[int] = field(default_factory=list)
    bad_markers: list[int] = field(default_factory=list)  # point to no passage
    shares: dict[int, float] = field(default_factory=dict)
    missing_numbers: list[tuple[str, float]] = field(default_factory=list)
    counted: bool = True  # False for headings/connectives without content words

    @property
    def kept(self) -> bool:
        return not self.counted or bool(self.kept_markers)


@dataclass
class Verification:
    text: str  # the verified answer: supported sentences with supported markers only
    sentences: int
    kept: int
    dropped_markers: int
    checks: list[SentenceCheck]
    declined: bool = False  # the model said the passages do not answer (依据不足) and cited nothing

    @property
    def kept_share(self) -> float:
        return self.kept / self.sentences if self.sentences else 0.0

    @property
    def passed(self) -> bool:
        return self.kept > 0 and self.kept_share >= MIN_KEPT_SHARE

    def to_json(self) -> dict:
        return {"sentences": self.sentences, "kept": self.kept, "dropped_markers": self.dropped_markers}


@dataclass
class Passage:
    n: int
    text: str
    title: str = ""
    locator: str = ""
    heading_path: str = ""

    @property
    def haystack(self) -> str:
        return match_form(f"{self.title}\n{self.locator}\n{self.heading_path}\n{self.text}")


def check_sentence(sentence: str, passages: dict[int, Passage], hay: dict[int, str],
                   facts: dict[int, set]) -> SentenceCheck:
    body, markers, _ = parse_markers(sentence)
    chk = SentenceCheck(text=sentence, body=body, markers=markers)
    words = content_words(body)
    if not markers and _is_heading(sentence, body):
        chk.counted = False  # 【法律规定】 / 具体如下： — a label, kept only when a cited line follows
        return chk
    if not words and not numbers_in(body):
        chk.counted = False  # "如下。" — nothing to verify: kept as text, its markers dropped
        chk.bad_markers = [n for n in markers if n not in passages]
        return chk
    supported = []
    for n in markers:
        if n not in passages:
            chk.bad_markers.append(n)
            continue
        share = term_share(body, hay[n], words)
        chk.shares[n] = round(share, 3)
        if share >= TERM_SHARE:
            supported.append(n)
    if supported:
        have: set = set().union(*(facts[n] for n in supported))
        chk.missing_numbers = [f for f in sorted(numbers_in(body)) if not number_supported(f, have)]
        if chk.missing_numbers:
            supported = []
    chk.kept_markers = supported
    return chk


_GROUP_LABEL = re.compile(r"^【[^】]{1,12}】$")


def _is_heading(sentence: str, body: str) -> bool:
    s = sentence.strip()
    if _GROUP_LABEL.match(s):
        return True
    return s.endswith(("：", ":")) and len(body) <= HEADING_CHARS and not numbers_in(body)


def verify_answer(reply: str, passages: list[Passage] | dict[int, Passage]) -> Verification:
    """Check every sentence of a model reply against the numbered passages it was given."""
    if not isinstance(passages, dict):
        passages = {p.n: p for p in passages}
    hay = {n: p.haystack for n, p in passages.items()}
    facts = {n: numbers_in(h) for n, h in hay.items()}
    lines_out: list[str] = []
    checks: list[SentenceCheck] = []
    dropped = 0
    for sents in split_answer(reply):
        kept_parts: list[str] = []
        for s in sents:
            chk = check_sentence(s, passages, hay, facts)
            checks.append(chk)
            dropped += len(chk.markers) - len(chk.kept_markers)
            if chk.kept:
                _, _, end = parse_markers(s)
                marks = "".join(f"[{n}]" for n in chk.kept_markers)
                kept_parts.append(f"{chk.body}{end}{marks}" if chk.counted else f"{chk.body}{end}")
        if kept_parts:
            lines_out.append("".join(kept_parts))
    counted = [c for c in checks if c.counted]
    kept = sum(1 for c in counted if c.kept_markers)
    text = "\n".join(_trim_headings(lines_out))
    declined = "依据不足" in match_form(reply) and not any(c.markers for c in checks)
    return Verification(text=text, sentences=len(counted), kept=kept, dropped_markers=dropped, checks=checks,
                        declined=declined)


def _trim_headings(lines: list[str]) -> list[str]:
    """Drop heading-only lines that no longer introduce a cited line."""
    out: list[str] = []
    for i, ln in enumerate(lines):
        if not _MARK.search(ln) and not any(_MARK.search(x) for x in lines[i + 1: i + 2]):
            continue
        out.append(ln)
    return out
