"""Distractor pools: every time limit, count, ratio, body, procedure, quoted measure and list item of the
whole index, by family — the real alternatives a wrong option is drawn from (never invented strings).

Mining them reads every chunk, so it happens once per Corpus and is kept in its ``PoolCache``; the web
quiz tab serves several visitors over one Corpus at a time, hence the lock. Chunks of a request that
the pools have not mined (a huge --all-laws corpus is only sampled) are added for that request only.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from npcqa.text import match_form, to_simplified
from npcqa.types import Chunk
from quiz.cite import section_key
from quiz.facts import Fact, extract_facts
from quiz.lexicon import BODY_CLASSES, FREQ_TERMS, PROC_CLASSES
from quiz.lists import ListFact, extract_lists

POOL_CHUNKS = 4000  # distractor material is mined from at most this many chunks (all of a normal corpus)


@dataclass
class Pools:
    numbers: dict[str, list[tuple[int, str]]]  # family → [(value, unit)]
    terms: dict[str, list[str]]  # family → simplified terms, first-seen order
    list_items: dict[str, list[tuple[str, str, str, str]]]  # family → [(item, list key, section key, doc_id)]
    corpus_text: str  # normalized text of every chunk, for "is this phrase true somewhere?"


class PoolCache:
    """The facts and lists of each chunk and the whole-corpus pools, computed once; safe to share
    between threads (one lock: the first request builds, the others wait and reuse)."""

    def __init__(self, chunks: list[Chunk]):
        self._chunks = chunks  # every chunk of the corpus, in corpus order
        self._lock = threading.RLock()
        self._facts: dict[str, list[Fact]] = {}
        self._lists: dict[str, list[ListFact]] = {}
        self._base: Pools | None = None
        self._base_ids: set[str] = set()

    def facts(self, c: Chunk) -> list[Fact]:
        with self._lock:
            if c.id not in self._facts:
                self._facts[c.id] = extract_facts(c)
            return self._facts[c.id]

    def lists(self, c: Chunk) -> list[ListFact]:
        with self._lock:
            if c.id not in self._lists:
                self._lists[c.id] = extract_lists(c)
            return self._lists[c.id]

    def pools(self, extra: list[Chunk] | None = None) -> Pools:
        """The corpus pools; ``extra`` chunks not mined yet are added to a copy on the fly."""
        with self._lock:
            if self._base is None:
                mined = pool_chunks(self._chunks)
                self._base = self._build(mined)
                self._base_ids = {c.id for c in mined}
            base, base_ids = self._base, self._base_ids
        missing = [c for c in (extra or []) if c.id not in base_ids]
        if not missing:
            return base
        more = self._build(missing, text="")
        return Pools({k: list(dict.fromkeys(base.numbers.get(k, []) + more.numbers.get(k, [])))
                      for k in set(base.numbers) | set(more.numbers)},
                     {k: list(dict.fromkeys(base.terms.get(k, []) + more.terms.get(k, [])))
                      for k in set(base.terms) | set(more.terms)},
                     {k: list(dict.fromkeys(base.list_items.get(k, []) + more.list_items.get(k, [])))
                      for k in set(base.list_items) | set(more.list_items)},
                     base.corpus_text)

    def _build(self, chunks: list[Chunk], text: str | None = None) -> Pools:
        numbers: dict[str, dict[tuple[int, str], None]] = {}
        terms: dict[str, dict[str, None]] = {}
        items: dict[str, dict[tuple[str, str, str, str], None]] = {}
        for c in chunks:
            for f in self.facts(c):
                t = to_simplified(f.term)
                if f.value is not None and f.kind in ("time", "count"):
                    numbers.setdefault(f.family, {})[(f.value, f.unit)] = None
                    numbers.setdefault(f"{f.kind}:unit:{f.unit}", {})[(f.value, f.unit)] = None
                if f.kind in ("ratio", "freq", "body", "proc", "term"):
                    terms.setdefault(f.family, {})[t] = None
            for lf in self.lists(c):
                key = f"{c.id}:{lf.kind}:{lf.span}"
                for it in lf.items:
                    items.setdefault(lf.family, {})[(to_simplified(it), key, section_key(c), c.doc_id)] = None
        # bodies / procedures / frequencies that occur anywhere in the corpus, even when never blankable
        if text is None:
            text = "\n".join(match_form(c.text) for c in self._chunks)
        for cls, ts in list(BODY_CLASSES.items()):
            for t in ts:
                if t in text:
                    terms.setdefault(f"body:{cls}", {})[t] = None
        for cls, ts in PROC_CLASSES.items():
            for t in ts:
                if t in text:
                    terms.setdefault(f"proc:{cls}", {})[t] = None
        for t in FREQ_TERMS:
            if t in text:
                terms.setdefault("freq", {})[t] = None
        return Pools({k: list(v) for k, v in numbers.items()}, {k: list(v) for k, v in terms.items()},
                     {k: list(v) for k, v in items.items()}, text)


def pool_chunks(chunks: list[Chunk]) -> list[Chunk]:
    """Every chunk of a normal corpus; of a huge one (--all-laws), the people's-congress laws, all reports
    and opinions, and an evenly spaced sample of the rest."""
    if len(chunks) <= POOL_CHUNKS:
        return chunks
    from index.normalize import alias_tables

    core_titles = set(alias_tables()[0].values())
    core = [c for c in chunks if c.kind != "law" or c.title in core_titles]
    rest = [c for c in chunks if not (c.kind != "law" or c.title in core_titles)]
    room = max(0, POOL_CHUNKS - len(core))
    step = max(1, len(rest) // room) if room else len(rest) + 1
    return core + rest[::step][:room]


class HasPoolCache(Protocol):
    """A quiz.select.Corpus, as far as the pools are concerned (so this module need not import it)."""
    pool_cache: PoolCache


def pools_for(corpus: HasPoolCache, extra: list[Chunk] | None = None) -> Pools:
    """Distractor pools of ``corpus``, with ``extra`` chunks added if not mined."""
    return corpus.pool_cache.pools(extra)
