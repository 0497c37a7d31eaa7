"""Simplified / Traditional script of quiz text: a Traditional report gets its distractors in Traditional.

Comparisons all happen in ``npcqa.text.match_form`` (Simplified); this module only turns a chosen
distractor back into the script of the sentence it goes into.
"""
from __future__ import annotations

import functools

from npcqa.text import to_simplified


@functools.lru_cache(maxsize=1)
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def to_traditional(text: str) -> str:
    return _s2t().convert(text)


def is_traditional(text: str) -> bool:
    return to_simplified(text) != text


def in_script(term: str, like_traditional: bool) -> str:
    """``term`` (Simplified) in Traditional when the text it goes into is Traditional."""
    return to_traditional(term) if like_traditional else term
