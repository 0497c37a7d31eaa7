"""The checks a maintainer's request passes before anything is indexed: kind, date, source file, and
whether its name is free (no other document may be overwritten by an upload).

Why a module of their own: ``add_files`` and ``preview_file`` must refuse exactly the same things with
exactly the same reasons, so the preview a maintainer confirms in the console is what the add does.
"""
from __future__ import annotations

import re
from datetime import date as _date
from pathlib import Path

from ingest.corpus import discover_files, load_manifest
from ingest.uploads import OVERRIDE_KEYS, UploadRejected, overrides_of
from npcqa.settings import Settings
from npcqa.types import KINDS

DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # what --date and the console's date box accept


class MaintainError(ValueError):
    """A request that cannot be carried out as given (bad kind, bad date…); the message is for a person."""


class UnknownDocument(MaintainError, KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown document"


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise MaintainError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
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
    raise MaintainError(f"date {value!r} is not a valid YYYY-MM-DD date (for example 2024-05-06)")


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


def name_conflict(name: str, doc_id: str, used: dict[str, list[str]], registry: dict) -> str | None:
    """Reason why ``name`` may not be used for ``doc_id`` (another document already has it), else None."""
    others = [d for d in used.get(name.casefold(), []) if d != doc_id]
    others += [d for d in registry if d != doc_id and d not in others and not d.startswith("law:")
               and Path(d).name.casefold() == name.casefold()]
    if not others:
        return None
    other = sorted(others)[0]
    if other.startswith("uploads/"):
        where = f"an uploaded document of kind {other.split('/')[1]!r} ({other})"
        fix = "remove that one first (`python -m ingest remove DOC_ID`), or rename this file"
    else:
        where = f"a corpus document ({other})"
        fix = "rename this file, or edit the file in the corpus folder instead"
    return (f"a different document already uses the name {name!r}: {where}; it is not overwritten. "
            f"To replace a document, add it with the same name and the same kind; otherwise {fix}")


def check_source(src: Path, max_bytes: int) -> None:
    if not src.exists():
        raise UploadRejected("file does not exist; check the path")
    if not src.is_file():
        raise UploadRejected("is not a regular file")
    size = src.stat().st_size
    if size > max_bytes:
        raise UploadRejected(f"file is too large: {size / 1024 / 1024:.1f} MB ({size} bytes), the limit is "
                             f"{max_bytes / 1024 / 1024:.1f} MB (NPCQA_MAX_FILE_MB); split it or raise the limit")


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
