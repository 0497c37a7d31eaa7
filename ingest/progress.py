"""What the ingest commands show on a terminal: a progress bar over a known total of chunks, one-line
notices (waiting for the lock), and ``--json`` output.

Why one module: ``python -m ingest`` (sync) and ``add`` / ``remove`` / ``list`` print the same way,
and the library functions only take a ``Progress`` callback, never print themselves.
"""
from __future__ import annotations

import json
import sys
from typing import Any, Callable

Progress = Callable[[int, int, str], None]  # (done, total, message); total 0 = a notice, not a step
BAR_UNIT = "chunk"
BAR_LABEL = "嵌入 embedding"


def terminal_progress(quiet: bool) -> Progress | None:
    """A tqdm bar on stderr over the total the first call announces; None when quiet or not a terminal."""
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar: dict = {}

    def update(done: int, total: int, message: str) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=total, unit=BAR_UNIT, desc=BAR_LABEL, file=sys.stderr)
        b = bar["bar"]
        b.update(done - b.n)
        if done >= total:
            b.close()

    return update


def cli_progress(quiet: bool) -> Progress | None:
    """The maintainers' commands: notices (``total == 0``) as ``… message`` lines on stderr, steps on the bar."""
    if quiet:
        return None
    bar = terminal_progress(quiet)

    def update(done: int, total: int, message: str) -> None:
        if total == 0:
            if message:
                print(f"… {message}", file=sys.stderr)
            return
        if bar:
            bar(done, total, message)

    return update


def print_json(obj: Any) -> None:
    """One JSON document on stdout, Chinese kept readable."""
    print(json.dumps(obj, ensure_ascii=False))
