"""The README's generated module table matches the tree (``python -m npcqa.layout --readme``)."""
from __future__ import annotations

from npcqa.layout import REPO, markdown, modules


def test_readme_layout_table_is_generated_from_the_tree():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- layout:start -->\n", 1)[1].split("\n<!-- layout:end -->", 1)[0]
    assert section == markdown(), "README layout table is stale: run `python -m npcqa.layout --readme`"


def test_every_module_says_what_it_is_for(tmp_path):
    table = markdown()
    undocumented = [p.relative_to(REPO).as_posix() for p in modules()
                    if f"| `{p.relative_to(REPO).as_posix()}` |  |" in table]
    assert not undocumented, f"modules without a docstring: {undocumented}"
    # the generator itself sees a missing docstring (so the check above can fail)
    (tmp_path / "npcqa").mkdir()
    (tmp_path / "npcqa" / "bare.py").write_text("x = 1\n", encoding="utf-8")
    assert "| `npcqa/bare.py` |  |" in markdown(tmp_path)
