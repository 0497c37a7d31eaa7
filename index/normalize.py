"""Query normalization: Traditional → Simplified, law-name aliases both ways, article references.

The alias tables live in ``aliases.toml`` (data, not code).
"""
from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from npcqa.text import cn_to_int, int_to_cn, to_simplified

_ALIASES = Path(__file__).with_name("aliases.toml")
_NUM = r"[零〇一二三四五六七八九十百千两\d]+"
ARTICLE_REF = re.compile(rf"第\s*({_NUM})\s*条\s*(之\s*[一二三四五六七八九十]+)?")


@dataclass
class Query:
    raw: str
    text: str  # Simplified, whitespace-normalized
    keyword_text: str  # text + alias expansions, for BM25
    dense_text: str  # text with short law names spelled out, for the embedding model
    law_titles: list[str] = field(default_factory=list)  # laws the question names
    articles: list[tuple[int, str]] = field(default_factory=list)  # (number, label like 第十条之一)


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    return tomllib.loads(_ALIASES.read_text(encoding="utf-8"))


def alias_tables() -> tuple[dict[str, str], dict[str, str]]:
    data = _data()
    return dict(data.get("laws", {})), dict(data.get("terms", {}))


def law_abbreviations() -> dict[str, str]:
    """Every hand-kept short name → title: the people's-congress laws ([laws]) and the usual
    abbreviations of other laws ([abbreviations]); names a rule can derive are derived (index.lawnames)."""
    data = _data()
    return {**dict(data.get("abbreviations", {})), **dict(data.get("laws", {}))}


def _find_longest(text: str, keys: list[str]) -> list[tuple[int, int, str]]:
    """Non-overlapping occurrences, longest key first (so 地方组织法 wins over 组织法)."""
    taken = [False] * len(text)
    hits = []
    for key in sorted(keys, key=len, reverse=True):
        start = 0
        while (i := text.find(key, start)) >= 0:
            if not any(taken[i: i + len(key)]):
                hits.append((i, i + len(key), key))
                for j in range(i, i + len(key)):
                    taken[j] = True
            start = i + 1
    return sorted(hits)


def law_short_name(title: str) -> str:
    """中华人民共和国各级人民代表大会常务委员会监督法 → 监督法 (the [display] table, else drop the prefix)."""
    return _data().get("display", {}).get(title) or title.removeprefix("中华人民共和国")


def _canonical_article(m: re.Match) -> str:
    n = cn_to_int(m.group(1))
    if not n:
        return m.group(0)
    suffix = re.sub(r"\s+", "", m.group(2) or "")
    return f"第{int_to_cn(n)}条{suffix}"


def normalize(question: str, known_titles: set[str] | None = None) -> Query:
    text = re.sub(r"\s+", " ", to_simplified(question)).strip()
    text = ARTICLE_REF.sub(_canonical_article, text)  # 第 25 条 → 第二十五条, as articles are numbered
    laws, terms = alias_tables()
    keys = list(laws) + [t for t in (known_titles or ()) if t not in laws]
    titles: list[str] = []
    dense = text
    for start, end, key in _find_longest(text, keys):
        title = laws.get(key, key)
        if title not in titles:
            titles.append(title)
        if key != title:
            dense = dense.replace(key, title, 1)
    expansions = [laws[k] for _, _, k in _find_longest(text, list(laws)) if laws[k] not in text]
    expansions += [terms[k] for _, _, k in _find_longest(text, list(terms))]
    expansions += [k for k, v in terms.items() if v in text and k not in text]
    articles = []
    for m in ARTICLE_REF.finditer(text):
        n = cn_to_int(m.group(1))
        if n:
            suffix = re.sub(r"\s+", "", m.group(2) or "")
            articles.append((n, suffix))
    keyword_text = " ".join([text, *expansions])
    return Query(raw=question, text=text, keyword_text=keyword_text, dense_text=dense, law_titles=titles,
                 articles=articles)
