"""The style sheets of the web layer, read from ``web/static/*.css``.

Why files: CSS is easier to read, diff and lint as CSS than as a Python string, and a designer can
change it without touching code. The files ship inside the ``web`` package (package data), so they are
found next to this module wherever the project is installed.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"


@cache
def css(name: str) -> str:
    """The style sheet ``web/static/<name>.css`` (read once)."""
    return "\n" + (STATIC_DIR / f"{name}.css").read_text(encoding="utf-8")


ADMIN_CSS = css("admin")  # the 管理 console (joined to web.render.CSS at launch, see app.py)
QUIZ_CSS = css("quiz")  # the 出题 preview (inlined in the preview's markup: web.quiz_tab.render_html)
