"""Strip web-page furniture from scraped reports while keeping the article text verbatim.

Local-practice reports arrive as copies of news pages: site names, menus, breadcrumbs,
"发布时间/来源/编辑" lines, disclaimers, spam keyword lines and prev/next links surround the
article. Left in, they pollute retrieval and citations. The rules here describe the *shape* of
such lines (label + colon, short segments joined by ">", numbered menu entries before the title…)
in Simplified and Traditional forms, so they work on sites we have not seen. Everything else is
kept character for character: no re-punctuation, no script conversion, U+FFFD stays.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

# ---------------------------------------------------------------- vocabulary (Simplified + Traditional)


def _alt(words: str) -> str:
    return "|".join(sorted(set(words.split()), key=len, reverse=True))


_DATE_LABELS = _alt("发布时间 發佈時間 發布時間 发表时间 發表時間 发布日期 發佈日期 發布日期 更新时间 更新時間 时间 時間 日期")
_EDITOR_MAIN = _alt("编辑 編輯 责编 責編 责任编辑 責任編輯 网络编辑 網絡編輯")
_EDITOR_MORE = _alt("编校 編校 校对 校對 审核 審核 审校 審校 终审 終審 初审 初審 复审 複審")
_FIELDS = {
    "date": _DATE_LABELS, "author": "作者", "source": _alt("来源 來源 稿源 文章来源 文章來源 信息来源 信息來源"),
    "editor": _EDITOR_MAIN, "editor2": _EDITOR_MORE,
    "views": _alt("阅读 閱讀 阅读量 閱讀量 浏览 瀏覽 浏览量 瀏覽量 浏览次数 瀏覽次數 点击 點擊 点击数 點擊數 访问量 訪問量 字号 字號"),
}
_LABEL = re.compile("(?:" + "|".join(f"(?P<{k}>{v})" for k, v in _FIELDS.items()) + r")\s*[:：]")
_LINE_START_LABEL = re.compile(r"^[【\[]?(?:" + "|".join(v for k, v in _FIELDS.items() if k != "date")
                               + r"|" + _alt("发布时间 發佈時間 發布時間 发表时间 發表時間 发布日期 發佈日期 發布日期 更新时间 更新時間")
                               + r")\s*[:：]")
_DATE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_TIME = re.compile(r"\s*\d{1,2}:\d{2}(?::\d{2})?")
_BARE_DATE_LABEL = re.compile(r"^(?:时间|時間|日期)\s*[:：]\s*" + _DATE.pattern)
_SEPS = " |｜丨/\xa0\u3000\t"
_LOCATION = re.compile(r"^(?:" + _alt("当前位置 当前所在 您的位置 你的位置 您现在的位置 您当前的位置 所在位置 现在位置 当前页面 "
                                     "當前位置 當前所在 你的位置 您現在的位置 您當前的位置 所在位置 現在位置") + r")\s*[:：]")
_HOME = {"首页", "主页", "首頁", "主頁", "网站首页", "網站首頁", "正文", "返回首页", "返回首頁", "home", "Home", "HOME"}
_CRUMB_SEP = re.compile(r"\s*(?:>>|>|＞|»|›|→|〉)\s*")
_NUMBERED = re.compile(r"^\d{1,2}\s*[.、．)）]\s*")
_MENU_ITEM = re.compile(r"^\d{1,2}\s*[.、．)）]\s*[^\s，。,：:；;！？!?“”\"]{1,12}$")
_PIPE_SEP = re.compile(r"\s*[|｜丨]\s*|\s{2,}")
_URL_LINE = re.compile(r"^(?:" + _alt("原文链接 原文鏈接 原文地址 原文網址 原文网址 本文链接 本文鏈接 本文地址 文章链接 文章鏈接 "
                                      "来源网址 來源網址 来源链接 來源鏈接") + r")\s*[:：]\s*(\S*)")
_BARE_URL = re.compile(r"^(?:https?://|www\.)\S+$")
_DISCLAIMER = re.compile(r"^[【\[]?(?:免责声明|免責聲明|版权声明|版權聲明)[】\]:：]|版权归原作者所有|版權歸原作者所有|"
                         r"如有侵权|如有侵權|转载请注明|轉載請註明|轉載請注明|不代表本[站网網](?:观点|觀點|立场|立場)|"
                         r"仅供学习交流|僅供學習交流")
_COPYRIGHT = re.compile(r"©|copyright|ICP备|ICP備|ICP证|ICP證|版权所有|版權所有|公网安备|公網安備", re.I)
_KEYWORDS = re.compile(r"^(?:关键词|關鍵詞|关键字|關鍵字|标签|標籤|tags?)\s*[:：]", re.I)
_PREV_NEXT = re.compile(r"^(?:上一篇|下一篇|上一条|下一条|上一條|下一條|上篇|下篇|前一篇|后一篇|後一篇)\s*[:：]?|上一篇.*下一篇")
_UI = re.compile(r"(?:打印本页|打印本頁|打印此页|打印|关闭窗口|關閉窗口|关闭本页|關閉本頁|关闭|關閉|返回顶部|返回頂部|返回首页|返回首頁|"
                 r"返回|分享到|分享|收藏本页|收藏|字号|字號|字体|字體|扫一扫|掃一掃|默认|默認|大|中|小|[【】\[\]|｜:：\s])+")
_SECTION_HEAD = re.compile(r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[)）]|\d+[.、．]|第[一二三四五六七八九十百\d]+[章节條条部])")
_INDENT = " \t\u3000\xa0\u2002\u2003\ufeff"


@dataclass
class Cleaned:
    text: str
    meta: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------- line classifiers


def _iso_date(s: str) -> str:
    m = _DATE.search(s)
    if not m:
        return ""
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    return f"{y:04d}-{mo:02d}-{d:02d}" if 1 <= mo <= 12 and 1 <= d <= 31 else ""


def _is_meta(line: str, header: bool = True) -> bool:
    """'发布时间:… 作者:… 来源:…' or '2021-09-24 12:26:35 | 來源: | 編輯:' — a short line of labelled fields.

    A bare date line counts only in the header: at the foot it may be the report's own signature date.
    """
    if len(line) > 150:
        return False
    if _LINE_START_LABEL.match(line):
        return True
    if m := _BARE_DATE_LABEL.match(line):  # "日期：2022.11.08 作者：…" but not "时间：2023年3月1日上午9时"
        rest = _TIME.sub("", line[m.end():], count=1)
        return not rest.strip(_SEPS) or _LABEL.match(rest.lstrip(_SEPS)) is not None
    m = _DATE.match(line)
    if m:
        rest = _TIME.sub("", line[m.end():])
        return bool(_LABEL.search(rest)) or (header and not rest.strip(_SEPS))
    return False


def _parse_meta(line: str, meta: dict[str, str], rank: dict[str, int]) -> None:
    """Fill date/author/source/editor from one meta line; a non-empty value beats an empty one."""
    matches = list(_LABEL.finditer(line))
    if not matches or matches[0].start() > 0:
        date = _iso_date(line[: matches[0].start()] if matches else line)
        if date and not meta.get("date"):
            meta["date"] = date
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
        value = line[m.end():end].strip(" \t\xa0\u3000|｜丨/【】[]")
        key = m.lastgroup or ""
        if key == "date":
            if (date := _iso_date(value)) and not meta.get("date"):
                meta["date"] = date
            continue
        if key == "views":
            continue
        key, level = ("editor", 1) if key == "editor2" else (key, 0)  # 责编 outranks 编校/审核
        if key not in meta or (value and (not meta[key] or level < rank[key])):
            meta[key] = value
            rank[key] = level if value else 9


def _is_breadcrumb(line: str) -> bool:
    if _LOCATION.match(line):
        return True
    body = _NUMBERED.sub("", line)
    segs = _CRUMB_SEP.split(body)
    if len(segs) < 2 or len(body) > 80 or any(not s or len(s) > 14 or re.search(r"[。，,；;！？!?]", s) for s in segs):
        return False
    return len(segs) >= 3 or any(s in _HOME for s in segs)


def _is_pipe_menu(line: str) -> bool:
    segs = [s for s in _PIPE_SEP.split(line) if s]
    return len(segs) >= 3 and all(len(s) <= 8 and not re.search(r"[:：。，,]", s) for s in segs)


def _is_junk(line: str, meta: dict[str, str]) -> bool:
    """Boilerplate that can sit anywhere on the page (mostly the foot); records url as a side effect."""
    if m := _URL_LINE.match(line):
        meta.setdefault("url", m.group(1))
        return True
    if _BARE_URL.match(line):
        meta.setdefault("url", line)
        return True
    if _DISCLAIMER.search(line) or _KEYWORDS.match(line) or (len(line) <= 200 and _PREV_NEXT.search(line)):
        return True
    if len(line) <= 120 and _COPYRIGHT.search(line):
        return True
    return len(line) <= 40 and _UI.fullmatch(line) is not None and bool(re.search(r"[^\W\d_]{2}", line))


def _looks_like_title(line: str) -> bool:
    return (2 <= len(line) <= 60 and "。" not in line[:-1] and re.search(r"[\u4e00-\u9fffA-Za-z]", line) is not None
            and not _SECTION_HEAD.match(line) and not line.startswith(("（", "(", "——", "—")))


def _is_site_name(line: str) -> bool:
    return len(line) <= 20 and not re.search(r"[，,。：:“”\"！？!?、（）()《》]", line)


def _is_body(line: str) -> bool:
    return len(line) > 60 or "。" in line


# ---------------------------------------------------------------- page


def _header(lines: list[str], meta: dict[str, str], rank: dict[str, int]) -> tuple[set[int], int | None]:
    """Classify the lines above the first paragraph of prose; return what to drop and where the title is.

    Above the article a page shows, in some order: site name, menu, breadcrumb, title, 发布时间 line.
    The title is the title-like line right above the first meta line (or, without one, the first
    after the navigation); short plain lines above the title or breadcrumb are site names.
    """
    header: list[int] = []
    for i, ln in enumerate(lines):
        if not ln:
            continue
        if len(header) >= 12 or (_is_body(ln) and not _is_meta(ln) and not _is_breadcrumb(ln) and not _is_junk(ln, {})):
            break
        header.append(i)
    kind: dict[int, str] = {}
    for i in header:
        ln = lines[i]
        kind[i] = ("meta" if _is_meta(ln) else "nav" if _is_breadcrumb(ln) or _is_pipe_menu(ln)
                   else "junk" if _is_junk(ln, meta) else "text")
    # numbered entries ("1. 財訊網") are menu items when a breadcrumb follows or they come in a run
    menu = [i for i in header if kind[i] == "text" and _MENU_ITEM.match(lines[i])]
    last_nav = max((i for i in header if kind[i] == "nav"), default=-1)
    for i in menu:
        if i < last_nav or len(menu) >= 3:
            kind[i] = "nav"
    last_nav = max((i for i in header if kind[i] == "nav"), default=-1)
    first_meta = min((i for i in header if kind[i] == "meta"), default=None)
    texts = [i for i in header if kind[i] == "text" and i > last_nav and _looks_like_title(lines[i])]
    if first_meta is not None:  # a page opening with its 发布时间 line has no title
        title_at = max((i for i in texts if i < first_meta), default=None)
    else:
        title_at = texts[0] if texts else None
    drop: set[int] = set()
    for i in header:
        if kind[i] == "meta":
            _parse_meta(lines[i], meta, rank)
        if kind[i] != "text" or (i == title_at) or (
                (i < last_nav or (title_at is not None and i < title_at)) and _is_site_name(lines[i])):
            drop.add(i)
    return drop, title_at


def clean_scraped(text: str) -> Cleaned:
    """Remove page furniture, pull title/date/author/source/editor/url/region into ``meta``."""
    lines = [ln.lstrip(_INDENT).rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    meta: dict[str, str] = {}
    rank: dict[str, int] = {}
    drop, title_at = _header(lines, meta, rank)
    if title_at is not None:
        meta["title"] = lines[title_at]
    for i, ln in enumerate(lines):  # anywhere: 责编/编校/来源 footers, location lines, disclaimers, links, keywords
        if i in drop or not ln:
            continue
        if _is_meta(ln, header=False):
            _parse_meta(ln, meta, rank)
            drop.add(i)
        elif _LOCATION.match(ln) or _is_junk(ln, meta):
            drop.add(i)
    out: list[str] = []
    for i, ln in enumerate(lines):
        if i not in drop and (ln or (out and out[-1])):  # one blank line at most between paragraphs
            out.append(ln)
    body = "\n".join(out).strip("\n")
    if region := detect_region(f"{meta.get('title', '')}\n{body}"):
        meta["region"] = region
    return Cleaned(body, meta)


# ---------------------------------------------------------------- region

_ADMIN = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "地区", "省", "市", "州", "盟", "县", "区", "旗")
# "县乡人大" = county-and-township congresses: a level word after the place, not part of its name
_LEVELS = ("县乡镇", "县市区", "县乡", "县市", "县区", "乡镇")
_FILLERS = re.compile(r"^(?:近年来|今年以来|去年以来|多年来|近日|日前|近期|目前|当前|近来|此前|关于|深入推进|积极推进)")
_NOT_NAMES = re.compile(r"时代|基层|全国|各地|地方|我国|全省|全市|全县|本级|各级|两级|加强|推进|做好|改进|完善|创新|发展|工作|"
                        r"[的和与及是在对把将为了]")
_NPC = re.compile(r"人大|人民代表大会")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _place(run: str) -> str:
    """'浙江省开化县' for a named unit, '平凉' for a bare name before a level word, '' for none."""
    run = _FILLERS.sub("", run)
    level = next((lv for lv in _LEVELS if run.endswith(lv)), "")
    if level:
        run = run[: -len(level)]
    for suf in _ADMIN:
        if run.endswith(suf):
            return run if len(run) - len(suf) >= 2 else ""  # 全市/本县/各区 are not places
    # a bare name (no 县/市 of its own) is believed only when short and not a common phrase
    ok = level and 2 <= len(run) <= 4 and not _NOT_NAMES.search(run)
    return run if ok else ""


def _places(scope: str) -> list[str]:
    found = []
    for m in _NPC.finditer(scope):
        j = m.start()
        while j > 0 and m.start() - j < 20 and _CJK.match(scope[j - 1]):
            j -= 1
        if place := _place(scope[j:m.start()]):
            found.append(place)
    return found


def detect_region(text: str) -> str:
    """Most specific place whose 人大 a text is about, in Simplified script ('' when none is named).

    The first line (the title) decides; otherwise the place named most often. A bare name from
    "平涼縣鄉人大" is completed from the text ("平凉市") when the text names it with its level.
    """
    from npcqa.text import to_simplified

    s = to_simplified(text or "")
    first = s.split("\n", 1)[0]
    for scope in (first, s) if first != s else (s,):
        found = _places(scope)
        if not found:
            continue
        counts = Counter(found)
        best = max(found, key=lambda p: (counts[p], -found.index(p)))
        if not best.endswith(_ADMIN):
            for m in re.finditer(re.escape(best) + "(" + "|".join(_ADMIN) + ")", s):
                if not s.startswith(_LEVELS, m.start(1)):
                    return m.group(0)
        return best
    return ""
