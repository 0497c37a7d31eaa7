"""What every event of the 管理 tab shares: handlers that return ``{component: value}``, the login
gate around them, and the page's document list.

Why: a console handler returns only the components it changes; ``Wiring.on`` turns that into Gradio's
outputs (the rest ``gr.skip()``) and adds the login form / console / gated components that a missing or
expired session (``NotLoggedIn``) switches back to "please log in". So no handler counts its outputs.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import gradio as gr  # gr.Request in the handlers' signatures must resolve for Gradio

from web.admin_layout import ConsoleBar, DocsPanel, LoginPanel
from web.admin_render import docs_count_html, docs_frame, docs_rows, law_version_html, notice_html
from web.console import AdminConsole
from web.sessions import NotLoggedIn, client_ip

WRITE_QUEUE = dict(concurrency_limit=1, concurrency_id="admin-write")  # one add / delete / sync at a time
LOGIN_QUEUE = dict(concurrency_limit=1, concurrency_id="admin-login")  # login attempts are serialized


class Wiring:
    """What every console event shares: the page's token, the login/console boxes, the gated
    components and the page header refreshed after a write."""

    def __init__(self, console: AdminConsole, token, login: LoginPanel, console_box, gated: list, ungated: list,
                 header=None, header_fn: Callable[[], str] | None = None):
        self.console, self.token, self.login = console, token, login
        self.console_box, self.gated, self.ungated = console_box, gated, ungated
        self.header = header if header is not None and header_fn is not None else None
        self.header_fn = header_fn
        self.auth_out = [login.box, console_box, login.status, *gated, *ungated]

    def gates(self, logged_in: bool) -> dict:
        return {**{g: gr.update(visible=logged_in) for g in self.gated},
                **{u: gr.update(visible=not logged_in) for u in self.ungated}}

    def shown(self, logged_in: bool, status: Any = None, gates: bool = True) -> dict:
        """The login form or the console (and, with ``gates``, the gated components to match); ``status``
        the login form's message (None: unchanged)."""
        out = {self.login.box: gr.update(visible=not logged_in), self.console_box: gr.update(visible=logged_in),
               **(self.gates(logged_in) if gates else {})}
        return out if status is None else {**out, self.login.status: status}

    def denied(self, exc: NotLoggedIn) -> dict:
        return self.shown(False, None if exc.silent else notice_html(str(exc), "error"))

    def header_update(self) -> dict:
        if self.header is None:
            return {}
        try:
            return {self.header: self.header_fn()}
        except Exception:  # noqa: BLE001 - the header keeps its last text
            return {}

    @property
    def header_out(self) -> list:
        return [self.header] if self.header is not None else []

    def on(self, trigger, fn, inputs, outputs: list, guarded: bool = True, **kwargs):
        """``trigger(fn)`` where ``fn`` returns ``{component: value}``; components of ``outputs`` it leaves
        out are not changed. ``guarded``: a missing/expired session (``NotLoggedIn``) shows the login form."""
        outs = list(outputs) + (self.auth_out if guarded else [])

        @functools.wraps(fn)
        def handler(*args, **kw):
            try:
                out = fn(*args, **kw)
            except NotLoggedIn as exc:
                if not guarded:
                    raise
                out = self.denied(exc)
            return tuple(out[o] if o in out else gr.skip() for o in outs)

        return trigger(handler, inputs, outs, api_visibility="private", **kwargs)


class DocLists:
    """The document list of the page (``docs_state``) and everything drawn from it: table, count, law DB line."""

    def __init__(self, w: Wiring, docs: DocsPanel, bar: ConsoleBar, state):
        self.w, self.docs, self.bar, self.state = w, docs, bar, state
        self.filters = [docs.search, docs.kind_filter]

    def lawver(self) -> str:
        return law_version_html(self.w.console.law_versions())

    def shown(self, rows: list[dict], query, kind) -> dict:
        """The table and count of ``rows`` under the search / type filter."""
        shown = docs_rows(rows, query, kind)
        return {self.docs.table: docs_frame(shown), self.docs.count: docs_count_html(len(shown), len(rows))}

    def reload(self, token, ip, query, kind) -> dict:
        """Read the documents again (after a login or a write): state, table and count."""
        rows = self.w.console.documents(token, ip)
        return {self.state: rows, **self.shown(rows, query, kind)}

    @property
    def outputs(self) -> list:
        return [self.state, self.docs.table, self.docs.count, self.bar.lawver]

    @property
    def load(self):
        """The handler (token, search, kind) → ``reload``: after a login and for 刷新列表."""

        def load_docs(tok, q, k, request: gr.Request):
            return {**self.reload(tok, client_ip(request), q, k), self.bar.lawver: self.lawver()}

        return load_docs


def embed_progress(progress, idle: Callable[[str], str]) -> Callable[[int, int, str], None]:
    """A console ``progress(done, total, msg)`` callback drawing Gradio's progress bar."""

    def report(done: int, total: int, msg: str) -> None:
        if total:
            progress((done, total), desc=f"正在嵌入 {done}/{total} 个片段", unit="片段")
        else:
            progress(None, desc=idle(msg))

    return report
