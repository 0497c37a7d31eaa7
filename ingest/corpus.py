"""What the corpus holds: the manifest, the files under corpus/ (and the maintainers' upload area),
and the laws from the DB, turned into cleaned ``Document`` objects.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ingest import rejections
from ingest.clean import clean_scraped, detect_region
from ingest.readers import SUPPORTED_SUFFIXES, ReadError, read_file
from npcqa.settings import Settings
from npcqa.text import to_simplified
from npcqa.types import KINDS, Document

DEFAULT_FOLDERS = {"laws": "law", "opinions": "opinion", "reports": "report"}


@dataclass
class Manifest:
    law_names: list[str] = field(default_factory=list)
    law_status: str = "现行有效"
    all_laws: bool = False
    folders: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FOLDERS))
    documents: dict[str, dict] = field(default_factory=dict)


class ManifestError(RuntimeError):
    pass


def load_manifest(corpus_dir: Path) -> Manifest:
    path = corpus_dir / "manifest.toml"
    if not path.exists():
        return Manifest()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}：不是有效的 TOML（{exc}）；请修正该文件后再运行") from exc
    laws = data.get("laws", {})
    folders = {**DEFAULT_FOLDERS, **data.get("folders", {})}
    for folder, kind in folders.items():
        if kind not in KINDS:
            raise ManifestError(f"{path}：文件夹 {folder!r} 的类别 {kind!r} 未知（请使用 {', '.join(KINDS)} 之一）")
    return Manifest(
        law_names=list(laws.get("names", [])), law_status=laws.get("status", "现行有效"),
        all_laws=bool(laws.get("all", False)), folders=folders, documents=data.get("documents", {}),
    )


@dataclass
class FileSource:
    path: Path  # absolute
    rel: str  # doc_id: path relative to its root, prefixed for uploads
    kind: str
    overrides: dict


def discover_files(settings: Settings, manifest: Manifest) -> list[FileSource]:
    """Every supported file under corpus/<folder>/ and <home>/uploads/<kind>/.

    Uploads take the metadata overrides a maintainer set when adding them (``uploads/meta.json``).
    """
    from ingest.uploads import upload_overrides

    found: list[FileSource] = []
    uploaded = upload_overrides(settings)
    roots = [(settings.corpus_dir / folder, folder, kind, "") for folder, kind in manifest.folders.items()]
    roots += [(settings.uploads_dir / kind, kind, kind, "uploads/") for kind in KINDS]
    for root, folder, kind, prefix in roots:
        if not root.is_dir():
            continue
        for p in sorted(root.rglob("*")):
            if not p.is_file() or p.name.startswith(".") or p.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            rel = f"{prefix}{folder}/{p.relative_to(root).as_posix()}"
            overrides = dict(manifest.documents.get(rel, {}))
            if prefix:
                overrides.update(uploaded.get(rel, {}))
            found.append(FileSource(p, rel, overrides.pop("kind", kind), overrides))
    return found


_DATE_IN_NAME = re.compile(r"(20\d{2})[-_.]?(\d{2})[-_.]?(\d{2})")


def _title_from_name(path: Path) -> str:
    return _DATE_IN_NAME.sub("", path.stem).strip(" -_") or path.stem


def build_document(src: FileSource, max_bytes: int) -> Document:
    """Read, clean and describe one file. Raises ReadError for a file that cannot be used."""
    raw = read_file(src.path, max_bytes=max_bytes)
    if src.kind == "report" or raw.fmt == "html":
        cleaned = clean_scraped(raw.text)
        text, meta = cleaned.text, dict(cleaned.meta)
    else:
        text, meta = raw.text.strip(), {}
        first, _, rest = text.partition("\n")
        if first.strip() and len(first.strip()) <= 80 and not first.strip().endswith(("。", "；", "，")) and rest.strip():
            meta["title"] = first.strip().lstrip("#").strip()  # a document's first line is its title
            text = rest.strip()
    if not text.strip():
        raise ReadError(src.path, rejections.only_boilerplate())
    title = src.overrides.get("title") or meta.get("title") or raw.title_hint or _title_from_name(src.path)
    date = str(src.overrides.get("date") or meta.get("date") or "")
    if not date and (m := _DATE_IN_NAME.search(src.path.stem)):
        date = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    region = src.overrides.get("region") or meta.get("region") or detect_region(title)
    if not region and src.kind == "report":  # a report's opening names its place; an opinion's body does not
        region = detect_region(text[:500])
    extra = {k: str(v) for k, v in src.overrides.items() if k not in {"title", "date", "region", "source", "status"}}
    for key in ("author", "editor", "url"):
        if meta.get(key):
            extra.setdefault(key, meta[key])
    extra["file"] = src.rel
    extra["encoding"] = raw.encoding
    doc = Document(
        doc_id=src.rel, kind=src.kind, title=title, text=text,
        source=str(src.overrides.get("source") or meta.get("source") or ""), path=src.rel, date=date,
        region=to_simplified(region or ""), status=str(src.overrides.get("status", "")), extra=extra,
    )
    return doc.finalize()
