"""The console's login (npcqa.auth: salted scrypt hashes, no default password, the login throttle;
``python -m npcqa.passwd``) and the audit trail every change and login is written to (npcqa.audit).

No index, no model: plain functions, one CLI subprocess.
"""
from __future__ import annotations

from npcqa import audit
from npcqa.auth import (LoginThrottle, check_login, console_disabled_reason, console_enabled, hash_password,
                        verify_password)
from npcqa.settings import Settings
from support import run_module


def test_password_hash_and_verify():
    h = hash_password("正确的密码 horse battery")
    parts = h.split("$")
    assert parts[0] == "scrypt" and len(parts) == 6 and "正确" not in h
    assert h != hash_password("正确的密码 horse battery")  # salted
    assert verify_password("正确的密码 horse battery", h)
    assert not verify_password("wrong password", h)
    assert not verify_password("x", "plaintext") and not verify_password("x", None) and not verify_password("x", "")
    assert not verify_password("正确的密码 horse battery", h[:-4] + "AAAA")


def test_console_enabled_only_with_a_configured_hash():
    s = Settings()
    assert s.admin_password_hash is None and not console_enabled(s)
    assert "NPCQA_ADMIN_PASSWORD_HASH" in console_disabled_reason(s) and "npcqa.passwd" in console_disabled_reason(s)
    assert not check_login(s, "admin", "")  # no default password
    assert not console_enabled(s.model_copy(update={"admin_password_hash": "admin"}))
    on = s.model_copy(update={"admin_password_hash": hash_password("s3cret-pass"), "admin_user": "keeper"})
    assert console_enabled(on) and console_disabled_reason(on) == ""
    assert check_login(on, "keeper", "s3cret-pass")
    assert not check_login(on, "admin", "s3cret-pass") and not check_login(on, "keeper", "s3cret-passX")


def test_passwd_cli_prints_a_verifiable_hash():
    proc = run_module("npcqa.passwd", stdin="long enough pw\n", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert verify_password("long enough pw", proc.stdout.strip())
    short = run_module("npcqa.passwd", stdin="short\n", timeout=60)
    assert short.returncode == 2 and "at least" in short.stderr and not short.stdout


def test_login_throttle_delays_grow_and_cap():
    now = [1000.0]
    t = LoginThrottle(clock=lambda: now[0])
    key = t.key("Admin", "10.0.0.5")
    assert [t.failure(key) for _ in range(8)] == [0, 0, 2, 4, 8, 16, 30, 30]
    assert t.retry_after(key) == 30
    assert t.retry_after(t.key("admin", "10.0.0.6")) == 0  # another address is not blocked
    now[0] += 10
    assert t.retry_after(key) == 20
    now[0] += 20
    assert t.retry_after(key) == 0 and t.failures(key) == 8
    t.success(key)
    assert t.failures(key) == 0 and t.failure(key) == 0
    now[0] += 10_000  # idle keys are forgotten
    assert t.retry_after(key) == 0 and t.failure(key) == 0 and t.failures(key) == 1


def test_audit_records_append_and_filter(tmp_path):
    s = Settings(home=tmp_path / "h")
    audit.record(s, "admin@1.2.3.4", "add", ["uploads/report/a.txt"], {"chunks": 3})
    audit.record(s, "cli:root", "remove", "uploads/report/a.txt")
    audit.record(s, "admin@1.2.3.4", "sync", None, {"chunks_embedded": 0})
    with open(s.audit_path, "a", encoding="utf-8") as f:
        f.write("not json\n")
    recs = audit.read_audit(s)
    assert [r["action"] for r in recs] == ["add", "remove", "sync"]
    assert set(recs[0]) == {"time", "actor", "action", "doc_ids", "detail"}
    assert recs[0]["detail"] == {"chunks": 3} and recs[1]["doc_ids"] == ["uploads/report/a.txt"]
    assert [r["action"] for r in audit.read_audit(s, doc_id="uploads/report/a.txt")] == ["add", "remove"]
    assert [r["action"] for r in audit.read_audit(s, limit=1)] == ["sync"]
    assert audit.read_audit(Settings(home=tmp_path / "empty")) == []
