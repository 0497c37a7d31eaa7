"""What a file's bytes really are, and how its text is encoded: ``sniff_type`` (pdf / docx / html /
text, or the binary kind a renamed file really is) and ``decode_text`` (UTF-8, GBK/GB18030, Big5…).

Why apart from the readers: the check that a file is what its name says runs before any parser
touches it, and the text decoding is shared by plain text and HTML.
"""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile

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

SNIFF_BYTES = 200_000  # decoded to decide "text or not" (the whole file only when the cut splits a character)
HTML_PROBE_BYTES = 8192  # searched for HTML tags
PDF_MARKER_BYTES = 1024  # a PDF's "%PDF-" lies within the first KB
LEGACY_SAMPLE_BYTES = 2_000_000  # what charset-normalizer looks at to guess a legacy encoding
MAX_GARBAGE = 0.01  # share of control / unassigned characters above which decoded "text" is binary
GARBAGE_SAMPLE = 20000  # characters sampled for that share


def _garbage_ratio(text: str) -> float:
    """Share of control / unassigned characters: high for binary that happens to decode."""
    if not text:
        return 0.0
    sample = text[:GARBAGE_SAMPLE]
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

    sample = data[:LEGACY_SAMPLE_BYTES]
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
        if _garbage_ratio(text) < MAX_GARBAGE:
            return text, enc
    return None


def sniff_type(data: bytes, suffix: str) -> str | None:
    """What the bytes really are: pdf / docx / html / text, a named binary kind (png, elf, zip…), or None.

    ``suffix`` only lowers the bar for HTML: a fragment with a few tags counts as HTML in a .html
    file but stays plain text in a .txt file.
    """
    head = data[:PDF_MARKER_BYTES]
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
    decoded = decode_text(data[:SNIFF_BYTES] if len(data) > SNIFF_BYTES else data)
    if decoded is None and len(data) > SNIFF_BYTES:  # the cut may split a multi-byte character; retry whole file
        decoded = decode_text(data)
    if decoded is None:
        return next((kind for magic, kind in _WEAK_MAGIC if data.startswith(magic)), None)
    probe = data[:HTML_PROBE_BYTES]
    if _HTML_STRONG.search(probe) or (suffix.lower() in (".html", ".htm") and _HTML_WEAK.search(probe)):
        return "html"
    return "text"
