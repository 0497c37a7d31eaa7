"""The crash tests' machinery (tests/test_crash.py explains the method): the three-document corpus, the
``python -m ingest`` runs that trace or SIGKILL themselves, store snapshots and the convergence checks.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.keyword import KeywordIndex
from index.store import open_store
from ingest.sync import SyncReport, run_sync, verify_index
from npcqa.settings import Settings
from support import FAST_BACKEND, OPINION_V1, REPO, SANDAN_REPORT, tiny_corpus

WRITE_BATCH = "2"  # chunks per Chroma write in these tests: three documents span six groups


EMBED_BATCH = "2"


TIMEOUT = 120  # seconds for one CLI run; a run here takes about one


# v2: 一 dropped, 二 kept, 三 changed, 四 and 五 new → kept, stale and three new chunks (two write groups)
OPINION_V2 = (OPINION_V1.replace("两万元", "三万元").replace(
    "一、总体要求\n坚持因地制宜、务实管用，不搞形式主义，把代表联络站建成代表履职的重要平台。\n", "")
    + "四、监督检查\n县人大常委会每年听取一次联络站工作情况报告。\n五、附则\n本意见自印发之日起施行。\n")


HUIYI = """某市人大常委会召开代表建议督办会

会议部署
会议要求各承办单位把代表建议办理与年度重点工作结合起来，逐件明确责任领导和办理时限。
工作成效
去年全市代表建议满意率达到百分之九十八，一批群众关心的问题得到解决。
"""


FILES = {"reports/sandan.txt": SANDAN_REPORT, "opinions/lianluozhan.txt": OPINION_V1, "reports/huiyi.txt": HUIYI}


OPINION_ID = "opinions/lianluozhan.txt"


def env_for(home: Path, corpus: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPCQA_FAULT_")}
    env.update({"NPCQA_HOME": str(home), "NPCQA_CORPUS_DIR": str(corpus), "NPCQA_EMBED_MODEL": FAST_BACKEND,
                "NPCQA_EMBED_BATCH": EMBED_BATCH, "NPCQA_FAULT_WRITE_BATCH": WRITE_BATCH,
                "PYTHONPATH": str(REPO)})
    env.update(extra)
    return env


def settings_for(home: Path, corpus: Path) -> Settings:
    return Settings(home=home, corpus_dir=corpus, embed_model=FAST_BACKEND, embed_batch=int(EMBED_BATCH))


def resync(home: Path, corpus: Path, embedder) -> SyncReport:
    """The maintainer's next step after the kill: an ordinary sync (``run_sync`` is what ``python -m ingest``
    runs; in-process here to spare a model load per kill point, the CLI itself is run in test_cli_*)."""
    report, _ = run_sync(settings_for(home, corpus), embedder=embedder, quiet=True)
    assert not report.errors, report.errors
    return report


def ingest(home: Path, corpus: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=REPO, env=env_for(home, corpus, **extra),
                          capture_output=True, text=True, timeout=TIMEOUT)


@dataclass
class Point:
    n: int  # 1-based position in the trace
    label: str
    docs: tuple[str, ...]


def traced(home: Path, corpus: Path, *args: str) -> list[Point]:
    """Run the command cleanly, returning every durable write it made, in order."""
    trace = home.parent / "trace.txt"
    trace.unlink(missing_ok=True)
    proc = ingest(home, corpus, *args, NPCQA_FAULT_TRACE=str(trace))
    assert proc.returncode == 0, proc.stderr
    points = []
    for i, line in enumerate(trace.read_text(encoding="utf-8").splitlines(), 1):
        label, _, detail = line.partition("\t")
        points.append(Point(i, label, tuple(d for d in detail.split(",") if d)))
    return points


def killed(home: Path, corpus: Path, n: int, *args: str) -> None:
    proc = ingest(home, corpus, *args, NPCQA_FAULT_KILL_AT=str(n))
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr[-2000:])


def snapshot(home: Path | Settings) -> dict[str, tuple]:
    """Every chunk in the store: id → (text, metadata without the time it was first added, vector)."""
    store = open_store(home if isinstance(home, Settings) else Settings(home=home))
    res = store._get(include=["documents", "metadatas", "embeddings"])
    return {cid: (text, {k: v for k, v in meta.items() if k != "x_added"}, np.asarray(vec))
            for cid, text, meta, vec in zip(res["ids"], res["documents"], res["metadatas"], res["embeddings"])}


def assert_same_chunks(got: dict, want: dict) -> None:
    assert sorted(got) == sorted(want), (f"missing {sorted(set(want) - set(got))}, "
                                        f"extra {sorted(set(got) - set(want))}")
    for cid, (text, meta, vec) in want.items():
        g_text, g_meta, g_vec = got[cid]
        assert (g_text, g_meta) == (text, meta), cid
        cos = float(g_vec @ vec / (np.linalg.norm(g_vec) * np.linalg.norm(vec)))
        assert cos > 0.999, (cid, cos)  # the chunk's own vector, not another's (or a zero one)


def assert_converged(home: Path, corpus: Path, want: dict) -> None:
    assert_same_chunks(snapshot(home), want)
    kw = KeywordIndex.load(home / "keyword")
    assert kw is not None and sorted(c.id for c in kw.chunks) == sorted(want)
    check = verify_index(settings_for(home, corpus))
    assert check.ok and check.drift == [] and check.docs_recorded == check.docs_stored, check.to_json()


def pick(points: list[Point], name: str) -> Point:
    """A kill point by what it interrupts (see the test ids)."""
    ups = [p for p in points if p.label == "store.upsert"]
    chosen = {
        "before-any-write": lambda: points[0],
        "before-first-chunk-write": lambda: ups[0],
        "between-groups-of-one-document": lambda: next(
            b for a, b in zip(ups, ups[1:]) if set(a.docs) & set(b.docs)),
        "group-spanning-two-documents": lambda: next(p for p in ups if len(p.docs) >= 2),
        "last-chunk-group": lambda: ups[-1],
        "before-first-record-line": lambda: next(p for p in points if p.label == "record.append"),
        "before-last-record-line": lambda: [p for p in points if p.label == "record.append"][-1],
        "kept-chunks-metadata": lambda: next(p for p in points if p.label == "store.update"),
        "stale-chunk-deletion": lambda: next(p for p in points if p.label == "store.delete"),
        "revision-commit": lambda: next(p for p in points if p.label == "store.commit"),
        "keyword-index-write": lambda: next(p for p in points if p.label == "keyword.write"),
        "keyword-index-swap": lambda: next(p for p in points if p.label == "keyword.swap"),
        "keyword-index-between-renames": lambda: next(p for p in points if p.label == "keyword.swap.between"),
        "record-compaction": lambda: next(p for p in points if p.label == "record.rewrite"),
        "upload-file-move": lambda: next(p for p in points if p.label == "upload.move"),
    }[name]
    return chosen()


UPLOAD_ID = "uploads/opinion/lianluozhan.txt"


OTHERS = {k: v for k, v in FILES.items() if k != OPINION_ID}


def clean_build(root: Path, files: dict[str, str], embedder, upload: str | None = None) -> tuple[Path, dict]:
    """A fresh home built by one uninterrupted sync (an upload placed where ``add`` puts it)."""
    corpus, home = tiny_corpus(root, files), root / "home"
    if upload is not None:
        (home / "uploads" / "opinion").mkdir(parents=True)
        (home / "uploads" / "opinion" / "lianluozhan.txt").write_text(upload, encoding="utf-8")
    resync(home, corpus, embedder)
    return home, snapshot(home)


def new_upload(root: Path) -> Path:
    src = root / "incoming" / "lianluozhan.txt"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(OPINION_V2, encoding="utf-8")
    return src


def home_copy(src: Path, root: Path, files: dict[str, str]) -> tuple[Path, Path]:
    home = root / "home"
    shutil.copytree(src, home)
    return home, tiny_corpus(root, files)


def assert_old_index_queryable(home: Path, ref_before: dict, changed: str) -> None:
    """After the kill: every other document's chunks are all there, and the changed one still has chunks."""
    after = snapshot(home)
    others = {cid for cid, (_, meta, _) in ref_before.items() if meta["doc_id"] != changed}
    assert others <= set(after)
    assert any(m["doc_id"] == changed for _, m, _ in after.values())
