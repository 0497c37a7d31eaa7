"""Everyday words → statutory terms (``everyday.toml``), added to the keyword query.

BM25 only matches words the statute uses; a cadre who says 让他下台 means 罢免, one who says 红头文件
means 规范性文件. The dense retriever and the question bank read meaning and need no help; BM25 does.
"""
from __future__ import annotations

import functools
import tomllib
from pathlib import Path

TABLE = Path(__file__).with_name("everyday.toml")


@functools.lru_cache(maxsize=1)
def everyday_terms() -> dict[str, str]:
    return dict(tomllib.loads(TABLE.read_text(encoding="utf-8")).get("terms", {}))


def expand(text: str) -> list[str]:
    """The statutory terms of every everyday word found in ``text`` (longest words first, each once)."""
    terms = everyday_terms()
    out: list[str] = []
    rest = text
    for key in sorted(terms, key=len, reverse=True):
        if key in rest:
            rest = rest.replace(key, "\x00")
            for t in terms[key].split():
                if t not in out and t not in text:
                    out.append(t)
    return out
