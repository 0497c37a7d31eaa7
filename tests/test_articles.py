"""Exact article lookup (issue #15): law names, article references, whole-article answers, clear misses.

Most tests build the article index from real law chunks (the real law DB, the real chunker) without
the embedding model; the engine tests use the shared small real index (监督法 + 代表法)."""
from __future__ import annotations

import json
import re

import pytest

from index.article_answer import render_lookup
from index.article_refs import parse_refs
from index.articles import ArticleIndex
from index.lawnames import LawNames, db_titles, derived_names, match_text
from ingest.chunking import chunk_document
from ingest.lawdb import load_laws
from support import SUPERVISION, run_module

PRC = "中华人民共和国"
LAWS = ["公司法", "电子签名法", "民法典", "商标法", "专利法", "农民专业合作社法", "证券法", "证券投资基金法", "宪法",
        "刑事诉讼法", "资源税法", "社会保险法", "保险法", "全国人民代表大会组织法"]
INTERPRETATION = "全国人民代表大会常务委员会关于《中华人民共和国刑事诉讼法》第七十九条第三款的解释"
DECISION = "全国人民代表大会常务委员会关于加强经济工作监督的决定"
AMENDMENT = "中华人民共和国刑法修正案（十）"  # in the DB as one 全文 row, no numbered articles


@pytest.fixture(scope="module")
def law_chunks():
    docs, missing = load_laws([PRC + n for n in LAWS] + [INTERPRETATION, DECISION, AMENDMENT])
    assert not missing, missing
    return [c for d in docs for c in chunk_document(d)]


@pytest.fixture(scope="module")
def index(law_chunks):
    return ArticleIndex(law_chunks)


def db_article(title: str, no: int) -> str:
    docs, _ = load_laws([title])
    row = next(a for a in docs[0].articles if a["article_no_arabic"] == no)
    return row["article_text"]


def plain(text: str) -> str:
    """Answer or article text without markers, line breaks or spaces (for comparing whole articles)."""
    return re.sub(r"\[\d+\]|\s", "", text)


def first(index: ArticleIndex, question: str):
    lk = index.lookup(question)
    assert lk.found, (question, [m.message for m in lk.misses])
    return lk.found[0]


# ------------------------------------------------------------------ article references
@pytest.mark.parametrize("text,expected", [
    ("第十一条", [(11, "", None, None)]),
    ("第二百一十一条", [(211, "", None, None)]),
    ("第 25 条", [(25, "", None, None)]),
    ("第２５条", [(25, "", None, None)]),
    ("第十条之一", [(10, "之一", None, None)]),
    ("第三十条之二第一款", [(30, "之二", 1, None)]),
    ("第十条第二款", [(10, "", 2, None)]),
    ("第十条第二款第（三）项", [(10, "", 2, 3)]),
    ("第10条第3项", [(10, "", None, 3)]),
    ("第十条至第十二条", [(10, "", None, None), (11, "", None, None), (12, "", None, None)]),
    ("第10-12条", [(10, "", None, None), (11, "", None, None), (12, "", None, None)]),
    ("第十条、第十三条和第二十条", [(10, "", None, None), (13, "", None, None), (20, "", None, None)]),
])
def test_reference_forms(text, expected):
    got = [(r.number, r.suffix, r.paragraph, r.item) for r in parse_refs(match_text(text))]
    assert got == expected


def test_long_range_is_capped():
    from index.article_refs import MAX_RANGE_ARTICLES

    refs = parse_refs(match_text("第一条至第三百条"))
    assert [r.number for r in refs] == list(range(1, MAX_RANGE_ARTICLES + 1))


# ------------------------------------------------------------------ law names
def test_names_are_derived_from_titles():
    names = {n for n, _ in derived_names(PRC + "全国人民代表大会组织法")}
    assert {PRC + "全国人民代表大会组织法", "全国人民代表大会组织法", "全国人大组织法"} <= names
    core = {n for n, _ in derived_names(DECISION)}
    assert {"关于加强经济工作监督的决定", "加强经济工作监督的决定", "加强经济工作监督决定"} <= core


def test_longest_name_wins_and_surrounding_text_is_ignored(index):
    names: LawNames = index.names
    for q, title in [("证券投资基金法第五条", "证券投资基金法"), ("证券法第五条", "证券法"),
                     ("社会保险法第十条", "社会保险法"), ("保险法第十条", "保险法"),
                     ("民法商法农民专业合作社法第三十三条的内容是什么？", "农民专业合作社法"),
                     ("请问根据《中华人民共和国公司法》第十条", "公司法"), ("刑诉法第七十九条", "刑事诉讼法")]:
        found = names.find(match_text(q))
        assert [m.title for m in found] == [PRC + title], q


def test_names_reach_every_law_of_the_db_quickly():
    import time

    from index.normalize import law_abbreviations

    db = db_titles()
    current = [t for t, vs in db.items() if any(s == "现行有效" for _, s in vs)]
    assert len(current) > 300
    t0 = time.perf_counter()
    names = LawNames(current, db, law_abbreviations())
    assert time.perf_counter() - t0 < 1.0
    for t in current:  # every current law is reached by its own title, with or without 《》
        assert names.resolve(t) == t and names.resolve(f"《{t}》") == t


# ------------------------------------------------------------------ exact numbers, right law
def test_number_matches_exactly_never_as_substring(index):
    f = first(index, "公司法第十一条的内容是什么？")
    assert (f.article.title, f.article.number) == (PRC + "公司法", 11)
    f = first(index, "电子签名法第六条的内容是什么？")
    assert (f.article.title, f.article.number) == (PRC + "电子签名法", 6)
    f = first(index, "公司法第二百一十一条")
    assert f.article.number == 211


@pytest.mark.parametrize("question,title,no", [
    ("民法商法农民专业合作社法第三十三条的内容是什么？", "农民专业合作社法", 33),
    ("公司法第五十七条的内容是什么？", "公司法", 57),
    ("商标法第五十八条的内容是什么？", "商标法", 58),
    ("《证券投资基金法》第 5 条", "证券投资基金法", 5),
    ("根据中华人民共和国民法典第五十七条", "民法典", 57),
    ("刑诉法第七十九条第三款是怎么规定的", "刑事诉讼法", 79),
    ("宪法相关法全国人大组织法第十条", "全国人民代表大会组织法", 10),
])
def test_the_named_law_is_the_one_answered(index, question, title, no):
    f = first(index, question)
    assert (f.article.title, f.article.number) == (PRC + title, no)


def test_reference_inside_a_title_is_not_an_article_asked_for(index):
    lk = index.lookup(INTERPRETATION + "是怎么规定的")
    assert not lk  # 第七十九条第三款 belongs to the title: nothing was asked by number
    f = first(index, "加强经济工作监督的决定第一条")
    assert f.article.title == DECISION


def test_several_laws_in_one_question(index):
    lk = index.lookup("公司法第五十七条和民法典第五十七条有什么不同")
    assert [(f.article.title, f.article.number) for f in lk.found] == [(PRC + "公司法", 57), (PRC + "民法典", 57)]


# ------------------------------------------------------------------ whole articles
def test_whole_article_with_every_item(index):
    f = first(index, "宪法第六十七条的内容是什么？")
    assert f.article.text == db_article(PRC + "宪法", 67)
    ans = render_lookup("宪法第六十七条的内容是什么？", index.lookup("宪法第六十七条的内容是什么？"))
    body = re.sub(r"\[\d+\]", "", ans.answer)
    assert plain(db_article(PRC + "宪法", 67)) in plain(body)
    assert "（二十二）" in body and "第三章 国家机构" in ans.answer  # every item, under its heading path
    assert ans.citations[0].locator.startswith("《宪法》第六十七条") and ans.citations[0].quote == f.article.text


def test_article_split_by_paragraphs_is_put_back_together(index, law_chunks):
    title = PRC + "资源税法"
    split = [c for c in law_chunks if c.title == title and c.extra["article_no"] == 17]
    assert len(split) > 1  # the chunker split this long article by 款
    f = first(index, "资源税法第十七条")
    assert f.article.text == db_article(title, 17)


def test_range_and_list_return_each_article(index):
    ans = render_lookup("q", index.lookup("公司法第十条至第十二条"))
    assert [c.locator.split("（")[0] for c in ans.citations] == ["《公司法》第十条", "《公司法》第十一条", "《公司法》第十二条"]
    for n, no in enumerate((10, 11, 12), 1):
        lines = [ln for ln in ans.answer.splitlines() if ln.endswith(f"[{n}]")]
        assert plain("\n".join(lines)).endswith(plain(db_article(PRC + "公司法", no)))  # each article whole, own marker
    lk = index.lookup("公司法第十条、第十三条")
    assert [f.article.number for f in lk.found] == [10, 13]


def test_paragraph_reference_still_quotes_the_whole_article(index):
    q = "公司法第十条第二款是怎么规定的"
    ans = render_lookup(q, index.lookup(q))
    assert "所问：第十条第二款" in ans.answer
    assert plain(ans.answer).count(plain(db_article(PRC + "公司法", 10))) == 1


def test_older_versions_are_mentioned(index):
    ans = render_lookup("q", index.lookup("商标法第五十八条"))
    assert not ans.refused and "现行有效版本" in ans.answer and "历史版本" in ans.answer
    ans = render_lookup("q", index.lookup("公司法第十条"))
    assert "其他版本" not in ans.answer


# ------------------------------------------------------------------ clear misses
def test_article_beyond_the_last_one(index):
    lk = index.lookup("电子签名法第一百条")
    assert not lk.found and lk.misses[0].reason == "no_article"
    ans = render_lookup("电子签名法第一百条", lk)
    assert ans.refused and not ans.citations
    assert "共三十六条" in ans.answer and "没有第一百条" in ans.answer


def test_law_not_indexed_names_the_law_and_closest_titles(law_chunks):
    index = ArticleIndex([c for c in law_chunks if c.title != PRC + "证券投资基金法"])
    ans = render_lookup("q", index.lookup("证券投资基金法第五条的内容是什么？"))
    assert ans.refused and not ans.citations
    assert "当前索引未收录《证券投资基金法》" in ans.answer and "第五条" in ans.answer
    assert "《证券法》" in ans.answer  # the closest indexed title, never the article 第五条 of another law
    assert ans.suggestions[0]["title"] == PRC + "证券法" and ans.suggestions[0]["doc_id"].startswith("law:")
    ans = render_lookup("q", index.lookup("某某促进法第三条"))
    assert ans.refused and "《某某促进法》" in ans.answer
    lk = index.lookup("宪法相关法某某促进法第三条")  # never 宪法第三条 because 宪法 appears earlier
    assert not lk.found and "《某某促进法》" in lk.misses[0].message
    for q in ("本法第三条", "这个法第三条", "代表建议办理办法第三条", "某某条例第三条"):  # left to retrieval
        assert not index.lookup(q), q


def test_law_with_no_current_version_in_the_db_says_so(index):
    lk = index.lookup("刑法第三十条")  # the DB holds 刑法 only as 已被修改
    assert lk.misses[0].reason == "law_not_indexed" and "没有现行有效版本" in lk.misses[0].message
    assert not lk.found


def test_indexed_law_without_numbered_articles_is_not_called_missing(index):
    lk = index.lookup("刑法修正案（十）第一条")
    assert [m.reason for m in lk.misses] == ["not_numbered"] and "未收录" not in lk.misses[0].message


# ------------------------------------------------------------------ engine, CLI, quiz (small real index)


def test_engine_answers_whole_article(engine):
    ans = engine.answer_extractive("请问《监督法》第 9 条第一款是怎么规定的？")
    assert not ans.refused and ans.citations[0].title == SUPERVISION
    assert ans.citations[0].locator.startswith("《监督法》第九条")
    assert plain(db_article(SUPERVISION, 9)) in plain(ans.answer)
    assert all(re.search(r"\[1\]$", ln) for ln in ans.answer.splitlines())  # every line carries its marker


def test_engine_never_cites_another_law_for_a_law_not_indexed(engine):
    for q in ("公司法第十一条的内容是什么？", "民法商法农民专业合作社法第三十三条的内容是什么？"):
        ans = engine.answer_extractive(q)
        assert ans.refused and not ans.citations, q
        assert "当前索引未收录" in ans.answer and ans.notice == ans.answer
    ans = engine.answer_extractive("监督法第一百条")
    assert ans.refused and "共六十五条" in ans.answer


def test_follow_up_asks_for_the_new_article_of_the_same_law(engine):
    ans = engine.answer_extractive("那第十二条呢？", history=["监督法第十条规定了什么？"])
    assert [c.locator.split("（")[0] for c in ans.citations] == ["《监督法》第十二条"]


def test_cli_json_for_a_lookup_and_a_miss(use_small_index):
    proc = run_module("index", "ask", "监督法第九条至第十条", "--json", timeout=180)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [c["locator"].split("（")[0] for c in out["citations"]] == ["《监督法》第九条", "《监督法》第十条"]
    proc = run_module("index", "ask", "公司法第十一条", "--json", timeout=180)
    out = json.loads(proc.stdout)
    assert out["refused"] is True and out["citations"] == [] and "公司法" in out["answer"]


def test_quiz_source_syntax_uses_the_same_names(law_chunks):
    from quiz.select import Corpus, QuizError, select_chunks

    corpus = Corpus(law_chunks)
    sel = select_chunks("公司法:第10-20条", corpus=corpus)
    assert sorted({c.extra["article_no"] for c in sel.chunks}) == list(range(10, 21))
    sel = select_chunks("《刑诉法》:第七十九条", corpus=corpus)
    assert {c.title for c in sel.chunks} == {PRC + "刑事诉讼法"}
    with pytest.raises(QuizError, match="不在当前索引中"):
        select_chunks("电子商务法:第1-3条", corpus=corpus)


def test_web_chat_shows_which_law_was_not_found(engine):
    from web.render import render_answer

    ans = engine.answer_extractive("公司法第十一条的内容是什么？")
    html = render_answer(ans)
    assert "当前索引未收录《公司法》" in html  # the refusal box carries the specific miss, not only the generic text
    ans = engine.answer_extractive("监督法第十条至第十一条")
    html = render_answer(ans)
    assert "第十一条" in html and "[2]" not in html  # markers became badges of both articles
