"""The one clock of the project: every stored time is UTC ISO 8601 to the second.

Why: audit records, feedback, sync logs and the sync record are written by the CLI, the app and
tests, on servers in whatever time zone; one format with an explicit offset compares and sorts the
same everywhere. How a time is *shown* (the console's tables, export file names) is the web layer's
business (``web.clock``).
"""
from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def utc_now_iso() -> str:
    """Now, as UTC ISO 8601 to the second (``2026-12-04T20:44:40+00:00``)."""
    return utc_now().isoformat(timespec="seconds")
