"""The components of the 管理 tab, one builder per panel: login, the bar, 文档, 上传, 同步, 反馈, 审计日志.

Why apart from the wiring (``web.admin_tab``): a builder only places components — with the
``elem_id``s and texts the browser tests and screenshots depend on — and returns them as a typed
panel, so the wiring reads as "this button does that" without the layout in between. Call inside an
open ``gr.Tab``; nothing here talks to the console except for the initial law DB version line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from npcqa.types import KIND_LABELS
from web.admin_render import AUDIT_HEADERS, DOC_HEADERS, FEEDBACK_HEADERS, docs_frame, frame
from web.console import AUDIT_ROWS

UPLOAD_KIND_CHOICES = [("地方实践报告", "report"), ("意见（规范性文件）", "opinion"), ("法律法规", "law")]
DOC_KIND_CHOICES = [("全部类型", "")] + [(label, kind) for kind, label in KIND_LABELS.items()]
DOC_COLUMN_WIDTHS = ["30%", "8%", "8%", "14%", "10%", "6%", "10%", "14%"]  # title widest, doc_id readable
FEEDBACK_COLUMN_WIDTHS = ["13%", "8%", "14%", "18%", "30%", "17%"]  # the answer gets the room
AUDIT_COLUMN_WIDTHS = ["14%", "16%", "14%", "26%", "30%"]
DOCS_HEIGHT = 360  # px of the document table before it scrolls (the detail below stays in view)
LOG_TABLE_HEIGHT = 460  # px of the feedback / audit tables before they scroll


@dataclass
class LoginPanel:
    box: Any
    user: Any
    password: Any
    button: Any
    status: Any


@dataclass
class ConsoleBar:
    whoami: Any
    lawver: Any
    logout: Any


@dataclass
class DocsPanel:
    search: Any
    kind_filter: Any
    count: Any
    refresh: Any
    delete: Any
    table: Any
    confirm_box: Any
    confirm_text: Any
    yes: Any
    no: Any
    status: Any
    detail: Any


@dataclass
class UploadPanel:
    files: Any
    kind: Any
    title: Any
    region: Any
    date: Any
    preview_btn: Any
    confirm: Any
    status: Any
    preview: Any


@dataclass
class SyncPanel:
    version: Any
    sync: Any
    verify: Any
    sync_status: Any
    verify_status: Any


@dataclass
class LogPanel:
    """The 反馈 or the 审计日志 panel: its sub-tab (loads on select), refresh button and table."""
    tab: Any
    refresh: Any
    table: Any
    count: Any = None  # 反馈 only
    export: Any = None  # 反馈 only
    file: Any = None  # 反馈 only


def login_panel() -> LoginPanel:
    with gr.Column(visible=True, elem_id="admin-login") as box:
        gr.HTML('<h3 class="npc-admin-h">维护人员登录</h3><p class="npc-admin-note">登录后可上传、替换、删除文档，'
                "同步索引，查看反馈和审计日志。问答无需登录。</p>")
        user = gr.Textbox(label="用户名", max_lines=1, elem_id="admin-user")
        password = gr.Textbox(label="密码", type="password", max_lines=1, elem_id="admin-password")
        button = gr.Button("登录", variant="primary", elem_id="admin-login-btn")
        status = gr.HTML("", elem_id="admin-login-status")
    return LoginPanel(box, user, password, button, status)


def console_bar(lawver_html: str) -> ConsoleBar:
    with gr.Row(equal_height=True, elem_id="admin-bar"):
        whoami = gr.HTML("", elem_id="admin-whoami")
        lawver = gr.HTML(lawver_html, elem_id="admin-lawdb-version")
        logout = gr.Button("退出登录", size="sm", scale=0, min_width=110, elem_id="admin-logout")
    return ConsoleBar(whoami, lawver, logout)


def docs_panel() -> DocsPanel:
    with gr.Tab("文档", id="admin-docs-tab", elem_id="admin-docs-tab"):
        with gr.Row(equal_height=True):
            search = gr.Textbox(label="搜索", placeholder="标题、地区、日期或编号中的文字（回车或输入即筛选）",
                                max_lines=1, scale=4, elem_id="admin-doc-search")
            kind_filter = gr.Dropdown(DOC_KIND_CHOICES, value="", label="类型", scale=1, min_width=140,
                                      elem_id="admin-doc-kind")
        with gr.Row(equal_height=True, elem_id="admin-doc-bar"):
            count = gr.HTML("", elem_id="admin-doc-count")
            refresh = gr.Button("刷新列表", size="sm", scale=0, min_width=100, elem_id="admin-doc-refresh")
            delete = gr.Button("删除所选文档…", variant="stop", size="sm", interactive=False,
                               scale=0, min_width=140, elem_id="admin-delete")
        table = gr.Dataframe(value=docs_frame([]), headers=DOC_HEADERS, datatype=["str"] * len(DOC_HEADERS),
                             interactive=False, wrap=True, max_height=DOCS_HEIGHT, show_search="none",
                             column_widths=DOC_COLUMN_WIDTHS, elem_id="admin-docs")
        with gr.Group(visible=False, elem_id="admin-delete-confirm") as confirm_box:
            confirm_text = gr.HTML("", elem_id="admin-delete-question")
            with gr.Row():
                yes = gr.Button("确认删除", variant="stop", elem_id="admin-delete-yes")
                no = gr.Button("取消", elem_id="admin-delete-no")
        status = gr.HTML("", elem_id="admin-doc-status")
        detail = gr.HTML('<p class="npc-admin-note">在上表中点击一个文档，查看清洗后的全文和片段。</p>',
                         elem_id="admin-doc-detail")
    return DocsPanel(search, kind_filter, count, refresh, delete, table, confirm_box, confirm_text, yes, no,
                     status, detail)


def upload_panel(max_file_mb: float) -> UploadPanel:
    with gr.Tab("上传", id="admin-upload-tab", elem_id="admin-upload-tab"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=280):
                files = gr.File(label="选择文件（可多选：.txt .md .html .docx .pdf）", file_count="multiple",
                                type="filepath", height=180, elem_id="admin-upload-files")
                gr.HTML('<p class="npc-admin-note">同名且同类型的上传文件会被替换（旧片段删除）；'
                        f"单个文件不超过 {max_file_mb:g} MB，类型按内容检查。</p>")
            with gr.Column(scale=3, min_width=360):
                kind = gr.Radio(UPLOAD_KIND_CHOICES, value="report", label="类型（自动识别，可修改）",
                                elem_id="admin-upload-kind")
                title = gr.Textbox(label="标题（自动识别，可修改）", max_lines=1, elem_id="admin-upload-title")
                with gr.Row():
                    region = gr.Textbox(label="地区", max_lines=1, placeholder="如 甘肃省平凉市",
                                        elem_id="admin-upload-region")
                    date = gr.Textbox(label="日期", max_lines=1, placeholder="YYYY-MM-DD",
                                      elem_id="admin-upload-date")
                with gr.Row():
                    preview_btn = gr.Button("预览", elem_id="admin-preview-btn")
                    confirm = gr.Button("确认添加到索引", variant="primary", interactive=False,
                                        elem_id="admin-confirm-upload")
        status = gr.HTML("", elem_id="admin-upload-summary")
        preview = gr.HTML("", elem_id="admin-preview")
    return UploadPanel(files, kind, title, region, date, preview_btn, confirm, status, preview)


def sync_panel(lawver_html: str) -> SyncPanel:
    with gr.Tab("同步", id="admin-sync-tab", elem_id="admin-sync-tab"):
        gr.HTML('<p class="npc-admin-note">同步按内容比较语料目录、上传区和法律库：只嵌入新增或改动的内容，'
                "删除已不存在文件的片段。同步期间问答照常使用上一次的索引。</p>")
        version = gr.HTML(lawver_html, elem_id="admin-sync-lawdb")
        with gr.Row():
            sync = gr.Button("开始同步", variant="primary", scale=0, min_width=180, elem_id="admin-sync")
            verify = gr.Button("校验索引", scale=0, min_width=140, elem_id="admin-verify")
        sync_status = gr.HTML("", elem_id="admin-sync-summary")
        verify_status = gr.HTML("", elem_id="admin-verify-summary")
    return SyncPanel(version, sync, verify, sync_status, verify_status)


def feedback_panel() -> LogPanel:
    with gr.Tab("反馈", id="admin-feedback-tab", elem_id="admin-feedback-tab") as tab:
        with gr.Row(equal_height=True, elem_classes="npc-admin-toolbar"):
            refresh = gr.Button("刷新", size="sm", scale=0, min_width=90, elem_id="admin-feedback-refresh")
            export = gr.Button("导出 CSV", size="sm", scale=0, min_width=110, elem_id="admin-feedback-export")
            count = gr.HTML("", elem_id="admin-feedback-count")
        file = gr.File(label="导出的 CSV", interactive=False, visible=False, elem_id="admin-feedback-csv")
        table = gr.Dataframe(value=frame([], FEEDBACK_HEADERS), headers=FEEDBACK_HEADERS,
                             datatype=["str"] * len(FEEDBACK_HEADERS), interactive=False, wrap=True,
                             max_height=LOG_TABLE_HEIGHT, column_widths=FEEDBACK_COLUMN_WIDTHS,
                             elem_id="admin-feedback")
    return LogPanel(tab, refresh, table, count=count, export=export, file=file)


def audit_panel() -> LogPanel:
    with gr.Tab("审计日志", id="admin-audit-tab", elem_id="admin-audit-tab") as tab:
        with gr.Row(equal_height=True, elem_classes="npc-admin-toolbar"):
            refresh = gr.Button("刷新", size="sm", scale=0, min_width=90, elem_id="admin-audit-refresh")
            gr.HTML(f'<p class="npc-admin-note">最近 {AUDIT_ROWS} 条，最新在前（完整记录在数据目录的 audit.jsonl）。</p>')
        table = gr.Dataframe(value=frame([], AUDIT_HEADERS), headers=AUDIT_HEADERS,
                             datatype=["str"] * len(AUDIT_HEADERS), interactive=False, wrap=True,
                             max_height=LOG_TABLE_HEIGHT, column_widths=AUDIT_COLUMN_WIDTHS, elem_id="admin-audit")
    return LogPanel(tab, refresh, table)
