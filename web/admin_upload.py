"""The 上传 panel's events: detect on choosing files, preview, mark edited metadata stale, confirm the add.

Why apart: the upload is the console's one two-step write (preview → confirm), and its rules — an add
is confirmed only for exactly what was previewed, a field equal to what was detected is no override —
are easier to check on their own.
"""
from __future__ import annotations

import gradio as gr  # gr.Request / gr.Progress in the handlers' signatures must resolve for Gradio

from web.admin_layout import UploadPanel
from web.admin_render import add_summary_html, notice_html, preview_html
from web.admin_wiring import WRITE_QUEUE, DocLists, Wiring, embed_progress
from web.sessions import client_ip
from web.uploads import upload_items


def _signature(fs, k, t, r, d) -> list:
    """What a preview was made of: an add is confirmed only for the same files and metadata."""
    return [[p for p, _ in upload_items(fs)], k, t or "", r or "", d or ""]


def _overrides(pre: dict, t, r, d, multiple: bool) -> list:
    """A field still equal to what was detected is not an override (None keeps detection)."""
    out = []
    for key, value in (("title", t), ("region", r), ("date", d)):
        value = (value or "").strip()
        if key == "title" and multiple:
            out.append(None)
        elif value == (pre or {}).get(key, ""):
            out.append(None)
        else:
            out.append(value)
    return out


def wire_uploads(w: Wiring, up: UploadPanel, lists: DocLists, prefill, pending_add) -> None:
    """The 上传 panel: detect on choosing files, preview, mark edits stale, confirm the add."""
    console = w.console
    fields = [up.kind, up.title, up.region, up.date]

    def on_files(tok, fs, request: gr.Request):
        if not fs:  # cleared (by the maintainer, or after a successful add: keep its summary)
            console.session(tok, client_ip(request))
            return {prefill: {}, pending_add: None, up.title: gr.update(value="", interactive=True, placeholder=""),
                    up.region: "", up.date: "", up.confirm: gr.update(interactive=False), up.preview: ""}
        info = console.detect(tok, client_ip(request), fs)
        pv, multiple = info["preview"], info["multiple"]
        ok = bool(pv["items"])
        multi_note = "多个文件：标题、地区、日期按各文件自动识别；填写地区或日期则用于全部文件。" if multiple else ""
        status = notice_html(f"已识别 {len(pv['items'])} 个文件" + (f"，{len(pv['errors'])} 个不能添加" if pv["errors"] else "")
                             + "。" + multi_note + "请核对元数据和下方预览，再点“确认添加到索引”。",
                             "warn" if pv["errors"] else "info")
        sig = _signature(fs, info["kind"], "" if multiple else info["title"], info["region"], info["date"])
        return {prefill: {"title": info["title"], "region": info["region"], "date": info["date"]},
                pending_add: sig if ok else None, up.kind: info["kind"],
                up.title: gr.update(value="" if multiple else info["title"], interactive=not multiple,
                                    placeholder="多个文件：标题按各文件自动识别" if multiple else ""),
                up.region: info["region"], up.date: info["date"], up.confirm: gr.update(interactive=ok),
                up.status: status, up.preview: preview_html(pv)}

    for trig in (up.files.upload, up.files.clear, up.files.delete):  # user actions only (not the reset after an add)
        w.on(trig, on_files, [w.token, up.files],
             [prefill, pending_add, *fields, up.confirm, up.status, up.preview])

    def do_preview(tok, fs, k, t, r, d, pre, request: gr.Request):
        from ingest.checks import MaintainError

        refused = {pending_add: None, up.confirm: gr.update(interactive=False), up.preview: ""}
        if not fs:
            console.session(tok, client_ip(request))
            return {**refused, up.status: notice_html("请先选择文件。", "warn")}
        ot, orr, od = _overrides(pre, t, r, d, len(upload_items(fs)) > 1)
        try:
            pv = console.preview(tok, client_ip(request), fs, k, ot, orr, od)
        except MaintainError as exc:
            return {**refused, up.status: notice_html(str(exc), "error")}
        ok = bool(pv["items"])
        status = notice_html("预览已更新。" + ("确认无误后点“确认添加到索引”。" if ok else "没有可以添加的文件。"),
                             "info" if ok else "error")
        return {pending_add: _signature(fs, k, t, r, d) if ok else None, up.confirm: gr.update(interactive=ok),
                up.status: status, up.preview: preview_html(pv)}

    for trig in (up.preview_btn.click, up.kind.input):
        w.on(trig, do_preview, [w.token, up.files, *fields, prefill], [pending_add, up.confirm, up.status, up.preview])

    def stale():
        return {pending_add: None, up.confirm: gr.update(interactive=False),
                up.status: notice_html("元数据已修改：请点“预览”确认效果后再添加。", "warn")}

    for box in (up.title, up.region, up.date):
        w.on(box.input, stale, None, [pending_add, up.confirm, up.status], guarded=False, queue=False,
             show_progress="hidden")

    def do_add(tok, fs, k, t, r, d, pre, pending, q, kf, request: gr.Request, progress=gr.Progress()):
        from index.store import StoreError
        from ingest.checks import MaintainError

        ip = client_ip(request)
        console.session(tok, ip)
        if not fs:
            return {up.status: notice_html("请先选择文件。", "warn")}
        if pending != _signature(fs, k, t, r, d):
            return {up.status: notice_html("文件或元数据在预览后有改动：请先点“预览”，核对后再确认。", "warn"),
                    up.confirm: gr.update(interactive=False), pending_add: None}
        ot, orr, od = _overrides(pre, t, r, d, len(upload_items(fs)) > 1)
        report = embed_progress(progress, lambda msg: msg)  # ingest's own notices are Chinese
        progress(0, desc="正在读取和检查文件…")
        try:
            res = console.add(tok, ip, fs, k, ot, orr, od, progress=report)
        except MaintainError as exc:
            return {up.status: notice_html(str(exc), "error")}
        except StoreError as exc:
            return {up.status: notice_html(f"添加失败：索引不可用（{exc}），没有写入任何内容。", "error")}
        out = {up.status: add_summary_html(res), up.confirm: gr.update(interactive=False), pending_add: None,
               **lists.reload(tok, ip, q, kf), lists.bar.lawver: lists.lawver(), **w.header_update()}
        if res.added and not res.errors:  # all in: clear the form for the next upload
            out.update({up.files: None, up.preview: "", prefill: {}})
        return out

    w.on(up.confirm.click, do_add, [w.token, up.files, *fields, prefill, pending_add, *lists.filters],
         [up.status, up.files, up.confirm, pending_add, up.preview, *lists.outputs, prefill, *w.header_out],
         **WRITE_QUEUE)
