"""Law names: every way a cadre writes the name of a law that is in the index (or in the law DB).

The names are derived by rule from the titles themselves at load time, so they follow whatever
laws the index holds; only the usual abbreviations that no rule can derive (刑诉法, 民诉法,
地方组织法 …) are data, in ``aliases.toml`` ``[laws]``. Rules, in order of how sure they are:

1. the full title (with 《》 and quotes removed: they are removed from questions too);
2. the title without 中华人民共和国 (anywhere in it: 关于《中华人民共和国刑法》… → 关于刑法…);
3. 人民代表大会常务委员会 → 人大常委会, 人民代表大会 → 人大 in either of the above;
4. for ``…关于X的决定/决议/解释/规定`` titles: the core words ``关于X的决定``, ``X的决定``, ``X决定``;
5. the abbreviations of ``aliases.toml``.

A name that two titles would claim at the same level is dropped (it names neither for sure);
a name claimed at different levels goes to the surer one. In a question, the longest name wins
(证券投资基金法 is not 证券法) and the surrounding text does not matter.
"""
from __future__ import annotations

import difflib
import functools
import re
import sqlite3
from dataclasses import dataclass
from typing import Iterable

from npcqa.lawpackage import LawDBError, db_path
from npcqa.text import to_simplified

PRC = "中华人民共和国"
# Characters dropped from titles and questions before matching: book-title marks and quotes are
# written or left out at will (《公司法》 / 公司法 / “公司法”), spaces too.
_DROP = re.compile(r"[\s《》〈〉“”\"'‘’「」『』]")
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
# "全国人民代表大会常务委员会关于…的决定": the issuing body in front of 关于 is left out when cadres cite it.
_DECISION = re.compile(r"^(?:第[一二三四五六七八九十]+届)?(?:全国人民代表大会常务委员会|全国人民代表大会)?关于(.+?)的"
                       r"(决定|决议|解释|规定|若干规定|办法)$")
# A core name shorter than this ("修改…" aside) is too generic to be a law's name on its own.
MIN_CORE_CHARS = 6
# How alike (difflib ratio of the names' core words) an indexed title must be to be suggested for a
# law that is not indexed: at 0.4, 证券投资基金法 suggests 证券法 and 公司法 suggests nothing of 宪法/预算法.
MIN_SIMILARITY = 0.4
_GENERIC_TAIL = re.compile(r"(法典|法|条例|规则|规定|办法|决定|解释)$")
LEVEL_FULL, LEVEL_SHORT, LEVEL_CONTRACTED, LEVEL_CORE, LEVEL_ALIAS = range(5)


def match_text(text: str) -> str:
    """The form questions and names are matched in: Simplified, no spaces/《》/quotes, ASCII digits."""
    return _DROP.sub("", to_simplified(text or "")).translate(_FULLWIDTH_DIGITS)


def _core(name: str) -> str:
    return _GENERIC_TAIL.sub("", match_text(name).replace(PRC, "")) or match_text(name)


def _contract(name: str) -> str:
    return name.replace("人民代表大会常务委员会", "人大常委会").replace("人民代表大会", "人大")


def derived_names(title: str) -> list[tuple[str, int]]:
    """Every (name, level) the rules above give for one title."""
    full = match_text(title)
    short = full.replace(PRC, "")
    out = [(full, LEVEL_FULL)]
    if short and short != full:
        out.append((short, LEVEL_SHORT))
    for n in (full, short):
        c = _contract(n)
        if c != n:
            out.append((c, LEVEL_CONTRACTED))
    for form in dict.fromkeys((full, short)):
        m = _DECISION.match(form)
        if m and len(m.group(1)) >= MIN_CORE_CHARS:
            core, kind = m.group(1), m.group(2)
            for n in (f"关于{core}的{kind}", f"{core}的{kind}", f"{core}{kind}"):
                out.append((n, LEVEL_CORE))
                if _contract(n) != n:
                    out.append((_contract(n), LEVEL_CORE))
    return out


@dataclass(frozen=True)
class LawMention:
    """A law named in a question: where (in ``match_text`` positions), the name as written, the title."""

    start: int
    end: int
    name: str
    title: str
    indexed: bool  # False: a law of the DB (or of aliases.toml) that the index does not hold


class LawNames:
    """Name → title for the indexed laws, plus the other laws the DB knows (to say they are not indexed)."""

    def __init__(self, indexed_titles: Iterable[str], other_titles: Iterable[str] = (),
                 aliases: dict[str, str] | None = None):
        self.indexed = frozenset(indexed_titles)
        self.titles = frozenset(self.indexed | set(other_titles) | set((aliases or {}).values()))
        claims: dict[str, dict[str, int]] = {}  # name → {title: best level}
        for title in self.titles:
            for name, level in derived_names(title):
                got = claims.setdefault(name, {})
                got[title] = min(level, got.get(title, level))
        for short, title in (aliases or {}).items():
            got = claims.setdefault(match_text(short), {})
            got[title] = min(LEVEL_ALIAS, got.get(title, LEVEL_ALIAS))
        self.names: dict[str, str] = {}
        for name, by_title in claims.items():
            best = min(by_title.values())
            winners = [t for t, lv in by_title.items() if lv == best]
            if len(winners) > 1:  # equally sure for two laws: prefer an indexed one only if it is the only one
                indexed = [t for t in winners if t in self.indexed]
                if len(indexed) != 1:
                    continue
                winners = indexed
            self.names[name] = winners[0]
        # names by first character, longest first: a question is scanned once, each position tries
        # only the names that start with its character.
        self._by_first: dict[str, list[str]] = {}
        for name in sorted(self.names, key=len, reverse=True):
            self._by_first.setdefault(name[0], []).append(name)

    def find(self, text: str) -> list[LawMention]:
        """Laws named in ``text`` (already ``match_text``), longest first, never overlapping."""
        taken = [False] * len(text)
        hits: list[LawMention] = []
        cands = []
        for i, ch in enumerate(text):
            for name in self._by_first.get(ch, ()):
                if text.startswith(name, i):
                    cands.append((i, name))
        for i, name in sorted(cands, key=lambda t: (-len(t[1]), t[0])):
            if any(taken[i: i + len(name)]):
                continue
            for j in range(i, i + len(name)):
                taken[j] = True
            title = self.names[name]
            hits.append(LawMention(i, i + len(name), name, title, title in self.indexed))
        return sorted(hits, key=lambda m: m.start)

    def resolve(self, name: str) -> str | None:
        """The title that ``name`` (the whole string) names, or None."""
        return self.names.get(match_text(name))

    def closest(self, name: str, k: int = 3) -> list[str]:
        """Indexed titles whose names look like ``name`` (for "not found; the closest are …").

        Compared without 中华人民共和国 and the final 法 (every law shares them), and only titles at least
        ``MIN_SIMILARITY`` alike: 公司法 must not suggest 宪法 just because both end in 法."""
        target = _core(name)
        if not target or not self.indexed:
            return []
        scored = []
        for t in self.indexed:
            ratio = difflib.SequenceMatcher(None, target, _core(t)).ratio()
            if ratio >= MIN_SIMILARITY:
                scored.append((ratio, -len(t), t))
        scored.sort(reverse=True)
        return [t for _, _, t in scored[:k]]


@functools.lru_cache(maxsize=1)
def db_titles() -> dict[str, tuple[tuple[str, str], ...]]:
    """Every title in the law DB → its versions ``(version_date, status)``, newest first.

    Used to recognise laws that are not indexed and to say when older versions exist. An
    unavailable DB (not installed) gives an empty map: names then come from the index alone."""
    try:
        path = db_path()
    except LawDBError:
        return {}
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT law_name, COALESCE(version_date, ''), COALESCE(status, '') FROM laws "
                               "ORDER BY version_date DESC").fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return {}
    out: dict[str, list[tuple[str, str]]] = {}
    for name, date, status in rows:
        out.setdefault(name, []).append((date, status))
    return {k: tuple(v) for k, v in out.items()}
