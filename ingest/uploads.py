"""The maintainers' upload area: ``<home>/uploads/<kind>/<name>`` plus a small JSON sidecar.

The sidecar (``<home>/uploads/meta.json``) records, per upload doc_id, the metadata a
maintainer set by hand (title / region / date) and some provenance (original name, who added
it, when). ``corpus.discover_files`` merges the overrides, so a later full sync produces exactly
the same documents as the add did. It is written atomically (temp file + ``os.replace``).

Names are checked, never "repaired": a name with a path separator or ``..`` is refused with a
reason rather than silently reduced, so nothing can be written outside the upload area.
"""
from __future__ import annotations

import json
import os
import tempfile
import unicodedata
from pathlib import Path

from ingest import rejections
from ingest.readers import SUPPORTED_SUFFIXES
from ingest.rejections import Reason, Rejected
from npcqa.settings import Settings

OVERRIDE_KEYS = ("title", "region", "date")
MAX_NAME_BYTES = 200
_FORBIDDEN = set('<>:"|?*')


class UploadRejected(Rejected, ValueError):
    """One file cannot be added; ``reason`` tells the maintainer why and what to do, ``code`` names the rule."""

    def __init__(self, reason: Reason):
        super().__init__(reason)


def meta_path(settings: Settings) -> Path:
    return settings.uploads_dir / "meta.json"


def load_meta(settings: Settings) -> dict[str, dict]:
    """doc_id → {title?, region?, date?, original_name, added, updated, actor}; {} when absent or unreadable."""
    try:
        data = json.loads(meta_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def save_meta(settings: Settings, meta: dict[str, dict]) -> None:
    path = meta_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".meta-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: str | Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def overrides_of(entry: dict) -> dict:
    """The metadata overrides stored for one upload (only non-empty title/region/date)."""
    return {k: str(entry[k]) for k in OVERRIDE_KEYS if entry.get(k)}


def upload_overrides(settings: Settings) -> dict[str, dict]:
    """doc_id → overrides, for ``discover_files``."""
    return {doc_id: overrides_of(entry) for doc_id, entry in load_meta(settings).items()}


def check_name(name: str) -> str:
    """A safe file name for the upload area, or UploadRejected with the reason.

    Refused: empty names, path separators (``/`` or ``\\``), ``..`` anywhere, names starting with a dot
    (hidden files are skipped by the sync), control characters, characters Windows forbids, names
    over 200 bytes, and suffixes the readers do not support.
    """
    raw = name or ""
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise UploadRejected(rejections.no_name())
    if "/" in name or "\\" in name or ".." in name:
        raise UploadRejected(rejections.unsafe_name(raw))
    if name.startswith("."):
        raise UploadRejected(rejections.hidden_name(raw))
    bad = sorted({ch for ch in name if ch in _FORBIDDEN or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")})
    if bad:
        shown = " ".join(repr(ch) for ch in bad)
        raise UploadRejected(rejections.bad_characters(raw, shown))
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise UploadRejected(rejections.name_too_long(len(name.encode("utf-8")), MAX_NAME_BYTES))
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadRejected(rejections.unknown_type(suffix, SUPPORTED_SUFFIXES))
    return name


def upload_doc_id(kind: str, name: str) -> str:
    return f"uploads/{kind}/{name}"


def upload_target(settings: Settings, kind: str, name: str) -> Path:
    """Where an upload lives; asserts (again) that it stays inside the upload area."""
    root = (settings.uploads_dir / kind).resolve()
    target = (root / name).resolve()
    if target.parent != root:
        raise UploadRejected(rejections.outside_upload_area(name, root))
    return settings.uploads_dir / kind / name
