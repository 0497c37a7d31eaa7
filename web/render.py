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


# The chat's layout at every width: the page is the one scroll (the chat grows with its answers instead of
# scrolling inside a box), the question box stays at the bottom of the viewport, and at ≤ 480 px (phones)
# the filter panel folds above the chat, touch targets are ≥ 44 px and answer text is 16 px.
# Gradio prefixes custom rules with its app container, and rules inside @media only get the prefixed copy:
# the page's outer containers are therefore styled by top-level rules only.
LAYOUT_CSS = """
.gradio-container { overflow-x: clip !important; overflow-y: visible !important; }
#chat { height: auto !important; max-height: none !important; overflow: visible !important; }
#chat .bubble-wrap { height: auto !important; overflow: visible !important; }
#chat > .wrapper { min-height: max(220px, calc(100vh - 420px)); }
#composer { position: sticky; bottom: 0; z-index: 20; background: var(--body-background-fill);
  padding: 6px 0; margin: -6px 0; }
#actions { gap: 8px; }
#feedback-status:empty, #feedback-status:has(> :empty) { display: none; }
@media (min-width: 481px) and (min-height: 760px) {
  #sidebar { position: sticky; top: 8px; align-self: flex-start; }
}
@media (max-width: 480px) {
  #header, #main-tabs { margin-left: -22px !important; margin-right: -22px !important;
    width: calc(100% + 44px) !important; max-width: none !important; }
  #header h1 { font-size: 1.3rem; }
  #header .npc-summary { font-size: 0.8rem; line-height: 1.45; }
  #main-tabs button[role=tab] { min-height: 44px; font-size: 16px; }
  #chat-area { flex-direction: column; gap: 8px; }
  #chat > .wrapper { min-height: max(200px, calc(100vh - 480px)); }  /* first screen: box and buttons in view */
  #sidebar, #chat-column { min-width: 100% !important; flex: 1 1 auto !important; }
  #filters { padding: 0 12px !important; }
  #filters .label-wrap { min-height: 44px; font-size: 16px; font-weight: 600; display: flex; align-items: center;
    margin: 0 !important; }
  #kind-filter label, #region-filter input, #status-filter input, .npc-example { min-height: 44px; }
  .npc-example { white-space: normal; text-align: left; justify-content: flex-start; font-size: 15px; }
  #chat .message-row { margin-left: 6px !important; margin-right: 6px !important; max-width: 100% !important; }
  #chat .message-row .message { max-width: 100% !important; }
  #chat .npc-msg, #chat .npc-q { font-size: 16px; line-height: 1.7; }
  #chat .npc-msg .npc-meta, #chat .npc-msg .npc-note { font-size: 14px; }
  #chat details.npc-src > summary { min-height: 44px; padding: 0.55em 0.6em; }
  #chat .npc-refusal, #chat .npc-caution { padding: 0.7em 0.8em; }
  #chat .npc-refusal-head, #chat .npc-caution-head { font-size: 17px; }
  #question textarea { font-size: 16px; min-height: 3.6em; }  /* the placeholder's two lines */
  #feedback-comment textarea { font-size: 16px; min-height: 3.6em; }
  #ask, #feedback-send { min-height: 44px; min-width: 64px !important; }
  #chat .icon-button-wrapper { display: none; }  /* Gradio's small clear icon: 新对话 below does the same */
  #actions { flex-wrap: nowrap !important; gap: 6px; }
  #actions > button { flex: 1 1 0 !important; min-width: 0 !important; min-height: 52px; padding: 4px 2px;
    flex-direction: column; font-size: 14px; line-height: 1.2; }
  #actions > button::before { margin: 0 0 3px 0; width: 1.3em; height: 1.3em; }
}
"""

CSS = """
#header h1 { margin: 0 0 4px 0; font-size: 1.6rem; color: #8b1a1a; letter-spacing: 0.05em; }
#header .npc-summary { color: var(--body-text-color-subdued); font-size: 0.95rem; margin: 0; }
#header .npc-summary b { color: var(--body-text-color); }
#chat .npc-q { white-space: normal; }
#chat .npc-msg p { margin: 0.25em 0; }
#chat .npc-mode { display: inline-block; font-size: 0.78em; padding: 0 0.5em; border-radius: 0.6em;
  margin-bottom: 0.3em; background: #eef2f7; color: #44546a; }
#chat .npc-mode-llm { background: #e8f3ec; color: #1d6b3a; }
#chat .npc-group { font-weight: 600; color: #8b1a1a; margin-top: 0.6em !important; }
#chat .npc-n { display: inline-block; min-width: 1.35em; height: 1.35em; line-height: 1.35em; padding: 0 0.25em;
  margin: 0 0.15em; border-radius: 0.7em; background: #8b1a1a; color: #fff !important; font-size: 0.75em;
  text-align: center; vertical-align: 0.15em; font-weight: 600; cursor: default; }
#chat .npc-nowrap { white-space: nowrap; }
#chat .npc-sources { margin-top: 0.8em; border-top: 1px solid var(--border-color-primary); padding-top: 0.5em; }
#chat .npc-sources-head { font-weight: 600; margin-bottom: 0.3em; }
#chat .npc-hint { font-weight: 400; font-size: 0.85em; color: var(--body-text-color-subdued); }
#chat details.npc-src { border: 1px solid var(--border-color-primary); border-radius: 6px; margin: 0.35em 0;
  background: var(--background-fill-primary); }
#chat details.npc-src > summary { cursor: pointer; padding: 0.35em 0.6em; list-style-position: inside; }
#chat details.npc-src[open] > summary { border-bottom: 1px dashed var(--border-color-primary); }
#chat .npc-src-uncited { opacity: 0.75; }
#chat .npc-title { font-weight: 600; margin: 0 0.35em; }
#chat .npc-loc { margin-right: 0.5em; }
#chat .npc-meta { color: var(--body-text-color-subdued); font-size: 0.85em; }
#chat .npc-kind { display: inline-block; font-size: 0.75em; padding: 0 0.45em; border-radius: 4px; margin-left: 0.2em;
  border: 1px solid; vertical-align: 0.1em; }
#chat .npc-kind-law { color: #8b1a1a; border-color: #d9a3a3; background: #fbeeee; }
#chat .npc-kind-opinion { color: #8a5a00; border-color: #e5c98f; background: #fdf6e6; }
#chat .npc-kind-report { color: #1d5e3a; border-color: #9ccbb0; background: #ecf7f0; }
#chat .npc-passage { padding: 0.5em 0.8em; line-height: 1.8; }
#chat .npc-passage mark { background: #ffe58a; color: inherit; padding: 0 1px; }
#chat .npc-prov { padding: 0 0.8em 0.5em; font-size: 0.8em; color: var(--body-text-color-subdued); }
#chat .npc-note { font-size: 0.85em; color: var(--body-text-color-subdued); margin-bottom: 0.3em; }
#chat .npc-refusal { border: 1px solid #e0b252; border-left: 5px solid #d48806; background: #fff8e6; border-radius: 6px;
  padding: 0.6em 0.9em; color: #5c3b00; }
#chat .npc-refusal-head { font-weight: 700; font-size: 1.05em; margin-bottom: 0.2em; }
#chat .npc-caution { border: 1px dashed #6b8cc7; border-left: 5px solid #3d6bb3; background: #eef4fc; border-radius: 6px;
  padding: 0.45em 0.7em; margin: 0.2em 0 0.5em 0; }
#chat .npc-caution-head { font-weight: 700; color: #24487f; }
#chat .npc-msg-cautious .npc-body { opacity: 0.92; }
#chat .npc-refusal ul { margin: 0.2em 0 0 0; padding-left: 1.2em; }
#chat .npc-closest { margin-top: 0.4em; font-weight: 600; }
#chat .npc-notice { border-left: 4px solid #999; padding: 0.3em 0.8em; background: var(--background-fill-secondary); }
#chat .npc-notice-error { border-left-color: #c0392b; }
#chat .npc-pending, #chat .npc-streaming { color: var(--body-text-color-subdued); }
#sidebar .npc-tip { font-size: 0.85em; color: var(--body-text-color-subdued); }
#feedback-status { min-height: 1.2em; font-size: 0.9em; }
.npc-icon::before, #copy::before, #thumbs-up::before, #thumbs-down::before, #clear::before {
  content: ""; display: inline-block; width: 1.1em; height: 1.1em; margin-right: 0.35em; vertical-align: -0.2em;
  background-color: currentColor; -webkit-mask: var(--npc-icon) no-repeat center / contain;
  mask: var(--npc-icon) no-repeat center / contain; }
#copy { --npc-icon: url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'%3E%3Cpath d='M16 1H4c-1.1 0-2 .9-2 2v14h2V3h12V1zm3 4H8c-1.1 0-2 .9-2 2v14c0 1.1.9 2 2 2h11c1.1 0 2-.9 2-2V7c0-1.1-.9-2-2-2zm0 16H8V7h11v14z'/%3E%3C/svg%3E"); }
#thumbs-up { --npc-icon: url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'%3E%3Cpath d='M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z'/%3E%3C/svg%3E"); }
#thumbs-down { --npc-icon: url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'%3E%3Cpath d='M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z'/%3E%3C/svg%3E"); }
#clear { --npc-icon: url("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24'%3E%3Cpath d='M19 13h-6v6h-2v-6H5v-2h6V5h2v6h6v2z'/%3E%3C/svg%3E"); }
.dark #chat .npc-refusal { background: #3a2e12; color: #f3d9a4; }
.dark #chat .npc-caution { background: #16253d; color: #c7d8f3; }
.dark #chat .npc-caution-head { color: #c7d8f3; }
.dark #chat .npc-passage mark { background: #8a6d00; }
#chat .npc-placeholder { text-align: center; opacity: 0.7; }
""" + LAYOUT_CSS
