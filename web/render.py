"""HTML and plain-text rendering of engine answers for the web chat.

Every piece of document or user text goes through ``web.markup.esc`` before it is put into
markup, so HTML or ``<script>`` inside a corpus file is shown as text, never run. The markup
is emitted on one line (no blank lines) so the chat's Markdown renderer treats it as a raw HTML
block and never re-interprets document text as Markdown.

``[n]`` markers in an answer become numbered badges identical to the badge on source n (classes
``npc-n npc-n-<n>`` on both, ``npc-src-<n>`` on the source; the chat's sanitizer drops data-* attributes).
"""
from __future__ import annotations

import re

from index.relevance import CAUTION_TEXT
from npcqa.text import split_sentences
from npcqa.types import KIND_LABELS, Answer, Citation
from web.markup import esc

_MARKER = re.compile(r"\[(\d{1,2})\]")
_GROUP = re.compile(r"^【(.{1,8})】$")
NOT_FOUND_TITLE = "未找到可靠依据"
CAUTION_TITLE = "仅供参考：可能相关，但未必直接回答了问题"


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind or "文件")


def _badge(n: int | str, title: str = "") -> str:
    t = f' title="{esc(title)}"' if title else ""
    return f'<span class="npc-n npc-n-{esc(n)}"{t}>{esc(n)}</span>'


def _kind_chip(kind: str) -> str:
    k = kind if kind in KIND_LABELS else "other"
    return f'<span class="npc-kind npc-kind-{k}">{esc(kind_label(kind))}</span>'


def cited_numbers(text: str) -> list[int]:
    """The distinct ``[n]`` markers of an answer, in order of first use."""
    seen: list[int] = []
    for m in _MARKER.finditer(text or ""):
        n = int(m.group(1))
        if n not in seen:
            seen.append(n)
    return seen


def render_answer_text(text: str, citations: list[Citation] | None = None) -> str:
    """Answer body: escaped lines, group labels as small headings, ``[n]`` → badge n."""
    by_n = {c.n: c for c in citations or []}
    parts = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        g = _GROUP.match(line)
        if g:
            parts.append(f'<p class="npc-group">{esc(g.group(1))}</p>')
            continue
        out, pos = [], 0
        for m in _MARKER.finditer(line):
            before = line[pos:m.start()]
            n = int(m.group(1))
            c = by_n.get(n)
            title = f"来源 {n}：{c.title} {c.locator}" if c else f"来源 {n}"
            # the badge never wraps alone onto the next line: it stays with the character before it
            out.append(esc(before[:-1]))
            out.append(f'<span class="npc-nowrap">{esc(before[-1:])}{_badge(n, title)}</span>')
            pos = m.end()
        out.append(esc(line[pos:]))
        parts.append(f'<p class="npc-line">{"".join(out)}</p>')
    return "".join(parts)


def highlight_passage(text: str, quote: str) -> str:
    """The full chunk, escaped, with the sentences used in the answer wrapped in ``<mark>``."""
    text = text or ""
    spans: list[tuple[int, int]] = []
    if quote:
        pos = 0
        for sent in split_sentences(text):
            if len(sent) < 2 or sent not in quote:
                continue
            i = text.find(sent, pos)
            if i < 0:
                i = text.find(sent)
            if i >= 0:
                spans.append((i, i + len(sent)))
                pos = i + len(sent)
        if not spans and quote.strip() in text:  # quote not made of whole sentences
            i = text.find(quote.strip())
            spans.append((i, i + len(quote.strip())))
    spans.sort()
    merged: list[list[int]] = []
    for a, b in spans:  # overlapping spans become one
        if merged and a < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, pos = [], 0
    for a, b in merged:
        out.append(_lines(text[pos:a]))
        out.append(f"<mark>{_lines(text[a:b])}</mark>")
        pos = b
    out.append(_lines(text[pos:]))
    return "".join(out)


def _lines(s: str) -> str:
    return "<br>".join(esc(x) for x in s.split("\n"))


def source_meta(c: Citation) -> list[str]:
    meta = [c.date or "日期不详"]
    if c.status:
        meta.append(c.status)
    if c.region:
        meta.append(c.region)
    return meta


def render_source(c: Citation, cited: bool = True, open_: bool = False) -> str:
    """One collapsible source: badge, kind, title/locator, date, status; expanded: the full chunk."""
    cls = f"npc-src npc-src-{c.n}" + ("" if cited else " npc-src-uncited")
    meta = source_meta(c)
    if c.kind == "law":  # the locator already names the law: 《监督法》第十条（第一章 总则）
        head = f'<span class="npc-title">{esc(c.locator)}</span>'
        meta = [c.title] + meta
    else:
        head = f'<span class="npc-title">{esc(c.title)}</span><span class="npc-loc">{esc(c.locator)}</span>'
    if not cited:
        meta.append("未在回答中引用")
    summary = (f'<summary>{_badge(c.n)}{_kind_chip(c.kind)}{head}'
               f'<span class="npc-meta">{" · ".join(esc(m) for m in meta)}</span></summary>')
    prov = []
    if c.heading_path:
        prov.append(f"位置：{esc(c.heading_path)}")
    if c.source:
        prov.append(f"来源：{esc(c.source)}")
    prov_html = f'<div class="npc-prov">{"　".join(prov)}</div>' if prov else ""
    body = f'<div class="npc-passage">{highlight_passage(c.text, c.quote)}</div>{prov_html}'
    return f'<details class="{cls}"{" open" if open_ else ""}>{summary}{body}</details>'


def render_sources(ans: Answer) -> str:
    if not ans.citations:
        return ""
    used = set(cited_numbers(ans.answer))
    items = "".join(render_source(c, cited=(not used or c.n in used)) for c in ans.citations)
    return (f'<div class="npc-sources"><div class="npc-sources-head">参考依据'
            f'<span class="npc-hint">（点击展开原文，黄色为回答引用的句子）</span></div>{items}</div>')


def render_refusal(ans: Answer) -> str:
    items = "".join(
        f'<li>{_kind_chip(s.get("kind", ""))}<span class="npc-title">{esc(s.get("title", ""))}</span>'
        f'<span class="npc-loc">{esc(s.get("locator", ""))}</span></li>'
        for s in ans.suggestions
    )
    closest = (f'<div class="npc-closest">最接近的文档（仅供参考，未必回答了问题）：</div><ul>{items}</ul>'
               if items else "")
    return (f'<div class="npc-refusal"><div class="npc-refusal-head">⚠ {NOT_FOUND_TITLE}</div>'
            f'<p>语料库中没有找到能可靠回答这个问题的法律条文、文件或地方实践材料，因此不作回答。'
            f'可以换个说法、写明法律名称或条号、放宽筛选条件再试。</p>{closest}</div>')


def render_notes(context_query: str = "", filters_label: str = "", notice: str = "") -> str:
    notes = []
    if context_query:
        notes.append(f'<div class="npc-note">已结合上一个问题检索：{esc(context_query)}</div>')
    if filters_label:
        notes.append(f'<div class="npc-note">筛选：{esc(filters_label)}</div>')
    if notice:
        notes.append(f'<div class="npc-note">{esc(notice)}</div>')
    return "".join(notes)


def render_mode(ans: Answer) -> str:
    """A visible tag saying what produced the answer (classes, not data-*: the chat sanitizer drops those)."""
    if ans.mode == "llm":
        v = ans.verification or {}
        checked = f" · 已核验 {v.get('kept', 0)}/{v.get('sentences', 0)} 句" if v else ""
        return f'<span class="npc-mode npc-mode-llm">大模型生成{esc(checked)}</span>'
    return '<span class="npc-mode npc-mode-extractive">原文摘录</span>'


def render_answer(ans: Answer, context_query: str = "", filters_label: str = "") -> str:
    """The final assistant message: mode tag, notes, answer (or refusal) and the numbered sources."""
    notes = render_notes(context_query, filters_label, ans.notice)
    if ans.refused:
        return f'<div class="npc-msg npc-msg-refused">{notes}{render_refusal(ans)}</div>'
    if ans.confidence == "low":  # the cautious answer: its warning as a box of its own, not as answer text
        text = ans.answer.removeprefix(CAUTION_TEXT).lstrip("\n")
        body = render_answer_text(text, ans.citations)
        return (f'<div class="npc-msg npc-msg-cautious">{render_mode(ans)}{notes}'
                f'<div class="npc-caution"><div class="npc-caution-head">? {CAUTION_TITLE}</div>'
                f'<p>语料库中没有找到确定回答这个问题的依据。下面是最接近的条文和材料，请核对原文后再使用。</p></div>'
                f'<div class="npc-body">{body}</div>{render_sources(ans)}</div>')
    body = render_answer_text(ans.answer, ans.citations)
    return (f'<div class="npc-msg npc-msg-answer">{render_mode(ans)}{notes}<div class="npc-body">{body}</div>'
            f'{render_sources(ans)}</div>')


def render_streaming(partial: str) -> str:
    body = render_answer_text(partial)
    return f'<div class="npc-msg npc-msg-answer npc-streaming"><div class="npc-body">{body}</div></div>'


def render_pending() -> str:
    return '<div class="npc-msg npc-pending">正在检索语料…</div>'


def render_notice(message: str, kind: str = "warn") -> str:
    return f'<div class="npc-msg npc-notice npc-notice-{esc(kind)}">{_lines(message)}</div>'


def render_question(question: str) -> str:
    return f'<div class="npc-q">{_lines(question.strip())}</div>'


def plain_source(c: Citation) -> str:
    """``[1] 《中华人民共和国…监督法》第十条（第一章 总则）；法律，2024-11-08，现行有效``"""
    bits = "，".join(b for b in (kind_label(c.kind), c.date, c.status) if b)
    if c.kind == "law":
        return f"[{c.n}] 《{c.title}》{c.locator.split('》', 1)[-1]}；{bits}"
    return f"[{c.n}] {c.title}，{c.locator}；{bits}"


def plain_text(ans: Answer) -> str:
    """Answer + 参考依据 list, ready to paste into a document."""
    if ans.refused:
        return ans.answer.strip()
    used = cited_numbers(ans.answer)
    cites = [c for c in ans.citations if not used or c.n in used]
    lines = [ans.answer.strip()]
    if cites:
        lines += ["", "参考依据："] + [plain_source(c) for c in cites]
    return "\n".join(lines)
