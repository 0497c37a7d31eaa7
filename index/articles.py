"""Exact article lookup: "XX法第N条是怎么规定的" → that whole article, or a clear miss.

A question is read in three steps, all on ``lawnames.match_text`` (Simplified, no spaces or 《》):

- the laws it names (``LawNames.find``: longest name wins, whatever text is around it);
- the article references (``index.article_refs.parse_refs``): 第N条 in Chinese or Arabic numerals,
  之一, 第N条第M款, 第N条第M项, ranges 第十条至第十二条 and lists 第十条、第十三条; numbers are compared as
  integers, so 第十一条 never matches 第二百一十一条;
- each reference goes to the law named nearest before it (or, with none before, the first after).

This module holds the index and the lookup (``ArticleIndex.lookup`` → ``Lookup``); the answer
(``index.article_answer.render_lookup``) quotes every 款 and 项 of the article in order (an article the chunker split by 款 is
put back together), under its heading path, from the current version of the law. A law that is not
indexed, or an article past the law's last one, is a miss that says so; it never falls back to
another law's article with the same number.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.article_refs import ArticleRef, parse_refs, unknown_law_name
from index.lawnames import LawMention, LawNames, db_titles, match_text
from index.normalize import law_abbreviations, law_short_name
from npcqa.text import int_to_cn
from npcqa.types import Chunk

# How many similar indexed titles a "law not found" answer names.
CLOSEST_TITLES = 3
# How many of the asked articles a "law not found" answer repeats (the rest of a range adds nothing).
MISS_REFS_SHOWN = 3
CURRENT = "现行有效"


# ---------------------------------------------------------------------------- the index
@dataclass
class Article:
    """One whole article of one indexed law version (its chunks in order)."""

    doc_id: str
    title: str
    number: int
    suffix: str
    label: str
    chunks: list[Chunk]

    @property
    def paragraphs(self) -> list[str]:
        """Every 款 (and each 项 line) in order; a split article's repeated header is dropped."""
        out: list[str] = []
        for c in self.chunks:
            text = c.text
            if c is not self.chunks[0] and text.startswith(self.label):
                text = text[len(self.label):].lstrip("　 ")
            out.extend(p.strip() for p in text.split("\n") if p.strip())
        return out

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def heading_path(self) -> str:
        return self.chunks[0].heading_path


@dataclass
class LawVersion:
    """One indexed document of a law: its articles by (number, suffix)."""

    doc_id: str
    title: str
    status: str
    date: str
    articles: dict[tuple[int, str], Article] = field(default_factory=dict)

    @property
    def last(self) -> Article | None:
        return max(self.articles.values(), key=lambda a: (a.number, a.suffix), default=None)


@dataclass
class Found:
    ref: ArticleRef
    article: Article
    law: LawVersion
    other_versions: list[tuple[str, str]]  # (date, status) of the law's other versions (index and DB)


@dataclass
class Miss:
    """A reference that cannot be answered, with the message that says why (user-facing)."""

    reason: str  # law_not_indexed / law_unknown / not_numbered / no_article / no_paragraph
    message: str
    ref: ArticleRef
    title: str = ""  # the law as resolved (empty for an unknown name)
    suggestions: list[str] = field(default_factory=list)  # indexed titles to look at instead


@dataclass
class Lookup:
    """What the article lookup made of a question: found articles and misses (both empty: not a lookup)."""

    found: list[Found] = field(default_factory=list)
    misses: list[Miss] = field(default_factory=list)
    doc_ids: dict[str, str] = field(default_factory=dict)  # suggested title → its indexed doc_id

    def __bool__(self) -> bool:
        return bool(self.found or self.misses)

    @property
    def chunks(self) -> list[Chunk]:
        return [c for f in self.found for c in f.article.chunks]


def _version_rank(v: LawVersion) -> tuple:
    return (v.status == CURRENT, v.date)


class ArticleIndex:
    """Every law article in the index, by law title, plus the names that reach those titles.

    Built from the keyword index's chunks at load time (no model, no store query): for 352 laws /
    23,000 chunks it takes a fraction of a second."""

    def __init__(self, chunks: list[Chunk], db: dict[str, tuple[tuple[str, str], ...]] | None = None):
        self.versions: dict[str, list[LawVersion]] = {}
        by_doc: dict[str, LawVersion] = {}
        for c in sorted((c for c in chunks if c.kind == "law" and c.extra.get("article_no")),
                        key=lambda c: (c.doc_id, c.order)):
            v = by_doc.get(c.doc_id)
            if v is None:
                v = by_doc[c.doc_id] = LawVersion(c.doc_id, c.title, c.status, c.date)
                self.versions.setdefault(c.title, []).append(v)
            label = str(c.extra.get("article") or "")
            suffix = label[label.index("之"):] if "之" in label else ""
            key = (int(c.extra["article_no"]), suffix)
            if key not in v.articles:
                v.articles[key] = Article(c.doc_id, c.title, key[0], suffix, label or f"第{int_to_cn(key[0])}条", [])
            v.articles[key].chunks.append(c)
        for vs in self.versions.values():
            vs.sort(key=_version_rank, reverse=True)
        # laws indexed as one text without numbered articles (the DB gives 刑法修正案 and the
        # interpretations as 全文): they are in the index, they just cannot be looked up by number
        self.unnumbered = {c.title for c in chunks if c.kind == "law"} - set(self.versions)
        self.document_titles = {match_text(c.title) for c in chunks if c.kind != "law"}
        self.db = db_titles() if db is None else db
        self.names = LawNames(set(self.versions) | self.unnumbered, other_titles=self.db, aliases=law_abbreviations())

    @property
    def titles(self) -> set[str]:
        return set(self.versions)

    def _in_other_titles(self, name: str) -> bool:
        """An unknown law name that is part of an indexed document's title (a local regulation, an
        opinion) is not a miss: retrieval answers it."""
        return any(name in t for t in self.document_titles)

    # ------------------------------------------------------------------ reading a question
    def refs_by_law(self, question: str, follow_up: str = "") -> list[tuple[LawMention | None, str, list[ArticleRef]]]:
        """(law named, name as written, its refs) for each law the question's references go to.

        ``follow_up``: the current turn when ``question`` is the previous question joined with it
        ("监督法第十条规定了什么 那第十二条呢"); its own article numbers replace the previous turn's, the law
        named before still counts."""
        text = match_text(question)
        mentions = self.names.find(text)
        refs = [r for r in parse_refs(text)
                if not any(m.start <= r.start < m.end for m in mentions)]  # 第七十九条 inside a title
        tail = match_text(follow_up)
        if tail and text.endswith(tail) and parse_refs(tail):
            refs = [r for r in refs if r.start >= len(text) - len(tail)]
        if not refs:
            return []
        groups: dict[int, list[ArticleRef]] = {}
        unknown: dict[str, list[ArticleRef]] = {}
        for r in refs:
            before = [i for i, m in enumerate(mentions) if m.end <= r.start]
            after = [i for i, m in enumerate(mentions) if m.start >= r.end]
            gap = r.start - (mentions[before[-1]].end if before else 0)  # characters since the last law named
            name = unknown_law_name(text[: r.start])
            if name and len(name) <= gap and not self._in_other_titles(name):
                # "宪法相关法某某法第三条": an unknown law right before the number, not the 宪法 before it
                unknown.setdefault(name, []).append(r)
            elif before:
                groups.setdefault(before[-1], []).append(r)
            elif after:
                groups.setdefault(after[0], []).append(r)
            elif not mentions and len(self.versions) == 1:  # one law indexed: "第十条" means that law's
                groups.setdefault(-1, []).append(r)
        out: list[tuple[LawMention | None, str, list[ArticleRef]]] = []
        for i, rs in groups.items():
            if i == -1:
                title = next(iter(self.versions))
                out.append((LawMention(0, 0, title, title, True), title, rs))
            else:
                out.append((mentions[i], mentions[i].name, rs))
        out += [(None, name, rs) for name, rs in unknown.items()]
        return out

    def lookup(self, question: str, accepts=None, follow_up: str = "") -> Lookup:
        """The articles a question asks for by number (``accepts(chunk)``: the question's filters)."""
        result = Lookup()
        for mention, name, refs in self.refs_by_law(question, follow_up):
            if mention is None or not mention.indexed:
                title = mention.title if mention else ""
                shown = f"《{law_short_name(title)}》" if title else f"《{name}》"
                close = self.names.closest(title or name, CLOSEST_TITLES)
                where = "当前索引未收录" if title else "当前索引和国家法律库中都没有找到"
                msg = f"{where}{shown}，因此无法给出其{'、'.join(r.asked for r in _distinct(refs)[:MISS_REFS_SHOWN])}的内容。"
                if close:
                    msg += "名称最接近的已收录法律：" + "、".join(f"《{law_short_name(t)}》" for t in close) + "。"
                else:
                    msg += f"当前索引收录的 {len(self.versions)} 部法律中没有名称相近的。"
                versions = self.db.get(title, ())
                if any(st == CURRENT for _, st in versions):
                    msg += "国家法律库中有这部法律，可请管理员将其加入语料（或用 python -m ingest --all-laws 收录全部现行法律）。"
                elif versions:
                    msg += ("国家法律库中只有该法的" + "、".join(f"{st}版本（{d or '日期不详'}）" for d, st in versions)
                            + "，没有现行有效版本。")
                result.misses.append(Miss("law_not_indexed" if title else "law_unknown", msg, refs[0], title, close))
                continue
            if mention.title in self.unnumbered:
                result.misses.append(Miss(
                    "not_numbered", f"《{law_short_name(mention.title)}》在索引中是一段全文，没有按条编号，无法按条号查找；"
                    f"可以直接问它的内容。", refs[0], mention.title, [mention.title]))
                continue
            versions = [v for v in self.versions[mention.title]
                        if accepts is None or any(accepts(a.chunks[0]) for a in list(v.articles.values())[:1])]
            if not versions:
                continue  # filtered out (e.g. only reports asked for): not a lookup
            law = versions[0]
            others = self._other_versions(law)
            seen: set[tuple[int, str]] = set()
            for r in refs:
                key = (r.number, r.suffix)
                art = law.articles.get(key)
                if art is None:
                    last = law.last
                    count = len(law.articles)
                    short = law_short_name(law.title)
                    if last and r.number > last.number:
                        msg = f"《{short}》共{int_to_cn(count)}条（最后一条是{last.label}），没有{r.label}。"
                    else:
                        msg = f"《{short}》中没有{r.label}（该法共{int_to_cn(count)}条）。"
                    result.misses.append(Miss("no_article", msg, r, law.title, [law.title]))
                    continue
                if key in seen:
                    continue
                seen.add(key)
                if r.paragraph and r.paragraph > _paragraph_count(art):
                    result.misses.append(Miss(
                        "no_paragraph", f"《{law_short_name(law.title)}》{art.label}只有{int_to_cn(_paragraph_count(art))}款，"
                        f"没有第{int_to_cn(r.paragraph)}款；以上是该条全文。", r, law.title, [law.title]))
                result.found.append(Found(r, art, law, others))
        for m in result.misses:
            for t in m.suggestions:
                if self.versions.get(t):
                    result.doc_ids[t] = self.versions[t][0].doc_id
        return result

    def _other_versions(self, law: LawVersion) -> list[tuple[str, str]]:
        seen = {(law.date, law.status)}
        out = []
        for v in self.versions.get(law.title, []):
            if (v.date, v.status) not in seen:
                seen.add((v.date, v.status))
                out.append((v.date, v.status))
        for date, status in self.db.get(law.title, ()):
            if (date, status) not in seen:
                seen.add((date, status))
                out.append((date, status))
        return out


def _distinct(refs: list[ArticleRef]) -> list[ArticleRef]:
    out, seen = [], set()
    for r in refs:
        if (r.number, r.suffix) not in seen:
            seen.add((r.number, r.suffix))
            out.append(r)
    return out


_ITEM_LINE = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")


def _paragraph_count(art: Article) -> int:
    """款 are the article's lines that are not 项 lines (（一）…)."""
    return sum(1 for p in art.paragraphs if not _ITEM_LINE.match(p)) or 1
