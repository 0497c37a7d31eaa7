"""A saved web page as plain text: its main text (one paragraph per line, navigation and page
furniture dropped) and its title, from the raw bytes in whatever encoding the page uses.

Parsing only: scripts are deleted, never run.
"""
from __future__ import annotations

import re

from ingest.sniff import decode_text

DECLARED_CHARSET_BYTES = 4096  # where a page's <meta charset> is looked for
TITLE_LINES = 5  # the title is re-inserted unless one of the first lines already holds it

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
    if title and not any(title in ln for ln in lines[:TITLE_LINES]):
        lines.insert(0, title)  # the title lived outside <article>: keep it so cleaning can find it
    return "\n".join(lines), title


def read_html(data: bytes) -> tuple[str, str, str]:
    """(main text, encoding, title) of an HTML page's bytes: the declared charset when it decodes,
    else detected. Raises ValueError for bytes that decode in no known encoding."""
    declared = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-]+)", data[:DECLARED_CHARSET_BYTES], re.I)
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
