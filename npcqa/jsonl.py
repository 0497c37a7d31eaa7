"""Append-only JSON-lines files (feedback, audit, logs) shared by several processes.

``read_jsonl`` is the tolerant reader of such a log: a line torn by a crash or edited by hand is
skipped, not fatal, because the rest of the log is still worth showing. Readers of files the
project writes atomically (question sets, the sync record, the question bank) are strict instead
and name the bad line: there a damaged line is a bug to report, not noise to skip.

Each append is one ``write`` of one line under an exclusive ``flock`` (plus a thread lock), so app
workers, the CLI and other app processes on the same home never interleave lines.
"""
from __future__ import annotations

import fcntl
import json
import threading
from pathlib import Path
from typing import Any

from npcqa.clock import utc_now_iso

_LOCK = threading.Lock()


def append_jsonl(path: str | Path, record: dict[str, Any]) -> dict[str, Any]:
    """Append ``record`` (``time`` added when missing) as one line; returns what was written."""
    path = Path(path)
    rec = dict(record)
    rec.setdefault("time", utc_now_iso())
    line = json.dumps(rec, ensure_ascii=False, default=str) + "\n"  # json escapes newlines
    path.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK, open(path, "a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.write(line)
            fh.flush()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return rec


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Every JSON object of an append-only log, oldest first; a missing file is empty, blank,
    damaged and non-object lines are skipped."""
    try:
        fh = open(path, encoding="utf-8", errors="replace")
    except OSError:
        return []
    out: list[dict[str, Any]] = []
    with fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
    return out
