"""The checks a maintainer's request passes before anything is indexed: kind, date, source file, and
whether its name is free (no other document may be overwritten by an upload).

Why a module of their own: ``add_files`` and ``preview_file`` must refuse exactly the same things with
exactly the same reasons, so the preview a maintainer confirms in the console is what the add does.
"""
from __future__ import annotations

import re
from datetime import date as _date
from pathlib import Path

from ingest import rejections
from ingest.corpus import discover_files, load_manifest
from ingest.rejections import Reason, Rejected
from ingest.uploads import OVERRIDE_KEYS, UploadRejected, overrides_of
from npcqa.settings import Settings
from npcqa.types import KINDS

DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # what --date and the console's date box accept


class MaintainError(Rejected, ValueError):
    """A request that cannot be carried out as given (bad kind, bad date…); the message is for a person,
    ``code`` names the rule (``ingest.rejections``)."""

    def __init__(self, reason: Reason):
        super().__init__(reason)


class UnknownDocument(MaintainError, KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message
        return self.reason


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise MaintainError(rejections.unknown_kind(kind, KINDS))
    return kind


def check_date(value: str | None) -> str | None:
    if value is None or value == "":
        return value
    value = value.strip()
    if DATE_FORMAT.match(value):
        try:
            _date.fromisoformat(value)
            return value
        except ValueError:
            pass
    raise MaintainError(rejections.bad_date(value))


def split_item(item) -> tuple[Path, str]:
    """A path, or (path, name to store it under) — the web passes the browser's file name that way."""
    if isinstance(item, (tuple, list)):
        src, name = item
        return Path(src), str(name)
    return Path(item), Path(item).name


def max_file_bytes(settings: Settings) -> int:
    return int(settings.max_file_mb * 1024 * 1024)


def names_in_use(settings: Settings) -> dict[str, list[str]]:
    """casefolded file name → doc_ids of files (corpus/ and uploads of every kind) using it."""
    used: dict[str, list[str]] = {}
    for src in discover_files(settings, load_manifest(settings.corpus_dir)):
        used.setdefault(src.path.name.casefold(), []).append(src.rel)
    return used


def name_conflict(name: str, doc_id: str, used: dict[str, list[str]], registry: dict) -> Reason | None:
    """Reason why ``name`` may not be used for ``doc_id`` (another document already has it), else None."""
    others = [d for d in used.get(name.casefold(), []) if d != doc_id]
    others += [d for d in registry if d != doc_id and d not in others and not d.startswith("law:")
               and Path(d).name.casefold() == name.casefold()]
    if not others:
        return None
    return rejections.name_in_use(name, sorted(others)[0])


def check_source(src: Path, max_bytes: int) -> None:
    if not src.exists():
        raise UploadRejected(rejections.missing())
    if not src.is_file():
        raise UploadRejected(rejections.not_regular_file())
    size = src.stat().st_size
    if size > max_bytes:
        raise UploadRejected(rejections.upload_too_large(size, max_bytes))


def merge_overrides(previous: dict, title, region, date) -> dict:
    """Earlier hand-set metadata stays unless given again; an empty string clears it."""
    out = overrides_of(previous)
    for key, value in zip(OVERRIDE_KEYS, (title, region, date)):
        if value is None:
            continue
        value = str(value).strip()
        if value:
            out[key] = value
        else:
            out.pop(key, None)
    return out
