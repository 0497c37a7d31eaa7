"""Chroma server mode against a real ``chroma run`` subprocess on localhost: sync, ask, the server going away
(a clear IndexUnavailable, a non-zero CLI exit without traceback) and coming back (answers again)."""
from __future__ import annotations

import pytest

from index.embedding import make_embedder
from index.engine import Engine
from index.store import IndexUnavailable, StoreError, open_store
from ingest.add import add_files
from ingest.sync import run_sync
from npcqa.settings import Settings
from support import OPINION_V1, SANDAN_REPORT, ChromaServer, chroma_cli, free_port, run_module, tiny_corpus

# its first two sections: two chunks
OPINION = OPINION_V1[: OPINION_V1.index("三、")]
QUESTION = "三单工作法的问题清单、任务清单、责任清单是怎么推进的？"

pytestmark = pytest.mark.slow  # a real `chroma run` server, started twice and stopped mid-test (runs in make test's slow half)


@pytest.fixture
def chroma_server(tmp_path):
    if not chroma_cli():
        pytest.skip("the chroma CLI is not installed")
    server = ChromaServer(tmp_path / "chroma-data", free_port(), tmp_path / "chroma.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def tiny_server_corpus(root, port: int) -> Settings:
    corpus = tiny_corpus(root, {"reports/sandan.txt": SANDAN_REPORT})
    return Settings(home=root / "home", corpus_dir=corpus, chroma_host="127.0.0.1", chroma_port=port, embed_batch=8)


def test_sync_ask_outage_and_recovery_against_a_real_chroma_server(tmp_path, chroma_server):
    settings = tiny_server_corpus(tmp_path, chroma_server.port)
    report, kw = run_sync(settings, quiet=True)
    assert report.docs_added == 1 and not report.errors and report.chunks_total == len(kw.chunks) > 0
    assert not settings.chroma_dir.exists()  # nothing embedded locally: the data lives in the server
    assert any((tmp_path / "chroma-data").iterdir())

    engine = Engine.from_settings(settings)
    assert engine.store.location == f"chroma://127.0.0.1:{chroma_server.port}"
    ans = engine.answer_extractive(QUESTION)
    assert not ans.refused and ans.citations[0].doc_id == "reports/sandan.txt"

    # a second app process (its own home, e.g. another machine) rebuilds its keyword index from the server
    other = settings.model_copy(update={"home": tmp_path / "home2"})
    engine2 = Engine.from_settings(other)
    emb = make_embedder(settings)
    store = open_store(settings, emb)
    assert {c.id for c in engine2.keyword_index.chunks} == set(store.ids())
    rev = store.revision()
    src = tmp_path / "lianluozhan.txt"
    src.write_text(OPINION, encoding="utf-8")
    res = add_files(settings, [src], "opinion", actor="test")
    assert res.ok and res.added[0].chunks == 2
    assert store.revision() != rev  # writes leave a cheap change token for processes sharing the server
    ans2 = engine2.answer_extractive("代表联络站每月接待选民几次？")  # engine2 notices the count change and re-derives
    assert {c.id for c in engine2.keyword_index.chunks} == set(store.ids())
    assert not ans2.refused and ans2.citations[0].doc_id == "uploads/opinion/lianluozhan.txt"

    # the server goes away: a clear IndexUnavailable, not a raw client error
    chroma_server.stop()
    with pytest.raises(IndexUnavailable) as info:
        engine.answer_extractive(QUESTION)
    msg = str(info.value)
    assert f"127.0.0.1:{chroma_server.port}" in msg and "chroma run" in msg and isinstance(info.value, StoreError)
    with pytest.raises(IndexUnavailable):
        engine.answer_extractive(QUESTION)  # still down: still the same clear error

    env = {"NPCQA_HOME": str(settings.home), "NPCQA_CORPUS_DIR": str(settings.corpus_dir),
           "NPCQA_CHROMA_HOST": "127.0.0.1", "NPCQA_CHROMA_PORT": str(chroma_server.port)}
    proc = run_module("index", "ask", QUESTION, env=env, timeout=180)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "Chroma server" in proc.stderr and "127.0.0.1" in proc.stderr

    # it comes back on the same port and path: the same engine answers again
    chroma_server.start()
    ans = engine.answer_extractive(QUESTION)
    assert not ans.refused and ans.citations[0].doc_id == "reports/sandan.txt"
    proc = run_module("index", "ask", QUESTION, "--json", env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert '"reports/sandan.txt"' in proc.stdout
