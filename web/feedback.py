"""Cadres' 👍/👎 feedback: one JSON object per line, appended; read back by the maintainers' console.

A record holds at least ``time``, ``rating`` ("up"/"down"), ``comment``, ``question``, ``answer``
and ``citations`` (n, title, locator, kind, doc_id, chunk_id). Appends are serialized by a
thread lock and an ``flock`` so several app workers/processes never interleave lines.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from npcqa.jsonl import append_jsonl, read_jsonl

RATINGS = ("up", "down")


def append_feedback(path: str | Path, record: dict[str, Any]) -> dict[str, Any]:
    """Append ``record`` (``time`` added when missing) as one JSON line; returns what was written."""
    return append_jsonl(path, record)


def read_feedback(path: str | Path) -> list[dict[str, Any]]:
    """All records, oldest first; a missing file is empty, a damaged line is skipped."""
    return read_jsonl(path)


def citations_text(citations: list | None) -> str:
    """A record's citations as one line (``[1] 标题 定位；[2] …``), for the console's table and CSV."""
    parts = []
    for c in citations or []:
        if isinstance(c, dict):
            parts.append(f"[{c.get('n', '')}] {c.get('title', '')} {c.get('locator', '')}".strip())
    return "；".join(parts)
