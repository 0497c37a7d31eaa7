"""Chinese text helpers shared by ingestion, retrieval and quizzes.

Sentence ends are 。！？； (plus their ASCII/full-width variants); tokens come from jieba;
Traditional text is folded to Simplified with OpenCC so both scripts meet in one index.
"""
from __future__ import annotations

import functools
import logging
import re

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_SENT_END = re.compile(r"(?<=[。！？；!?;])")


@functools.lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


@functools.lru_cache(maxsize=4096)
def _to_simplified_cached(text: str) -> str:
    return _t2s().convert(text)


def to_simplified(text: str) -> str:
    if not text:
        return text
    if len(text) < 200:
        return _to_simplified_cached(text)
    return _t2s().convert(text)


def match_form(text: str | None) -> str:
    """The form in which two texts are compared for containment: Simplified, all whitespace removed.

    Quotes, answers and distractors are matched against chunk text this way, so that a line break in
    the source or a Traditional character in a report does not hide a match."""
    return re.sub(r"\s+", "", to_simplified(text or ""))


def split_sentences(text: str) -> list[str]:
    """Split on 。！？； keeping the end mark; newlines also end a sentence. Never splits mid-sentence."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        out.extend(s.strip() for s in _SENT_END.split(line) if s.strip())
    return out


def cn_to_int(s: str) -> int | None:
    """'第一百二十' / '二十五' / '25' → int. Returns None when it is not a numeral."""
    s = s.strip()
    if not s:
        return None
    if s.isdigit():
        return int(s)
    total, section, num = 0, 0, 0
    for ch in s:
        if ch in _CN_DIGITS:
            num = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            unit = _CN_UNITS[ch]
            section += (num or 1) * unit
            num = 0
        elif ch == "万":
            total += (section + num) * 10000
            section, num = 0, 0
        else:
            return None
    return total + section + num


def int_to_cn(n: int) -> str:
    """12 → 十二, 105 → 一百零五, 120 → 一百二十 (the way article numbers are written)."""
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    parts = []
    for unit_val, unit in ((1000, "千"), (100, "百"), (10, "十")):
        q, n = divmod(n, unit_val)
        if q:
            parts.append(digits[q] + unit)
        elif parts and n:
            if not parts[-1].endswith("零"):
                parts.append("零")
    if n:
        parts.append(digits[n])
    return "".join(parts)


STOPWORDS = frozenset(
    """的 了 和 与 及 或 是 在 对 为 由 把 被 将 其 之 以 于 等 并 也 就 都 而 且 上 下 中 内 外 个 这 那 有 没有 什么 哪些
    哪 怎么 怎样 如何 多少 几 吗 呢 吧 啊 呀 么 请问 请 问 规定 规定了 是否 可以 能否 能 应当 应该 需要 要 有关 关于 根据 按照 依照
    一个 我们 你们 他们 它 我 你 他 她 哪个 哪里 谁 时候 什么样 情况 方面 问题 通过 进行 开展 怎么办 为什么 是什么 一下 说说 介绍
    ， 。 、 ； ： ？ ！ “ ” ‘ ’ （ ） 《 》 【 】 … — - · , . ; : ? ! ( ) [ ] " '""".split()
)


@functools.lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def segment(text: str) -> list[str]:
    """Precise-mode jieba words of ``text`` as written (no conversion, nothing removed)."""
    return _jieba().lcut(text)


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens of the Simplified text, stop-words and punctuation removed."""
    jb = _jieba()
    toks = []
    for t in jb.lcut_for_search(to_simplified(text)):
        t = t.strip().lower()
        if not t or t in STOPWORDS or not any(ch.isalnum() for ch in t):
            continue
        toks.append(t)
    return toks


QUESTION_WORDS = frozenset(
    """几年 几天 几个 几名 几次 多久 多长 多长时间 时间 多少 哪些 哪些方面 哪个 哪天 哪一天 哪里 怎么样 怎样 如何 什么 什么时候
    是不是 要不要 能不能 可不可以 有没有 是否 吗 呢 谁 为何 为什么 包括 一般 至少 最多 最晚 现在 具体 大概 一共 主要 方面 规定
    要求 情况 内容 工作 有关 相关""".split()
)


def keywords(text: str) -> set[str]:
    """Content words (≥2 chars, or digits) used for overlap checks."""
    return {t for t in tokenize(text) if len(t) >= 2 or t.isdigit()}


def content_words(text: str) -> list[str]:
    """Precise-mode jieba words that carry the question's topic (no stop- or question words)."""
    jb = _jieba()
    out = []
    for t in jb.lcut(to_simplified(text)):
        t = t.strip().lower()
        if len(t) < 2 and not t.isdigit():
            continue
        if t in STOPWORDS or t in QUESTION_WORDS or not any(ch.isalnum() for ch in t):
            continue
        out.append(t)
    return out
