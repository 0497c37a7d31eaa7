"""A scripted OpenAI-compatible server for the tests (real HTTP on 127.0.0.1, standard library only).

The external LLM endpoint is a boundary we do not own, so the tests talk to this stand-in:

    server = ScriptedLLMServer(model="test-model").start()     # server.url == "http://127.0.0.1:PORT/v1"
    server.script(Reply(text="……[1]。"), Reply(status=500))     # next replies, in order
    ...
    server.stop()

Endpoints: ``GET /v1/models``; ``POST /v1/chat/completions`` with ``"stream": true`` (SSE
``data: {chunk}`` lines then ``data: [DONE]``) or without (one JSON completion). When the script is
empty the ``default`` reply is used. ``text`` may be a function of the request body (so a reply can
quote the passages the prompt carried). Every request is recorded in ``server.requests``.
"""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass
class Reply:
    text: str | Callable[[dict], str] = ""
    status: int = 200  # non-200: an OpenAI-style error body
    error: str = ""  # error message for non-200 replies
    hang: float = 0.0  # seconds to wait before answering at all
    malformed: bool = False  # stream: a chunk that is not JSON; non-stream: a body that is not JSON
    chunk_chars: int = 3  # characters per streamed chunk
    chunk_delay: float = 0.02  # seconds between chunks
    trickle: float = 0.0  # stream: after the text, keep sending empty chunks for this many seconds


class ScriptedLLMServer:
    def __init__(self, model: str = "test-model", default: Reply | None = None, require_key: str | None = None):
        self.model = model
        self.default = default or Reply(text="依据不足。")
        self.require_key = require_key  # when set, other keys get a 401 that echoes the key sent
        self.requests: list[dict[str, Any]] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.httpd: ThreadingHTTPServer | None = None

    # ---------------------------------------------------------------- control
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.clear()
            self._script.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def start(self) -> "ScriptedLLMServer":
        server = self

        class Handler(_Handler):
            owner = server

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        threading.Thread(target=self.httpd.serve_forever, name="llm-server", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; False when it is."""
        return not self._stop.wait(seconds)


class _Handler(BaseHTTPRequestHandler):
    owner: ScriptedLLMServer
    protocol_version = "HTTP/1.0"  # the connection closes after each response: no Content-Length needed

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _record(self, body: dict | None) -> None:
        self.owner.requests.append({"path": self.path, "method": self.command, "headers": dict(self.headers),
                                    "body": body})

    def _json(self, status: int, obj: Any) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        key = self.owner.require_key
        sent = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if key is None or sent == key:
            return True
        self._json(401, {"error": {"message": f"Incorrect API key provided: {sent}", "type": "invalid_request_error",
                                   "code": "invalid_api_key"}})
        return False

    def do_GET(self) -> None:  # noqa: N802
        self._record(None)
        if not self.path.rstrip("/").endswith("/models"):
            self._json(404, {"error": {"message": "not found"}})
            return
        if self._authorized():
            self._json(200, {"object": "list", "data": [{"id": self.owner.model, "object": "model", "owned_by": "test"}]})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        self._record(body)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": "not found"}})
            return
        if not self._authorized():
            return
        reply = self.owner.next_reply()
        if reply.hang and not self.owner.sleep(reply.hang):
            return
        if reply.status != 200:
            self._json(reply.status, {"error": {"message": reply.error or f"scripted HTTP {reply.status}",
                                                "type": "server_error", "code": reply.status}})
            return
        text = reply.text(body) if callable(reply.text) else reply.text
        try:
            if body.get("stream"):
                self._stream(reply, text)
            else:
                self._complete(reply, text)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (deadline): fine
            pass

    def _complete(self, reply: Reply, text: str) -> None:
        if reply.malformed:
            data = b'{"id": "x", "choices": [ {"message": '
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self._json(200, {
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": self.owner.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(text), "total_tokens": 10 + len(text)},
        })

    def _chunk(self, delta: dict, finish: str | None = None) -> bytes:
        obj = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()),
               "model": self.owner.model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n".encode("utf-8")

    def _stream(self, reply: Reply, text: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        w = self.wfile
        w.write(self._chunk({"role": "assistant", "content": ""}))
        w.flush()
        step = max(1, reply.chunk_chars)
        for i in range(0, len(text), step):
            if not self.owner.sleep(reply.chunk_delay):
                return
            w.write(self._chunk({"content": text[i: i + step]}))
            w.flush()
            if reply.malformed and i == 0:
                w.write(b'data: {"id": "chatcmpl-test", "choices": [ {"delta": {"content": "\xe5\x8d\n\n')
                w.write(b"data: this is not json\n\n")
                w.flush()
        end = time.monotonic() + reply.trickle
        while time.monotonic() < end:  # tokens that never end: only a wall-clock guard stops this
            if not self.owner.sleep(0.3):
                return
            w.write(self._chunk({"content": ""}))
            w.flush()
        w.write(self._chunk({}, finish="stop"))
        w.write(b"data: [DONE]\n\n")
        w.flush()
