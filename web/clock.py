"""Timestamps of the web layer, in one place.

Why: the console and the quiz tab name their export files after the time they were written, and the
console shows the times stored in feedback / audit records. Stamps are UTC ISO 8601, so two exports
sort by name in the order they were made whatever the server's time zone; stored records already
carry ISO 8601 times with their offset and are shown in the server's local time, as before.
"""
from __future__ import annotations

from datetime import datetime

from npcqa.clock import utc_now

DISPLAY_FORMAT = "%Y-%m-%d %H:%M:%S"  # how the console's tables show a record's time
FILE_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"  # ISO 8601 basic format in UTC: safe in a file name, sorts by time


def file_stamp() -> str:
    """Now, for an export's file name (``20261204T204440Z``)."""
    return utc_now().strftime(FILE_STAMP_FORMAT)


def display_time(value: object) -> str:
    """A stored ISO 8601 time in the server's local time for a table; anything else as it is."""
    try:
        return datetime.fromisoformat(str(value)).astimezone().strftime(DISPLAY_FORMAT)
    except (TypeError, ValueError):
        return str(value or "")
