"""Where the checkout is: the default home, corpus and README are found relative to it.

A module of its own because both ``npcqa.settings`` (defaults) and ``npcqa.readme`` (generated
sections) need it, and ``npcqa.settings`` runs ``npcqa.readme`` for ``--readme``: with the constant
in either of them the two imported each other.
"""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
README = REPO_ROOT / "README.md"
