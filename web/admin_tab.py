"""The 管理 tab: its layout (``web.admin_layout``) wired to the console's operations (``web.console``).

Why this shape: ``build_admin_tab`` places the panels, then one ``wire_*`` function per panel connects
its buttons; each handler returns ``{component: value}`` for just what it changes (``web.admin_wiring``).
Call ``build_admin_tab`` inside an open ``gr.Blocks``/``gr.Tabs``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import gradio as gr  # gr.Request / gr.Progress / gr.SelectData in the handlers' signatures must resolve

from web.admin_layout import (ConsoleBar, LogPanel, SyncPanel, audit_panel, console_bar, docs_panel,
                              feedback_panel, login_panel, sync_panel, upload_panel)
from web.admin_render import (AUDIT_HEADERS, FEEDBACK_HEADERS, audit_rows, detail_html, disabled_html, docs_frame,
                              feedback_rows, frame, law_version_html, notice_html, remove_summary_html,
                              sync_summary_html, verify_summary_html)
from web.admin_upload import wire_uploads
from web.admin_wiring import LOGIN_QUEUE, WRITE_QUEUE, DocLists, Wiring, embed_progress
from web.console import AdminConsole
from web.markup import esc
from web.sessions import NotLoggedIn, client_ip


@dataclass
class AdminTab:
    console: AdminConsole
    token: Any
    components: dict[str, Any] = field(default_factory=dict)
    login_events: list = field(default_factory=list)  # the login click/submit events (for .then)


def build_admin_tab(console: AdminConsole, token, header=None, header_fn: Callable[[], str] | None = None,
                    gated: list | None = None, ungated: list | None = None) -> AdminTab:
    """Add the 管理 tab (inside an open ``gr.Blocks``/``gr.Tabs``). ``token`` is the page's ``gr.State``
    holding the session token; ``header``/``header_fn`` refresh the page header after writes; ``gated``
    components become visible on login and hidden on logout/expiry (the chat when it requires login),
    ``ungated`` ones the other way round (the "please log in" note)."""
    tab = AdminTab(console, token)
    with gr.Tab("管理", id="admin", elem_id="admin-tab"):
        if not console.enabled:
            tab.components["disabled"] = gr.HTML(disabled_html(console.disabled_reason), elem_id="admin-disabled")
            return tab
        login = login_panel()
        with gr.Column(visible=False, elem_id="admin-console") as console_box:
            bar = console_bar(law_version_html(console.law_versions()))
            with gr.Tabs(elem_id="admin-sections"):
                docs = docs_panel()
                upload = upload_panel(console.settings.max_file_mb)
                sync = sync_panel(law_version_html(console.law_versions()))
                feedback = feedback_panel()
                audit_log = audit_panel()

    w = Wiring(console, token, login, console_box, list(gated or []), list(ungated or []), header, header_fn)
    docs_state = gr.State([])  # list_docs rows of this page (server-side)
    selected = gr.State("")  # doc_id shown in the detail
    pending_delete = gr.State("")  # doc_id awaiting confirmation
    prefill = gr.State({})  # detected metadata of the current files
    pending_add = gr.State(None)  # signature of the previewed upload
    lists = DocLists(w, docs, bar, docs_state)

    tab.login_events = wire_login(w, bar, lists)  # so the page can show what a login unlocks (app.build_demo)
    wire_docs(w, lists, tab.login_events, selected, pending_delete)
    wire_uploads(w, upload, lists, prefill, pending_add)
    wire_sync(w, sync, lists)
    wire_logs(w, feedback, audit_log)
    tab.components.update(
        login=login.box, console=console_box, user=login.user, password=login.password, login_btn=login.button,
        login_status=login.status, whoami=bar.whoami, logout=bar.logout, lawver=bar.lawver, search=docs.search,
        kind_filter=docs.kind_filter, docs=docs.table, detail=docs.detail, delete=docs.delete,
        confirm=docs.confirm_box, files=upload.files, kind=upload.kind, title=upload.title, region=upload.region,
        date=upload.date, preview_btn=upload.preview_btn, confirm_upload=upload.confirm, upload_status=upload.status,
        preview=upload.preview, sync=sync.sync, sync_status=sync.sync_status, verify=sync.verify,
        verify_status=sync.verify_status, feedback=feedback.table, feedback_csv=feedback.file,
        audit=audit_log.table)
    return tab


def wire_login(w: Wiring, bar: ConsoleBar, lists: DocLists) -> list:
    """Login (button or Enter), logout, and the end of a session when its page closes. Returns the login events."""
    console, login, docs = w.console, w.login, lists.docs

    def on_login(u, p, request: gr.Request):
        ip = client_ip(request)
        tok, msg = console.login(u, p, ip)
        if not tok:
            return {w.token: "", login.password: "", **w.shown(False, notice_html(msg, "error"), gates=False)}
        who = (f'<span class="npc-admin-who">已登录：<b>{esc(console.settings.admin_user)}</b>（{esc(ip)}）· '
               f"{int(console.sessions.idle // 60)} 分钟无操作自动退出</span>")
        return {w.token: tok, login.password: "", bar.whoami: who, **w.shown(True, "")}

    events = [w.on(trigger, on_login, [login.user, login.password], [w.token, login.password, bar.whoami],
                   **LOGIN_QUEUE) for trigger in (login.button.click, login.password.submit)]

    def on_logout(tok, request: gr.Request):
        console.logout(tok, client_ip(request))
        return {w.token: "", docs.table: docs_frame([]), lists.state: [], docs.detail: "",
                **w.shown(False, notice_html("已退出登录。"))}

    w.on(bar.logout.click, on_logout, [w.token], [w.token, docs.table, lists.state, docs.detail])

    def on_unload(request: gr.Request):  # the page was closed or reloaded: its token in gr.State is gone
        console.end_page(str(getattr(request, "session_hash", "") or ""))

    from gradio.context import Context

    if Context.root_block is not None:
        Context.root_block.unload(on_unload)
    return events


def wire_docs(w: Wiring, lists: DocLists, login_events: list, selected, pending_delete) -> None:
    """The 文档 panel: load after a login and on 刷新列表, filter, select (detail), delete behind a confirmation."""
    console, docs = w.console, lists.docs
    for e in login_events:
        w.on(e.then, lists.load, [w.token, *lists.filters], lists.outputs)
    w.on(docs.refresh.click, lists.load, [w.token, *lists.filters], lists.outputs)

    def filter_docs(tok, rows, q, k, request: gr.Request):
        console.session(tok, client_ip(request))
        return lists.shown(rows or [], q, k)

    for trigger in (docs.search.submit, docs.search.input, docs.kind_filter.input):
        w.on(trigger, filter_docs, [w.token, lists.state, *lists.filters], [docs.table, docs.count],
             show_progress="hidden", trigger_mode="always_last")

    def on_select(tok, evt: gr.SelectData, request: gr.Request):
        from index.store import StoreError
        from ingest.checks import MaintainError

        row = getattr(evt, "row_value", None) or []
        doc_id = str(row[-1]) if row else ""
        closed = {docs.confirm_box: gr.update(visible=False), pending_delete: "", docs.status: ""}
        if not doc_id:
            return {selected: "", docs.delete: gr.update(interactive=False), **closed}
        try:
            d = console.detail(tok, client_ip(request), doc_id)
        except (MaintainError, StoreError) as exc:
            return {selected: "", docs.detail: notice_html(str(exc), "error"),
                    docs.delete: gr.update(interactive=False), **closed}
        return {selected: doc_id, docs.detail: detail_html(d),
                docs.delete: gr.update(interactive=bool(d.get("removable"))), **closed}

    w.on(docs.table.select, on_select, [w.token],
         [selected, docs.detail, docs.delete, docs.confirm_box, pending_delete, docs.status])

    def ask_delete(tok, doc_id, rows, request: gr.Request):
        console.session(tok, client_ip(request))
        refused = {docs.confirm_box: gr.update(visible=False), pending_delete: "", docs.confirm_text: ""}
        if not doc_id:
            return {**refused, docs.status: notice_html("请先在表中选择一个文档。", "warn")}
        row = next((r for r in rows or [] if r.get("doc_id") == doc_id), {})
        if row and not row.get("removable", True):
            return {**refused, docs.status: notice_html("法律库中的法律不能在这里删除。", "warn")}
        q = (f'<p class="npc-admin-confirm">确定删除「{esc(row.get("title", doc_id))}」'
             f'（{esc(doc_id)}，{esc(row.get("chunks", "?"))} 个片段）？文件和全部片段都会删除，不能撤销。</p>')
        return {docs.confirm_box: gr.update(visible=True), pending_delete: doc_id, docs.confirm_text: q,
                docs.status: ""}

    w.on(docs.delete.click, ask_delete, [w.token, selected, lists.state],
         [docs.confirm_box, pending_delete, docs.confirm_text, docs.status])

    def do_delete(tok, doc_id, q, k, request: gr.Request):
        from index.store import StoreError

        ip = client_ip(request)
        console.session(tok, ip)
        closed = {docs.confirm_box: gr.update(visible=False), pending_delete: ""}
        if not doc_id:
            return {**closed, docs.status: notice_html("没有待确认的删除。", "warn")}
        try:
            res = console.remove(tok, ip, doc_id)
        except StoreError as exc:
            return {**closed, docs.status: notice_html(f"删除失败：索引不可用（{exc}）。", "error")}
        out = {**closed, docs.status: remove_summary_html(res), **lists.reload(tok, ip, q, k), selected: "",
               docs.delete: gr.update(interactive=False), **w.header_update()}
        if res.removed:
            out[docs.detail] = '<p class="npc-admin-note">文档已删除。</p>'
        return out

    w.on(docs.yes.click, do_delete, [w.token, pending_delete, *lists.filters],
         [docs.confirm_box, pending_delete, docs.status, lists.state, docs.table, docs.count, selected, docs.delete,
          docs.detail, *w.header_out], **WRITE_QUEUE)
    docs.no.click(lambda: (gr.update(visible=False), "", notice_html("已取消删除。")), None,
                  [docs.confirm_box, pending_delete, docs.status], api_visibility="private", queue=False)


def wire_sync(w: Wiring, sy: SyncPanel, lists: DocLists) -> None:
    """The 同步 panel: the incremental sync and the read-only verify."""
    console = w.console

    def do_sync(tok, q, kf, request: gr.Request, progress=gr.Progress()):
        from ingest.sync import SyncBusy

        ip = client_ip(request)
        console.session(tok, ip)
        progress(0, desc="正在读取语料和法律库…")
        try:
            rep = console.sync(tok, ip, progress=embed_progress(progress, lambda msg: "正在比较文档…"))
        except SyncBusy:
            return {sy.sync_status: notice_html("另一个同步或添加正在进行，请稍后再试。", "warn")}
        except Exception as exc:  # noqa: BLE001 - a message for the maintainer, the chat keeps the old index
            return {sy.sync_status: notice_html(f"同步失败：{type(exc).__name__}: {exc}。问答继续使用上一次的索引。",
                                                "error")}
        out = {sy.sync_status: sync_summary_html(rep), **lists.reload(tok, ip, q, kf)}
        v = lists.lawver()
        return {**out, lists.bar.lawver: v, sy.version: v, **w.header_update()}

    w.on(sy.sync.click, do_sync, [w.token, *lists.filters],
         [sy.sync_status, *lists.outputs, sy.version, *w.header_out], **WRITE_QUEUE)

    def do_verify(tok, request: gr.Request):
        from ingest.sync import SyncBusy

        try:
            res = console.verify(tok, client_ip(request))
        except SyncBusy:
            return {sy.verify_status: notice_html("另一个同步或添加正在进行：写到一半的状态不算偏差，请在它结束后再校验。",
                                                  "warn")}
        except NotLoggedIn:
            raise
        except Exception as exc:  # noqa: BLE001 - a message for the maintainer
            return {sy.verify_status: notice_html(f"校验失败：{exc}", "error")}
        return {sy.verify_status: verify_summary_html(res)}

    w.on(sy.verify.click, do_verify, [w.token], [sy.verify_status])


def wire_logs(w: Wiring, fb: LogPanel, au: LogPanel) -> None:
    """The 反馈 and 审计日志 panels: load on select or 刷新, export the feedback as CSV."""
    console = w.console

    def load_feedback(tok, request: gr.Request):
        recs = console.feedback(tok, client_ip(request))
        up = sum(1 for r in recs if r.get("rating") == "up")
        return {fb.table: frame(feedback_rows(recs), FEEDBACK_HEADERS),
                fb.count: f'<p class="npc-admin-count">共 {len(recs)} 条评价：有用 {up} 条，没用 {len(recs) - up} 条（最新在前）。</p>'}

    for trig in (fb.refresh.click, fb.tab.select):
        w.on(trig, load_feedback, [w.token], [fb.table, fb.count])

    def export_feedback(tok, request: gr.Request):
        path = console.feedback_csv(tok, client_ip(request))
        return {fb.file: gr.update(value=str(path), visible=True)}

    w.on(fb.export.click, export_feedback, [w.token], [fb.file])

    def load_audit(tok, request: gr.Request):
        return {au.table: frame(audit_rows(console.audit_log(tok, client_ip(request))), AUDIT_HEADERS)}

    for trig in (au.refresh.click, au.tab.select):
        w.on(trig, load_audit, [w.token], [au.table])
