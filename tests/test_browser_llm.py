"""LLM answers in a real browser: tokens visibly stream into the chat, then the verified answer
replaces them; a failing endpoint shows the extractive answer with its notice.

The model is the scripted OpenAI-compatible server of tests/llm_server.py (real HTTP on
127.0.0.1); the app runs in-process over the session's small real index. Screenshots:
test-artifacts/chat-llm-streaming.png and test-artifacts/chat-llm.png.
"""
from __future__ import annotations

import time

import pytest
from pydantic import SecretStr

from browser_support import ARTIFACTS, DONE, open_page, submit
from browser_support import browser  # noqa: F401  (module-scoped Chromium fixture)
from llm_server import Reply, ScriptedLLMServer
from support import serve
from test_llm import KEY, MODEL, Q, good_reply

pytestmark = pytest.mark.browser

STREAMING = "#chat .npc-streaming"


@pytest.fixture(scope="module")
def model_server():
    srv = ScriptedLLMServer(model=MODEL, require_key=KEY).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def server(engine, small_index, model_server, tmp_path_factory):
    import app
    from index.factory import build_engine

    settings = small_index.model_copy(update={
        "answer_mode": "llm", "llm_base_url": model_server.url, "llm_model": MODEL,
        "llm_api_key": SecretStr(KEY), "llm_timeout": 30.0})
    home = tmp_path_factory.mktemp("web-llm")
    demo = app.build_demo(build_engine(settings, engine=engine), feedback_path=home / "feedback.jsonl",
                          logs_dir=home / "logs")
    with serve(demo) as url:
        yield {"url": url}


@pytest.fixture
def page(browser, server):
    with open_page(browser, server["url"], height=1100, timeout_ms=45_000) as pg:
        yield pg


def wait_done(page, before: int):
    page.wait_for_function(f"document.querySelectorAll({DONE!r}).length > {before}")
    return page.locator(DONE).last


def test_tokens_stream_into_the_chat_then_the_verified_answer_replaces_them(page, model_server):
    model_server.script(Reply(text=good_reply, chunk_chars=2, chunk_delay=0.08))
    before = submit(page, Q)
    page.wait_for_selector(STREAMING)
    lengths: list[int] = []
    shot = False
    t_end = time.monotonic() + 40
    while time.monotonic() < t_end:  # watch the streaming bubble grow
        text = page.evaluate(f"(() => {{ const e = document.querySelector({STREAMING!r}); "
                             f"return e ? e.innerText : null; }})()")
        if text is None:
            break
        if not lengths or len(text) != lengths[-1]:
            lengths.append(len(text))
        if not shot and len(text) > 40:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "chat-llm-streaming.png"))
            shot = True
        time.sleep(0.15)
    assert len(lengths) >= 4 and lengths == sorted(lengths), lengths  # visibly growing, token by token
    ans = wait_done(page, before)
    assert page.locator(STREAMING).count() == 0  # the streamed text was replaced by the final answer
    body = ans.locator(".npc-body").inner_text()
    assert "根据资料" in body and ans.locator(".npc-body .npc-n").count() >= 2
    assert ans.locator("details.npc-src").count() >= 2  # the same sources panel as extractive answers
    first = ans.locator(".npc-body .npc-n").first.inner_text().strip()
    src = ans.locator(f"details.npc-src-{first}")
    src.locator("summary").click()
    assert src.locator(".npc-passage mark").first.is_visible()  # the supporting sentence is highlighted
    page.screenshot(path=str(ARTIFACTS / "chat-llm.png"))
    assert KEY not in page.content()


def test_failing_endpoint_shows_extractive_answer_with_notice(page, model_server):
    model_server.script(Reply(status=429))
    ans = wait_done(page, submit(page, Q))
    text = ans.inner_text()
    assert "大模型服务繁忙" in text and "原文摘录" in text
    assert ans.locator("details.npc-src").count() >= 1 and ans.locator(".npc-body .npc-n").count() >= 1
    model_server.script(Reply(text=lambda b: good_reply(b).replace("[2]", "[9]")))  # fabricated marker
    ans = wait_done(page, submit(page, Q))
    assert "9" not in [b.strip() for b in ans.locator(".npc-body .npc-n").all_inner_texts()]
    assert KEY not in page.content()


def test_mode_tag_says_which_mode_produced_the_answer(page, model_server):
    model_server.script(Reply(text=good_reply), Reply(status=500))
    ans = wait_done(page, submit(page, Q))
    assert ans.locator(".npc-mode-llm").count() == 1 and "大模型" in ans.locator(".npc-mode").inner_text()
    ans = wait_done(page, submit(page, Q))
    assert ans.locator(".npc-mode-extractive").count() == 1
