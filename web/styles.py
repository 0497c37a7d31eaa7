"""The style sheets and small page scripts of the web layer, read from ``web/static/``.

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


@cache
def script(name: str) -> str:
    """The page script ``web/static/<name>.js`` (read once), without its leading ``//`` comment lines:
    Gradio takes a script as one JavaScript function expression."""
    lines = (STATIC_DIR / f"{name}.js").read_text(encoding="utf-8").splitlines()
    while lines and lines[0].startswith("//"):
        lines.pop(0)
    return "\n".join(lines).strip()


# chat-layout.css — the chat's layout at every width: the page is the one scroll (the chat grows with its
# answers instead of scrolling inside a box), the question box stays at the bottom of the viewport, and at
# ≤ 480 px (phones) the filter panel folds above the chat, touch targets are ≥ 44 px and answer text is 16 px.
# Gradio prefixes custom rules with its app container, and rules inside @media only get the prefixed copy:
# the page's outer containers are therefore styled by top-level rules only.
CHAT_CSS = css("chat") + css("chat-layout")  # the page and the 问答 tab (answers: web.render's markup)
ADMIN_CSS = css("admin")  # the 管理 console (joined to CHAT_CSS at launch, see app.py)
QUIZ_CSS = css("quiz")  # the 出题 preview (inlined in the preview's markup: web.quiz_tab.render_html)
