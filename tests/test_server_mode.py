"""Chroma server mode against a real ``chroma run`` subprocess on localhost: sync, ask, the server going away
(a clear IndexUnavailable, a non-zero CLI exit without traceback) and coming back (answers again)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from index.embedding import make_embedder
from index.engine import Engine
from index.store import IndexUnavailable, StoreError, open_store
from ingest.add import add_files
from ingest.sync import run_sync
from npcqa.settings import Settings
from tests.support import SANDAN_REPORT

REPO = Path(__file__).resolve().parent.parent
CHROMA = Path(sys.executable).with_name("chroma")

REPORT = SANDAN_REPORT
OPINION = """青石县人大常委会关于加强代表联络站建设的意见

一、总体要求
坚持因地制宜、务实管用，不搞形式主义，把代表联络站建成代表履职的重要平台。
二、主要任务
联络站每月至少接待选民一次，接待情况登记入册，群众意见分类交办。
"""
QUESTION = "三单工作法的问题清单、任务清单、责任清单是怎么推进的？"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """One ``chroma run`` subprocess; ``stop`` ends exactly that process."""

    def __init__(self, path: Path, port: int, log: Path):
        self.path, self.port, self.log = path, port, log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        exe = str(CHROMA) if CHROMA.exists() else shutil.which("chroma")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([exe, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port",
                                          str(self.port)], stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"chroma run did not answer on port {self.port} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)


@pytest.fixture
def chroma_server(tmp_path):
    if not (CHROMA.exists() or shutil.which("chroma")):
        pytest.skip("the chroma CLI is not installed")
    server = ChromaServer(tmp_path / "chroma-data", free_port(), tmp_path / "chroma.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def tiny_server_corpus(root: Path, port: int) -> Settings:
    corpus = root / "corpus"
    for sub in ("laws", "opinions", "reports"):
        (corpus / sub).mkdir(parents=True, exist_ok=True)
    (corpus / "manifest.toml").write_text("[laws]\nnames = []\n", encoding="utf-8")
    (corpus / "reports" / "sandan.txt").write_text(REPORT, encoding="utf-8")
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

    env = {**os.environ, "NPCQA_HOME": str(settings.home), "NPCQA_CORPUS_DIR": str(settings.corpus_dir),
           "NPCQA_CHROMA_HOST": "127.0.0.1", "NPCQA_CHROMA_PORT": str(chroma_server.port)}
    proc = subprocess.run([sys.executable, "-m", "index", "ask", QUESTION], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=180)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "Chroma server" in proc.stderr and "127.0.0.1" in proc.stderr

    # it comes back on the same port and path: the same engine answers again
    chroma_server.start()
    ans = engine.answer_extractive(QUESTION)
    assert not ans.refused and ans.citations[0].doc_id == "reports/sandan.txt"
    proc = subprocess.run([sys.executable, "-m", "index", "ask", QUESTION, "--json"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert '"reports/sandan.txt"' in proc.stdout
