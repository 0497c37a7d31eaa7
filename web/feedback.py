"""Cadres' 👍/👎 feedback: one JSON object per line, appended; read back by the maintainers' console.

A record holds at least ``time``, ``rating`` ("up"/"down"), ``comment``, ``question``, ``answer``
and ``citations`` (n, title, locator, kind, doc_id, chunk_id). Appends are serialized by a
thread lock and an ``flock`` so several app workers/processes never interleave lines.
"""
from __future__ import annotations

import fcntl
import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
RATINGS = ("up", "down")


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def append_feedback(path: str | Path, record: dict[str, Any]) -> dict[str, Any]:
    """Append ``record`` (``time`` added when missing) as one JSON line; returns what was written."""
    path = Path(path)
    rec = dict(record)
    rec.setdefault("time", now_iso())
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


def read_feedback(path: str | Path) -> list[dict[str, Any]]:
    """All records, oldest first; a missing file is empty, a damaged line is skipped."""
    path = Path(path)
    if not path.exists():
        return []
    out: list[dict[str, Any]] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
    return out
