"""Resolve quiz source specs to indexed chunks.

A source spec is one of::

    监督法                                   a law by short name (aliases.toml) or full title
    中华人民共和国各级人民代表大会常务委员会监督法
    监督法:第二章                             one chapter (第2章 works too)
    监督法:第10-20条   监督法:第十条至第二十条   an article range (Arabic or Chinese numerals)
    监督法:第十五条、第五十一条               several parts, separated by 、 or ;
    平利    reports/shaanxi-pingli-liuhua.txt a report / opinion by (part of) its title or doc_id
    平利:依法监督精准化                       one section of a report
    query:代表建议办理期限                     the top chunks the retrieval engine returns

Several specs may be given as a list or comma-separated in one string (a title that itself
contains a comma still resolves: neighbouring pieces are re-joined when that matches a title).
Everything is read from the index of the current settings (NPCQA_HOME): the keyword index
keeps every chunk in memory, so only ``query:`` specs need the embedding model.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from index.normalize import law_short_name
from npcqa.text import cn_to_int, match_form
from npcqa.types import Chunk
from quiz.pools import PoolCache

if TYPE_CHECKING:
    from index.lawnames import LawNames

QUERY_TOP = 8
# Limits on what a visitor may ask for (the web quiz tab is open like the chat). Resolving pieces
# re-joins neighbours, so its cost grows with pieces × MAX_JOIN; the caps keep one request cheap.
MAX_SOURCE_CHARS = 1000  # one source string (dozens of titles)
MAX_SOURCES = 50  # specs in one request
MAX_QUERY_CHARS = 200  # a query: spec is embedded and searched like a question
MAX_JOIN = 4  # a title may contain up to 3 commas (re-joined); longer runs are never tried
_NUM = r"[零〇一二两三四五六七八九十百千\d]+"
_RANGE = re.compile(rf"^第?\s*({_NUM})\s*条?\s*(?:-|—|–|~|～|至|到)\s*第?\s*({_NUM})\s*条$")
_ONE_ARTICLE = re.compile(rf"^第?\s*({_NUM})\s*条$")
_CHAPTER = re.compile(rf"^第?\s*({_NUM})\s*章$")
_INLINE = re.compile(rf"^(.+?)\s*(第\s*{_NUM}\s*[章条].*)$")


class QuizError(ValueError):
    """The quiz cannot be built as asked (unknown source, nothing to ask about…). Message is user-facing."""


def _lookup_form(s: str) -> str:
    """``match_form`` and lower-cased: a spec finds a title, doc_id or file stem whatever its letter case."""
    return match_form(s).lower()


class Corpus:
    """Every indexed chunk (for sources and for distractors), the material mined from them (``pool_cache``)
    and a lazily built retrieval engine."""

    def __init__(self, chunks: list[Chunk], engine=None, engine_factory: Callable[[], object] | None = None):
        self.chunks = sorted(chunks, key=lambda c: (c.doc_id, c.order, c.id))
        self._engine = engine
        self._engine_factory = engine_factory
        self.docs: dict[str, list[Chunk]] = {}
        for c in self.chunks:
            self.docs.setdefault(c.doc_id, []).append(c)
        self.by_id = {c.id: c for c in self.chunks}
        self.pool_cache = PoolCache(self.chunks)  # facts, lists and distractor pools, mined once
        self._law_names: LawNames | None = None
        self._law_names_lock = threading.Lock()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_engine(cls, engine) -> "Corpus":
        return cls(list(engine.chunks), engine=engine)

    @classmethod
    def from_settings(cls, settings=None) -> "Corpus":
        """Chunks straight from the persisted keyword index (fast, no model); the engine only if needed."""
        from index.keyword import KeywordIndex
        from npcqa.settings import get_settings

        settings = settings or get_settings()

        def factory():
            from index.engine import Engine

            return Engine.from_settings(settings)

        kw = KeywordIndex.load(settings.keyword_dir)
        if kw is None and not settings.chroma_dir.exists() and not settings.chroma_host:
            raise QuizError(f"索引不存在（{settings.home}）：请先运行 python -m ingest 建立索引，或设置 NPCQA_HOME。")
        if kw is None:  # no persisted keyword index: the engine derives it from the store
            try:
                engine = factory()
            except Exception as e:  # noqa: BLE001 - any store/model failure is a user-facing message
                raise QuizError(f"无法打开索引（{settings.home}）：{e}。请先运行 `python -m ingest` 建立索引。") from e
            return cls.from_engine(engine)
        return cls(list(kw.chunks), engine_factory=factory)

    @property
    def engine(self):
        if self._engine is None:
            if self._engine_factory is None:
                raise QuizError("query: 来源需要检索引擎，但当前没有可用的引擎。")
            self._engine = self._engine_factory()
        return self._engine

    # ------------------------------------------------------------------ catalogue
    def documents(self) -> list[dict]:
        """One row per indexed document: doc_id, kind, title, short name (laws), chunk count."""
        out = []
        for doc_id, chunks in self.docs.items():
            c = chunks[0]
            out.append({"doc_id": doc_id, "kind": c.kind, "title": c.title, "chunks": len(chunks),
                        "name": law_short_name(c.title) if c.kind == "law" else c.title})
        kind_order = {"law": 0, "opinion": 1, "report": 2}
        return sorted(out, key=lambda d: (kind_order.get(d["kind"], 9), d["name"]))

    @property
    def law_names(self) -> LawNames:
        """The same law names the article lookup uses (index.lawnames), for this corpus's law titles."""
        with self._law_names_lock:
            if self._law_names is None:
                from index.lawnames import LawNames, db_titles
                from index.normalize import law_abbreviations

                self._law_names = LawNames(self.law_docs(), other_titles=db_titles(), aliases=law_abbreviations())
            return self._law_names

    def law_docs(self) -> dict[str, str]:
        """law title → doc_id (the newest version when a title is indexed twice)."""
        out: dict[str, str] = {}
        for doc_id, chunks in self.docs.items():
            c = chunks[0]
            if c.kind == "law":
                prev = out.get(c.title)
                if prev is None or (c.date or "") > (self.docs[prev][0].date or ""):
                    out[c.title] = doc_id
        return out


@dataclass
class Selection:
    chunks: list[Chunk]
    specs: list[str]
    resolved: list[dict] = field(default_factory=list)  # per spec: what it matched and how many chunks

    def to_json(self) -> dict:
        return {"specs": self.specs, "resolved": self.resolved, "chunks": len(self.chunks)}


# ---------------------------------------------------------------------------- spec parsing
def _raw_items(sources: str | list[str] | tuple[str, ...]) -> list[str]:
    items = [sources] if isinstance(sources, str) else list(sources or [])
    if len(items) > MAX_SOURCES:
        raise QuizError(f"出题来源太多（{len(items)} 个）：一次最多 {MAX_SOURCES} 个。")
    out = []
    for s in items:
        if not isinstance(s, str):
            raise QuizError("出题来源应为文字，例如 监督法:第二章。")
        if len(s) > MAX_SOURCE_CHARS:
            raise QuizError(f"出题来源太长（{len(s)} 字）：每项请控制在 {MAX_SOURCE_CHARS} 字以内。")
        if s.strip():
            out.append(s.strip())
    return out


def _is_query(s: str) -> bool:
    return s.lower().startswith(("query:", "query："))


def _pieces(raw: str) -> list[tuple[str, str]]:
    """``a,b，c`` → [(a, ","), (b, "，"), (c, "")]; a ``query:`` spec is never split."""
    if _is_query(raw):
        return [(raw, "")]
    parts = re.split(r"([,，])", raw)
    pieces = list(zip(parts[0::2], parts[1::2] + [""]))
    if sum(1 for p, _ in pieces if p.strip()) > MAX_SOURCES:
        raise QuizError(f"出题来源太多：一次最多 {MAX_SOURCES} 个（用逗号分隔）。")
    return pieces


def split_specs(sources: str | list[str] | tuple[str, ...]) -> list[str]:
    """The individual specs, split on , and ， (display only: resolution re-joins split titles)."""
    return [p.strip() for raw in _raw_items(sources) for p, _ in _pieces(raw) if p.strip()]


def _parse_numbers(text: str) -> int | None:
    return cn_to_int(re.sub(r"\s+", "", text))


def _law_filter(qual: str) -> tuple[Callable[[Chunk], bool], str]:
    """``第二章`` / ``第10-20条`` / ``第十五条、第五十一条`` → chunk predicate and a label."""
    preds: list[Callable[[Chunk], bool]] = []
    for part in re.split(r"[、;；]", qual):
        part = re.sub(r"\s+", "", part)
        if not part:
            continue
        if m := _RANGE.match(part):
            a, b = _parse_numbers(m.group(1)), _parse_numbers(m.group(2))
            if a is None or b is None:
                raise QuizError(f"无法识别条文范围“{part}”：请写成“第10-20条”或“第十条至第二十条”。")
            lo, hi = min(a, b), max(a, b)
            preds.append(lambda c, lo=lo, hi=hi: lo <= int(c.extra.get("article_no") or 0) <= hi)
        elif m := _ONE_ARTICLE.match(part):
            n = _parse_numbers(m.group(1))
            preds.append(lambda c, n=n: int(c.extra.get("article_no") or 0) == n)
        elif m := _CHAPTER.match(part):
            n = _parse_numbers(m.group(1))

            def chap(c: Chunk, n=n) -> bool:
                mm = re.match(rf"第({_NUM})章", str(c.extra.get("chapter") or ""))
                return bool(mm) and cn_to_int(mm.group(1)) == n

            preds.append(chap)
        else:
            key = _lookup_form(part)
            preds.append(lambda c, key=key: key in _lookup_form(f"{c.extra.get('chapter', '')} {c.heading_path}"))
    if not preds:
        return (lambda c: True), ""
    return (lambda c: any(p(c) for p in preds)), qual


def _match_law(name: str, corpus: Corpus) -> str | None:
    """Any name of a law (full title, without 中华人民共和国, 《》, abbreviation, 关于…的决定 core words)
    → its title; a law of the DB that is not indexed is returned too, so the caller can say so."""
    laws = corpus.law_docs()
    n = _lookup_form(name).strip("《》")
    by_norm = {_lookup_form(t): t for t in laws}
    if n in by_norm:
        return by_norm[n]
    title = corpus.law_names.resolve(name)
    if title is not None:
        return title
    for t in laws:
        if _lookup_form(law_short_name(t)) == n:
            return t
    return None


def _match_docs(name: str, corpus: Corpus) -> list[str]:
    """Report / opinion (or any document) by doc_id, file stem or part of its title."""
    n = _lookup_form(name)
    if not n:
        return []
    if name in corpus.docs:
        return [name]
    exact, partial = [], []
    for doc_id, chunks in corpus.docs.items():
        title = _lookup_form(chunks[0].title)
        stem = doc_id.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
        if n in (title, stem, doc_id.lower()):
            exact.append(doc_id)
        elif len(n) >= 2 and (n in title or n in stem):
            partial.append(doc_id)
    return exact or partial


def _resolve_one(spec: str, corpus: Corpus, query_top: int) -> tuple[list[Chunk], dict]:
    spec = spec.strip()
    low = spec.lower()
    if low.startswith(("query:", "query：")):
        text = spec[6:].strip()
        if not text:
            raise QuizError("query: 后面需要写检索内容，例如 query:代表建议办理期限")
        if len(spec) > MAX_QUERY_CHARS:
            raise QuizError(f"query: 检索内容太长（{len(spec)} 字）：请控制在 {MAX_QUERY_CHARS} 字以内。")
        _, ranked = corpus.engine.retrieve(text)
        chunks = [c for c, _ in ranked[:query_top]]
        return chunks, {"spec": spec, "kind": "query", "matched": [f"{c.title} {c.locator}" for c in chunks]}

    name, qual = spec, ""
    if _match_law(spec, corpus) is None and not _match_docs(spec, corpus):  # titles may contain a colon
        for sep in (":", "："):
            if sep in spec:
                name, _, qual = spec.rpartition(sep)
                break
    name, qual = name.strip(), qual.strip()

    title = _match_law(name, corpus)
    if title is None and not qual and (m := _INLINE.match(spec)):  # 监督法第二章 without a colon
        t2 = _match_law(m.group(1), corpus)
        if t2 is not None:
            title, name, qual = t2, m.group(1), m.group(2)
    if title is not None:
        doc_id = corpus.law_docs().get(title)
        if doc_id is None:
            close = corpus.law_names.closest(title)
            hint = ("名称最接近的已收录法律：" + "、".join(f"《{law_short_name(t)}》" for t in close) + "。") if close else ""
            raise QuizError(f"法律《{title}》不在当前索引中：请先把它加入语料（corpus/manifest.toml）并运行 python -m ingest。"
                            + hint)
        pred, label = _law_filter(qual)
        chunks = [c for c in corpus.docs[doc_id] if pred(c)]
        if not chunks:
            raise QuizError(f"《{law_short_name(title)}》中没有与“{qual}”对应的条文。")
        return chunks, {"spec": spec, "kind": "law", "title": title, "part": label, "chunks": len(chunks)}

    doc_ids = _match_docs(name, corpus)
    if not doc_ids:
        raise QuizError(f"未找到来源“{spec}”：它既不是已索引的法律（如 监督法、代表法），也不是报告标题或 doc_id 的一部分；"
                        "也可以写 query:检索词。")
    chunks = [c for d in doc_ids for c in corpus.docs[d]]
    if qual:
        key = _lookup_form(qual)
        chunks = [c for c in chunks if key in _lookup_form(c.locator) or key in _lookup_form(c.heading_path)]
        if not chunks:
            raise QuizError(f"“{name}”中没有名为“{qual}”的部分。")
    return chunks, {"spec": spec, "kind": "document", "titles": [corpus.docs[d][0].title for d in doc_ids],
                    "part": qual, "chunks": len(chunks)}


def _resolve_raw(raw: str, corpus: Corpus, query_top: int) -> list[tuple[list[Chunk], dict]]:
    """Resolve one comma-separated argument, re-joining neighbouring pieces when that matches a title."""
    parts = _pieces(raw)
    out = []
    i = 0
    while i < len(parts):
        if not parts[i][0].strip():
            i += 1
            continue
        for j in range(min(len(parts), i + MAX_JOIN), i, -1):  # the longest run (≤ MAX_JOIN) that resolves
            text = "".join(p + (s if k < j - 1 else "") for k, (p, s) in enumerate(parts[i:j], start=i)).strip()
            try:
                out.append(_resolve_one(text, corpus, query_top))
                i = j
                break
            except QuizError:
                if j == i + 1:
                    raise
    return out


def select_chunks(sources: str | list[str], corpus: Corpus | None = None, settings=None,
                  query_top: int = QUERY_TOP) -> Selection:
    """Resolve every spec; the union of their chunks in document order. Raises QuizError."""
    corpus = corpus or Corpus.from_settings(settings)
    specs = split_specs(sources)
    if not specs:
        raise QuizError("没有指定出题来源：例如 --source 监督法 或 --source \"监督法:第二章\"。")
    if not corpus.chunks:
        raise QuizError("索引为空：请先运行 python -m ingest 建立索引。")
    seen: dict[str, Chunk] = {}
    resolved = []
    for raw in _raw_items(sources):
        for chunks, info in _resolve_raw(raw, corpus, query_top):
            resolved.append(info)
            for c in chunks:
                seen.setdefault(c.id, c)
    chunks = sorted(seen.values(), key=lambda c: (c.doc_id, c.order, c.id))
    if not chunks:
        raise QuizError(f"来源 {'、'.join(specs)} 没有匹配到任何文本块。")
    return Selection(chunks=chunks, specs=specs, resolved=resolved)

