"""Audit log: who did what, when, to which document — one JSON object per line in ``settings.audit_path``.

    record(settings, "admin@10.0.0.5", "add", ["uploads/report/x.txt"], {"chunks": 4})
    read_audit(settings, limit=100)          # newest last

Appends are serialized with ``flock`` so several app processes and the CLI can share one log.
"""
from __future__ import annotations

from typing import Any, Iterable

from npcqa.clock import utc_now_iso
from npcqa.jsonl import append_jsonl, read_jsonl
from npcqa.settings import Settings


def record(settings: Settings, actor: str, action: str, doc_ids: Iterable[str] | str | None = None,
           detail: Any = None) -> dict:
    """Append one record ``{time, actor, action, doc_ids, detail}`` and return it."""
    if isinstance(doc_ids, str):
        doc_ids = [doc_ids]
    rec = {
        "time": utc_now_iso(),
        "actor": str(actor or "unknown"),
        "action": str(action),
        "doc_ids": list(doc_ids or []),
        "detail": detail if detail is not None else {},
    }
    return append_jsonl(settings.audit_path, rec)


def read_audit(settings: Settings, limit: int | None = None, action: str | None = None,
               doc_id: str | None = None) -> list[dict]:
    """Records in order (newest last); ``limit`` keeps the last N after filtering. Broken lines are skipped."""
    out = [rec for rec in read_jsonl(settings.audit_path)
           if (not action or rec.get("action") == action) and (not doc_id or doc_id in (rec.get("doc_ids") or []))]
    return out[-limit:] if limit else out
