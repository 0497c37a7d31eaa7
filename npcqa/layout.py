"""The layout table of the README, generated from the modules' own docstrings.

    python -m npcqa.layout            # print the table
    python -m npcqa.layout --readme   # write it between <!-- layout:start/end --> in README.md

Why generated: a hand-written map of the tree goes stale with the first moved module; this one is
rebuilt from the files (read with ``ast``, nothing imported), and a test fails when the README's copy
differs from what the tree says. Each row is a module and the first sentence of its docstring, so a
module without a docstring shows up as a gap to fill.
"""
from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: the packages in import order (a package may import only those before it; evals and tests on top)
PACKAGES = ("npcqa", "index", "ingest", "quiz", "web", "evals", "tests")
TOP_LEVEL = ("app.py",)
SUMMARY_CHARS = 160  # a row's summary is cut here: the docstring itself is one click away
_SENTENCE_END = re.compile(r"(?<=[。！？；])|(?<=\.)\s|(?<=:)\s*$|\n\s*\n")


def summary(path: Path) -> str:
    """The first sentence of a module's docstring, on one line ("" without a docstring)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    first = _SENTENCE_END.split(doc.strip(), maxsplit=1)[0]
    text = " ".join(first.split())
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS - 1] + "…"


def modules(root: Path = REPO) -> list[Path]:
    """Every Python file of the packages and the top-level scripts, in table order."""
    found = [root / name for name in TOP_LEVEL if (root / name).is_file()]
    for package in PACKAGES:
        found += sorted(p for p in (root / package).rglob("*.py") if "__pycache__" not in p.parts)
    return found


def markdown(root: Path = REPO) -> str:
    rows = ["| module | what it is for |", "| --- | --- |"]
    for path in modules(root):
        rel = path.relative_to(root).as_posix()
        rows.append(f"| `{rel}` | {summary(path).replace('|', '/')} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m npcqa.layout", description="the README's layout table")
    ap.add_argument("--readme", action="store_true", help="write the table into README.md")
    args = ap.parse_args(argv)
    table = markdown()
    if args.readme:
        from npcqa.readme import update_readme

        if not update_readme("layout", table):
            print("README.md 中没有 <!-- layout:start --> / <!-- layout:end --> 标记")
            return 1
    else:
        print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
