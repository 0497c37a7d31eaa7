"""Attacks on the running app (issue #17), over HTTP against a real server on 127.0.0.1.

One module-scoped server over the session's console world (conftest.console_world: a small real
index of the script-injection report and one report, console enabled). Each test plays an attacker with a raw ``httpx`` client speaking Gradio's
own wire protocol (``/gradio_api/queue/join`` + ``/queue/data``), exactly as the page does, and fails
if the attack works. A browser test checks that the page still works under the CSP. (The readers'
limits against hostile files: test_readers.py.)
"""
from __future__ import annotations

import json
import threading
import time
import uuid
import zipfile

import httpx
import pytest

from support import CONSOLE_PASSWORD as PASSWORD
from support import free_port, run_module


@pytest.fixture(scope="module")
def env(console_world):
    """The session's console world (conftest.console_world), shared with the admin tests."""
    return console_world


def launch(env, **update):
    import app

    settings = env["settings"].model_copy(update=update)
    demo = app.build_demo(env["engine"], settings=settings, feedback_path=env["root"] / f"fb-{uuid.uuid4().hex}.jsonl")
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    return demo, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def server(env):
    demo, url = launch(env)
    try:
        yield {"url": url, "demo": demo, "config": httpx.get(url + "/config").json()}
    finally:
        demo.close()


# ------------------------------------------------------------------------ Gradio's wire protocol
def fn_index(config: dict, elem_id: str, event: str = "click") -> int:
    """The dependency fired by ``event`` on the component with ``elem_id``."""
    ids = {c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id}
    for dep in config["dependencies"]:
        if any(t[0] in ids and t[1] == event for t in dep["targets"]):
            return dep["id"]
    raise AssertionError(f"no {event} event on #{elem_id}")


def n_inputs(config: dict, fn: int) -> int:
    return len(next(d for d in config["dependencies"] if d["id"] == fn)["inputs"])


def call(http: httpx.Client, url: str, fn: int, data: list, session_hash: str, timeout: float = 60) -> dict:
    """Join the queue as the page does and return the final message (``output`` or the error)."""
    r = http.post(url + "/gradio_api/queue/join",
                  json={"data": data, "fn_index": fn, "session_hash": session_hash, "event_data": None,
                        "trigger_id": None})
    if r.status_code != 200:
        return {"status": r.status_code, "text": r.text}
    event_id = r.json()["event_id"]
    with http.stream("GET", url + "/gradio_api/queue/data", params={"session_hash": session_hash},
                     timeout=timeout) as s:
        for line in s.iter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            if msg.get("event_id") == event_id and msg.get("msg") == "process_completed":
                return msg
    raise AssertionError("the event never completed")


def browser_client(url: str) -> httpx.Client:
    """A client that behaves like a browser: it loads the page first (and so holds the cookie)."""
    http = httpx.Client(timeout=60)
    assert http.get(url + "/").status_code == 200
    return http


def login(server, http, session_hash: str, password: str = PASSWORD) -> dict:
    fn = fn_index(server["config"], "admin-login-btn")
    return call(http, server["url"], fn, ["admin", password], session_hash)


def audit_call(server, http, session_hash: str) -> str:
    fn = fn_index(server["config"], "admin-audit-refresh")
    msg = call(http, server["url"], fn, [None] * n_inputs(server["config"], fn), session_hash)
    return json.dumps(msg, ensure_ascii=False)


# ------------------------------------------------------------------------ 1. sessions
def test_deep_link_routes_are_refused(server):
    victim, h = browser_client(server["url"]), uuid.uuid4().hex
    assert login(server, victim, h)["success"]
    attacker = httpx.Client(timeout=30)
    r = attacker.get(server["url"] + "/gradio_api/deep_link", params={"session_hash": h})
    assert r.status_code == 404 and "deep link" in r.json()["detail"]
    for path in ("/config", "/"):
        r = attacker.get(server["url"] + path, params={"deep_link": "a" * 16})
        assert r.status_code == 404, path


def test_a_session_hash_alone_cannot_use_the_console(server):
    victim, h = browser_client(server["url"]), uuid.uuid4().hex
    assert login(server, victim, h)["success"]
    assert "登录" in audit_call(server, victim, h)  # the victim sees the audit table (login rows)…
    assert '"success": true' in audit_call(server, victim, h)
    for attacker in (httpx.Client(timeout=30), browser_client(server["url"])):  # …no cookie / another browser
        out = audit_call(server, attacker, h)
        assert "未登录或登录已过期" in out, out[:500]
        assert "admin@" not in out


def test_closing_the_page_ends_the_console_session(server):
    victim, h = browser_client(server["url"]), uuid.uuid4().hex
    assert login(server, victim, h)["success"]
    console = server["demo"].admin_console
    assert any(s.page == h for s in console.sessions._sessions.values())
    with victim.stream("GET", server["url"] + f"/gradio_api/heartbeat/{h}") as s:
        next(s.iter_lines())  # the page is open…
    deadline = time.time() + 20  # …and closed: Gradio runs the unload event when the stream ends
    while time.time() < deadline and any(s.page == h for s in console.sessions._sessions.values()):
        time.sleep(0.2)
    assert not any(s.page == h for s in console.sessions._sessions.values())
    assert "未登录或登录已过期" in audit_call(server, victim, h)


def test_login_needs_the_browser_cookie(server):
    out = login(server, httpx.Client(timeout=30), uuid.uuid4().hex)
    assert "Cookie" in json.dumps(out, ensure_ascii=False)
    assert not any(s.browser == "" for s in server["demo"].admin_console.sessions._sessions.values())


# ------------------------------------------------------------------------ 2. login throttle
def test_no_handler_bypasses_the_queue(server):
    for name in ("ask", "quiz_generate", "on_login"):
        r = httpx.post(server["url"] + f"/gradio_api/run/{name}", json={"data": ["admin", "x"]}, timeout=30)
        assert r.status_code in (403, 404), (name, r.status_code, r.text[:200])


def test_raced_logins_are_counted_before_scrypt(env):
    from npcqa import audit
    from web.console import AdminConsole

    console = AdminConsole(env["engine"], env["settings"], feedback_path=env["root"] / "fb.jsonl")
    before = len(audit.read_audit(env["settings"], action="login_failed"))
    results = []
    threads = [threading.Thread(target=lambda: results.append(console.login("admin", "wrong", "10.9.9.9")))
               for _ in range(16)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    verified = [m for _, m in results if m.startswith("用户名或密码错误")]
    assert len(results) == 16 and len(verified) <= console.throttle.free + 1, verified
    assert len(audit.read_audit(env["settings"], action="login_failed")) - before == len(verified)


def test_per_user_budget_across_addresses(env):
    from npcqa.auth import USER_FREE
    from web.console import AdminConsole

    console = AdminConsole(env["engine"], env["settings"], feedback_path=env["root"] / "fb.jsonl")
    msgs = [console.login("admin", "wrong", f"10.1.{i}.1")[1] for i in range(USER_FREE + 3)]
    assert all("用户名或密码错误" in m for m in msgs[:USER_FREE])
    assert "登录失败次数过多" in msgs[-1]
    assert "登录失败次数过多" in console.login("admin", PASSWORD, "10.2.0.1")[1]  # even right, while blocked


def test_failed_login_names_only_when_known(env):
    from web.console import AdminConsole

    console = AdminConsole(env["engine"], env["settings"], feedback_path=env["root"] / "fb.jsonl")
    console.login("my-Secret-Pa55", "x", "10.3.0.1")
    console.login("admin", "x", "10.3.0.2")
    text = env["settings"].audit_path.read_text(encoding="utf-8")
    assert "my-Secret-Pa55" not in text and "admin@10.3.0.2" in text


# ------------------------------------------------------------------------ 3. input limits
def test_anonymous_upload_is_refused(server):
    files = {"files": ("a.txt", b"hello " * 1000, "text/plain")}
    for http in (httpx.Client(timeout=30), browser_client(server["url"])):  # no cookie / not logged in
        r = http.post(server["url"] + "/gradio_api/upload", files=files)
        assert r.status_code == 403 and "登录" in r.json()["detail"]
    admin, h = browser_client(server["url"]), uuid.uuid4().hex
    assert login(server, admin, h)["success"]
    assert admin.post(server["url"] + "/gradio_api/upload", files=files).status_code == 200  # control


def test_oversized_bodies_are_refused(server):
    from web.security import MAX_BODY_BYTES

    http = browser_client(server["url"])
    r = http.post(server["url"] + "/gradio_api/queue/join", content=b"{" + b" " * (MAX_BODY_BYTES + 10) + b"}",
                  headers={"content-type": "application/json"})
    assert r.status_code == 413 and "过大" in r.json()["detail"]


def test_quiz_sources_are_bounded(server):
    fn = fn_index(server["config"], "quiz-generate")
    http, h = browser_client(server["url"]), uuid.uuid4().hex
    for text, expect in ((",三单" * 3000, "太长"), ("三单," * 400, "太多"),
                         ("query:" + "代表" * 300, "太长")):
        t0 = time.time()
        out = json.dumps(call(http, server["url"], fn, [[], text[:999] if expect == "太多" else text, 1, 0, 0, 0, 1], h),
                         ensure_ascii=False)
        assert expect in out and time.time() - t0 < 10, out[:300]
    out = json.dumps(call(http, server["url"], fn, [[], "三单", 1, 0, 0, 0, 1e300], h), ensure_ascii=False)
    assert "随机种子" in out


def ask_fn(server) -> int:
    return fn_index(server["config"], "ask")


def ask_data(server, question, chat) -> list:
    """The ask event's inputs as the page sends them: question, chat, (state), kinds, region, status, (state)."""
    data = [None] * n_inputs(server["config"], ask_fn(server))
    data[0], data[1], data[3], data[4], data[5] = question, chat, ["report", "law", "opinion"], "", ""
    return data


def test_forged_chatbot_file_message_copies_nothing(server, env):
    secret = env["root"] / "secret-notes.txt"
    secret.write_text("机密内容-不应被复制", encoding="utf-8")
    fn = ask_fn(server)
    http, h = browser_client(server["url"]), uuid.uuid4().hex
    # Two forged forms: a file part and a component part naming a server file under the temp dir. The
    # installed Gradio refuses both while pre-processing; web.chat.clean_history would also drop them
    # before the chat is returned (the post-processing is what copies files). Either way nothing may be
    # copied or echoed. (clean_history itself is exercised by test_long_history_and_comment_are_bounded.)
    parts = ({"type": "component", "component": "file", "value": str(secret), "constructor_args": {}, "props": {}},
             {"type": "file", "file": {"path": str(secret), "meta": {"_type": "gradio.FileData"},
                                       "orig_name": "secret-notes.txt"}})
    for part in parts:
        forged = [{"role": "user", "metadata": None, "options": None, "content": [part]}]
        data = ask_data(server, "三单工作法有哪些清单？", forged)
        msg = call(http, server["url"], fn, data, h)
        out = json.dumps(msg, ensure_ascii=False)
        assert "secret-notes" not in out, out[:800]
    # the file is not in Gradio's cache either
    from gradio.utils import get_upload_folder

    from pathlib import Path
    assert not list(Path(get_upload_folder()).rglob("secret-notes.txt"))


def test_long_history_and_comment_are_bounded(server):
    from web.chat import MAX_COMMENT_CHARS, MAX_HISTORY_MESSAGES

    fn = ask_fn(server)
    http, h = browser_client(server["url"]), uuid.uuid4().hex
    history = [{"role": "user", "metadata": None, "options": None,
                "content": [{"type": "text", "text": "旧问题"}]}] * (MAX_HISTORY_MESSAGES * 3)
    data = ask_data(server, "三单工作法有哪些清单？", history)
    msg = call(http, server["url"], fn, data, h)
    chat = msg["output"]["data"][0]
    assert len(chat) <= MAX_HISTORY_MESSAGES + 2
    up = fn_index(server["config"], "thumbs-up")
    data = [None] * n_inputs(server["config"], up)
    data[0] = "长" * (MAX_COMMENT_CHARS + 1)
    out = json.dumps(call(http, server["url"], up, data, h), ensure_ascii=False)
    assert "意见太长" in out
    data[0] = "好"
    assert "已记录" in json.dumps(call(http, server["url"], up, data, h), ensure_ascii=False)
    assert "已经评价过" in json.dumps(call(http, server["url"], up, data, h), ensure_ascii=False)


# ------------------------------------------------------------------------ 5./6. less shown, headers
def test_config_shows_no_paths(server, env):
    text = httpx.get(server["url"] + "/config").text
    assert str(env["settings"].home) not in text and "audit.jsonl\"" not in text.replace("audit.jsonl）", "")
    assert str(env["settings"].audit_path) not in text


def test_config_shows_nothing_of_the_corpus_before_login(env):
    demo, url = launch(env, chat_requires_login=True)
    try:
        text = httpx.get(url + "/config").text
        assert "三单" not in text and "某县" not in text
        assert "地方实践报告 <b>" not in text
    finally:
        demo.close()


def test_no_open_redirect(server):
    for target in ("http://example.com/", "https://example.com/x", "//example.com/", "http%3A%2F%2Fexample.com"):
        r = httpx.get(server["url"] + f"/gradio_api/file={target}", follow_redirects=False)
        assert r.status_code == 403 and "location" not in r.headers, target


def test_security_headers_and_host_allow_list(server, env):
    r = httpx.get(server["url"] + "/")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    demo, url = launch(env, allowed_hosts="127.0.0.1,localhost")
    try:
        assert httpx.get(url + "/").status_code == 200
        r = httpx.get(url + "/", headers={"host": "evil.example"})
        assert r.status_code == 400 and "Host" in r.json()["detail"]
    finally:
        demo.close()


# ------------------------------------------------------------------------ 7. formula cells
def test_xlsx_formula_cells_are_text(tmp_path):
    from quiz.export import read_xlsx, write_xlsx

    item = {"type": "判断", "stem": "=HYPERLINK(\"http://x\",\"y\")", "options": ["+1", "@SUM(A1)"], "answer": "-1",
            "explanation": "=1+1", "source": {"title": "t", "locator": "l", "chunk_id": "c", "text": "=2+2"}}
    path = write_xlsx([item], tmp_path / "q.xlsx")
    with zipfile.ZipFile(path) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
    assert all("<f>" not in s for s in sheets)
    assert read_xlsx(path)[0]["stem"].startswith("=HYPERLINK")


def test_settings_never_print_the_hash(env):
    out = run_module("npcqa.settings", env={"NPCQA_ADMIN_PASSWORD_HASH": env["settings"].admin_password_hash},
                     timeout=60)
    assert out.returncode == 0 and env["settings"].admin_password_hash not in out.stdout
    assert "admin_password_hash" in out.stdout


# ------------------------------------------------------------------------ the page under the CSP
@pytest.mark.browser
@pytest.mark.parametrize("gated", [False, True])
def test_page_works_under_the_csp(env, gated):
    """Real Chromium: ask a question, log into 管理 (with the login gate the header's corpus facts
    appear only after login); no CSP violation is reported and no page error happens."""
    import browser_support as bs

    demo, url = launch(env, chat_requires_login=gated)
    try:
        with bs.chromium() as browser, bs.open_page(browser, url + "/", ready="#admin-tab-button, #main-tabs") as page:
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.reload()
            page.wait_for_selector("#main-tabs")
            if gated:
                assert "登录后显示资料库概况" in page.inner_text("#header")
            else:
                assert "三单" in bs.ask(page, "三单工作法有哪些清单？").inner_text()
            page.get_by_role("tab", name="管理").click()
            page.fill("#admin-user input", "admin")
            page.fill("#admin-password input", PASSWORD)
            page.click("#admin-login-btn")
            page.wait_for_function("document.querySelector('#admin-doc-count') && "
                                   "document.querySelector('#admin-doc-count').innerText.includes('共')", timeout=60_000)
            if gated:
                page.wait_for_function("document.querySelector('#header').innerText.includes('地方实践报告')",
                                       timeout=30_000)
                page.get_by_role("tab", name="问答").click()
                bs.ask(page, "三单工作法有哪些清单？")
            assert problems == [], problems
    finally:
        demo.close()
