"""LLM answers whose every sentence is checked against the passages it cites (``answer_mode`` llm/auto).

    engine = build_engine(settings)                # index.factory: LLMAnswerer when answer_mode is llm/auto
    ans = engine.answer("代表建议多长时间内答复？")  # Answer(mode="llm" | "extractive", verification=…)
    for kind, payload in engine.answer_stream(q):  # ("delta", token text)… then ("final", Answer)
        ...

``LLMAnswerer`` is one of the two answering strategies (``index.prepared.Answerer``). The model sees
the same retrieved passages as the extractive answer (``index.prompt``) and must end every sentence
with ``[n]`` markers. Its reply is then checked by ``index.verify``: markers pointing to no passage or
to a passage that does not support the sentence are removed, unsupported sentences are dropped, and
when fewer than half survive the extractive answer is returned instead, with a short ``notice``
saying why. A refusal stands and a looked-up article is quoted whole: neither calls the model. Any
failure of the endpoint (``index.llm.LLMFailure``) falls back the same way.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Iterator

from index.answer import ExtractiveAnswerer, make_citation
from index.coverage import term_share
from index.llm import NOTICES, LLMClient, LLMFailure
from index.prepared import Event, Prepared
from index.prompt import build_messages
from index.relevance import CAUTION_TEXT, LOW
from index.verify import clean_reply, strip_think, verify_answer
from npcqa.settings import Settings
from npcqa.text import match_form, split_sentences
from npcqa.types import Answer

log = logging.getLogger("npcqa.llm")

# In auto mode these failures mark the endpoint down for ``index.llm.PROBE_TTL`` (the next questions
# go straight to the extractive answer); a rate limit or a bad reply is a one-off.
MARK_DOWN_REASONS = ("down", "timeout", "auth")
# Longest prefix of "<think>" that can end a streamed piece: held back until the next piece says
# whether a reasoning block starts there.
_THINK_TAG_CHARS = len("<think>") - 1


class LLMAnswerer:
    """Answers through ``client`` (built from ``settings``), falling back to ``extractive``."""

    def __init__(self, settings: Settings, extractive: ExtractiveAnswerer | None = None,
                 client: LLMClient | None = None):
        self.settings = settings
        self.client = client or LLMClient(settings)
        self.extractive = extractive or ExtractiveAnswerer()

    def __repr__(self) -> str:
        return f"LLMAnswerer(mode={self.settings.answer_mode!r}, client={self.client!r})"

    def answer(self, p: Prepared) -> Answer:
        final = None
        for kind, payload in self._events(p, stream=False):
            if kind == "final":
                final = payload
        return final

    def stream(self, p: Prepared) -> Iterator[Event]:
        yield from self._events(p, stream=True)

    def _usable_client(self) -> tuple[LLMClient | None, str]:
        """(client, "") when this request should use the LLM, else (None, notice or "")."""
        s = self.settings
        if s.answer_mode == "extractive":
            return None, ""
        if not self.client.configured:
            return None, (NOTICES["unconfigured"] if s.answer_mode == "llm" else "")
        if s.answer_mode == "auto" and not self.client.reachable():
            return None, NOTICES["unreachable"]
        return self.client, ""

    def _events(self, prep: Prepared, stream: bool) -> Iterator[Event]:
        if prep.refused or prep.lookup:  # a refusal stands, and a looked-up article is quoted whole: no LLM call
            yield from self._fallback(prep, "")
            return
        client, notice = self._usable_client()
        if client is None:
            yield from self._fallback(prep, notice)
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
            if self.settings.answer_mode == "auto" and f.reason in MARK_DOWN_REASONS:
                client.mark_down()
            llm_ms = round((time.perf_counter() - t0) * 1000, 1)
            yield from self._fallback(prep, f.notice, quiet=streamed, llm_ms=llm_ms)
            return
        llm_ms = round((time.perf_counter() - t0) * 1000, 1)
        reply = "".join(pieces)
        if not clean_reply(reply).strip():
            log.warning("LLM reply from %s was empty", client.shown_url)
            yield from self._fallback(prep, NOTICES["empty"], quiet=streamed, llm_ms=llm_ms)
            return
        v = verify_answer(reply, passages)
        log.info("LLM answer verified: %s of %s sentences kept, %s markers dropped", v.kept, v.sentences,
                 v.dropped_markers)
        if v.declined or not v.passed:
            why = NOTICES["declined"] if v.declined else NOTICES["unverified"].format(kept=v.kept,
                                                                                      sentences=v.sentences)
            yield from self._fallback(prep, why, quiet=streamed, verification=v.to_json(), llm_ms=llm_ms)
            return
        citations = [make_citation(n, c, s) for n, (c, s) in enumerate(prep.top, 1)]
        _set_quotes(citations, v)
        dropped = v.sentences - v.kept
        text = f"{CAUTION_TEXT}\n{v.text}" if prep.confidence == LOW else v.text
        ans = Answer(question=prep.question, answer=text, refused=False, citations=citations, mode="llm",
                     notice=NOTICES["partial"].format(dropped=dropped) if dropped else "", verification=v.to_json(),
                     confidence=prep.confidence)
        ans.timings_ms = {**prep.timings(), "answer": round((time.perf_counter() - prep.t1) * 1000, 1),
                          "llm": llm_ms}
        ans.relevance = prep.rel.to_json()
        yield "final", ans

    def _fallback(self, prep: Prepared, notice: str, quiet: bool = False, verification: dict | None = None,
                  llm_ms: float | None = None) -> Iterator[Event]:
        """The extractive answer with ``notice`` (why there is no LLM answer)."""
        ans = self.extractive.answer(prep)
        ans.notice = notice or ans.notice  # keep a lookup miss's own notice (which law was not found)
        ans.verification = verification
        if llm_ms is not None:
            ans.timings_ms["llm"] = llm_ms
        if not quiet:  # after streamed LLM text the UI just replaces it with the final answer
            for line in ans.answer.splitlines(keepends=True):
                yield "delta", line
        yield "final", ans


@dataclass
class _Visible:
    """Streams only what the user should see: no <think>…</think> reasoning block."""

    raw: str = ""
    shown: str = ""

    def add(self, piece: str) -> str:
        self.raw += piece
        vis = strip_think(self.raw)
        hold = next((k for k in range(min(len(vis), _THINK_TAG_CHARS), 0, -1) if "<think>".startswith(vis[-k:])), 0)
        vis = vis[: len(vis) - hold] if hold else vis
        if not vis.startswith(self.shown):
            return ""
        new, self.shown = vis[len(self.shown):], vis
        return new


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
