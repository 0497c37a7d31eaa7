"""Quiz exports: .xlsx, .docx, plain-text import format (with a parser that round-trips), JSON.

Items may be ``QuizItem`` objects or the JSON dicts of the CLI contract.

Plain-text format (the one common quiz apps import; one field per line, blank line between items)::

    一、单选题
    1. 根据《监督法》，常务委员会办事机构应当在常务委员会举行会议的（　　），将专项工作报告发给常务委员会组成人员。
    A. 七日前
    B. 十日前
    C. 二十日前
    D. 三十日前
    答案：A
    解析：《监督法》第十五条规定：“……”故正确答案为A（七日前）。
    出处：《中华人民共和国各级人民代表大会常务委员会监督法》第十五条

    三、判断题
    11. 根据《监督法》，……。
    答案：正确
    ...

Section headings carry the type; numbering runs through the whole paper; 判断 items list no
options (they are always 正确/错误) and are answered 正确 or 错误; 填空 items have ``____`` in the
stem and the blank's text as 答案. ``出处`` is ``《title》locator`` (for laws the bare 第N条; the
parser rebuilds the ``《short name》第N条`` locator). Source text and chunk id are not carried.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from index.normalize import law_short_name

TYPE_HEADINGS = {"单选": "单选题", "多选": "多选题", "判断": "判断题", "填空": "填空题"}
CN_ORDINALS = "一二三四五六七八九十"
LETTERS = "ABCDEF"
XLSX_HEADER = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "选项E", "选项F", "答案", "解析", "出处"]
FORMATS = ("xlsx", "docx", "txt", "json")


def as_dicts(items) -> list[dict]:
    return [it.to_json() if hasattr(it, "to_json") else dict(it) for it in items]


def _law_article(locator: str) -> str | None:
    m = re.match(r"^《[^》]+》(第.+条.*)$", locator or "")
    return m.group(1) if m else None


def source_label(src: dict) -> str:
    """``《full title》第十五条`` for laws, ``《report title》section`` otherwise."""
    title = src.get("title", "")
    loc = src.get("locator", "")
    art = _law_article(loc)
    return f"《{title}》{art if art is not None else loc}"


def parse_source_label(label: str) -> dict:
    m = re.match(r"^《(.+?)》(.*)$", label.strip())
    if not m:
        return {"title": label.strip(), "locator": "", "text": "", "chunk_id": ""}
    title, loc = m.group(1), m.group(2).strip()
    if re.match(r"^第.+条", loc):
        loc = f"《{law_short_name(title)}》{loc}"
    return {"title": title, "locator": loc, "text": "", "chunk_id": ""}


def _one_line(s: str) -> str:
    return re.sub(r"\s*\n\s*", " ", s or "").strip()


# ============================================================================ JSON
def to_json(items, indent: int | None = 2) -> str:
    return json.dumps(as_dicts(items), ensure_ascii=False, indent=indent)


# ============================================================================ plain text
def to_text(items) -> str:
    out: list[str] = []
    section = 0
    prev = None
    for n, it in enumerate(as_dicts(items), start=1):
        t = it["type"]
        if t != prev:
            if out:
                out.append("")
            out.append(f"{CN_ORDINALS[section % 10]}、{TYPE_HEADINGS.get(t, t)}")
            section += 1
            prev = t
        out.append(f"{n}. {_one_line(it['stem'])}")
        if t in ("单选", "多选"):
            for letter, opt in zip(LETTERS, it["options"]):
                out.append(f"{letter}. {_one_line(opt)}")
        out.append(f"答案：{_one_line(it['answer'])}")
        out.append(f"解析：{_one_line(it['explanation'])}")
        out.append(f"出处：{_one_line(source_label(it['source']))}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


_HEADING = re.compile(rf"^[{CN_ORDINALS}]+[、.．]\s*(单选|多选|判断|填空)题?")
_STEM = re.compile(r"^(\d+)[.．、]\s*(.+)$")
_OPTION = re.compile(r"^([A-F])[.．、]\s*(.*)$")
_FIELD = re.compile(r"^(答案|解析|出处)[:：]\s*(.*)$")


def parse_text(text: str) -> list[dict]:
    """Parse the plain-text format back to item dicts (``source.text``/``chunk_id`` come back empty)."""
    items: list[dict] = []
    cur: dict | None = None
    section_type = None

    def finish():
        if cur is None:
            return
        t = cur.pop("_type")
        if t is None:  # no heading: infer from the shape
            if not cur["options"]:
                t = "判断" if cur["answer"] in ("正确", "错误") else "填空"
            else:
                t = "多选" if len(cur["answer"]) > 1 else "单选"
        cur["type"] = t
        if t == "判断":
            cur["options"] = ["正确", "错误"]
        items.append({k: cur[k] for k in ("type", "stem", "options", "answer", "explanation", "source")})

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if m := _HEADING.match(line):
            finish()
            cur = None
            section_type = m.group(1)
            continue
        if m := _FIELD.match(line):
            if cur is None:
                continue
            key, val = m.group(1), m.group(2).strip()
            if key == "答案":
                cur["answer"] = val
            elif key == "解析":
                cur["explanation"] = val
            else:
                cur["source"] = parse_source_label(val)
            continue
        if cur is not None and not cur["answer"] and not cur["explanation"] and (m := _OPTION.match(line)):
            cur["options"].append(m.group(2).strip())
            continue
        if m := _STEM.match(line):
            finish()
            cur = {"_type": section_type, "stem": m.group(2).strip(), "options": [], "answer": "",
                   "explanation": "", "source": {"title": "", "locator": "", "text": "", "chunk_id": ""}}
            continue
        if cur is not None:  # a wrapped continuation line
            if cur["explanation"]:
                cur["explanation"] += line
            elif cur["options"]:
                cur["options"][-1] += line
            else:
                cur["stem"] += line
    finish()
    return items


# ============================================================================ xlsx
FORMULA_START = ("=", "+", "-", "@")  # what Excel/LibreOffice may read as the start of a formula


def _as_text(cell) -> None:
    """Store corpus text verbatim: openpyxl turns a string that starts with ``=`` into a formula (a
    document line like ``=HYPERLINK(...)`` would run when the quiz is opened); an explicit string
    type keeps every value text, whatever it starts with."""
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
        cell.data_type = "s"


def write_xlsx(items, path: str | Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    path = Path(path)
    wb = Workbook()
    ws = wb.active
    ws.title = "试题"
    ws.append(XLSX_HEADER)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    src_ws = wb.create_sheet("出处原文")
    src_ws.append(["序号", "题型", "出处", "chunk_id", "原文"])
    for cell in src_ws[1]:
        cell.font = Font(bold=True)
    for n, it in enumerate(as_dicts(items), start=1):
        opts = list(it["options"])[:6] + [""] * (6 - min(6, len(it["options"])))
        ws.append([TYPE_HEADINGS.get(it["type"], it["type"]), it["stem"], *opts, it["answer"],
                   it["explanation"], source_label(it["source"])])
        src_ws.append([n, it["type"], source_label(it["source"]), it["source"].get("chunk_id", ""),
                       it["source"].get("text", "")])
    for sheet in (ws, src_ws):
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                _as_text(cell)
    widths = {"A": 8, "B": 60, "C": 22, "D": 22, "E": 22, "F": 22, "G": 22, "H": 22, "I": 10, "J": 60, "K": 36}
    for col, w in widths.items():
        ws.column_dimensions[col].width = w
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    src_ws.column_dimensions["C"].width = 40
    src_ws.column_dimensions["E"].width = 80
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def read_xlsx(path: str | Path) -> list[dict]:
    """The 试题 sheet back as dicts (type without 题, options without blanks)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    ws = wb["试题"]
    rows = list(ws.iter_rows(values_only=True))
    head = list(rows[0])
    out = []
    for r in rows[1:]:
        row = dict(zip(head, r))
        t = str(row["题型"] or "").removesuffix("题")
        out.append({"type": t, "stem": row["题干"] or "",
                    "options": [str(row[f"选项{L}"]) for L in LETTERS if row.get(f"选项{L}") not in (None, "")],
                    "answer": str(row["答案"] or ""), "explanation": row["解析"] or "",
                    "source": parse_source_label(str(row["出处"] or ""))})
    wb.close()
    return out


# ============================================================================ docx
def write_docx(items, path: str | Path, title: str = "人大工作知识测试题") -> Path:
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.oxml.ns import qn
    from docx.shared import Pt

    path = Path(path)
    items = as_dicts(items)
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    style.font.size = Pt(11)
    doc.add_heading(title, level=0)

    doc.add_heading("试卷", level=1)
    groups: list[tuple[str, list[tuple[int, dict]]]] = []
    for n, it in enumerate(items, start=1):
        if not groups or groups[-1][0] != it["type"]:
            groups.append((it["type"], []))
        groups[-1][1].append((n, it))
    for gi, (t, members) in enumerate(groups):
        doc.add_heading(f"{CN_ORDINALS[gi % 10]}、{TYPE_HEADINGS.get(t, t)}（共 {len(members)} 题）", level=2)
        for n, it in members:
            stem = it["stem"] + ("（　　）" if t == "判断" else "")
            doc.add_paragraph(f"{n}. {stem}")
            if t in ("单选", "多选"):
                for letter, opt in zip(LETTERS, it["options"]):
                    p = doc.add_paragraph(f"{letter}. {opt}")
                    p.paragraph_format.left_indent = Pt(18)
            elif t == "判断":
                p = doc.add_paragraph("A. 正确　　B. 错误")
                p.paragraph_format.left_indent = Pt(18)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    doc.add_heading("答案与解析", level=1)
    for n, it in enumerate(items, start=1):
        p = doc.add_paragraph()
        p.add_run(f"{n}. 答案：{it['answer']}").bold = True
        doc.add_paragraph(f"解析：{it['explanation']}")
        doc.add_paragraph(f"出处：{source_label(it['source'])}")
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return path


# ============================================================================ dispatch
def write(items, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``items`` to ``path``; the format comes from ``fmt`` or the file suffix."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt == "xlsx":
        return write_xlsx(items, path)
    if fmt == "docx":
        return write_docx(items, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "txt":
        path.write_text(to_text(items), encoding="utf-8")
        return path
    if fmt == "json":
        path.write_text(to_json(items) + "\n", encoding="utf-8")
        return path
    raise ValueError(f"不支持的导出格式“{fmt}”：可选 .xlsx、.docx、.txt、.json")
