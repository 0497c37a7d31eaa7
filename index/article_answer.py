"""The answer to an article lookup: each article whole under its heading path, then the misses.

Every sentence carries its ``[n]`` marker as in every extractive answer; a lookup that found nothing is a
refusal whose text says which law or article is missing (``index.articles`` decides that).
"""
from __future__ import annotations

from index.articles import CURRENT, Article, Found, Lookup
from index.normalize import law_short_name
from npcqa.text import split_sentences
from npcqa.types import Answer, Citation

def article_citation(n: int, art: Article) -> Citation:
    """A citation of the whole article (a split article's chunks are one citation)."""
    c = art.chunks[0]
    chapter = c.extra.get("chapter") or ""
    locator = f"《{law_short_name(c.title)}》{art.label}" + (f"（{chapter}）" if chapter else "")
    text = art.text
    return Citation(n=n, doc_id=c.doc_id, title=c.title, kind=c.kind, locator=locator, quote=text, text=text,
                    source=c.source, date=c.date, status=c.status, score=1.0, chunk_id=c.id,
                    heading_path=c.heading_path, region=c.region)


def _version_note(f: Found) -> str:
    if not f.other_versions:
        return ""
    others = "、".join(f"{d or '日期不详'}（{s}）" for d, s in f.other_versions)
    which = "现行有效版本" if f.law.status == CURRENT else f"{f.law.status}版本"
    return (f"说明：以上引自《{law_short_name(f.law.title)}》{which}（{f.law.date or '日期不详'}）；"
            f"法规库中还有该法的其他版本：{others}。")


def render_lookup(question: str, lookup: Lookup) -> Answer:
    """The answer to an article lookup: each article whole under its heading path, then the misses.

    Only misses (nothing found) make a refused answer whose text, ``notice`` and ``suggestions`` say
    which law or article was not found and what to look at instead; it cites nothing."""
    lines: list[str] = []
    citations: list[Citation] = []
    notes: list[str] = []
    seen: dict[tuple[str, int, str], int] = {}
    for f in lookup.found:
        key = (f.article.doc_id, f.article.number, f.article.suffix)
        if key in seen:
            continue
        n = seen[key] = len(citations) + 1
        citations.append(article_citation(n, f.article))
        head = f.article.heading_path.replace(" > ", " › ")
        if f.ref.paragraph or f.ref.item:
            head += f"（所问：{f.ref.asked}；以下为该条全文）"
        # every sentence carries its source marker, as in every extractive answer (and so the LLM answer
        # verifier, index.verify, accepts the text as quoted); the heading too: it is the passage's path
        lines.append(f"【{head}】[{n}]")
        lines.extend("".join(f"{sent}[{n}]" for sent in split_sentences(p)) for p in f.article.paragraphs)
        note = _version_note(f)
        if note and note not in notes:
            notes.append(note)
    misses = [m.message for m in lookup.misses]
    if not citations:
        text = "\n".join(dict.fromkeys(misses))
        suggestions = []
        for m in lookup.misses:
            for t in m.suggestions:
                if t not in [s["title"] for s in suggestions]:
                    suggestions.append({"doc_id": lookup.doc_ids.get(t, ""), "title": t, "kind": "law", "locator": ""})
        return Answer(question=question, answer=text, refused=True, suggestions=suggestions, notice=text)
    text = "\n".join(lines + list(dict.fromkeys(misses)) + notes)
    return Answer(question=question, answer=text, refused=False, citations=citations)
