"""Vectors computed on this machine, kept per home (``$NPCQA_HOME/embed_cache.sqlite``): a
``--rebuild`` or a re-added upload does not embed the same text twice."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

SQL_BATCH = 500  # keys per SELECT … IN (…): below SQLite's default limit of 999 host parameters
LOCK_TIMEOUT = 30  # s a reader or writer waits for another process's write


class LocalCache:
    """Vectors computed on this machine, in SQLite under the home (WAL: readers never block a sync)."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._con: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(str(self.path), check_same_thread=False, timeout=LOCK_TIMEOUT)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("CREATE TABLE IF NOT EXISTS vec (fp TEXT NOT NULL, key TEXT NOT NULL, v BLOB NOT NULL, "
                        "PRIMARY KEY (fp, key))")
            self._con = con
        return self._con

    def get(self, fingerprint: str, keys: Sequence[int]) -> dict[int, np.ndarray]:
        if not keys or not self.path.exists():
            return {}
        out: dict[int, np.ndarray] = {}
        with self._lock:
            con = self._db()
            hexes = [f"{k:016x}" for k in keys]
            for i in range(0, len(hexes), SQL_BATCH):
                part = hexes[i:i + SQL_BATCH]
                q = f"SELECT key, v FROM vec WHERE fp=? AND key IN ({','.join('?' * len(part))})"
                for key, blob in con.execute(q, [fingerprint, *part]):
                    out[int(key, 16)] = np.frombuffer(blob, dtype="<f4").copy()
        return out

    def put(self, fingerprint: str, keys: Sequence[int], vectors: np.ndarray) -> None:
        if not len(keys):
            return
        rows = [(fingerprint, f"{k:016x}", np.asarray(v, dtype="<f4").tobytes()) for k, v in zip(keys, vectors)]
        try:
            with self._lock:
                con = self._db()
                with con:
                    con.executemany("INSERT OR REPLACE INTO vec VALUES (?,?,?)", rows)
        except sqlite3.Error:
            pass  # a cache that cannot be written (read-only home) only costs re-embedding later
