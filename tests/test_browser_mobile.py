"""The chat on a phone (390 × 844) and on a desktop (1280 × 900), in real Chromium over the real app/engine.

On both widths: the question box is in the first viewport; after a question, the first line of the answer
is in view (not under the sticky question box) and the page is the one scrollable area (no inner scroll
box); no horizontal scroll. On the phone the filter panel ("筛选与示例") is folded, touch targets are
≥ 44 px, answer text is ≥ 16 px, the four action buttons share one row and the comment box appears only
after 有用/没用. Phone screenshots (first screen, answered question) are saved to docs/screenshot-chat-phone*.png.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import time

import pytest

from browser_support import ARTIFACTS, DONE, ask, open_page
from browser_support import browser  # noqa: F401  (module-scoped Chromium fixture)
from support import REPO, serve

pytestmark = pytest.mark.browser

PHONE = (390, 844)
DESKTOP = (1280, 900)
QUESTION = "代表建议多长时间内要答复？"
# the first line of a finished answer: the caution/refusal head, else the first answer line
FIRST_LINE = ".npc-caution-head, .npc-refusal-head, .npc-body .npc-line, .npc-notice"
SCROLLERS_JS = """() => [...document.querySelectorAll('body *')].filter(e => {
  const s = getComputedStyle(e);
  const can = (v) => v === 'auto' || v === 'scroll';
  return e.clientHeight > 0 && ((can(s.overflowY) && e.scrollHeight > e.clientHeight + 1) ||
                                (can(s.overflowX) && e.scrollWidth > e.clientWidth + 1));
}).map(e => `${e.tagName} in #${e.closest('[id]')?.id}: ${e.scrollHeight}/${e.clientHeight} ${e.getAttribute('style')}`)"""


@pytest.fixture(scope="module")
def server(engine, tmp_path_factory):
    import app

    home = tmp_path_factory.mktemp("mobile")
    demo = app.build_demo(engine, feedback_path=home / "feedback.jsonl", logs_dir=home / "logs")
    with serve(demo) as url:
        yield {"url": url, "feedback": home / "feedback.jsonl"}


@contextlib.contextmanager
def sized_page(browser, url, size):
    """The app loaded afresh in a window of ``size`` (width, height): the layout decides on load."""
    with open_page(browser, url, height=size[1]) as pg:
        pg.set_viewport_size({"width": size[0], "height": size[1]})
        pg.reload()
        pg.wait_for_selector("#question textarea")
        time.sleep(0.8)  # the on-load script (opens the panel on wide screens)
        yield pg


def in_viewport(page, locator) -> dict:
    box = locator.bounding_box()
    assert box, "not rendered"
    h = page.evaluate("innerHeight")
    return {"box": box, "inside": box["y"] >= 0 and box["y"] + box["height"] <= h}


def assert_no_horizontal_scroll(page):
    sw, w = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert sw <= w, f"horizontal scroll: page is {sw} px wide in a {w} px window"


def assert_first_line_in_view(page, ans):
    line = ans.locator(FIRST_LINE).first
    v = in_viewport(page, line)
    assert v["inside"], f"the answer's first line is out of view: {v['box']}"
    box = v["box"]  # not under the sticky question box: the element at its middle belongs to the answer
    hit = page.evaluate("([x, y]) => { const e = document.elementFromPoint(x, y); "
                        "return !!(e && e.closest('.npc-msg')); }",
                        [box["x"] + min(box["width"], 40) / 2, box["y"] + box["height"] / 2])
    assert hit, "the answer's first line is covered"


def wait_scrolled(page):
    time.sleep(0.6)  # the answer is brought into view on the next animation frame


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_first_screen(browser, server, size):
    with sized_page(browser, server["url"], size) as pg:
        v = in_viewport(pg, pg.locator("#question textarea"))
        assert v["inside"], f"the question box is below the first screen: {v['box']}"
        assert pg.locator("#ask").is_visible() and in_viewport(pg, pg.locator("#ask"))["inside"]
        assert_no_horizontal_scroll(pg)
        head = pg.locator("#filters .label-wrap")
        assert head.is_visible() and "筛选与示例" in head.inner_text()
        text = pg.locator("#chat-tab").inner_text()
        assert "左侧" not in text  # texts that hold on every width
        if size == PHONE:
            assert not pg.locator("#kind-filter").is_visible()  # folded
            assert not pg.locator("#example-law").is_visible()
            assert head.bounding_box()["height"] >= 44
            # the chat comes before anything else of the panel: only the panel's one line is above it
            assert pg.locator("#chat").bounding_box()["y"] - head.bounding_box()["y"] < 80
            head.click()  # one tap opens it
            pg.locator("#kind-filter").wait_for(state="visible")
            small = pg.evaluate("""() => [...document.querySelectorAll(
                '#chat-tab button, #chat-tab summary, #kind-filter label, #chat-tab input:not([type=checkbox])')]
              .filter(e => e.offsetParent && e.getBoundingClientRect().height > 0)
              .filter(e => e.getBoundingClientRect().height < 44)
              .map(e => (e.id || e.innerText || e.className).toString().slice(0, 30))""")
            assert small == [], f"touch targets under 44 px: {small}"
            assert_no_horizontal_scroll(pg)
        else:
            pg.locator("#kind-filter").wait_for(state="visible")  # open beside the chat
            assert pg.locator("#example-law").is_visible()
            side, chat = pg.locator("#sidebar").bounding_box(), pg.locator("#chat").bounding_box()
            assert side["x"] + side["width"] <= chat["x"]  # the panel is left of the chat, as before


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_answer_first_line_in_view_one_scroll(browser, server, size):
    with sized_page(browser, server["url"], size) as pg:
        ans = ask(pg, QUESTION)
        wait_scrolled(pg)
        assert_first_line_in_view(pg, ans)
        assert pg.evaluate(SCROLLERS_JS) == []  # the page is the only scroll
        assert_no_horizontal_scroll(pg)
        sources = ans.locator("details.npc-src")
        assert sources.count() >= 1
        assert pg.evaluate("() => [...document.querySelectorAll('#chat details.npc-src')].some(d => d.open)") is False
        assert ans.locator(FIRST_LINE).first.bounding_box()["y"] < sources.first.bounding_box()["y"]  # sources under it
        # a second question: its answer is brought into view as well
        ans = ask(pg, "监督法第十条规定了什么？")
        wait_scrolled(pg)
        assert_first_line_in_view(pg, ans)
        assert pg.evaluate(SCROLLERS_JS) == []
        if size == PHONE:
            size_px = ans.locator(".npc-body .npc-line").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
            assert size_px >= 16
            boxes = [pg.locator(f"#{i}").bounding_box() for i in ("copy", "thumbs-up", "thumbs-down", "clear")]
            assert len({round(b["y"]) for b in boxes}) == 1, boxes  # one row
            assert all(b["height"] >= 44 and b["x"] >= 0 and b["x"] + b["width"] <= PHONE[0] for b in boxes), boxes


def test_feedback_comment_after_rating_on_phone(browser, server):
    with sized_page(browser, server["url"], PHONE) as pg:
        ask(pg, QUESTION)
        assert not pg.locator("#feedback-comment").is_visible()  # no comment box before a rating
        pg.click("#thumbs-down")
        pg.wait_for_function("document.querySelector('#feedback-status').innerText.includes('已记录')")
        pg.locator("#feedback-comment textarea").wait_for(state="visible")
        assert pg.locator("#feedback-send").bounding_box()["height"] >= 44
        pg.fill("#feedback-comment textarea", "没有说明闭会期间的答复期限")
        pg.click("#feedback-send")
        pg.wait_for_function("document.querySelector('#feedback-status').innerText.includes('已收到您的意见')")
        pg.locator("#feedback-comment").wait_for(state="hidden")
        recs = [json.loads(x) for x in server["feedback"].read_text(encoding="utf-8").splitlines()]
        assert [r["rating"] for r in recs[-2:]] == ["down", "down"]
        assert recs[-1]["comment"] == "没有说明闭会期间的答复期限" and recs[-1]["question"] == QUESTION
        assert_no_horizontal_scroll(pg)
        pg.click("#thumbs-up")  # one rating per answer: a second one is refused and opens no box
        pg.wait_for_function("document.querySelector('#feedback-status').innerText.includes('已经评价')")
        assert not pg.locator("#feedback-comment").is_visible()
        ask(pg, "监督法第十条规定了什么？")  # a new answer can be rated
        pg.click("#thumbs-up")
        pg.locator("#feedback-comment textarea").wait_for(state="visible")
        ask(pg, QUESTION)  # a comment box left open is closed by the next question (it was for the last answer)
        pg.locator("#feedback-comment").wait_for(state="hidden")
        pg.click("#clear")  # 新对话 with the box closed, then a rating: the box still opens
        pg.wait_for_function("document.querySelectorAll('#chat .npc-msg').length === 0")
        ask(pg, QUESTION)
        pg.click("#thumbs-up")
        pg.locator("#feedback-comment textarea").wait_for(state="visible")


def test_example_on_phone_folds_the_panel(browser, server):
    with sized_page(browser, server["url"], PHONE) as pg:
        pg.click("#filters .label-wrap", timeout=5000)
        pg.locator("#example-article").click()
        pg.wait_for_selector(DONE)
        ans = pg.locator(DONE).last
        wait_scrolled(pg)
        assert not pg.locator("#kind-filter").is_visible()
        assert_first_line_in_view(pg, ans)


def test_cautious_and_refusal_clear_on_phone(browser, small_index, tmp_path):
    """The cautious box and the refusal box at 390 px: in view, full width of the message, 16 px text.

    As in test_browser.test_three_outcomes_look_different, the real engine's confident threshold is raised
    to 1.0 so the middle outcome is exercised whatever the fitted model says of this question."""
    import dataclasses

    import app
    from index.engine import Engine

    eng = Engine.from_settings(small_index)
    eng.relevance_model = dataclasses.replace(eng.relevance_model, high=1.0, conservative=False)
    demo = app.build_demo(eng, feedback_path=tmp_path / "fb.jsonl", logs_dir=tmp_path / "logs")
    with serve(demo) as url, sized_page(browser, url, PHONE) as pg:
        for question, box_sel in (("代表在闭会期间能干些什么？", ".npc-caution"), ("今天天气怎么样？红烧肉怎么做？", ".npc-refusal")):
            ans = ask(pg, question)
            wait_scrolled(pg)
            box = ans.locator(box_sel)
            assert box.is_visible()
            assert_first_line_in_view(pg, ans)
            b, msg = box.bounding_box(), ans.bounding_box()
            assert b["width"] >= 0.9 * msg["width"] and b["x"] >= 0 and b["x"] + b["width"] <= PHONE[0]
            assert box.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 16
            assert pg.evaluate(SCROLLERS_JS) == []
            assert_no_horizontal_scroll(pg)
            if box_sel == ".npc-caution":
                assert b["y"] < ans.locator(".npc-body").bounding_box()["y"]  # the warning first
                ARTIFACTS.mkdir(exist_ok=True)
                pg.screenshot(path=str(ARTIFACTS / "chat-phone-cautious.png"))


def test_gated_chat_panel_opens_after_login_on_desktop(browser, small_index, tmp_path):
    """With chat_requires_login the panel appears only after the console login: on a desktop it is open then."""
    import app
    from index.engine import Engine
    from npcqa.auth import hash_password

    settings = small_index.model_copy(update={"chat_requires_login": True, "admin_user": "admin",
                                              "admin_password_hash": hash_password("口令-mobile")})
    demo = app.build_demo(Engine.from_settings(settings), feedback_path=tmp_path / "fb.jsonl",
                          logs_dir=tmp_path / "logs", settings=settings)
    with serve(demo) as url, open_page(browser, url, ready="#chat-gate") as pg:
        pg.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
        pg.reload()
        pg.wait_for_selector("#chat-gate")
        assert not pg.locator("#question").is_visible()
        pg.get_by_role("tab", name="管理").click()
        pg.fill("#admin-user input", "admin")
        pg.fill("#admin-password input", "口令-mobile")
        pg.click("#admin-login-btn")
        pg.wait_for_selector("#admin-console", state="visible")
        pg.get_by_role("tab", name="问答").click()
        pg.locator("#kind-filter").wait_for(state="visible")
        assert in_viewport(pg, pg.locator("#question textarea"))["inside"]


def test_phone_screenshots(browser, server):
    """docs/screenshot-chat-phone-start.png (first screen) and docs/screenshot-chat-phone.png (an answered
    question, as it arrives) at 390 × 844: look at them."""
    with sized_page(browser, server["url"], PHONE) as pg:
        ARTIFACTS.mkdir(exist_ok=True)
        (REPO / "docs").mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "chat-phone-start.png"))
        ask(pg, QUESTION)
        wait_scrolled(pg)
        pg.screenshot(path=str(ARTIFACTS / "chat-phone.png"))
        for name in ("chat-phone-start.png", "chat-phone.png"):
            shutil.copy(ARTIFACTS / name, REPO / "docs" / f"screenshot-{name}")
