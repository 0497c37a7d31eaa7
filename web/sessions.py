"""The 管理 console's sessions: who is logged in, from where, until when.

Why its own sessions: Gradio's ``auth=`` would lock the whole app (the chat must stay open), so a
successful login creates a random 256-bit token (``secrets.token_urlsafe(32)``) stored — as its
SHA-256 — in a server-side ``SessionStore`` with the user, the client address, an idle expiry and an
absolute expiry. The token itself lives in a ``gr.State``: Gradio keeps State values on the server
(per page session) and never sends them to the browser, nor accepts a value for them from the browser,
so page scripts can neither read nor forge it (the equivalent of an HttpOnly cookie, and not sent
automatically by the browser either, so no CSRF). A token is only accepted from the address and the
browser (hashed HttpOnly cookie, ``web.security``) it was issued to; closing or reloading the page
ends the sessions it opened.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from web.security import client_of

SESSION_IDLE = 30 * 60  # seconds without any console action before the session ends
SESSION_MAX = 8 * 3600  # absolute lifetime of a session
MAX_SESSIONS = 1000  # live sessions kept at most; beyond, the least recently used is dropped (bounded memory)
TOKEN_BYTES = 32  # 256 random bits per token
NOT_LOGGED_IN = "未登录或登录已过期（{idle} 分钟无操作自动退出），请重新登录。"


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
                 clock: Callable[[], float] = time.monotonic, max_sessions: int = MAX_SESSIONS):
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
        token = secrets.token_urlsafe(TOKEN_BYTES)
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
