"""The chat in a real browser: Playwright (Python) driving Debian's Chromium.

The app runs in-process on a free localhost port over the session's small real index. Every
request the page makes must stay on 127.0.0.1 (no CDN, no web fonts, no analytics).
A screenshot of an answered question is saved to test-artifacts/chat.png (and docs/screenshot-chat.png).
"""
from __future__ import annotations

import re
import shutil
import time

import pytest

from browser_support import ARTIFACTS, ask, open_page
from browser_support import browser  # noqa: F401  (module-scoped Chromium fixture)
from support import REPO, serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(engine, tmp_path_factory):
    import app

    home = tmp_path_factory.mktemp("web")
    demo = app.build_demo(engine, feedback_path=home / "feedback.jsonl", logs_dir=home / "logs")
    with serve(demo) as url:
        yield {"url": url, "feedback": home / "feedback.jsonl"}


@pytest.fixture
def page(browser, server):
    with open_page(browser, server["url"], clipboard=True) as pg:
        yield pg


def test_answer_sources_highlight_copy_and_screenshot(page, server):
    t0 = time.perf_counter()
    ans = ask(page, "人大代表在闭会期间可以开展哪些活动？")
    assert time.perf_counter() - t0 < 20
    sources = ans.locator("details.npc-src")
    assert sources.count() >= 1
    # [n] in the answer maps to the source with the same badge
    first_marker = ans.locator(".npc-body .npc-n").first.inner_text().strip()
    assert first_marker.isdigit()
    source = ans.locator(f"details.npc-src-{first_marker}")
    assert source.count() == 1 and source.locator("summary .npc-n").inner_text().strip() == first_marker
    # expand a source: the full passage with the quoted sentences highlighted
    src = sources.first
    passage = src.locator(".npc-passage")
    assert not passage.is_visible()
    src.locator("summary").click()
    passage.wait_for(state="visible")
    mark = passage.locator("mark").first
    assert mark.is_visible() and len(mark.inner_text()) > 5
    summary = src.locator("summary").inner_text()
    assert re.search(r"\d{4}-\d{2}-\d{2}", summary) and any(k in summary for k in ("法律", "意见", "地方实践"))
    if "法律" in summary:  # law sources: 《代表法》第N条 … 现行有效
        assert re.search(r"《.+》第.+条", summary) and "现行有效" in summary
    # screenshot of the answered question (look at it!)
    page.set_viewport_size({"width": 1400, "height": 1200})  # the chat grows with the window: all fits
    page.evaluate("window.scrollTo(0, 0)")  # the page is the chat's one scroll: from the header down
    time.sleep(0.3)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"))
    (REPO / "docs").mkdir(exist_ok=True)
    shutil.copy(ARTIFACTS / "chat.png", REPO / "docs" / "screenshot-chat.png")
    # copy: answer + 参考依据 in plain text
    page.click("#copy")
    page.wait_for_function("document.querySelector('#copy').innerText.includes('已复制')")
    clip = page.evaluate("navigator.clipboard.readText()")
    assert "参考依据：" in clip and "[1]" in clip and "<" not in clip
    # feedback: the rating is recorded at once, then the comment box opens for an optional comment
    page.click("#thumbs-up")
    page.wait_for_function("document.querySelector('#feedback-status').innerText.includes('已记录')")
    assert '"rating": "up"' in server["feedback"].read_text(encoding="utf-8")
    page.fill("#feedback-comment textarea", "清楚")
    page.click("#feedback-send")
    page.wait_for_function("document.querySelector('#feedback-status').innerText.includes('已收到您的意见')")
    assert '"comment": "清楚"' in server["feedback"].read_text(encoding="utf-8")
    # Chinese is drawn with a CJK system font (not tofu boxes): ask Chromium which fonts it used
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "#header h1"})["nodeId"]
    used = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    assert any("CJK" in f["familyName"] for f in used), used


def test_kind_filter_changes_source_kinds(page):
    ans = ask(page, "如何发挥人大代表作用")
    assert "法律" in ans.locator(".npc-kind").all_inner_texts()
    page.locator("#kind-filter label", has_text="法律").click()
    page.locator("#kind-filter label", has_text="意见").click()
    ans = ask(page, "如何发挥人大代表作用")
    kinds = ans.locator("details.npc-src .npc-kind").all_inner_texts()
    assert kinds and set(kinds) == {"地方实践"}
    assert "只看地方实践" in ans.inner_text()


def test_traditional_question_cites_traditional_report(page):
    ans = ask(page, "平涼縣鄉人大如何推動代表活動經常化？")
    titles = ans.locator("details.npc-src .npc-title").all_inner_texts()
    assert titles and "平涼" in titles[0]


def test_script_in_document_is_shown_as_text(page):
    ans = ask(page, "代表联络站星级评比")
    text = ans.inner_text()
    assert "<script>alert('xss')</script>" in text
    assert "<b>十二个</b>" in text
    assert page.locator("#chat script").count() == 0
    ans.locator("details.npc-src").first.locator("summary").click()
    time.sleep(0.3)
    assert page.dialogs == []


def test_refusal_empty_and_long_input(page):
    ans = ask(page, "今天天气怎么样")
    assert ans.locator(".npc-refusal").is_visible()
    assert "未找到可靠依据" in ans.inner_text() and "最接近的文档" in ans.inner_text()
    ans = ask(page, "")
    assert "请先输入问题" in ans.inner_text()
    ans = ask(page, "问" * 2001)
    assert "问题太长" in ans.inner_text()
    ans = ask(page, "监督法第十条规定了什么？")  # the app is still up
    assert ans.locator("details.npc-src").count() >= 1


def test_three_outcomes_look_different(browser, small_index, tmp_path):
    """Confident answer, cautious answer (its own box, above the passages) and refusal, side by side.

    The engine is the real one; only its confident threshold is raised to 1.0, so that every answer
    that is not an exact article lookup comes out cautious and the middle outcome is exercised
    whatever the fitted model would say of this question."""
    import dataclasses

    import app
    from index.engine import Engine

    eng = Engine.from_settings(small_index)
    eng.relevance_model = dataclasses.replace(eng.relevance_model, high=1.0, conservative=False)
    demo = app.build_demo(eng, feedback_path=tmp_path / "fb.jsonl", logs_dir=tmp_path / "logs")
    with serve(demo) as url, open_page(browser, url) as pg:
        high = ask(pg, "监督法第十条规定了什么？")
        assert high.locator(".npc-body").is_visible()
        assert high.locator(".npc-caution").count() == 0 and high.locator(".npc-refusal").count() == 0
        low = ask(pg, "代表在闭会期间能干些什么？")
        caution = low.locator(".npc-caution")
        assert caution.is_visible() and "仅供参考" in caution.inner_text()
        assert low.locator(".npc-src").count() >= 1  # the passages are still cited
        assert "以下条文和材料可能相关" not in low.locator(".npc-body").inner_text()  # the warning is not answer text
        box = caution.bounding_box()
        assert box["y"] < low.locator(".npc-body").bounding_box()["y"]  # the warning comes first
        color = caution.evaluate("e => getComputedStyle(e).borderLeftColor")
        none = ask(pg, "今天天气怎么样？红烧肉怎么做？")
        refusal = none.locator(".npc-refusal")
        assert refusal.is_visible() and none.locator(".npc-caution").count() == 0
        assert refusal.evaluate("e => getComputedStyle(e).borderLeftColor") != color
