"""What the console knows about files a maintainer is about to upload, before any is read in full.

Why apart: the console's operations (``web.console``) and the upload form's wiring (``web.admin_tab``)
both need the files of a ``gr.File`` value as (path, name) pairs, and the first guess of a new file's
kind from its title is a small rule set of its own that the maintainer can always override.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

DEFAULT_KIND = "report"  # most uploads are local-practice reports; also the guess when nothing matches
_REPORT_TITLE = re.compile(r"做法|经验|实践|探索|创新|纪实|工作法|见效|走深|走实|推动|助力|打造|聚焦|三化|四个")
_OPINION_TITLE = re.compile(r"(意见|办法|规定|决定|规则|细则|方案|通知|指引|制度|纪要)(（.*）)?$")
_LAW_TITLE = re.compile(r"^中华人民共和国|(条例|[^做办方手说想看用写]法)(（.*）)?$")


def guess_kind(title: str, name: str = "") -> str:
    """A first guess of a new file's kind from its title (the maintainer can change it)."""
    t = (title or Path(name).stem).strip().strip("《》")
    if _REPORT_TITLE.search(t):
        return "report"
    if "意见" in t or _OPINION_TITLE.search(t):
        return "opinion"
    if _LAW_TITLE.search(t):
        return "law"
    return DEFAULT_KIND


def upload_items(files: Iterable | None) -> list[tuple[str, str]]:
    """gr.File values (paths; Gradio keeps the browser's file name as the last path part) or (path, name)."""
    out = []
    for f in files or []:
        if isinstance(f, (tuple, list)):
            out.append((str(f[0]), str(f[1])))
        else:
            path = str(getattr(f, "name", f))
            out.append((path, Path(path).name))
    return out
