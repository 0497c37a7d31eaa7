"""The embedding cache: shipped law vectors (index/law_vectors.npz), the per-home local cache, and lazy
model loading. Real model, real Chroma, the real law DB (a modified copy of it for the upgrade test)."""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index import vector_cache as vc
from index.embedding import make_embedder
from index.store import open_store
from ingest import lawdb
from ingest.chunking import chunk_document
from ingest.sync import run_sync
from npcqa.settings import Settings
from support import REPO, SUPERVISION


def law_only_settings(root: Path, names: list[str], **kw) -> Settings:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    quoted = ", ".join(f'"{n}"' for n in names)
    (corpus / "manifest.toml").write_text(f'[laws]\nstatus = "现行有效"\nnames = [{quoted}]\n', encoding="utf-8")
    return Settings(home=root / "home", corpus_dir=corpus, **kw)


# ------------------------------------------------------------------ the shipped file
def test_shipped_file_is_verified_small_and_in_the_default_vector_space():
    from index.e5.cache import fingerprint

    assert vc.SHIPPED_PATH.stat().st_size < 25e6
    sv = vc.ShippedVectors.load()  # verifies format, shapes, sorted keys and the digest
    assert sv.meta["complete"] is True
    assert sv.fingerprint == fingerprint(Settings().embed_model) == fingerprint(vc.SHIPPED_BACKEND)
    # the file records the command that built it: the shipped one predates the move to ingest.law_vectors
    assert sv.meta["law_db_version"] and sv.meta["command"] in (vc.BUILD_COMMAND, "python -m index.vector_cache build")
    assert len(sv) > 20000


def test_shipped_vectors_cover_the_core_laws_and_match_a_fresh_fp32_encode():
    """What every machine gets from the file equals what this CPU computes (fp32: float noise only)."""
    docs, missing = lawdb.load_laws([SUPERVISION, "中华人民共和国宪法"])
    assert not missing
    texts = [c.embed_text for d in docs for c in chunk_document(d)]
    sv = vc.shipped_vectors()
    found, shipped = sv.lookup(vc.text_keys(texts))
    assert found.all()
    sample = list(range(0, len(texts), max(1, len(texts) // 12)))
    fresh = make_embedder(Settings(embed_cache=False)).embed_passages([texts[i] for i in sample])
    cos = np.sum(fresh * shipped[sample], axis=1)
    assert cos.min() > 0.9999, cos.min()


def test_a_corrupt_or_foreign_cache_file_is_refused(tmp_path):
    keys = vc.text_keys(["甲", "乙", "丙"])
    vecs = np.eye(3, 4, dtype=np.float32)
    path = tmp_path / "v.npz"
    vc.ShippedVectors.write(path, keys, vecs, {"fingerprint": "some/other/4"})
    sv = vc.ShippedVectors.load(path)
    found, got = sv.lookup(vc.text_keys(["乙", "丁"]))
    assert found.tolist() == [True, False] and np.allclose(got[0], vecs[1])
    # another vector space is never used
    assert vc.shipped_vectors(path, fingerprint="e5/st/384") is None
    # flipped bytes fail the digest, with the command that regenerates the file
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["vectors"] = arrays["vectors"].copy()
    arrays["vectors"][0, 0] = 0.5
    np.savez(path, **arrays)
    with pytest.raises(vc.CacheError, match="python -m ingest.law_vectors build"):
        vc.ShippedVectors.load(path)


# ------------------------------------------------------------------ lazy model, no embedding for laws
def test_law_sync_uses_shipped_vectors_and_never_loads_the_model(tmp_path):
    settings = law_only_settings(tmp_path, [SUPERVISION])
    emb = make_embedder(settings)
    report, kw = run_sync(settings, embedder=emb, quiet=True)
    assert report.chunks_embedded == len(kw.chunks) > 60
    assert emb.computed == 0 and emb.hits_shipped == report.chunks_embedded and not emb.loaded
    assert all(c.extra.get("core") is True for c in kw.chunks)  # named in the manifest: a core law
    # the stored vectors are the shipped ones
    store = open_store(settings, emb)
    got = store._get(ids=[kw.chunks[0].id], include=["embeddings"])
    _, shipped = vc.shipped_vectors().lookup(vc.text_keys([kw.chunks[0].embed_text]))
    assert float(np.dot(np.asarray(got["embeddings"][0]), shipped[0])) > 0.99999


def test_nothing_changed_sync_cli_does_not_load_the_model(tmp_path):
    settings = law_only_settings(tmp_path, [SUPERVISION])
    (settings.corpus_dir / "reports").mkdir()
    (settings.corpus_dir / "reports" / "r.txt").write_text(
        "某县人大常委会开展代表联络站建设\n\n今年以来，某县人大常委会建成代表联络站十二个。\n", encoding="utf-8")
    run_sync(settings, quiet=True)  # the report is embedded (model loaded in this process)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "NPCQA_HOME": str(settings.home),
           "NPCQA_CORPUS_DIR": str(settings.corpus_dir), "NPCQA_MODEL_CACHE": str(settings.models_dir),
           "HF_HUB_OFFLINE": "1"}
    code = ("import json, sys; from ingest.__main__ import main; rc = main(['--json']); "
            "print(json.dumps({'rc': rc, 'torch': 'torch' in sys.modules}))")

    def cli() -> tuple[dict, dict]:
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        report, flags = [json.loads(line) for line in out.stdout.strip().splitlines()[-2:]]
        return report, flags

    for _ in range(2):  # the first run takes the full path and records a stamp, the second the stamp's fast path
        report, flags = cli()
        assert report["docs_unchanged"] == 2 and report["chunks_embedded"] == 0 and report["model_loaded"] is False
        assert report["chunks_total"] > 60 and flags == {"rc": 0, "torch": False}
    assert (settings.home / "sync_stamp.json").is_file()
    # a changed file is seen: the stamp no longer matches and the full sync embeds the new chunk
    (settings.corpus_dir / "reports" / "r.txt").write_text(
        "某县人大常委会开展代表联络站建设\n\n今年以来，某县人大常委会建成代表联络站十五个。\n", encoding="utf-8")
    report, flags = cli()
    assert report["docs_updated"] == 1 and report["vectors_computed"] >= 1 and report["model_loaded"] is True
    assert flags["torch"] is False  # the new text was embedded by a child process (peak memory), not here
    # a write by another command (here: a sync in this process) moves the store's revision
    (settings.corpus_dir / "reports" / "r.txt").unlink()
    run_sync(settings, quiet=True)
    report, _ = cli()
    assert report["docs_unchanged"] == 1 and report["docs_deleted"] == 0


def test_rebuild_takes_computed_vectors_from_the_local_cache(tmp_path):
    settings = law_only_settings(tmp_path, [])
    (settings.corpus_dir / "reports").mkdir()
    (settings.corpus_dir / "reports" / "r.txt").write_text(
        "某县人大常委会开展代表联络站建设\n\n今年以来，某县人大常委会建成代表联络站十二个。\n", encoding="utf-8")
    first = make_embedder(settings)
    run_sync(settings, embedder=first, quiet=True)
    assert first.computed > 0
    again = vc.CachingEmbedder(lambda: pytest.fail("the model must not be needed"), first.fingerprint, first.dim,
                               shipped=None, local=vc.LocalCache(settings.embed_cache_path))
    report, _ = run_sync(settings, embedder=again, quiet=True, rebuild=True)
    assert report.chunks_embedded == first.computed and again.hits_local == first.computed and again.computed == 0


# ------------------------------------------------------------------ law-DB upgrade
def test_law_db_upgrade_reembeds_only_changed_articles_and_drops_removed_ones(tmp_path, monkeypatch):
    settings = law_only_settings(tmp_path, [SUPERVISION])
    emb = make_embedder(settings)
    _, kw = run_sync(settings, embedder=emb, quiet=True)
    before = {c.locator: c for c in kw.chunks}
    # "upgrade" the package: a copy of the real DB with article 10 amended and the last article repealed
    db = tmp_path / "laws.db"
    shutil.copy(lawdb.db_path(), db)
    con = sqlite3.connect(db)
    law_id = con.execute("SELECT law_id FROM laws WHERE law_name=? AND status='现行有效'", (SUPERVISION,)).fetchone()[0]
    con.execute("UPDATE articles SET article_text = article_text || '并在本级人民代表大会网站公布。' "
                "WHERE law_id=? AND article_no='第十条'", (law_id,))
    last = con.execute("SELECT max(id) FROM articles WHERE law_id=?", (law_id,)).fetchone()[0]
    last_no = con.execute("SELECT article_no FROM articles WHERE id=?", (last,)).fetchone()[0]
    con.execute("DELETE FROM articles WHERE id=?", (last,))
    con.commit()
    con.close()
    monkeypatch.setattr(lawdb, "db_path", lambda: db)
    computed = emb.computed
    report, kw2 = run_sync(settings, embedder=emb, quiet=True)
    after = {c.locator: c for c in kw2.chunks}
    assert report.docs_updated == 1 and report.chunks_embedded == 1
    assert emb.computed - computed == 1  # only the amended article met the model
    assert "网站公布" in after["第十条"].text and after["第十条"].id != before["第十条"].id
    assert last_no not in after and len(after) == len(before) - 1
    assert open_store(settings, emb).count() == len(after)


# ------------------------------------------------------------------ all laws by default
def test_default_manifest_takes_every_current_law_and_marks_the_core_ones():
    from ingest.corpus import load_manifest

    manifest = load_manifest(REPO / "corpus")
    assert manifest.all_laws and len(manifest.law_names) == 21
    docs, missing = lawdb.manifest_laws(Settings(), manifest)
    assert not missing and len(docs) > 300
    core = {d.title for d in docs if d.extra.get("core")}
    assert core == set(manifest.law_names)
    small, missing = lawdb.manifest_laws(Settings(core_laws=True), manifest)
    assert not missing and {d.title for d in small} == core and all(d.extra["core"] for d in small)
