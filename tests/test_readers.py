"""ingest.readers on real files written into tmp_path: encodings, HTML, DOCX, PDF, every refusal and the
limits against hostile files (zip bombs, page counts)."""
from __future__ import annotations

import glob
import os
import zipfile
from pathlib import Path

import pytest

from ingest.readers import DOCX_MAX_UNCOMPRESSED, SUPPORTED_SUFFIXES, RawText, ReadError, read_file
from ingest.sniff import sniff_type
from support import PNG, make_docx

ZH = "第一条　为了保障全国人民代表大会常务委员会和县级以上地方各级人民代表大会常务委员会依法行使监督职权。\n第二条　各级人大常委会依照法律规定行使监督职权。\n"
CJK_FONTS = sorted(glob.glob("/usr/share/fonts/**/NotoSansCJK-Regular.tt[cf]", recursive=True)
                   + glob.glob("/usr/share/fonts/**/NotoSerifCJK-Regular.tt[cf]", recursive=True))


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    return p


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory) -> dict[str, object]:
    """One text PDF (Chinese when a Noto CJK font is installed, else ASCII) and one without a text layer."""
    from fpdf import FPDF

    d = tmp_path_factory.mktemp("pdf")
    pdf = FPDF()
    pdf.set_title("监督法测试")
    pdf.add_page()
    if CJK_FONTS:
        pdf.add_font("cjk", fname=CJK_FONTS[0], collection_font_number=0)  # .ttc: first face of the collection
        pdf.set_font("cjk", size=12)
        expected = ["第一条", "依法行使监督职权", "各级人大常委会依照法律规定行使监督职权"]
    else:  # no CJK font on this machine: an ASCII text layer still proves extraction works
        pdf.set_font("Helvetica", size=12)
        expected = ["Article 1", "supervision"]
    pdf.multi_cell(0, 8, text=ZH if CJK_FONTS else "Article 1 The standing committee exercises supervision.\n")
    for _ in range(2):  # several pages so "the first half" really cuts the file short
        pdf.add_page()
        pdf.multi_cell(0, 8, text=(ZH if CJK_FONTS else "More text.\n") * 20)
    text_pdf = d / "text.pdf"
    text_pdf.write_bytes(bytes(pdf.output()))

    scan = FPDF()
    scan.add_page()
    scan.rect(20, 20, 120, 160, style="F")  # a "scanned page": graphics only, no text objects
    scan_pdf = d / "scan.pdf"
    scan_pdf.write_bytes(bytes(scan.output()))
    return {"text": text_pdf, "scan": scan_pdf, "expected": expected, "cjk": bool(CJK_FONTS)}


# ---------------------------------------------------------------- plain text and encodings


def test_gbk_text_is_detected_not_assumed(tmp_path):
    raw = read_file(write(tmp_path, "gbk.txt", ZH, "gbk"))
    assert isinstance(raw, RawText)
    assert raw.text == ZH and raw.fmt == "txt" and raw.encoding == "gbk"


def test_gb18030_text_with_characters_outside_gbk(tmp_path):
    text = "𠮷野家的“𠀀”字不在GBK里。\n" + ZH  # 4-byte GB18030 sequences
    raw = read_file(write(tmp_path, "gb18030.md", text, "gb18030"))
    assert raw.text == text and raw.encoding == "gb18030" and raw.fmt == "md"


def test_utf8_bom_is_stripped(tmp_path):
    raw = read_file(write(tmp_path, "bom.txt", "\ufeff" + ZH, "utf-8"))
    assert raw.text == ZH and raw.encoding == "utf-8-sig"


def test_replacement_characters_and_cut_characters_are_kept(tmp_path):
    body = ("人大代表" * 400 + "\n").encode("utf-8")
    data = "加强和改进人大工作�的意见\n".encode("utf-8") + body + "最后一个字被截".encode("utf-8") + "断".encode("utf-8")[:2]
    raw = read_file(write(tmp_path, "scraped.txt", data))
    assert raw.encoding == "utf-8"
    assert "加强和改进人大工作�的意见" in raw.text  # U+FFFD already in the file survives
    assert raw.text.endswith("最后一个字被截�")  # a half character becomes U+FFFD instead of an error


def test_crlf_line_endings_normalised(tmp_path):
    raw = read_file(write(tmp_path, "crlf.txt", ZH.replace("\n", "\r\n")))
    assert raw.text == ZH


# ---------------------------------------------------------------- HTML

PAGE = """<!DOCTYPE html><html><head><meta charset="{charset}">
<title>某县人大常委会开展执法检查_工作动态_某某人大网</title>
<script>var tracker = "SCRIPT_SECRET"; document.write("injected");</script>
<style>.x{{color:red}} STYLE_SECRET</style></head><body>
<header class="site-head"><div class="logo">某某人大网</div></header>
<div id="mainNav" class="nav-wrap"><ul><li><a href="/">网站首页</a></li><li>人大概况</li><li>新闻中心</li></ul></div>
<div class="breadcrumb">当前位置：<a>首页</a> &gt; <a>工作动态</a></div>
<div class="content"><h1>某县人大常委会开展执法检查</h1>
<div class="info">发布时间：2023-05-06　来源：县人大办</div>
<p>　　5月6日，县人大常委会
副主任张三带队开展食品安全法执法检查。</p>
<p>检查组一行实地查看了<b>三个</b>点位，听取了汇报。</p>
<table><tr><td>检查点位</td><td>3个</td></tr></table>
<!-- HTML_COMMENT -->
</div>
<div class="sidebar"><h3>热点新闻</h3><ul><li>别的新闻标题</li></ul></div>
<footer>版权所有 某某人大网 ICP备12345号</footer>
</body></html>"""


def test_html_keeps_article_drops_furniture_and_scripts(tmp_path):
    raw = read_file(write(tmp_path, "page.html", PAGE.format(charset="utf-8")))
    lines = raw.text.split("\n")
    assert raw.fmt == "html" and raw.title_hint == "某县人大常委会开展执法检查"
    assert "5月6日，县人大常委会副主任张三带队开展食品安全法执法检查。" in lines  # paragraph kept whole
    assert "检查组一行实地查看了三个点位，听取了汇报。" in lines  # inline <b> does not split it
    assert any("检查点位" in ln and "3个" in ln for ln in lines)  # table cells kept
    for gone in ("SCRIPT_SECRET", "injected", "STYLE_SECRET", "HTML_COMMENT", "网站首页", "人大概况", "当前位置",
                 "热点新闻", "别的新闻标题", "ICP备", "某某人大网"):
        assert gone not in raw.text, gone


def test_html_then_clean_gives_title_date_and_body(tmp_path):
    from ingest.clean import clean_scraped

    raw = read_file(write(tmp_path, "page.html", PAGE.format(charset="utf-8")))
    c = clean_scraped(raw.text)
    assert (c.meta["title"], c.meta["date"], c.meta["source"]) == ("某县人大常委会开展执法检查", "2023-05-06", "县人大办")
    assert c.text.startswith("5月6日，县人大常委会副主任张三带队")


def test_page_saved_as_txt_is_parsed_as_html(tmp_path):
    raw = read_file(write(tmp_path, "saved.txt", PAGE.format(charset="utf-8")))
    assert raw.fmt == "html" and "SCRIPT_SECRET" not in raw.text and "食品安全法执法检查" in raw.text


def test_wrapper_with_furniture_name_around_everything_is_kept(tmp_path):
    page = ('<html><body><div class="header-wrap"><div class="nav">首页 新闻</div>'
            "<p>这是正文的第一段，讲述人大代表履职情况。</p><p>这是正文的第二段。</p></div></body></html>")
    raw = read_file(write(tmp_path, "wrap.html", page))
    assert raw.text == "这是正文的第一段，讲述人大代表履职情况。\n这是正文的第二段。"


def test_text_starting_like_a_weak_magic_number_is_text(tmp_path):
    assert read_file(write(tmp_path, "bm.txt", "BM 是一个缩写。\nMZ 也是。")).text.startswith("BM")


def test_html_gbk_page_with_declared_gb2312(tmp_path):
    raw = read_file(write(tmp_path, "gbk.htm", PAGE.format(charset="gb2312"), "gbk"))
    assert raw.title_hint == "某县人大常委会开展执法检查" and "食品安全法执法检查" in raw.text
    assert raw.encoding in ("gb18030", "gbk")


def test_html_title_from_title_tag_when_no_h1(tmp_path):
    page = "<html><head><title>平利县人大推进六化工作 - 安康人大网</title></head><body><p>正文内容。</p></body></html>"
    raw = read_file(write(tmp_path, "t.html", page))
    assert raw.title_hint == "平利县人大推进六化工作"
    assert raw.text.split("\n")[-1] == "正文内容。"


# ---------------------------------------------------------------- DOCX


def test_docx_paragraphs_and_tables_in_order(tmp_path):
    import docx

    d = docx.Document()
    d.add_heading("关于加强人大代表工作的意见", level=0)
    d.add_paragraph("一、总体要求")
    d.add_paragraph("坚持党的领导，依法履职。")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "项目", "要求"
    table.cell(1, 0).text, table.cell(1, 1).text = "联系群众", "每季度一次"
    d.add_paragraph("二、主要措施")
    p = tmp_path / "opinion.docx"
    d.save(p)
    raw = read_file(p)
    assert raw.fmt == "docx" and raw.title_hint == "关于加强人大代表工作的意见"
    lines = [ln for ln in raw.text.split("\n") if ln]
    assert lines == ["关于加强人大代表工作的意见", "一、总体要求", "坚持党的领导，依法履职。",
                     "项目", "要求", "联系群众", "每季度一次", "二、主要措施"]


def test_corrupt_docx(tmp_path):
    import zipfile

    p = tmp_path / "fake.docx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("word/document.xml", "<w:document>not closed")
    with pytest.raises(ReadError) as e:
        read_file(p)
    assert e.value.code == "corrupt" and "损坏" in e.value.reason and e.value.path == p


def test_plain_zip_renamed_docx(tmp_path):
    import zipfile

    p = tmp_path / "archive.docx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("notes.txt", "hello")
    with pytest.raises(ReadError, match="zip 压缩包"):
        read_file(p)


# ---------------------------------------------------------------- PDF


def test_pdf_text_layer(pdfs):
    raw = read_file(pdfs["text"])
    assert raw.fmt == "pdf" and raw.title_hint == "监督法测试"
    flat = raw.text.replace("\n", "")
    for phrase in pdfs["expected"]:
        assert phrase in flat, phrase
    assert "\x00" not in raw.text
    if pdfs["cjk"]:
        assert "人民代表大会常务委员会" in flat


def test_truncated_pdf(pdfs, tmp_path):
    data = pdfs["text"].read_bytes()
    p = write(tmp_path, "half.pdf", data[: len(data) // 2])
    with pytest.raises(ReadError) as e:
        read_file(p)
    assert e.value.code == "truncated" and "重新复制或导出" in e.value.reason


def test_corrupt_pdf_body(tmp_path):
    data = b"%PDF-1.7\n1 0 obj <</Type /Catalog /Pages 9 0 R>>\ngarbage \xff\xfe\x00 bytes\n%%EOF\n"
    p = write(tmp_path, "bad.pdf", data)
    with pytest.raises(ReadError) as e:
        read_file(p)
    assert "PDF" in e.value.reason


def test_scanned_pdf_needs_ocr(pdfs):
    with pytest.raises(ReadError) as e:
        read_file(pdfs["scan"])
    assert e.value.code == "needs_ocr" and "OCR" in e.value.reason and "文字层" in e.value.reason


# ---------------------------------------------------------------- refusals


def test_empty_and_whitespace_only(tmp_path):
    with pytest.raises(ReadError, match="文件为空"):
        read_file(write(tmp_path, "empty.txt", b""))
    with pytest.raises(ReadError, match="没有正文"):
        read_file(write(tmp_path, "blank.md", " \n\u3000\n\t\n"))


def test_binary_renamed_txt(tmp_path):
    elf = b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 8
    with pytest.raises(ReadError) as e:
        read_file(write(tmp_path, "program.txt", elf))
    assert e.value.code == "wrong_content" and "可执行程序" in e.value.reason and "误改" in e.value.reason
    noise = bytes((i * 97 + 13) % 256 for i in range(4096))  # no magic number, NULs and control bytes
    with pytest.raises(ReadError, match="不是任何已知编码的文本"):
        read_file(write(tmp_path, "noise.txt", noise))


def test_png_renamed_pdf(tmp_path):
    with pytest.raises(ReadError) as e:
        read_file(write(tmp_path, "scan.pdf", PNG))
    assert e.value.code == "wrong_content" and "PNG 图片" in e.value.reason


def test_oversize(tmp_path):
    p = write(tmp_path, "big.txt", ZH * 50)
    with pytest.raises(ReadError) as e:
        read_file(p, max_bytes=1000)
    size = p.stat().st_size
    assert str(size) in e.value.reason and "1000" in e.value.reason and "上限" in e.value.reason


def test_missing_unsupported_and_directory(tmp_path):
    with pytest.raises(ReadError, match="不存在"):
        read_file(tmp_path / "nope.txt")
    with pytest.raises(ReadError, match="不支持的文件类型"):
        read_file(write(tmp_path, "sheet.xlsx", b"PK\x03\x04"))
    with pytest.raises(ReadError, match="另存为 .docx"):
        read_file(write(tmp_path, "old.doc", b"\xd0\xcf\x11\xe0"))
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(ReadError, match="文件夹"):
        read_file(tmp_path / "dir.txt")


def test_uppercase_suffix_is_supported(tmp_path):
    assert read_file(write(tmp_path, "LAW.TXT", ZH)).text == ZH


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
def test_garbage_only_ever_raises_read_error(tmp_path, suffix):
    samples = [os.urandom(2000), b"%PDF-1.4\n%%EOF", b"PK\x03\x04" + os.urandom(100), b"\x00" * 10,
               b"<html><body><script>x()</script></body></html>", PNG]
    for i, data in enumerate(samples):
        p = write(tmp_path, f"g{i}{suffix}", data)
        try:
            read_file(p)
        except ReadError as exc:
            assert exc.reason and exc.path == p


def test_sniff_type():
    assert sniff_type(b"%PDF-1.7\n...", ".txt") == "pdf"
    assert sniff_type(PNG, ".pdf") == "png"
    assert sniff_type(ZH.encode("gbk"), ".txt") == "text"
    assert sniff_type(b"<!DOCTYPE html><html><body>x</body></html>", ".txt") == "html"
    assert sniff_type("<p>段落</p>".encode(), ".html") == "html"
    assert sniff_type("<p>段落</p>".encode(), ".md") == "text"
    assert sniff_type(b"\x7fELF\x02\x01", ".txt") == "elf"
    assert sniff_type(bytes(range(256)), ".txt") is None


# ---------------------------------------------------------------- limits against hostile files (issue #17)
def test_docx_zip_bomb_is_refused(tmp_path):
    good = make_docx(tmp_path / "ok.docx")
    assert read_file(good).text  # control: a normal .docx reads
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        with dst.open("word/media/pad.xml", "w") as fh:  # ~200 MB of zeros packs into ~200 KB
            chunk = b"\0" * (1024 * 1024)
            for _ in range(DOCX_MAX_UNCOMPRESSED // len(chunk) + 1):
                fh.write(chunk)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    with pytest.raises(ReadError, match="压缩炸弹"):
        read_file(bomb)


def test_pdf_page_limit(tmp_path, monkeypatch):
    from fpdf import FPDF

    from ingest import readers

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for i in range(5):
        pdf.add_page()
        pdf.multi_cell(0, 8, text=f"Article {i} The standing committee exercises supervision.")
    path = tmp_path / "five.pdf"
    pdf.output(str(path))
    assert readers.read_file(path).text  # control
    monkeypatch.setattr(readers, "PDF_MAX_PAGES", 4)
    with pytest.raises(readers.ReadError, match="5 页"):
        readers.read_file(path)
    monkeypatch.setattr(readers, "PDF_MAX_PAGES", 2000)
    monkeypatch.setattr(readers, "PDF_MAX_SECONDS", -1.0)
    with pytest.raises(readers.ReadError, match="超过"):
        readers.read_file(path)
