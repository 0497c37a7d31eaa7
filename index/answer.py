"""Extractive answers: the sentences of the retrieved chunks that best answer the question, each
ending with the ``[n]`` marker of its source. No generated text beyond short group labels.

``AnswerGenerator`` is the seam an LLM generator plugs into: it receives the question, the
normalized query and the ranked chunks, and returns (answer text, citations).
"""
from __future__ import annotations

import re
from typing import Protocol

from index.normalize import Query, law_short_name
from npcqa.text import keywords, split_sentences, to_simplified
from npcqa.types import Chunk, Citation

MAX_SENTENCES = 5
MAX_PER_CHUNK = 2
GROUP_LABELS = {"law": "法律规定", "opinion": "文件要求", "report": "地方实践"}


class AnswerGenerator(Protocol):
    def generate(self, question: str, query: Query, ranked: list[tuple[Chunk, float]]) -> tuple[str, list[Citation]]:
        ...


def locator_label(c: Chunk) -> str:
    """Human locator: 《监督法》第十条（第一章 总则） / report title + section."""
    if c.kind == "law":
        chapter = c.extra.get("chapter") or ""
        return f"《{law_short_name(c.title)}》{c.locator}" + (f"（{chapter}）" if chapter else "")
    return c.locator


def _sentence_score(sent: str, qkw: set[str]) -> float:
    s = to_simplified(sent)
    return sum(len(k) for k in qkw if k in s)


def make_citation(n: int, c: Chunk, score: float, quote: str = "") -> Citation:
    return Citation(n=n, doc_id=c.doc_id, title=c.title, kind=c.kind, locator=locator_label(c), quote=quote,
                    text=c.text, source=c.source, date=c.date, status=c.status, score=round(float(score), 4),
                    chunk_id=c.id, heading_path=c.heading_path, region=c.region)


class ExtractiveGenerator:
    """Pick up to five sentences, at most two per chunk, grouped law → opinion → report."""

    def generate(self, question: str, query: Query, ranked: list[tuple[Chunk, float]],
                 exact_ids: frozenset[str] = frozenset()) -> tuple[str, list[Citation]]:
        qkw = keywords(query.keyword_text)
        picks: list[tuple[int, int, str]] = []  # (chunk rank, sentence position, sentence)
        for rank, (c, _s) in enumerate(ranked):
            sents = split_sentences(c.text)
            if c.id in exact_ids:  # an article asked for by number: quote it whole (up to the cap)
                chosen = list(enumerate(sents))[:MAX_SENTENCES]
            else:
                scored = [(_sentence_score(s, qkw), i, s) for i, s in enumerate(sents)]
                scored = [t for t in scored if t[0] > 0]
                scored.sort(key=lambda t: (-t[0], t[1]))
                chosen = [(i, s) for _, i, s in scored[:MAX_PER_CHUNK]]
                if rank == 0 and not chosen and sents:
                    chosen = [(0, sents[0])]
            picks.extend((rank, i, s) for i, s in sorted(chosen))
        # keep the best-ranked chunks' sentences, then order by group and position
        picks = sorted(picks, key=lambda t: t[0])[:MAX_SENTENCES] if not exact_ids else \
            [p for p in picks if ranked[p[0]][0].id in exact_ids][:MAX_SENTENCES] or picks[:MAX_SENTENCES]
        order = {"law": 0, "opinion": 1, "report": 2}
        picks.sort(key=lambda t: (order.get(ranked[t[0]][0].kind, 3), t[0], t[1]))

        citations = [make_citation(n, c, s) for n, (c, s) in enumerate(ranked, 1)]
        quotes: dict[int, list[str]] = {}
        lines: list[str] = []
        groups = {ranked[r][0].kind for r, _, _ in picks}
        current_group = None
        last_rank = None
        for rank, _pos, sent in picks:
            c = ranked[rank][0]
            if len(groups) > 1 and c.kind != current_group:
                lines.append(f"【{GROUP_LABELS.get(c.kind, c.kind)}】")
                current_group = c.kind
            prefix = ""
            if rank != last_rank:
                prefix = f"{locator_label(c).split('（')[0]}：" if c.kind == "law" else f"{_short_title(c)}："
            last_rank = rank
            lines.append(f"{prefix}{sent.rstrip()}[{rank + 1}]")
            quotes.setdefault(rank, []).append(sent)
        for rank, qs in quotes.items():
            citations[rank].quote = "".join(qs)
        return "\n".join(lines), citations


def _short_title(c: Chunk) -> str:
    title = re.split(r"[:：]", c.title)[0] if len(c.title) > 20 else c.title
    return title
