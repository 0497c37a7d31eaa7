"""Turn one file on disk into plain text, or say precisely why it cannot be used.

Maintainers drop whatever they have into the corpus: GBK text saved by old Windows tools,
pages saved from a browser, Word files, exported PDFs, and now and then a renamed image.
Every failure therefore becomes a ``ReadError`` whose ``reason`` tells a maintainer what is
wrong and what to do; no parser exception is allowed to escape and stop a whole ingest run.
"""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ingest import rejections
from ingest.rejections import Reason, Rejected

SUPPORTED_SUFFIXES = {".txt", ".md", ".html", ".htm", ".docx", ".pdf"}
_EXPECTED = {".txt": "text", ".md": "text", ".html": "html", ".htm": "html", ".docx": "docx", ".pdf": "pdf"}
# Signatures of formats people rename by accident, so the reason can say what the file really is.
# The first group cannot start a text file; the second is printable ASCII ("BM", "MZ"…) and is
# only believed when the bytes are not text anyway.
_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"\x7fELF", "elf"), (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"), (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"), (b"{\\rtf", "rtf"), (b"%!PS-Adobe", "postscript"),
]
_WEAK_MAGIC = [(b"MZ", "exe"), (b"BM", "bmp"), (b"GIF8", "gif"), (b"Rar!", "rar"), (b"RIFF", "riff"),
               (b"ID3", "mp3"), (b"OggS", "ogg")]
_HTML_STRONG = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.I)
_HTML_WEAK = re.compile(rb"<(p|div|h[1-6]|span|table|a|br|meta|title)[\s>/]", re.I)


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


# ---------------------------------------------------------------- text decoding


def _garbage_ratio(text: str) -> float:
    """Share of control / unassigned characters: high for binary that happens to decode."""
    if not text:
        return 0.0
    sample = text[:20000]
    bad = sum(1 for ch in sample if (unicodedata.category(ch) in ("Cc", "Cn", "Co") and ch not in "\t\n\r\f\v\x1b"))
    return bad / len(sample)


def _decodes(data: bytes, enc: str) -> bool:
    try:
        data.decode(enc)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def _guess_legacy(data: bytes) -> str:
    """Chinese legacy encodings first (GBK and Big5 byte ranges overlap, so a plain decode-try cannot tell)."""
    from charset_normalizer import from_bytes

    sample = data[:2_000_000]
    best = from_bytes(sample, cp_isolation=["gb18030", "big5"]).best() or from_bytes(sample).best()
    guess = (best.encoding if best is not None else "") or ""
    if guess == "gb18030":  # report the narrower GBK when it suffices: what a maintainer's editor calls it
        guess = "gbk" if _decodes(data, "gbk") else "gb18030"
    return guess if guess and _decodes(data, guess) else ""


def decode_text(data: bytes) -> tuple[str, str] | None:
    """Decode bytes whose encoding is unknown; returns (text, encoding) or None for non-text.

    Order matters: a BOM is authoritative; valid UTF-8 is almost never accidental; a UTF-8 file
    with a few broken sequences (scraper cut a character in half) is still UTF-8 and the bad bytes
    become U+FFFD; only then the legacy encodings, chosen by charset-normalizer and verified by a
    strict decode. Text that decodes but is full of control characters is binary.
    """
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                break
    if b"\x00" in data[:65536]:
        return None
    candidates: list[tuple[str, str]] = []
    try:
        candidates.append((data.decode("utf-8"), "utf-8"))
    except UnicodeDecodeError:
        lenient = data.decode("utf-8", errors="replace")
        broken = lenient.count("\ufffd") - data.count("\ufffd".encode())
        if broken <= max(2, len(lenient) // 2000) and sum(ord(c) > 127 for c in lenient) > 4 * broken:
            candidates.append((lenient, "utf-8"))
        else:
            guess = _guess_legacy(data)
            if guess:
                candidates.append((data.decode(guess), guess))
    for text, enc in candidates:
        if _garbage_ratio(text) < 0.01:
            return text, enc
    return None


def sniff_type(data: bytes, suffix: str) -> str | None:
    """What the bytes really are: pdf / docx / html / text, a named binary kind (png, elf, zip…), or None.

    ``suffix`` only lowers the bar for HTML: a fragment with a few tags counts as HTML in a .html
    file but stays plain text in a .txt file.
    """
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return "docx" if "word/document.xml" in zf.namelist() else "zip"
        except (zipfile.BadZipFile, OSError, ValueError):
            return "zip"
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    decoded = decode_text(data[:200_000] if len(data) > 200_000 else data)
    if decoded is None and len(data) > 200_000:  # the cut may split a multi-byte character; retry whole file
        decoded = decode_text(data)
    if decoded is None:
        return next((kind for magic, kind in _WEAK_MAGIC if data.startswith(magic)), None)
    probe = data[:8192]
    if _HTML_STRONG.search(probe) or (suffix.lower() in (".html", ".htm") and _HTML_WEAK.search(probe)):
        return "html"
    return "text"


# ---------------------------------------------------------------- formats


_BLOCK = frozenset("p div section article main header footer h1 h2 h3 h4 h5 h6 li ul ol dl dt dd tr table tbody thead "
                   "tfoot blockquote pre figure figcaption address hr center caption summary details".split())
_DROP_TAGS = ["script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas", "nav", "aside",
              "button", "select", "input", "textarea", "link", "meta", "map"]
_DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"}
# class/id tokens of page furniture, including the pinyin names Chinese CMSs use (daohang, weizhi)
_DROP_TOKENS = set("""nav navbar navigation menu menubar submenu breadcrumb breadcrumbs crumb crumbs footer foot bottom
    sidebar side top topbar toolbar header share sharing copyright pagination pager position location weizhi daohang dh
    banner ad ads advert related friendlink links login search""".split())
_SOFT_TOKENS = {"header", "footer", "foot", "top", "bottom", "position", "location", "links"}
_CJK_BREAK = re.compile(r"(?<=[^\x00-\x7f])[ \t\r\n]*\n[ \t\r\n]*(?=[^\x00-\x7f])")


def _is_furniture(tag) -> bool:
    if tag.name in ("header", "footer") and tag.find_parent(["article", "main"]) is None:
        return True
    if (tag.get("role") or "").lower() in _DROP_ROLES:
        return True
    if tag.has_attr("hidden") or re.search(r"display\s*:\s*none", tag.get("style") or "", re.I):
        return True
    classes = tag.get("class") or []
    names = " ".join([*(classes if isinstance(classes, list) else [classes]), tag.get("id") or ""])
    hits = set(re.split(r"[^a-z0-9]+", names.lower())) & _DROP_TOKENS
    if hits and tag.find_parent(["article", "main"]) is not None:
        hits -= _SOFT_TOKENS  # an article's own header holds its title and date
    return bool(hits)


def _emit(node, out: list[str]) -> None:
    from bs4 import NavigableString, Tag

    for child in node.children:
        if isinstance(child, Tag):
            if child.name == "br":
                out.append("\n")
                continue
            block = child.name in _BLOCK
            out.append("\n" if block else "")
            _emit(child, out)
            out.append("\n" if block else " " if child.name in ("td", "th") else "")
        elif type(child) is NavigableString:  # not Comment / Doctype / CData
            out.append(re.sub(r"[ \t\r\n\f]+", " ", _CJK_BREAK.sub("", str(child))))


def _html_title(soup) -> str:
    for h1 in soup.find_all("h1"):
        if h1.find_parent(["article", "main"]) is not None and h1.get_text(strip=True):
            return h1.get_text(" ", strip=True)
    for h1 in soup.find_all("h1"):
        if h1.find_parent(["header", "nav"]) is None and h1.get_text(strip=True):
            return h1.get_text(" ", strip=True)
    raw = soup.title.get_text(" ", strip=True) if soup.title else ""
    parts = [p.strip() for p in re.split(r"\s[-|–—]\s|_|｜|\s\|\s", raw) if p.strip()]
    return max(parts, key=len) if parts else ""  # "文章标题_栏目_网站名": the longest part is the article


def html_to_text(markup: str) -> tuple[str, str]:
    """Main text of a saved web page (one paragraph per line) and its title.

    Parsing only: scripts are deleted, never run. Navigation, headers, footers, sidebars and
    elements whose class/id name such furniture are removed first, unless they contain the
    <article>/<main> or most of the page's text (some sites wrap everything in an oddly named div).
    """
    from bs4 import BeautifulSoup

    try:
        soup = BeautifulSoup(markup, "lxml")
    except Exception:  # noqa: BLE001 - lxml missing or choking: the stdlib parser is slower but tolerant
        soup = BeautifulSoup(markup, "html.parser")
    title = _html_title(soup)
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    total = len((soup.body or soup).get_text(strip=True))
    for tag in soup.find_all(True):
        if tag.decomposed or tag.name in ("html", "body", "article", "main") or not _is_furniture(tag):
            continue
        # furniture is never most of the page: a "header"-classed wrapper around everything stays
        if tag.find(["article", "main"]) is None and len(tag.get_text(strip=True)) <= total / 2:
            tag.decompose()
    scope = max(soup.find_all(["article", "main"]), key=lambda t: len(t.get_text()), default=None)
    scope = scope if scope is not None and scope.get_text(strip=True) else (soup.body or soup)
    out: list[str] = []
    _emit(scope, out)
    lines = [ln.strip() for ln in "".join(out).split("\n")]
    lines = [ln for ln in lines if ln]
    if title and not any(title in ln for ln in lines[:5]):
        lines.insert(0, title)  # the title lived outside <article>: keep it so cleaning can find it
    return "\n".join(lines), title


def _read_html(data: bytes) -> tuple[str, str, str]:
    declared = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-]+)", data[:4096], re.I)
    text = enc = None
    if declared:
        name = declared.group(1).decode("ascii").lower()
        name = "gb18030" if name in ("gb2312", "gbk", "x-gbk") else name  # pages say gb2312 but use GBK characters
        try:
            text, enc = data.decode(name), name
        except (UnicodeDecodeError, LookupError):
            text = None
    if text is None or enc is None:
        decoded = decode_text(data)
        if decoded is None:
            raise ValueError("HTML 内容无法按 UTF-8、GBK/GB18030 或可识别的编码解码")
        text, enc = decoded
    body, title = html_to_text(text)
    return body, enc, title


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
            text, enc, title = _read_html(data)
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
