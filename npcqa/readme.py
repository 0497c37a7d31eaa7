"""Generated README sections: commands write their measured tables between markers, so the
README cannot drift from the code or from the last measurement."""
from __future__ import annotations

from pathlib import Path

from npcqa.paths import README


def update_readme(marker: str, content: str, readme: Path = README) -> bool:
    """Replace the text between <!-- marker:start --> and <!-- marker:end --> in README."""
    if not readme.exists():
        return False
    text = readme.read_text(encoding="utf-8")
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start not in text or end not in text:
        return False
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{content}\n{end}{tail}", encoding="utf-8")
    return True
