"""Chunking along each document's real structure; the heading path travels with every chunk.

- laws: one chunk per article (条); an over-long article splits by 款 with its header repeated;
- opinions: by 一、 / （一） / 1. headings;
- reports: by section headings, then by sentences (。！？；) to ~300–500 characters with a
  one-sentence overlap; never mid-sentence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from npcqa.text import cn_to_int, split_sentences
from npcqa.types import Chunk, Document

ARTICLE_MAX = 700  # characters; longer articles split by 款
TARGET, HARD_MAX = 400, 520  # report/opinion chunk sizes (characters)

_CN_NUM = "零〇一二三四五六七八九十百千两"
ARTICLE_RE = re.compile(rf"^第([{_CN_NUM}\d]+)条(之[{_CN_NUM}]+)?[\s　]*")
PART_RE = re.compile(rf"^第[{_CN_NUM}\d]+([编章节])[\s　]*\S*")


def _chunk(doc: Document, order: int, locator: str, path: list[str], text: str, **extra) -> Chunk:
    return Chunk(
        doc_id=doc.doc_id, kind=doc.kind, title=doc.title, locator=locator,
        heading_path=" > ".join([doc.title, *[p for p in path if p]]), text=text, order=order,
        source=doc.source, date=doc.date, region=doc.region, status=doc.status, doc_hash=doc.hash,
        extra={**{k: v for k, v in doc.extra.items() if isinstance(v, (str, int, float, bool))}, **extra},
    )


# ---------------------------------------------------------------- laws
def _split_paragraphs(paras: list[str], limit: int) -> list[tuple[int, int, str]]:
    """Group 款 into pieces under ``limit`` chars: (first 款 no, last 款 no, text)."""
    groups, cur, start = [], [], 1
    for i, p in enumerate(paras, 1):
        if cur and sum(len(c) for c in cur) + len(p) > limit:
            groups.append((start, i - 1, "\n".join(cur)))
            cur, start = [], i
        cur.append(p)
    if cur:
        groups.append((start, len(paras), "\n".join(cur)))
    return groups


def article_chunks(doc: Document, articles: list[dict]) -> list[Chunk]:
    """``articles``: dicts with chapter, section, article_no, article_no_arabic, article_text."""
    chunks: list[Chunk] = []
    for a in articles:
        label = (a.get("article_no") or "").strip()
        text = (a.get("article_text") or "").strip()
        if not text:
            continue
        path = [a.get("part") or "", a.get("chapter") or "", a.get("section") or "", label]
        extra = {"article": label, "article_no": int(a.get("article_no_arabic") or 0),
                 "chapter": a.get("chapter") or "", "section": a.get("section") or ""}
        paras = [p.strip() for p in text.split("\n") if p.strip()]
        if len(text) <= ARTICLE_MAX or len(paras) < 2:
            chunks.append(_chunk(doc, len(chunks), label, path, text, **extra))
            continue
        for first, last, piece in _split_paragraphs(paras, ARTICLE_MAX):
            loc = f"{label}（第{first}款）" if first == last else f"{label}（第{first}—{last}款）"
            chunks.append(_chunk(doc, len(chunks), loc, path, f"{label}　{piece}" if first > 1 else piece, **extra))
    return chunks


def parse_law_text(text: str) -> list[dict]:
    """Articles of a law/regulation given as plain text (local regulations dropped into corpus/laws/)."""
    parts = {"编": "", "章": "", "节": ""}
    articles: list[dict] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = PART_RE.match(line)
        if m and len(line) < 40 and not ARTICLE_RE.match(line):
            level = m.group(1)
            parts[level] = line
            if level == "编":
                parts["章"] = parts["节"] = ""
            elif level == "章":
                parts["节"] = ""
            continue
        m = ARTICLE_RE.match(line)
        if m:
            label = line[: m.end()].strip()
            articles.append({"part": parts["编"], "chapter": parts["章"], "section": parts["节"], "article_no": label,
                             "article_no_arabic": cn_to_int(m.group(1)) or 0, "article_text": line[m.end():]})
        elif articles:
            articles[-1]["article_text"] += "\n" + line
    return articles


# ---------------------------------------------------------------- opinions and reports
_OPINION_LEVELS = [
    re.compile(r"^[一二三四五六七八九十]+、"),
    re.compile(r"^[（(][一二三四五六七八九十]+[）)]"),
    re.compile(r"^\d+[.．、]\s*(?!\d)"),
]
_SENT_END_CHARS = "。！？；!?;"


def _opinion_level(line: str) -> int | None:
    for lvl, rx in enumerate(_OPINION_LEVELS):
        if rx.match(line):
            return lvl
    return None


def _is_report_heading(line: str) -> bool:
    """Short line that does not end a sentence: 主要做法 / 强化政治引领，着力打造… / 一、以管理… / 01."""
    s = line.strip()
    if re.fullmatch(r"0?\d{1,2}", s):  # "01": the ordinal line of a scraped subhead
        return True
    if not s or len(s) > 40 or sum("\u4e00" <= ch <= "\u9fff" for ch in s) < 2:
        return False
    if any(ch in s for ch in "。！？"):
        return False
    return not s.endswith(("，", ",", "：", ":", "；", ";"))


@dataclass
class Section:
    path: list[str]
    paras: list[str] = field(default_factory=list)


def _sections(lines: list[str], heading_level, merge_runs: bool = False) -> list[Section]:
    """Group paragraphs under headings; ``heading_level(line)`` → level int or None.

    A heading's own line stays in its section's text (headings carry facts: "（三）严格办理时限。
    承办单位应当…"); a numbered line that is one long sentence is a list item, not a heading.
    With ``merge_runs`` (reports), consecutive heading lines of one level form one heading:
    scraped pages often break a subhead over lines ("01" / "坚持…" / "持续推动…")."""
    stack: list[str] = []
    sections = [Section(path=[])]
    pending_heading = False
    for line in lines:
        lvl = heading_level(line)
        head = line
        if lvl is not None:
            m = re.search(r"[。！？；]", line)
            if m:
                # "（三）严格办理时限。承办单位应当…": a short title sentence, then its body;
                # "1. 各乡镇……公布。" or "3. 代表对答复不满意的，…；…": a list item, not a heading
                if line[m.start()] == "。" and m.end() < len(line) and m.start() <= 25:
                    head = line[: m.start()]
                else:
                    lvl = None
        if lvl is None:
            sections[-1].paras.append(line)
            pending_heading = False
            continue
        if merge_runs and pending_heading and stack and lvl == len(stack) - 1:
            stack[-1] = f"{stack[-1]} {head}".strip()
            sections[-1].path = list(stack)
            sections[-1].paras.append(line)
        else:
            del stack[lvl:]
            stack.append(head)
            sections.append(Section(path=list(stack), paras=[line]))
        pending_heading = True
    # a section holding nothing but its short heading adds no text of its own
    return [s for s in sections if s.paras and not (len(s.paras) <= 2 and all(
        len(p) <= 40 and not re.search(r"[。！？；]", p) for p in s.paras) and s.path)]


def _pack(sentences: list[str], target: int = TARGET, hard_max: int = HARD_MAX) -> list[str]:
    """Greedy sentence packing with a one-sentence overlap; a single over-long sentence stands alone."""
    out: list[str] = []
    cur: list[str] = []
    size = 0
    for s in sentences:
        if cur and size + len(s) > hard_max:
            out.append("".join(cur))
            last = cur[-1]
            cur = [last] if len(last) < target // 3 else []
            size = sum(len(c) for c in cur)
        cur.append(s)
        size += len(s)
        if size >= target:
            out.append("".join(cur))
            last = cur[-1]
            cur = [last] if len(last) < target // 3 else []
            size = sum(len(c) for c in cur)
    if cur and (not out or not out[-1].endswith("".join(cur))):
        out.append("".join(cur))
    return out


def _section_chunks(doc: Document, sections: list[Section]) -> list[Chunk]:
    chunks: list[Chunk] = []
    for sec in sections:
        sentences: list[str] = []
        for p in sec.paras:  # a paragraph's first sentence starts a new line in the chunk text
            for i, sent in enumerate(split_sentences(p)):
                sentences.append(f"\n{sent}" if i == 0 and sentences else sent)
        pieces = [piece.strip() for piece in _pack(sentences)]
        locator = " > ".join(sec.path) or "正文"
        for i, piece in enumerate(pieces, 1):
            loc = locator if len(pieces) == 1 else f"{locator}（{i}/{len(pieces)}）"
            chunks.append(_chunk(doc, len(chunks), loc, sec.path, piece, section=locator))
    return chunks


def opinion_chunks(doc: Document) -> list[Chunk]:
    lines = [ln.strip() for ln in doc.text.splitlines() if ln.strip()]
    return _section_chunks(doc, _sections(lines, _opinion_level))


def report_chunks(doc: Document) -> list[Chunk]:
    lines = [ln.strip() for ln in doc.text.splitlines() if ln.strip()]

    def level(line: str) -> int | None:
        if _opinion_level(line) is not None and len(line) <= 40 and not line.endswith(tuple(_SENT_END_CHARS)):
            return _opinion_level(line)
        return 0 if _is_report_heading(line) else None

    return _section_chunks(doc, _sections(lines, level, merge_runs=True))


def chunk_document(doc: Document) -> list[Chunk]:
    """Dispatch on kind; laws given as text are parsed into articles first."""
    if doc.kind == "law":
        articles = getattr(doc, "articles", None) or parse_law_text(doc.text)
        if articles:
            return article_chunks(doc, articles)
        return report_chunks(doc)
    if doc.kind == "opinion":
        return opinion_chunks(doc)
    return report_chunks(doc)
