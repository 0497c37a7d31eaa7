"""The hardened HTTP surface of the app: one ASGI middleware in front of Gradio's routes.

Why a middleware: Gradio's routes (deep links, uploads, ``file=``) are built into its FastAPI app and
cannot be switched off one by one; a middleware sees every request before them, so each protection
below is one small rule in one place (``install(demo)`` before ``launch``).

- Browser binding. Every page gets a random ``npcqa_browser`` cookie (HttpOnly, SameSite=Strict): page
  scripts cannot read it, other sites cannot send it, and it never travels in a URL. Console sessions
  are bound to it (``client_of``), so knowing a page's ``session_hash`` (it is in ``/queue/data`` and
  ``/heartbeat`` URLs, hence in proxy logs) is not enough to use the console's token.
- Gradio's deep-link routes are refused: they serve a session's component values to anyone who knows
  its hash (``/gradio_api/deep_link``, ``?deep_link=`` on ``/`` and ``/config``).
- ``/gradio_api/upload`` is refused unless the browser holds a live console session (only the console
  uploads; anonymous files would only fill the disk).
- ``file=``/``proxy=`` with a URL are refused (Gradio answers them with a redirect: an open redirect).
- A request body is bounded (``MAX_BODY_BYTES``; uploads by ``max_file_size``): a huge chat history or
  JSON costs memory and CPU before any handler can check it.
- Security headers on every answer: CSP with ``frame-ancestors 'none'`` and X-Frame-Options (no
  framing, no clickjacking), nosniff, ``Referrer-Policy: no-referrer`` (the session hash in a URL never
  leaks to another site), and an optional Host allow-list (``NPCQA_ALLOWED_HOSTS``, DNS rebinding).
"""
from __future__ import annotations

import hashlib
import json
import secrets
from http.cookies import SimpleCookie
from typing import Any, Callable
from urllib.parse import parse_qs, unquote

BROWSER_COOKIE = "npcqa_browser"
COOKIE_MAX_AGE = 8 * 3600  # as long as the longest console session (web.sessions.SESSION_MAX)
# The largest non-upload request body: the chat history the page sends back grows with the chat
# (rendered answers are ~5–30 KB each, the page keeps web.chat.MAX_HISTORY_MESSAGES of them).
MAX_BODY_BYTES = 4 * 1024 * 1024
API_PREFIX = "/gradio_api"
# Gradio's page needs inline scripts/styles and eval (its Svelte runtime and the theme); everything
# else comes from this server only. connect-src 'self' keeps SSE/fetch to this origin.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' data: blob:; connect-src 'self'; "
       "worker-src 'self' blob:; frame-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
MSG_DEEP_LINK = "此应用不提供会话分享链接（deep link）。"
MSG_UPLOAD = "上传文件需要先登录管理控制台。"
MSG_REDIRECT = "不支持通过此地址访问外部网站。"
MSG_TOO_LARGE = "请求内容过大（上限 {mb} MB）：请缩短问题或点“新对话”后再试。"
MSG_HOST = "不允许的访问地址（Host）：请使用管理员配置的地址访问。"


def browser_id(raw: str | None) -> str:
    """The stored form of a browser cookie (its SHA-256): the raw value is never kept server-side."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest() if raw else ""


def _cookie(headers: dict[str, str]) -> str:
    c = SimpleCookie()
    try:
        c.load(headers.get("cookie", ""))
    except Exception:  # noqa: BLE001 — a malformed Cookie header means no cookie
        return ""
    m = c.get(BROWSER_COOKIE)
    value = m.value if m else ""
    return value if 20 <= len(value) <= 100 else ""


class Client(str):
    """The client of a Gradio request: the TCP peer address (the ``str`` value, used in audit lines)
    plus the hashed browser cookie and the page's session hash. Console sessions compare all of the
    address and the browser, so a token is useless from another browser even behind the same NAT."""

    browser: str = ""
    page: str = ""

    def __new__(cls, ip: str, browser: str = "", page: str = ""):
        obj = super().__new__(cls, ip)
        obj.browser, obj.page = browser, page
        return obj


def client_of(request: Any) -> Client:
    """``Client`` of a ``gr.Request`` (a forwarded-for header is not trusted: it can be forged)."""
    client = getattr(request, "client", None)
    ip = str(getattr(client, "host", "") or "unknown")
    cookies = {}
    try:
        cookies = dict(getattr(request, "cookies", {}) or {})
    except Exception:  # noqa: BLE001
        pass
    raw = cookies.get(BROWSER_COOKIE, "")
    raw = raw if 20 <= len(raw) <= 100 else ""
    return Client(ip, browser_id(raw), str(getattr(request, "session_hash", "") or ""))


def allowed_hosts_from(text: str | None) -> set[str]:
    return {h.strip().lower() for h in (text or "").split(",") if h.strip()}


def _hostname(host_header: str) -> str:
    h = host_header.strip().lower()
    if h.startswith("["):  # [::1]:7860
        return h[1:h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


class SecurityMiddleware:
    """Pure ASGI (streams and SSE pass through untouched). ``has_console_session(browser_id)`` says
    whether a browser holds a live console session (for uploads)."""

    def __init__(self, app, has_console_session: Callable[[str], bool] = lambda b: False,
                 allowed_hosts: set[str] | None = None, max_body: int = MAX_BODY_BYTES,
                 max_upload: int | None = None):
        self.app = app
        self.has_console_session = has_console_session
        self.allowed_hosts = set(allowed_hosts or ())
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        path = scope.get("path", "")
        root = scope.get("root_path", "") or ""
        if root and path.startswith(root):
            path = path[len(root):]
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        raw = _cookie(headers)
        new_cookie = "" if raw else secrets.token_urlsafe(32)

        refusal = self._refusal(path, query, headers, raw, scope.get("method", "GET"))
        if refusal:
            status, msg = refusal
            return await self._reply(send, status, msg, new_cookie)

        # Uploads (console only) are bounded per file by Gradio's max_file_size; the rest here.
        limit = None if path.rstrip("/") == f"{API_PREFIX}/upload" else self.max_body
        received = 0

        async def bounded_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request" and limit:
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge()
            return message

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                hs = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-frame-options"]
                hs += SECURITY_HEADERS
                if new_cookie:
                    hs.append((b"set-cookie", _set_cookie(new_cookie)))
                message = {**message, "headers": hs}
            await send(message)

        try:
            await self.app(scope, bounded_receive, send_with_headers)
        except _TooLarge:
            await self._reply(send, 413, MSG_TOO_LARGE.format(mb=limit // (1024 * 1024)), new_cookie)

    def _refusal(self, path: str, query: dict, headers: dict, raw_cookie: str, method: str) -> tuple[int, str] | None:
        if self.allowed_hosts and _hostname(headers.get("host", "")) not in self.allowed_hosts:
            return 400, MSG_HOST
        if path.rstrip("/") == f"{API_PREFIX}/deep_link" or any(v for v in query.get("deep_link", []) if v):
            return 404, MSG_DEEP_LINK
        if path.startswith((f"{API_PREFIX}/file=", f"{API_PREFIX}/proxy=", "/file=", "/proxy=")):
            target = unquote(path.split("=", 1)[1]).strip().lower()
            if path.startswith((f"{API_PREFIX}/proxy=", "/proxy=")) or "://" in target or target.startswith("//"):
                return 403, MSG_REDIRECT
        if path.rstrip("/") in (f"{API_PREFIX}/upload", "/upload") and method != "GET":
            if not (raw_cookie and self.has_console_session(browser_id(raw_cookie))):
                return 403, MSG_UPLOAD
        length = headers.get("content-length", "")
        limit = None if path.rstrip("/") == f"{API_PREFIX}/upload" else self.max_body
        if limit and length.isdigit() and int(length) > limit:
            return 413, MSG_TOO_LARGE.format(mb=max(1, limit // (1024 * 1024)))
        return None

    @staticmethod
    async def _reply(send, status: int, message: str, new_cookie: str = "") -> None:
        body = json.dumps({"detail": message, "error": message}, ensure_ascii=False).encode("utf-8")
        hs = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        hs += SECURITY_HEADERS
        if new_cookie:
            hs.append((b"set-cookie", _set_cookie(new_cookie)))
        await send({"type": "http.response.start", "status": status, "headers": hs})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def _set_cookie(value: str) -> bytes:
    return (f"{BROWSER_COOKIE}={value}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Strict").encode()


def _size_bytes(text: str | int | None) -> int | None:
    if text is None:
        return None
    if isinstance(text, int):
        return text
    t = str(text).strip().lower()
    for unit, mult in (("gb", 1024 ** 3), ("mb", 1024 ** 2), ("kb", 1024), ("b", 1)):
        if t.endswith(unit):
            return int(float(t[: -len(unit)]) * mult)
    return int(t)


def middleware_kwargs(demo, settings) -> dict:
    """``app_kwargs`` for ``Blocks.launch``: FastAPI builds the middleware stack from them, before the
    first request (a middleware cannot be added to a started app)."""
    from starlette.middleware import Middleware

    console = getattr(demo, "admin_console", None)

    def has_console_session(browser: str) -> bool:
        return bool(console is not None and console.sessions.has_browser(browser))

    return {"middleware": [Middleware(SecurityMiddleware, has_console_session=has_console_session,
                                      allowed_hosts=allowed_hosts_from(getattr(settings, "allowed_hosts", "")),
                                      max_body=MAX_BODY_BYTES,
                                      max_upload=_size_bytes(getattr(demo, "max_upload", None)))]}


def launch_kwargs(demo, settings) -> dict:
    """Everything this module adds to ``Blocks.launch``: the middleware (``app_kwargs``); it also
    schedules the temp-file clean-up (``web.cleanup``), which must be set before the app is created."""
    from web import cleanup

    cleanup.start(demo)
    console = getattr(demo, "admin_console", None)
    settings = getattr(console, "settings", None) or settings
    return {"app_kwargs": middleware_kwargs(demo, settings)}
