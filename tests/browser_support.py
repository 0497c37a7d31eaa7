"""What the browser tests share: Debian's Chromium driven by Playwright, the app served in-process on
a free localhost port, and pages that fail the test if they request anything outside 127.0.0.1.

Importing this module skips the importing test module when Chromium or Playwright is missing (with
the command that installs them), so the rest of the suite still runs.
"""
from __future__ import annotations

import contextlib
import shutil

import pytest

from support import REPO

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
if not CHROMIUM:
    pytest.skip("browser tests skipped: Debian's chromium is not installed and could not be installed "
                "(run `make browser` as root: apt-get install -y chromium fonts-noto-cjk)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")

# a finished chat turn: final answer, refusal box or notice
DONE = "#chat .npc-msg-answer:not(.npc-streaming), #chat .npc-msg-cautious, #chat .npc-msg-refused, #chat .npc-notice"


@contextlib.contextmanager
def chromium():
    """One headless Chromium (Debian's binary, not a Playwright download)."""
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def browser():
    """A module's Chromium (import this fixture into the test module)."""
    with chromium() as b:
        yield b


@contextlib.contextmanager
def open_page(browser, url: str, height: int = 1000, timeout_ms: int = 30_000, clipboard: bool = False,
              ready: str = "#question textarea"):
    """A page on ``url`` once ``ready`` (default: the question box) is on it. Dialogs are dismissed and their messages kept in
    ``page.dialogs``; on exit the test fails if the page requested anything outside the app's origin."""
    origin = url.rstrip("/")
    ctx = browser.new_context(viewport={"width": 1400, "height": height}, locale="zh-CN")
    if clipboard:
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    pg = ctx.new_page()
    pg.set_default_timeout(timeout_ms)
    outside, dialogs = [], []
    pg.on("request", lambda r: outside.append(r.url) if not r.url.startswith((origin, "data:", "blob:")) else None)
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs
    pg.goto(url)
    pg.wait_for_selector(ready)
    try:
        yield pg
    finally:
        ctx.close()
    assert outside == [], f"the page requested something outside 127.0.0.1: {outside}"


def submit(page, question: str) -> int:
    """Type a question and press 提问; returns how many finished turns there were before."""
    before = page.locator(DONE).count()
    page.fill("#question textarea", question)
    page.click("#ask")
    return before


def ask(page, question: str, timeout_ms: float | None = None):
    """Submit and wait for the final answer/refusal/notice; returns its locator."""
    before = submit(page, question)
    page.wait_for_function(f"document.querySelectorAll({DONE!r}).length > {before}",
                           **({"timeout": timeout_ms} if timeout_ms else {}))
    return page.locator(DONE).last
