"""The optional login gate of the chat and the quiz (``settings.chat_requires_login``).

Why server-side: hiding a tab alone would leave its API open, so every question and every quiz
generation asks ``gate(token, request)`` first; the token is the page's console session
(``web.sessions``), checked against the address and browser it was issued to.
"""
from __future__ import annotations

from typing import Any, Callable

import gradio as gr  # gr.Request in a handler's signature must resolve for Gradio

from web import render
from web.console import AdminConsole
from web.sessions import client_ip


def login_gate(console: AdminConsole, what: str) -> Callable[[str | None, Any], str]:
    """``gate(token, request)`` for a feature behind ``settings.chat_requires_login``: "" when the
    console session is valid, otherwise the message telling the user what to do."""

    def gate(token: str | None, request: Any) -> str:
        if console.is_logged_in(token, client_ip(request)):
            return ""
        return (f"{what}需要登录：请先在“管理”页登录。" if console.enabled else
                f"{what}需要登录，但管理控制台未启用：请管理员配置 NPCQA_ADMIN_PASSWORD_HASH。")

    return gate


def gated_respond(console: AdminConsole, chat_app, required: bool):
    """The chat handler with the optional login gate (``settings.chat_requires_login``), checked server-side."""
    gate = login_gate(console, "问答")

    def respond(q, history_chat, sess, kinds, region, status, token, request: gr.Request):
        msg = gate(token, request) if required else ""
        if msg:
            chat = list(history_chat or [])
            chat.append({"role": "assistant", "content": render.render_notice(msg, "error")})
            yield chat, sess, q, ((sess or {}).get("last") or {}).get("copy_text", ""), ""
            return
        yield from chat_app.respond(q, history_chat, sess, kinds, region, status)

    return respond
