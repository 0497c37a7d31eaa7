"""Fault injection for the crash tests: kill this process at a chosen durable write, never by timing.

Every write that changes persistent state (a Chroma upsert/update/delete, a sync-record line, the
keyword index swap …) first calls ``point(label)``. Two environment variables drive it; both are for
tests only and are unset in production, where ``point`` costs one dictionary lookup:

- ``NPCQA_FAULT_TRACE=PATH``: append each reached point's label to PATH, one per line. A clean run with
  it lists every place a crash can land, which is how the tests choose their kill points.
- ``NPCQA_FAULT_KILL_AT=N``: SIGKILL this process when the N-th point (1-based) is reached, i.e. just
  before that write happens. SIGKILL cannot be caught: no ``finally`` and no ``atexit`` runs, exactly
  like the OOM killer or ``kill -9`` on a shared server.

``NPCQA_FAULT_WRITE_BATCH=N`` overrides the number of embedded chunks per Chroma write
(``ingest.sync.WRITE_BATCH``), so a corpus of a few documents spans many write groups, and groups
split documents, as the full law DB does with the production value.
"""
from __future__ import annotations

import os
import signal

KILL_ENV = "NPCQA_FAULT_KILL_AT"
TRACE_ENV = "NPCQA_FAULT_TRACE"
WRITE_BATCH_ENV = "NPCQA_FAULT_WRITE_BATCH"

_reached = 0


def point(label: str, detail: str = "") -> None:
    """A durable write is about to happen; trace it (``label<TAB>detail``, detail naming e.g. the documents
    the write touches) and/or die here if the test asked for it."""
    global _reached
    kill_at, trace = os.environ.get(KILL_ENV), os.environ.get(TRACE_ENV)
    if not kill_at and not trace:
        return
    _reached += 1
    if trace:
        with open(trace, "a", encoding="utf-8") as fh:
            fh.write(f"{label}\t{detail}\n")
    if kill_at and _reached == int(kill_at):
        os.kill(os.getpid(), signal.SIGKILL)


def write_batch(default: int) -> int:
    """The Chroma write group size: ``default`` unless a test overrides it."""
    value = os.environ.get(WRITE_BATCH_ENV)
    return max(1, int(value)) if value else default
