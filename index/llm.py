"""The client of an optional OpenAI-compatible LLM endpoint (vLLM, Ollama, LM Studio, …).

``LLMClient`` is one configured endpoint: the llama-index client (``OpenAILike``,
``is_chat_model=True``, ``max_retries=0``; llama-index's global ``Settings`` are never touched), a
cached reachability probe for ``auto`` mode, and a wall-clock guard so no request waits past
``llm_timeout``. Every failure (endpoint down, timeout, 401/403, 429, 5xx, malformed reply) becomes an
``LLMFailure`` with a short Chinese ``notice`` (``NOTICES``) the answer shows when it falls back.

The API key comes from settings/env only; it is never logged, never put into an Answer, notice
or exception text (anything derived from the endpoint's error messages is scrubbed). Used by the
LLM answers (``index.llm_answer``) and the question-bank writer (``ingest.bank``).
"""
from __future__ import annotations

import logging
import queue
import re
import threading
import time
from typing import Iterator
from urllib.parse import urlparse

from npcqa.settings import Settings

log = logging.getLogger("npcqa.llm")

CONTEXT_WINDOW = 8192  # tokens; the prompt is ≤ 5 passages × 1200 characters (index.prompt.PASSAGE_CHARS)
PROBE_TTL = 60.0  # seconds a reachability result is trusted in auto mode
PROBE_TIMEOUT = 3.0  # seconds at most for the reachability probe (a local server answers in milliseconds)
PLACEHOLDER_KEY = "none"  # many local servers need no key, but the client insists on one
LOG_ERROR_CHARS = 300  # of an endpoint's error message in the log: enough to diagnose, not a whole HTML page

FALLBACK = "，以下为原文摘录回答。"
NOTICES = {
    "unconfigured": "未配置大模型接口（NPCQA_LLM_BASE_URL、NPCQA_LLM_MODEL）" + FALLBACK,
    "unreachable": "大模型服务暂不可用" + FALLBACK,
    "down": "无法连接大模型服务" + FALLBACK,
    "timeout": "大模型服务超时（{timeout:g} 秒）" + FALLBACK,
    "auth": "大模型服务拒绝访问（密钥无效或无权限）" + FALLBACK,
    "rate": "大模型服务繁忙（请求过多）" + FALLBACK,
    "http": "大模型服务出错（HTTP {status}）" + FALLBACK,
    "malformed": "大模型返回的数据格式异常" + FALLBACK,
    "empty": "大模型未返回内容" + FALLBACK,
    "error": "大模型调用失败" + FALLBACK,
    "declined": "大模型认为所给资料不足以回答" + FALLBACK,
    "unverified": "大模型回答只有 {kept}/{sentences} 句能在所引原文中核实" + FALLBACK,
    "partial": "已删除 {dropped} 句无法在所引原文中核实的内容。",
}


class LLMFailure(Exception):
    """A failed LLM call, already classified; ``str()`` is safe to show (never holds the key)."""

    def __init__(self, reason: str, notice: str):
        super().__init__(notice)
        self.reason = reason
        self.notice = notice


# ------------------------------------------------------------------------------------ client
def normalize_base_url(url: str) -> str:
    """``http://host:8000`` → ``http://host:8000/v1`` (a bare host is the commonest mistake)."""
    url = url.strip().rstrip("/")
    return url + "/v1" if urlparse(url).path in ("", "/") else url


class LLMClient:
    """One configured endpoint: the llama-index client, a cached reachability probe, the deadline guard."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.base_url = normalize_base_url(settings.llm_base_url) if settings.llm_base_url else ""
        self.model = settings.llm_model or ""
        self._key = settings.llm_api_key  # SecretStr: unwrapped only where a request needs it
        self._llm = None
        self._lock = threading.Lock()
        self._probe: tuple[float, bool] | None = None

    def __repr__(self) -> str:
        return f"LLMClient(base_url={self.shown_url!r}, model={self.model!r})"

    @property
    def shown_url(self) -> str:
        """The endpoint for logs: without any user:password@ part."""
        return re.sub(r"//[^/@]*@", "//", self.base_url)

    @property
    def _secret(self) -> str:
        return self._key.get_secret_value() if self._key else ""

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)

    def scrub(self, text: str) -> str:
        text = str(text)
        if self._secret:
            text = text.replace(self._secret, "***")
        return re.sub(r"(?i)(bearer\s+|api[_-]?key[\"'=:\s]+)\S+", r"\1***", text)

    def _client(self):
        with self._lock:
            if self._llm is None:
                from llama_index.llms.openai_like import OpenAILike

                s = self.settings
                self._llm = OpenAILike(
                    model=self.model, api_base=self.base_url, api_key=self._secret or PLACEHOLDER_KEY,
                    is_chat_model=True, is_function_calling_model=False, context_window=CONTEXT_WINDOW,
                    max_tokens=s.llm_max_tokens, temperature=s.llm_temperature, timeout=s.llm_timeout,
                    max_retries=0, reuse_client=True,
                )
                try:
                    self._llm._get_client()  # build the HTTP client now, not inside the first timed request
                except Exception:  # noqa: BLE001 — the first request will report any real problem
                    pass
            return self._llm

    # ---------------------------------------------------------------- reachability (auto mode)
    def reachable(self) -> bool:
        """GET {base}/models, cached for PROBE_TTL seconds. Any answer but 401/403/5xx counts as up."""
        now = time.monotonic()
        if self._probe and now - self._probe[0] < PROBE_TTL:
            return self._probe[1]
        import httpx

        headers = {"Authorization": f"Bearer {self._secret or PLACEHOLDER_KEY}"}
        try:
            r = httpx.get(f"{self.base_url}/models", headers=headers, timeout=min(PROBE_TIMEOUT, self.settings.llm_timeout))
            ok = r.status_code < 500 and r.status_code not in (401, 403)
            if not ok:
                log.warning("LLM endpoint probe: HTTP %s from %s", r.status_code, self.shown_url)
        except Exception as exc:  # noqa: BLE001 — any failure means "not reachable"
            ok = False
            log.warning("LLM endpoint probe failed: %s", self.scrub(type(exc).__name__))
        self._probe = (time.monotonic(), ok)
        return ok

    def mark_down(self) -> None:
        self._probe = (time.monotonic(), False)

    # ---------------------------------------------------------------- generation
    def generate(self, messages: list[dict[str, str]], stream: bool = True) -> Iterator[str]:
        """Yield reply text pieces as they arrive. Raises LLMFailure; never runs past llm_timeout.

        The request runs in a worker thread feeding a queue; this generator waits on the queue
        with the remaining time, so a server that hangs, or trickles tokens forever, is cut off at
        the deadline (the worker then ends by itself at the client's own timeout)."""
        try:
            from llama_index.core.llms import ChatMessage

            llm = self._client()  # import and build before the clock starts (first call: a few seconds)
            msgs = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        except Exception as exc:  # noqa: BLE001 — a broken client setup falls back like any failure
            raise self.classify(exc) from None
        deadline = time.monotonic() + float(self.settings.llm_timeout)
        q: queue.Queue = queue.Queue()
        cancelled = threading.Event()

        def work() -> None:
            try:
                if stream:
                    for r in llm.stream_chat(msgs):
                        if cancelled.is_set():
                            return
                        if r.delta:
                            q.put(("delta", r.delta))
                else:
                    r = llm.chat(msgs)
                    q.put(("delta", r.message.content or ""))
                q.put(("done", None))
            except BaseException as exc:  # noqa: BLE001 — handed to the consumer, classified there
                q.put(("error", exc))

        threading.Thread(target=work, name="npcqa-llm", daemon=True).start()
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._failure("timeout")
                try:
                    kind, value = q.get(timeout=remaining)
                except queue.Empty:
                    raise self._failure("timeout") from None
                if kind == "delta":
                    yield value
                elif kind == "done":
                    return
                else:
                    raise self.classify(value) from None
        finally:
            cancelled.set()

    def _failure(self, reason: str, status: int | None = None) -> LLMFailure:
        notice = NOTICES.get(reason, NOTICES["error"]).format(timeout=self.settings.llm_timeout, status=status)
        return LLMFailure(reason, notice)

    def classify(self, exc: BaseException) -> LLMFailure:
        """Map client exceptions to a reason and a short Chinese notice; log a scrubbed line."""
        import json

        import httpx
        import openai

        status = getattr(exc, "status_code", None)
        if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException)):
            reason = "timeout"
        elif isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            reason = "malformed" if isinstance(cause, httpx.RemoteProtocolError) else "down"
        elif isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
            reason = "auth"
        elif isinstance(exc, openai.RateLimitError):
            reason = "rate"
        elif isinstance(exc, openai.APIStatusError):
            reason = "http"
        elif isinstance(exc, (json.JSONDecodeError, openai.APIResponseValidationError, KeyError, IndexError,
                              TypeError, AttributeError, ValueError, httpx.RemoteProtocolError,
                              httpx.DecodingError)):
            reason = "malformed"
        elif isinstance(exc, httpx.TransportError):
            reason = "down"
        elif isinstance(exc, openai.APIError):  # an error event inside the stream
            reason = "http" if status else "malformed"
        else:
            reason = "error"
        log.warning("LLM call to %s failed (%s%s): %s", self.shown_url, reason, f", HTTP {status}" if status else "",
                    self.scrub(f"{type(exc).__name__}: {str(exc)[:LOG_ERROR_CHARS]}"))
        return self._failure(reason, status)
