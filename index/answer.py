"""Extractive answers: the sentences of the retrieved chunks that best answer the question, each
ending with the ``[n]`` marker of its source. No generated text beyond short group labels.

``ExtractiveAnswerer`` is one of the two answering strategies (``index.prepared.Answerer``): it
writes the answer to a question the engine has already retrieved and decided on — the whole
articles of an article lookup, the refusal with the nearest documents, or the quoted sentences
(under the cautious line when the decision was "low"). The LLM strategy falls back to it.
"""
from __future__ import annotations

import re
import time
from typing import Iterator

from index.article_answer import render_lookup
from index.normalize import Query, law_short_name
from index.prepared import Event, Prepared
from index.relevance import CAUTION_TEXT, LOW, NONE
from npcqa.text import keywords, split_sentences, to_simplified
from npcqa.types import Answer, Chunk, Citation

MAX_SENTENCES = 5  # an answer a cadre reads at a glance; more is the passages' job (citations)
MAX_PER_CHUNK = 2  # so that one long passage cannot fill the answer by itself
GROUP_LABELS = {"law": "法律规定", "opinion": "文件要求", "report": "地方实践"}
GROUP_ORDER = {"law": 0, "opinion": 1, "report": 2}  # the law first, then what documents require, then practice
REFUSAL_TEXT = "语料库中未找到可靠依据回答这个问题。"
# Documents a refusal names as the closest ones (for the reader to look at, not as an answer).
SUGGESTIONS = 3
# A title longer than this is cut at its first colon in a sentence's "title：" prefix.
LONG_TITLE = 20


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


class ExtractiveAnswerer:
    """The answer quoted from the passages (an ``index.prepared.Answerer``)."""

    def answer(self, p: Prepared) -> Answer:
        if p.lookup:  # an article lookup answers with the whole articles (or says what was not found)
            ans = render_lookup(p.question, p.lookup)
        elif p.refused:
            ans = Answer(question=p.question, answer=refusal_text(p.top), refused=True,
                         suggestions=[{"doc_id": c.doc_id, "title": c.title, "kind": c.kind,
                                       "locator": locator_label(c)} for c, _ in p.top[:SUGGESTIONS]],
                         confidence=NONE)
        else:
            text, citations = extract(p.q, p.top)  # (an article lookup never gets here: render_lookup)
            if p.confidence == LOW:
                text = f"{CAUTION_TEXT}\n{text}"
            ans = Answer(question=p.question, answer=text, refused=False, citations=citations,
                         confidence=p.confidence)
        ans.timings_ms = {**p.timings(), "answer": round((time.perf_counter() - p.t1) * 1000, 1)}
        ans.relevance = p.rel.to_json()
        return ans

    def stream(self, p: Prepared) -> Iterator[Event]:
        """The answer is ready at once: streamed line by line, then the final Answer."""
        ans = self.answer(p)
        for line in ans.answer.splitlines(keepends=True):
            yield "delta", line
        yield "final", ans


def refusal_text(top: list[tuple[Chunk, float]]) -> str:
    lines = [REFUSAL_TEXT]
    if top:
        lines.append("最接近的文档（仅供参考，未必回答了问题）：")
        for c, _ in top[:SUGGESTIONS]:
            lines.append(f"- {c.title} {locator_label(c) if c.kind == 'law' else c.locator}")
    return "\n".join(lines)


def extract(query: Query, ranked: list[tuple[Chunk, float]]) -> tuple[str, list[Citation]]:
    """Pick up to five sentences, at most two per chunk, grouped law → opinion → report."""
    qkw = keywords(query.keyword_text)
    picks: list[tuple[int, int, str]] = []  # (chunk rank, sentence position, sentence)
    for rank, (c, _s) in enumerate(ranked):
        sents = split_sentences(c.text)
        scored = [(_sentence_score(s, qkw), i, s) for i, s in enumerate(sents)]
        scored = [t for t in scored if t[0] > 0]
        scored.sort(key=lambda t: (-t[0], t[1]))
        chosen = [(i, s) for _, i, s in scored[:MAX_PER_CHUNK]]
        if rank == 0 and not chosen and sents:
            chosen = [(0, sents[0])]
        picks.extend((rank, i, s) for i, s in sorted(chosen))
    # keep the best-ranked chunks' sentences, then order by group and position
    picks = sorted(picks, key=lambda t: t[0])[:MAX_SENTENCES]
    picks.sort(key=lambda t: (GROUP_ORDER.get(ranked[t[0]][0].kind, len(GROUP_ORDER)), t[0], t[1]))

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
    title = re.split(r"[:：]", c.title)[0] if len(c.title) > LONG_TITLE else c.title
    return title
