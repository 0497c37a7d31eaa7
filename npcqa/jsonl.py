"""Append-only JSON-lines files (feedback, audit, logs) shared by several processes.

Each append is one ``write`` of one line under an exclusive ``flock`` (plus a thread lock), so app
workers, the CLI and other app processes on the same home never interleave lines.
"""
from __future__ import annotations

import fcntl
import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def append_jsonl(path: str | Path, record: dict[str, Any]) -> dict[str, Any]:
    """Append ``record`` (``time`` added when missing) as one line; returns what was written."""
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
