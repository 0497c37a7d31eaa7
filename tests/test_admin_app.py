"""The app with the 管理 console: the Blocks build with its three tabs and the console's elem_ids, and the
optional login gate of chat and quiz (web/gate.py), in the handlers and on a served app's API.

Over the session's console world (conftest.console_world); the console's own operations: test_admin.py.
"""
from __future__ import annotations

from support import CHAT_ELEM_IDS, CONSOLE_IP, admin_login, serve


class Req:
    """What Gradio passes as the request: only the client's address is read."""

    class client:
        host = CONSOLE_IP


def test_build_demo_has_three_tabs_and_console_ids(console_world, tmp_path):
    import app

    demo = app.build_demo(console_world["engine"], settings=console_world["settings"], feedback_path=tmp_path / "fb.jsonl",
                          logs_dir=tmp_path / "logs")
    comps = demo.get_config_file()["components"]
    ids = {c.get("props", {}).get("elem_id") for c in comps}
    assert CHAT_ELEM_IDS <= ids
    assert {"chat-tab", "quiz-tab", "admin-tab", "admin-login", "admin-user", "admin-password", "admin-login-btn",
            "admin-console", "admin-docs", "admin-doc-search", "admin-doc-kind", "admin-doc-detail", "admin-delete",
            "admin-delete-confirm", "admin-delete-yes", "admin-upload-files", "admin-upload-kind", "admin-upload-title",
            "admin-upload-region", "admin-upload-date", "admin-preview", "admin-confirm-upload", "admin-sync",
            "admin-sync-summary", "admin-lawdb-version", "admin-feedback", "admin-feedback-export",
            "admin-feedback-csv", "admin-audit", "quiz-generate"} <= ids
    labels = [c["props"].get("label") for c in comps if c.get("type") in ("tab", "tabitem")]
    assert labels[:3] == ["问答", "出题", "管理"]
    password = next(c for c in comps if c.get("props", {}).get("elem_id") == "admin-password")
    assert password["props"]["type"] == "password"
    console_box = next(c for c in comps if c.get("props", {}).get("elem_id") == "admin-console")
    assert console_box["props"]["visible"] is False  # hidden until login
    api_names = {d.get("api_name") for d in demo.get_config_file()["dependencies"]}
    assert "ask" in api_names
    assert demo.chat_app.feedback_path == tmp_path / "fb.jsonl"


def test_chat_requires_login_gate(console_world, console):
    import app
    from web.gate import gated_respond

    gated = console_world["settings"].model_copy(update={"chat_requires_login": True})
    demo = app.build_demo(console_world["engine"], settings=gated, console=console)
    comps = demo.get_config_file()["components"]
    area = next(c for c in comps if c.get("props", {}).get("elem_id") == "chat-area")
    gate = next(c for c in comps if c.get("props", {}).get("elem_id") == "chat-gate")
    assert area["props"]["visible"] is False and gate["props"]["visible"] is True
    quiz_tab = next(c for c in comps if c.get("props", {}).get("elem_id") == "quiz-tab")
    assert quiz_tab["props"]["visible"] is False  # shown after login

    respond = gated_respond(console, demo.chat_app, True)
    out = list(respond("三单是什么？", [], None, None, "", "", "", Req()))
    assert len(out) == 1 and "问答需要登录" in out[0][0][-1]["content"]
    token = admin_login(console)
    out = list(respond("三单工作法有哪些清单？", [], None, None, "", "", token, Req()))
    assert "npc-src" in out[-1][0][-1]["content"]
    open_respond = gated_respond(console, demo.chat_app, False)  # the default: the chat is open
    out = list(open_respond("三单工作法有哪些清单？", [], None, None, "", "", "", Req()))
    assert "npc-src" in out[-1][0][-1]["content"]


def test_quiz_api_is_gated_with_the_chat(console_world, console):
    """With ``chat_requires_login`` the quiz endpoint refuses on the server, not just by hiding its tab."""
    from gradio_client import Client

    import app
    from web.gate import login_gate

    gated = console_world["settings"].model_copy(update={"chat_requires_login": True})
    demo = app.build_demo(console_world["engine"], settings=gated, console=console)
    with serve(demo) as url:
        client = Client(url, verbose=False)
        out = client.predict([], "三单", 1, 0, 1, 0, 1, api_name="/quiz_generate")
        assert "出题需要登录" in out[0] and not out[2]  # no preview items, no files
        chat, *_ = client.predict("三单工作法有哪些清单？", [], ["report"], "", "", api_name="/ask")
        assert "问答需要登录" in str(chat[-1]["content"])

    gate = login_gate(console, "出题")
    assert "需要登录" in gate("", Req()) and gate(admin_login(console), Req()) == ""
