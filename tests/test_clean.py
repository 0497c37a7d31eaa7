"""ingest.clean on the five real scraped reports, plus synthetic pages with other sites' wording."""
from __future__ import annotations

import pytest

from ingest.clean import clean_scraped, detect_region
from support import REPO

REPORTS = REPO / "corpus" / "reports"
BOILERPLATE = ("当前所在", "主頁 >", "免责声明", "關鍵詞", "上一篇", "下一篇", "发布时间", "原文链接", "责编", "責編")
INDENT = " \t\u3000\xa0"

# file → (date, title or None, region, sentences that must survive verbatim, lines that must be dropped)
SEEDS = {
    "zhejiang-kaihua-sige-jiguan.txt": (
        "2022-07-30", "浙江省开化县人大:对标“四个机关” 打造“四个团队”", "浙江省开化县",
        ["安排全县1089名各级人大代表进驻网格", "列出履职“四张清单”共74项工作", "主要做法"],
        ["政讯通中心", "当前所在:首页 > 人大研究 > 正文", "浙江省开化县人大:对标“四个机关” 打造“四个团队”",
         "发布时间:2022-07-30 作者:佚名 来源:贵州人大网", "原文链接:http://www.gzrd.gov.cn/tszs/56841.shtml",
         "[免责声明] 本文来源于网络转载,仅供学习交流使用,不构成商业目的。版权归原作者所有,如涉及作品内容、版权和其它问题,"
         "请在30日内与本网联系,我们将在第一时间处理。"]),
    "neimenggu-bayannaoer-sige-qilai.txt": (
        None, "巴彦淖尔市人大常委会机关以“四个起来”保障好“三服务”", "巴彦淖尔市",
        ["今年常委会会议审议时间平均缩短20%,机关公文流转效率提高30%,文稿材料同比减少16%。", "明确9个工委60项重点任务"],
        ["巴彦淖尔市人大常委会机关以“四个起来”保障好“三服务”"]),
    "shaanxi-pingli-liuhua.txt": (
        "2022-12-09", None, "平利县",
        ["严把县、镇人民代表大会“报告”“说明”“审议”“票决”四道关口", "服务大局质效化"],
        ["发布时间:2022-12-09 13:53:35作者: 平利县人大常委会来源: |"]),
    "yunnan-changning-sixiang-gongcheng.txt": (
        None, "昌宁县人大常委会:“四项工程”推动党建工作高质量发展", "昌宁县",
        ["全力打造13个乡镇“党建+X”的全过程人民民主基层示范点", "提升机关整体效能。(李雪松)"],
        ["昌宁县人大常委会:“四项工程”推动党建工作高质量发展", "来源:保山日报 阅读:", "责编:蒋建国"]),
    "gansu-pingliang-sanhua-sanmaijin.txt": (
        "2021-09-24", "“三化三邁進”,平涼縣鄉人大履職創新", "平凉市",
        ["種植馬鈴薯3000畝", "平涼市人大常委會主任馬琨說。", "記者:張孝峰、肖永明、宮宜希"],
        ["1. 財訊網", "2. 主頁 > 商界 > 正文", "“三化三邁進”,平涼縣鄉人大履職創新",
         "2021-09-24 12:26:35\xa0\xa0|\xa0\xa0來源:\xa0\xa0|\xa0\xa0編輯:\xa0\xa0|", "編校:施 林", "責編:舒 穎",
         "關鍵詞: ck批發 泳衣團購批發 東阿阿膠元漿價格",
         "上一篇:州鄉村振興局林娜局長深入荔波縣相關鄉鎮督導問題整改工作    下一篇:范柏乃:“縣鄉一體、條抓塊統”改革激活基層治理"]),
}


def _stripped_lines(text: str) -> list[str]:
    return [ln.strip(INDENT) for ln in text.split("\n") if ln.strip(INDENT)]


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_report(name):
    date, title, region, facts, dropped = SEEDS[name]
    raw = (REPORTS / name).read_text(encoding="utf-8")
    c = clean_scraped(raw)
    lines = c.text.split("\n")
    for ln in lines:
        assert not any(b in ln for b in BOILERPLATE), ln
    assert c.meta.get("date") == date if date else "date" not in c.meta
    assert c.meta.get("title") == title if title else "title" not in c.meta
    assert c.meta.get("region") == region
    for fact in facts:
        assert fact in raw and fact in c.text, fact
    # verbatim: every kept line is an original line minus its indentation; exactly the boilerplate went
    assert [ln for ln in lines if ln] == [ln for ln in _stripped_lines(raw) if ln not in dropped]
    assert "\n\n\n" not in c.text and not c.text.startswith(("\n", " ", "\u3000"))
    assert not any(ln.startswith(tuple(INDENT)) for ln in lines)


def test_seed_meta_fields():
    z = clean_scraped((REPORTS / "zhejiang-kaihua-sige-jiguan.txt").read_text(encoding="utf-8")).meta
    assert (z["author"], z["source"], z["url"]) == ("佚名", "贵州人大网", "http://www.gzrd.gov.cn/tszs/56841.shtml")
    g = clean_scraped((REPORTS / "gansu-pingliang-sanhua-sanmaijin.txt").read_text(encoding="utf-8")).meta
    assert g["source"] == "" and g["editor"] == "舒 穎"  # empty 來源 kept as empty; 責編 outranks 編校
    s = clean_scraped((REPORTS / "shaanxi-pingli-liuhua.txt").read_text(encoding="utf-8")).meta
    assert s["author"] == "平利县人大常委会" and s["source"] == ""
    y = clean_scraped((REPORTS / "yunnan-changning-sixiang-gongcheng.txt").read_text(encoding="utf-8")).meta
    assert y["source"] == "保山日报" and y["editor"] == "蒋建国"


def test_replacement_characters_survive():
    raw = (REPORTS / "neimenggu-bayannaoer-sige-qilai.txt").read_text(encoding="utf-8")
    assert "有力维护了\n" in raw  # the scrape cut this sentence off
    c = clean_scraped(raw.replace("有力维护了\n", "有力维护了��\n"))
    assert any(ln.endswith("有力维护了��") for ln in c.text.split("\n"))
    assert clean_scraped("标题�测试\n正文里有�字。" + "内容" * 40).text.endswith("正文里有�字。" + "内容" * 40)


# ---------------------------------------------------------------- other sites' wording

BODY = "　　3月5日，某市人大常委会召开第十次会议，审议了关于加强基层人大工作的决定。会议由常委会主任主持，全体委员出席。"
BODY2 = "会议指出，要坚持党的领导，依法履行监督职责，推动各项决策部署落地见效，切实把人民群众的期盼转化为工作成效。"


def test_simplified_site_with_location_label_and_footer():
    page = f"""某某人大网
您的位置：首页>新闻中心>基层动态

某市人大常委会召开第十次会议

發佈時間：2023年3月5日　　來源：某某日報　　作者：王五　　瀏覽次數：1024

{BODY}

{BODY2}
记者：赵六
责任编辑：李四
【打印本页】【关闭窗口】
关键词：人大 会议 基层
上一条：某县人大开展执法检查
下一条：某区人大代表视察民生项目
版权所有 © 某某人大网　京ICP备12345678号
"""
    c = clean_scraped(page)
    assert c.meta["title"] == "某市人大常委会召开第十次会议" and c.meta["date"] == "2023-03-05"
    assert (c.meta["source"], c.meta["author"], c.meta["editor"]) == ("某某日報", "王五", "李四")
    assert "region" not in c.meta  # "某市" is a placeholder, not a named place
    assert c.text == f"{BODY.lstrip(chr(0x3000))}\n\n{BODY2}\n记者：赵六"


def test_numbered_menu_without_breadcrumb_and_pipe_meta():
    page = f"""1. 首页
2. 人大要闻
3. 代表风采
4. 联系我们
平凉市崆峒区人大常委会开展代表活动月
2023/4/1 10:00 | 来源：区人大办 | 编辑：周八
{BODY2}
"""
    c = clean_scraped(page)
    assert c.meta["title"] == "平凉市崆峒区人大常委会开展代表活动月"
    assert (c.meta["date"], c.meta["source"], c.meta["editor"]) == ("2023-04-01", "区人大办", "周八")
    assert c.meta["region"] == "平凉市崆峒区"
    assert c.text == BODY2


def test_pipe_menu_english_breadcrumb_and_link_lines():
    page = f"""网站首页 | 人大概况 | 新闻中心 | 代表风采 | 联系我们
Home » 人大动态 » 正文
某自治州人大常委会：推进代表联络站建设
日期：2022.11.08  作者：本网讯
{BODY}
本文链接：https://www.example.gov.cn/a/12345.html
https://www.example.gov.cn/a/12345.html
【免責聲明】本站轉載文章僅供學習交流，如有侵權請聯繫刪除。
標籤：人大 代表 聯絡站
"""
    c = clean_scraped(page)
    assert c.meta["title"] == "某自治州人大常委会：推进代表联络站建设"
    assert c.meta["date"] == "2022-11-08" and c.meta["author"] == "本网讯"
    assert c.meta["url"] == "https://www.example.gov.cn/a/12345.html"
    assert c.text == BODY.lstrip("\u3000")


def test_page_starting_with_publish_line_has_no_title():
    c = clean_scraped(f"发布日期：2023-01-02\n一、总体情况\n{BODY2}")
    assert "title" not in c.meta and c.meta["date"] == "2023-01-02"
    assert c.text == f"一、总体情况\n{BODY2}"


def test_clean_text_without_boilerplate_is_untouched():
    text = f"一、总体情况\n{BODY2}\n\n二、主要做法\n{BODY2}"
    c = clean_scraped(text)
    assert c.text == text and "title" not in c.meta


def test_content_that_only_resembles_boilerplate_is_kept():
    page = f"""某县人大常委会召开主任会议
时间：2023年3月1日上午9时
地点：县人大常委会会议室
2022年3月5日，县人大常委会召开会议。
资料来源：县统计局
{BODY2}
（李雪松）
二〇二三年三月一日
"""
    c = clean_scraped(page)
    assert c.meta["title"] == "某县人大常委会召开主任会议" and "date" not in c.meta
    assert c.text.split("\n") == ["时间：2023年3月1日上午9时", "地点：县人大常委会会议室", "2022年3月5日，县人大常委会召开会议。",
                                  "资料来源：县统计局", BODY2, "（李雪松）", "二〇二三年三月一日"]


def test_blank_lines_collapsed_and_crlf():
    c = clean_scraped(f"标题一\r\n\r\n\r\n\r\n{BODY2}\r\n\r\n\r\n{BODY2}\r\n")
    assert c.text == f"{BODY2}\n\n{BODY2}"


# ---------------------------------------------------------------- region


@pytest.mark.parametrize("text,region", [
    ("浙江省开化县人大:对标“四个机关” 打造“四个团队”", "浙江省开化县"),
    ("昌宁县人大常委会:“四项工程”推动党建工作高质量发展", "昌宁县"),
    ("巴彦淖尔市人大常委会机关以“四个起来”保障好“三服务”", "巴彦淖尔市"),
    ("“三化三邁進”,平涼縣鄉人大履職創新", "平凉"),  # bare name: 縣鄉 is the county-and-township level
    ("“三化三邁進”,平涼縣鄉人大履職創新\n如今,平涼市縣鄉人大工作和建設有什么新氣象", "平凉市"),
    ("为推动新时代人大工作创新发展，平利县人大常委会积极探索推进六化工作", "平利县"),
    ("广西壮族自治区百色市人民代表大会常务委员会公告", "广西壮族自治区百色市"),
    ("阿拉善盟人大常委会开展调研", "阿拉善盟"),
    ("近日，鄂托克前旗人大常委会召开会议", "鄂托克前旗"),
    ("全市人大代表积极履职，各级人大加强监督", ""),
    ("加强新时代县乡人大工作和建设", ""),
    ("", ""),
])
def test_detect_region(text, region):
    assert detect_region(text) == region
