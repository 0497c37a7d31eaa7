"""The one HTML-escaping helper of the web layer.

Why one: every piece of document, feedback, audit or user text is escaped before it goes into markup
(the chat, the console, the quiz preview), and two slightly different helpers had drifted apart (one
turned ``0`` into an empty string). ``None`` is the only value shown as nothing.
"""
from __future__ import annotations

from html import escape


def esc(value: object) -> str:
    """``value`` as text safe inside HTML elements and quoted attributes; ``None`` → "", ``0`` → "0"."""
    return escape(str(value if value is not None else ""), quote=True)
