"""Optional LLM answers through an OpenAI-compatible endpoint (vLLM, Ollama, LM Studio, …).

    engine = build_engine(settings)            # Engine; answers with the LLM when answer_mode is llm/auto
    ans = engine.answer("代表建议多长时间内答复？")  # Answer(mode="llm" | "extractive", verification=…)
    for kind, payload in engine.ask_stream(q):  # ("delta", token text)… then ("final", Answer)
        ...

The LLM sees the same retrieved passages as the extractive answer (numbered [1]..[k], laws with
their 法名 第N条) and must end every sentence with ``[n]`` markers. Its reply is then checked by
``index.verify``: markers pointing to no passage or to a passage that does not support the
sentence are removed, unsupported sentences are dropped, and when fewer than half survive the
extractive answer is returned instead, with a short ``notice`` saying why. Endpoint down,
timeout, 401/403, 429, 5xx, malformed or empty replies all fall back the same way; a wall-clock
guard makes sure no request waits past ``llm_timeout``.

The API key comes from settings/env only; it is never logged, never put into an Answer, notice
or exception text (anything derived from the endpoint's error messages is scrubbed).
Client: llama-index's ``OpenAILike`` (``is_chat_model=True``, ``max_retries=0``); llama-index's
global ``Settings`` are never touched.
"""
from __future__ import annotations

import copy
import logging
import queue
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import urlparse

from index.answer import locator_label, make_citation
from index.relevance import CAUTION_TEXT, LOW
from index.verify import Passage, clean_reply, strip_think, term_share, verify_answer
from npcqa.settings import Settings
from npcqa.text import match_form, split_sentences
from npcqa.types import Answer, Chunk

log = logging.getLogger("npcqa.llm")

CONTEXT_WINDOW = 8192  # tokens; the prompt is ≤ 5 passages × 1200 characters
PASSAGE_CHARS = 1200
PROBE_TTL = 60.0  # seconds a reachability result is trusted in auto mode
PLACEHOLDER_KEY = "none"  # many local servers need no key, but the client insists on one

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

SYSTEM_PROMPT = ("你是人大工作问答助手。你只能依据用户提供的编号资料回答问题，不得使用资料以外的知识，"
                 "不得编造法律条文、条号、数字、日期或地方做法。")
INSTRUCTIONS = """要求：
1. 用简洁的简体中文回答，一般不超过 5 句，只写资料中明确写到的内容。
2. 每句话末尾用方括号编号标注依据的资料，例如“……在常务委员会举行会议的十日前送交常务委员会[1]。”；一句话依据多条资料时写 [1][2]。只能使用上面出现过的编号。
3. 引用法律时写明法律名称和条号（如《监督法》第十五条）；数字、期限、条号必须与资料原文完全一致。
4. 如果资料不能回答这个问题，只回答“依据不足”，并用一句话说明资料缺少什么，不要猜测。
5. 不要使用 Markdown 格式，不要写资料以外的评论、建议或总结。"""


class LLMFailure(Exception):
    """A failed LLM call, already classified; ``str()`` is safe to show (never holds the key)."""

    def __init__(self, reason: str, notice: str):
        super().__init__(notice)
        self.reason = reason
        self.notice = notice


# ------------------------------------------------------------------------------------ prompt
def passage_header(c: Chunk) -> str:
    if c.kind == "law":
        return locator_label(c)  # 《监督法》第十五条（第二章 听取和审议专项工作报告）
    head = c.title if not c.locator else f"{c.title}（{c.locator}）"
    return head + (f"，{c.region}" if c.region and c.region not in c.title else "")


def build_messages(question: str, top: list[tuple[Chunk, float]]) -> tuple[list[dict[str, str]], list[Passage]]:
    """Chat messages (system + user) numbering the passages [1]..[k], and the passages to verify against."""
    passages, blocks = [], []
    for n, (c, _s) in enumerate(top, 1):
        text = c.text if len(c.text) <= PASSAGE_CHARS else c.text[:PASSAGE_CHARS] + "……"
        blocks.append(f"[{n}] {passage_header(c)}\n{text}")
        passages.append(Passage(n=n, text=text, title=c.title, locator=locator_label(c), heading_path=c.heading_path))
    user = "资料：\n\n" + "\n\n".join(blocks) + f"\n\n问题：{question}\n\n" + INSTRUCTIONS
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}], passages


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
            r = httpx.get(f"{self.base_url}/models", headers=headers, timeout=min(3.0, self.settings.llm_timeout))
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
                    self.scrub(f"{type(exc).__name__}: {str(exc)[:300]}"))
        return self._failure(reason, status)


# ------------------------------------------------------------------------------------ answering
def llm_for(engine) -> tuple[LLMClient | None, str]:
    """(client, "") when this request should use the LLM, else (None, notice or "")."""
    s = engine.settings
    if s.answer_mode == "extractive":
        return None, ""
    client = getattr(engine, "llm", None)
    if client is None or client.settings is not s:
        client = engine.llm = LLMClient(s)
    if not client.configured:
        return None, (NOTICES["unconfigured"] if s.answer_mode == "llm" else "")
    if s.answer_mode == "auto" and not client.reachable():
        return None, NOTICES["unreachable"]
    return client, ""


@dataclass
class _Visible:
    """Streams only what the user should see: no <think>…</think> reasoning block."""

    raw: str = ""
    shown: str = ""

    def add(self, piece: str) -> str:
        self.raw += piece
        vis = strip_think(self.raw)
        hold = next((k for k in range(min(len(vis), 6), 0, -1) if "<think>".startswith(vis[-k:])), 0)
        vis = vis[: len(vis) - hold] if hold else vis
        if not vis.startswith(self.shown):
            return ""
        new, self.shown = vis[len(self.shown):], vis
        return new


def answer_events(engine, question: str, filters=None, history=None, stream: bool = True) -> Iterator[tuple[str, Any]]:
    """``("delta", text)``… then ``("final", Answer)`` — the LLM path of ``Engine.ask_stream``/``answer``."""
    prep = engine.prepare(question, filters=filters, history=history)
    if prep.refused or prep.lookup:  # a refusal stands, and a looked-up article is quoted whole: no LLM call
        yield from _extractive_events(engine, prep, "")
        return
    client, notice = llm_for(engine)
    if client is None:
        yield from _extractive_events(engine, prep, notice)
        return
    messages, passages = build_messages(prep.query_text, prep.top)
    t0 = time.perf_counter()
    pieces: list[str] = []
    visible = _Visible()
    streamed = False
    try:
        for piece in client.generate(messages, stream=stream):
            pieces.append(piece)
            if stream:
                shown = visible.add(piece)
                if shown:
                    streamed = True
                    yield "delta", shown
    except LLMFailure as f:
        if engine.settings.answer_mode == "auto" and f.reason in ("down", "timeout", "auth"):
            client.mark_down()
        llm_ms = round((time.perf_counter() - t0) * 1000, 1)
        yield from _extractive_events(engine, prep, f.notice, quiet=streamed, llm_ms=llm_ms)
        return
    llm_ms = round((time.perf_counter() - t0) * 1000, 1)
    reply = "".join(pieces)
    if not clean_reply(reply).strip():
        log.warning("LLM reply from %s was empty", client.shown_url)
        yield from _extractive_events(engine, prep, NOTICES["empty"], quiet=streamed, llm_ms=llm_ms)
        return
    v = verify_answer(reply, passages)
    log.info("LLM answer verified: %s of %s sentences kept, %s markers dropped", v.kept, v.sentences,
             v.dropped_markers)
    if v.declined or not v.passed:
        why = NOTICES["declined"] if v.declined else NOTICES["unverified"].format(kept=v.kept, sentences=v.sentences)
        yield from _extractive_events(engine, prep, why, quiet=streamed, verification=v.to_json(), llm_ms=llm_ms)
        return
    citations = [make_citation(n, c, s) for n, (c, s) in enumerate(prep.top, 1)]
    _set_quotes(citations, v)
    dropped = v.sentences - v.kept
    text = f"{CAUTION_TEXT}\n{v.text}" if prep.confidence == LOW else v.text
    ans = Answer(question=prep.question, answer=text, refused=False, citations=citations, mode="llm",
                 notice=NOTICES["partial"].format(dropped=dropped) if dropped else "", verification=v.to_json(),
                 confidence=prep.confidence)
    ans.timings_ms = {**prep.timings(), "answer": round((time.perf_counter() - prep.t1) * 1000, 1), "llm": llm_ms}
    ans.relevance = prep.rel.to_json()
    yield "final", ans


def _extractive_events(engine, prep, notice: str, quiet: bool = False, verification: dict | None = None,
                       llm_ms: float | None = None) -> Iterator[tuple[str, Any]]:
    ans = engine.extractive_answer(prep)
    ans.notice = notice or ans.notice  # keep a lookup miss's own notice (which law was not found)
    ans.verification = verification
    if llm_ms is not None:
        ans.timings_ms["llm"] = llm_ms
    if not quiet:  # after streamed LLM text the UI just replaces it with the final answer
        for line in ans.answer.splitlines(keepends=True):
            yield "delta", line
    yield "final", ans


def _set_quotes(citations, v) -> None:
    """Each cited passage's quote = its sentences closest to the answer sentences citing it (for highlighting)."""
    by_n = {c.n: c for c in citations}
    picked: dict[int, set[int]] = {}
    for chk in v.checks:
        for n in chk.kept_markers:
            c = by_n.get(n)
            if c is None:
                continue
            sents = split_sentences(c.text)
            scored = [(term_share(chk.body, match_form(s)), i) for i, s in enumerate(sents)]
            best = max(scored, default=(0.0, -1))
            if best[0] > 0:
                picked.setdefault(n, set()).add(best[1])
    for n, idx in picked.items():
        sents = split_sentences(by_n[n].text)
        by_n[n].quote = "".join(sents[i] for i in sorted(idx))


# ------------------------------------------------------------------------------------ entry point
def build_engine(settings: Settings, engine=None):
    """The engine that answers with ``settings`` (answer mode, endpoint, model).

    Without ``engine``, loads one from settings. With one (e.g. the eval harness's), returns a view
    sharing its model, store and indexes but using ``settings`` for answering."""
    from index.engine import Engine

    if engine is None:
        engine = Engine.from_settings(settings)
    elif engine.settings is not settings:
        view = copy.copy(engine)
        view.settings = settings
        view.llm = None
        engine = view
    if settings.answer_mode != "extractive":
        engine.llm = LLMClient(settings)
    return engine
