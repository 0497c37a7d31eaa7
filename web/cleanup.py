"""Scheduled removal of the app's temporary files.

Why: quiz exports (``web.quiz_tab``) and feedback CSV exports (``web.console``) are written to fresh temp
folders, and Gradio's upload cache keeps every uploaded file; nothing removed either, so the disk
filled with every request. Gradio copies what a handler returns into its own cache before the browser
downloads it, so an export folder is no longer needed minutes after it was written.

``start(demo)`` (called from ``launch``) sets Gradio's own ``delete_cache`` for its cache and starts one
daemon thread (a ``Cleaner``) that removes our export folders older than ``EXPORT_MAX_AGE`` every
``CLEAN_EVERY`` s.
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
QUIZ_EXPORT_PREFIX = "npcqa-quiz-"  # temp folders of the quiz tab's exports (web.quiz_tab)
FEEDBACK_EXPORT_PREFIX = "npcqa-feedback-"  # temp folders of the console's feedback CSV (web.console)
EXPORT_PREFIXES = (QUIZ_EXPORT_PREFIX, FEEDBACK_EXPORT_PREFIX)

_lock = threading.Lock()


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


class Cleaner:
    """A daemon thread running ``remove_old_exports(root, max_age)`` every ``every`` seconds until stopped."""

    def __init__(self, root: str | Path | None = None, every: float = CLEAN_EVERY, max_age: float = EXPORT_MAX_AGE):
        self.root, self.every, self.max_age = root, every, max_age
        self.removed: list[Path] = []  # what this cleaner removed so far (for the log and the tests)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="npcqa-cleanup", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.removed += remove_old_exports(self.root, max_age=self.max_age)
            self._stop.wait(self.every)

    def start(self) -> "Cleaner":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)


_cleaner: Cleaner | None = None  # the process's one scheduled clean-up (several demos share the temp dir)


def start(demo, every: float = CLEAN_EVERY, max_age: float = EXPORT_MAX_AGE) -> Cleaner:
    """Gradio's cache clean-up for ``demo`` plus (once per process) our export clean-up thread."""
    global _cleaner
    if not getattr(demo, "delete_cache", None):
        demo.delete_cache = (int(every), int(CACHE_MAX_AGE))
    with _lock:
        if _cleaner is None:
            _cleaner = Cleaner(every=every, max_age=max_age).start()
        return _cleaner
