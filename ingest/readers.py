"""Turn one file on disk into plain text, or say precisely why it cannot be used.

Maintainers drop whatever they have into the corpus: GBK text saved by old Windows tools,
pages saved from a browser, Word files, exported PDFs, and now and then a renamed image.
Every failure therefore becomes a ``ReadError`` whose ``reason`` tells a maintainer what is
wrong and what to do; no parser exception is allowed to escape and stop a whole ingest run.
What the bytes really are and their encoding: ``ingest.sniff``; web pages: ``ingest.html_text``;
Word and PDF files are read here.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ingest import rejections
from ingest.html_text import read_html
from ingest.rejections import Reason, Rejected
from ingest.sniff import decode_text, sniff_type

SUPPORTED_SUFFIXES = {".txt", ".md", ".html", ".htm", ".docx", ".pdf"}
_EXPECTED = {".txt": "text", ".md": "text", ".html": "html", ".htm": "html", ".docx": "docx", ".pdf": "pdf"}


class ReadError(Rejected):
    """A file that cannot be ingested; ``reason`` is written for the maintainer who must fix it, ``code``
    names the rule (``ingest.rejections``)."""

    def __init__(self, path: Path | str, reason: Reason):
        super().__init__(reason, f"{path}: {reason.text}")
        self.path = Path(path)


@dataclass
class RawText:
    text: str
    fmt: str  # txt / md / html / docx / pdf
    encoding: str  # detected text encoding; "" for docx/pdf, whose text is not stored as a byte encoding
    title_hint: str = ""


# A .docx is a zip: a few KB can declare gigabytes of XML (a zip bomb). Python's zipfile never inflates
# an entry past its declared size, so checking the declared sizes before parsing bounds the memory.
DOCX_MAX_UNCOMPRESSED = 200 * 1024 * 1024  # the whole package; a 500-page report is ~10 MB of XML
DOCX_MAX_RATIO = 200  # declared / compressed size of one entry (text XML compresses ~5–20×)
PDF_MAX_PAGES = 2000  # longer "documents" are split by the maintainer anyway
PDF_MAX_SECONDS = 120.0  # text extraction time for one PDF (checked between pages)


def _check_docx_size(path: Path | None, data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    if total > DOCX_MAX_UNCOMPRESSED:
        raise ReadError(path or Path("?"), rejections.docx_too_big(total, DOCX_MAX_UNCOMPRESSED))
    for i in infos:
        if i.file_size > 1024 * 1024 and i.file_size > DOCX_MAX_RATIO * max(1, i.compress_size):
            raise ReadError(path or Path("?"), rejections.docx_bomb(i.filename, i.file_size // max(1, i.compress_size)))


def _read_docx(data: bytes, path: Path | None = None) -> tuple[str, str]:
    import docx

    _check_docx_size(path, data)
    document = docx.Document(io.BytesIO(data))
    lines: list[str] = []

    def walk(container) -> None:
        for item in container.iter_inner_content():
            if hasattr(item, "rows"):
                for row in item.rows:
                    seen: set[int] = set()
                    for cell in row.cells:  # merged cells repeat; emit each once
                        if id(cell._tc) in seen:
                            continue
                        seen.add(id(cell._tc))
                        walk(cell)
            else:
                lines.append(item.text)

    walk(document)
    title = ""
    for p in document.paragraphs:
        style = (p.style.name if p.style is not None else "") or ""
        if p.text.strip() and style.lower() in ("title", "heading 1", "标题", "标题 1"):
            title = p.text.strip()
            break
    title = title or (document.core_properties.title or "").strip()
    return "\n".join(lines), title


def _read_pdf(path: Path, data: bytes) -> tuple[str, str]:
    import logging

    from pypdf import PdfReader

    if b"%%EOF" not in data[-2048:]:
        raise ReadError(path, rejections.pdf_truncated())
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise ReadError(path, rejections.pdf_encrypted())
    n_pages = len(reader.pages)
    if n_pages > PDF_MAX_PAGES:
        raise ReadError(path, rejections.pdf_too_many_pages(n_pages, PDF_MAX_PAGES))
    import time

    started, pages = time.monotonic(), []
    for page in reader.pages:
        if time.monotonic() - started > PDF_MAX_SECONDS:
            raise ReadError(path, rejections.pdf_too_slow(PDF_MAX_SECONDS, len(pages) + 1, n_pages))
        pages.append((page.extract_text() or "").replace("\x00", ""))
    text = "\n".join(pages)
    if not text.strip():
        raise ReadError(path, rejections.pdf_needs_ocr(len(pages)))
    title = ""
    try:
        title = str((reader.metadata or {}).get("/Title") or "").strip()
    except Exception:  # noqa: BLE001 - a broken info dict is no reason to drop the text
        title = ""
    return text, title


# ---------------------------------------------------------------- entry point


def read_file(path: Path, max_bytes: int = 50 * 1024 * 1024) -> RawText:
    """Read one corpus file into ``RawText``; any problem becomes a ``ReadError`` with a fixable reason."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise ReadError(path, rejections.missing())
    if path.is_dir():
        raise ReadError(path, rejections.is_directory())
    if suffix not in SUPPORTED_SUFFIXES:
        raise ReadError(path, rejections.unknown_type(suffix, SUPPORTED_SUFFIXES))
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ReadError(path, rejections.too_large(size, max_bytes))
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(path, rejections.unreadable(exc.strerror or exc)) from exc
    if not data:
        raise ReadError(path, rejections.empty_file())
    expected = _EXPECTED[suffix]
    try:
        real = sniff_type(data, suffix)
    except Exception:  # noqa: BLE001 - a detector crash means "not something we can read", not a crash of the run
        real = None
    ok = real == expected or (expected == "text" and real == "html") or (expected == "html" and real == "text")
    if not ok:
        raise ReadError(path, rejections.wrong_content(suffix, real))
    try:
        if suffix in (".txt", ".md") and real == "text":
            text, enc = decode_text(data)  # type: ignore[misc]  # sniff_type already proved it decodes
            raw = RawText(text.replace("\r\n", "\n").replace("\r", "\n"), suffix[1:], enc)
        elif suffix in (".html", ".htm", ".txt", ".md"):  # a page saved from the browser as .txt is still a page
            text, enc, title = read_html(data)
            raw = RawText(text, "html", enc, title)
        elif suffix == ".docx":
            text, title = _read_docx(data, path)
            raw = RawText(text, "docx", "", title)
        else:
            text, title = _read_pdf(path, data)
            raw = RawText(text, "pdf", "", title)
    except ReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - parsers raise anything on bad input; the maintainer needs a reason
        raise ReadError(path, rejections.corrupt(suffix, exc)) from exc
    if not raw.text.strip():
        raise ReadError(path, rejections.no_text(raw.fmt == "html"))
    return raw
