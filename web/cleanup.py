"""Scheduled removal of the app's temporary files.

Why: quiz exports (``quiz.ui``) and feedback CSV exports (``web.admin``) are written to fresh temp
folders, and Gradio's upload cache keeps every uploaded file; nothing removed either, so the disk
filled with every request. Gradio copies what a handler returns into its own cache before the browser
downloads it, so an export folder is no longer needed minutes after it was written.

``start(demo)`` (called from ``launch``) sets Gradio's own ``delete_cache`` for its cache and starts one
daemon thread that removes our export folders older than ``EXPORT_MAX_AGE`` every ``CLEAN_EVERY`` s.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

CLEAN_EVERY = 600  # seconds between two clean-ups
EXPORT_MAX_AGE = 3600  # an export folder older than this is removed (downloads happen within minutes)
CACHE_MAX_AGE = 3600  # Gradio's cached uploads / returned files older than this are removed
EXPORT_PREFIXES = ("npcqa-quiz-", "npcqa-feedback-")

_started = threading.Event()


def remove_old_exports(root: str | Path | None = None, max_age: float = EXPORT_MAX_AGE,
                       now: float | None = None) -> list[Path]:
    """Remove our export folders under ``root`` (the temp dir) older than ``max_age``; returns them."""
    root = Path(root or tempfile.gettempdir())
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for p in entries:
        try:
            if p.name.startswith(EXPORT_PREFIXES) and p.is_dir() and not p.is_symlink() \
                    and now - p.stat().st_mtime > max_age:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
        except OSError:
            continue
    return removed


def _loop(every: float, max_age: float) -> None:
    while True:
        remove_old_exports(max_age=max_age)
        time.sleep(every)


def start(demo, every: float = CLEAN_EVERY, max_age: float = EXPORT_MAX_AGE) -> None:
    """Gradio's cache clean-up for ``demo`` plus (once per process) our export clean-up thread."""
    if not getattr(demo, "delete_cache", None):
        demo.delete_cache = (int(every), int(CACHE_MAX_AGE))
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_loop, args=(every, max_age), name="npcqa-cleanup", daemon=True).start()
