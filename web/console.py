"""The 管理 console's operations, as plain Python (no Gradio): login, documents, uploads (preview →
confirm), delete, sync, verify, feedback and audit.

Why plain: tests and tools drive the console without a browser, and the Gradio tab
(``web.admin_tab``) only lays out and wires these calls. Every action takes the opaque session
``token`` and the client ``ip`` and re-checks the session server-side first (``NotLoggedIn``
otherwise, ``web.sessions``); writes go through ``ingest.add`` / ``ingest.remove`` / ``ingest.sync`` (sync lock,
audit log) and then ``engine.refresh(force=True)`` so the chat answers from the new state at once. The
actor recorded in the audit log is ``<admin_user>@<ip>``. Login attempts are serialized and slowed by a
``LoginThrottle`` keyed by user + client address.
"""
from __future__ import annotations

import csv
import hmac
import math
import tempfile
from pathlib import Path
from typing import Callable

from npcqa import audit
from npcqa.auth import USER_WIDE, LoginThrottle, check_login, console_disabled_reason, console_enabled
from npcqa.types import KINDS
from web.cleanup import FEEDBACK_EXPORT_PREFIX
from web.clock import file_stamp
from web.feedback import citations_text, read_feedback
from web.security import Client
from web.sessions import NOT_LOGGED_IN, AdminSession, NotLoggedIn, SessionStore
from web.uploads import DEFAULT_KIND, guess_kind, upload_items

MAX_USER_CHARS = 64  # longer "user names" are cut before they reach the throttle
MAX_PASSWORD_CHARS = 1024  # scrypt costs the same for any length, but a 50 MB "password" costs memory
UNKNOWN_USER = "（未知用户）"  # what the audit log records for a failed login with an unknown name
AUDIT_ROWS = 200  # audit records the console shows (the full log stays in audit.jsonl)
AUDIT_DOC_IDS = 200  # changed doc_ids a sync records in its audit entry (a full re-sync changes thousands)
CSV_HEADERS = ["time", "rating", "comment", "question", "answer", "sources", "filters", "refused", "mode"]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a cell starting so is run as a formula by Excel


def csv_cell(value: object) -> str:
    """Spreadsheet-safe text: a cell starting with = + - @ would be run as a formula by Excel."""
    s = str(value if value is not None else "")
    return "'" + s if s[:1] in _FORMULA_STARTS else s


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
        from ingest.inventory import list_docs

        self.session(token, ip)
        return list_docs(self.settings, embedder=self.embedder)

    def detail(self, token: str | None, ip: str, doc_id: str) -> dict:
        from ingest.inventory import doc_detail

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
        from ingest.checks import MaintainError
        from ingest.inventory import preview_file
        from ingest.uploads import UploadRejected

        self.session(token, ip)
        items = upload_items(files)
        kind = ""
        for path, name in items:
            kind = self._existing_kind(name)
            if not kind:
                try:
                    first = preview_file(self.settings, path, "opinion", name=name)
                    kind = guess_kind(first["title"], name)
                except (UploadRejected, MaintainError):
                    continue
            break
        kind = kind or DEFAULT_KIND
        pv = self._preview(items, kind, None, None, None)
        ok = pv["items"]
        common = {key: (ok[0][key] if ok and all(p[key] == ok[0][key] for p in ok) else "")
                  for key in ("region", "date")}
        return {"kind": kind, "title": ok[0]["title"] if len(items) == 1 and ok else "", **common,
                "multiple": len(items) > 1, "preview": pv}

    def _preview(self, items, kind, title, region, date) -> dict:
        from ingest.checks import MaintainError
        from ingest.inventory import preview_file
        from ingest.rejections import unreadable
        from ingest.uploads import UploadRejected

        out: dict = {"items": [], "errors": []}
        for path, name in items:
            try:
                out["items"].append(preview_file(self.settings, path, kind, name=name, title=title, region=region,
                                                 date=date))
            except (UploadRejected, MaintainError) as exc:
                out["errors"].append({"name": name, **exc.to_json()})
            except OSError as exc:
                reason = unreadable(exc)
                out["errors"].append({"name": name, "reason": reason.text, "code": reason.code})
        return out

    def preview(self, token: str | None, ip: str, files, kind: str, title: str | None = None,
                region: str | None = None, date: str | None = None) -> dict:
        """What adding ``files`` would produce: {"items": [preview_file(...)], "errors": [{"name", "reason"}]}.
        Nothing is written."""
        self.session(token, ip)
        if title is not None and len(upload_items(files)) > 1:
            title = None  # a title applies to one file only
        return self._preview(upload_items(files), kind, title, region, date)

    def add(self, token: str | None, ip: str, files, kind: str, title: str | None = None,
            region: str | None = None, date: str | None = None,
            progress: Callable[[int, int, str], None] | None = None):
        """Add / replace the files (``ingest.add.add_files``); returns its AddResult. The chat sees the
        new documents as soon as this returns. Raises MaintainError (bad kind/date) and StoreError."""
        from ingest.add import add_files

        actor = self.actor(token, ip)
        items = upload_items(files)
        if title is not None and len(items) > 1:
            title = None
        result = add_files(self.settings, items, kind, title=title, region=region, date=date, actor=actor,
                           progress=progress, embedder=self.embedder)
        self.refresh()
        return result

    def remove(self, token: str | None, ip: str, doc_ids: str | list[str]):
        from ingest.remove import remove_docs

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
        audit.record(self.settings, actor, "sync", report.changed_doc_ids[:AUDIT_DOC_IDS],
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
        from npcqa.lawpackage import package_version

        indexed = ""
        try:
            indexed = self.engine.corpus_summary().get("law_package", "")
        except Exception:  # noqa: BLE001 - informative only
            pass
        return {"installed": package_version(), "indexed": indexed}

    # ------------------------------------------------------------------ feedback / audit
    def feedback(self, token: str | None, ip: str) -> list[dict]:
        self.session(token, ip)
        return read_feedback(self.feedback_path)

    def feedback_csv(self, token: str | None, ip: str, out_dir: str | Path | None = None) -> Path:
        """All feedback as CSV (UTF-8 with BOM, so Excel opens Chinese correctly); newest first."""
        actor = self.actor(token, ip)
        recs = list(reversed(read_feedback(self.feedback_path)))
        base = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix=FEEDBACK_EXPORT_PREFIX))
        base.mkdir(parents=True, exist_ok=True)
        path = base / f"feedback-{file_stamp()}.csv"
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(CSV_HEADERS)
            for r in recs:
                w.writerow([csv_cell(x) for x in (
                    r.get("time", ""), r.get("rating", ""), r.get("comment", ""), r.get("question", ""),
                    r.get("answer", ""), citations_text(r.get("citations")), r.get("filters", ""),
                    r.get("refused", ""), r.get("mode", ""))])
        audit.record(self.settings, actor, "feedback_export", [], {"rows": len(recs)})
        return path

    def audit_log(self, token: str | None, ip: str, limit: int = AUDIT_ROWS) -> list[dict]:
        self.session(token, ip)
        return list(reversed(audit.read_audit(self.settings, limit=limit)))
