"""Quiz builder: source selection, generation from real laws / reports, validator, exports, CLI, 出题 tab.

All generation runs against the session's small real index (监督法, 代表法, the seed reports).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from npcqa.text import match_form
from support import DEPUTIES, SUPERVISION, run_module

CONTRACT = {"type", "stem", "options", "answer", "explanation", "source"}
SOURCE_KEYS = {"title", "locator", "text", "chunk_id"}


n = match_form


@pytest.fixture(scope="module")
def corpus(engine):
    from quiz.select import Corpus

    return Corpus.from_engine(engine)


def _core(stem: str) -> str:
    """A stem without its 根据《…》， / 据《…》， prefix and the …… of a cut sentence."""
    stem = re.sub(r"^(根据|据)《[^》]*(?:》[^》]*)*?》，", "", stem, count=1)
    return stem.replace("……", "")


def check_item(it, engine, seen: set[str]) -> None:
    """Independent checks of one item (on top of the generator's own validator)."""
    from quiz.model import BLANK, LETTERS, PAREN

    d = it.to_json()
    assert set(d) == CONTRACT and set(d["source"]) == SOURCE_KEYS
    assert d["type"] in ("单选", "多选", "判断", "填空")
    # a 下列说法正确的有 question may draw on several articles of one chapter: ids joined by commas
    chunks = [engine.keyword_index.chunks[engine.keyword_index.by_id[cid]] for cid in d["source"]["chunk_id"].split(",")]
    chunk = chunks[0]
    assert d["source"]["text"] == "\n".join(c.text for c in chunks) and d["source"]["title"] == chunk.title
    if chunk.kind == "law":
        art = r"第[零一二三四五六七八九十百]+条(之[一二三四五六七八九十]+)?"
        assert re.fullmatch(rf"《[^》]+》{art}(、{art})*", d["source"]["locator"]), d["source"]["locator"]
    src = n(d["source"]["text"])
    sentence = n(it.meta["sentence"])
    assert sentence in n(d["explanation"]) or d["type"] == "多选"  # the 解析 quotes the source sentence
    assert n(d["stem"]) not in seen, f"duplicate stem {d['stem']}"
    seen.add(n(d["stem"]))
    assert len({n(o) for o in d["options"]}) == len(d["options"]), d["options"]
    if d["type"] in ("单选", "多选"):
        letters = d["answer"]
        assert letters == "".join(sorted(set(letters))) and all(ch in LETTERS[:len(d["options"])] for ch in letters)
        correct = [d["options"][LETTERS.index(ch)] for ch in letters]
        wrong = [o for o in d["options"] if o not in correct]
        if d["type"] == "单选":
            assert len(d["options"]) == 4 and len(letters) == 1
            assert PAREN in d["stem"]
            # the stem with the blank filled by the answer is the source sentence
            core = _core(d["stem"]).replace(PAREN, correct[0]).rstrip("。")
            assert n(core)[:-1] in src
        else:
            assert 4 <= len(d["options"]) <= 6 and len(letters) >= 2 and wrong
        for c in correct:
            assert n(c).rstrip("。；") in src, f"answer {c!r} not in source"
        for w in wrong:
            assert n(w) not in [n(c) for c in correct]
            assert n(w).rstrip("。；") not in sentence, f"distractor {w!r} is in the source sentence"
            if d["type"] == "单选" and re.search(r"\d|[一二三四五六七八九十]", w):
                from quiz.numbers import sentence_numbers

                assert not set(sentence_numbers(n(w))) & set(sentence_numbers(sentence)) or \
                    it.meta["kind"] not in ("time", "count", "ratio")
    elif d["type"] == "判断":
        assert d["options"] == ["正确", "错误"] and d["answer"] in ("正确", "错误")
        core = n(_core(d["stem"])).rstrip("。")
        if d["answer"] == "正确":
            assert core[:-1] in src
            assert d["explanation"].startswith("正确")
        else:
            assert core[:-1] not in src
            m = re.search(r"应为“(.+?)”，而非“(.+?)”", d["explanation"])
            assert m, d["explanation"]
            assert n(m.group(1)) in sentence and n(m.group(2)) not in sentence
            assert n(core.replace(n(m.group(2)), n(m.group(1)), 1))[:-1] in src
    else:
        assert d["options"] == [] and d["stem"].count(BLANK) == 1
        assert n(d["answer"]) in src
        core = n(_core(d["stem"]).replace(BLANK, d["answer"])).rstrip("。")
        assert core[:-1] in src
        assert n(d["answer"]) not in n(d["stem"].replace(BLANK, ""))


def check_result(result, engine, counts):
    assert result.report.produced == counts, result.report.summary()
    assert [it.type for it in result.items] == [t for t in counts for _ in range(counts[t])]
    seen: set[str] = set()
    for it in result.items:
        check_item(it, engine, seen)


# ----------------------------------------------------------------------------- selection
def test_select_laws_chapters_ranges_reports_queries(corpus):
    from quiz.select import QuizError, select_chunks

    whole = select_chunks("监督法", corpus).chunks
    assert len(whole) > 40 and {c.title for c in whole} == {SUPERVISION}
    assert [c.id for c in select_chunks(SUPERVISION, corpus).chunks] == [c.id for c in whole]
    ch2 = select_chunks("监督法:第二章", corpus).chunks
    assert ch2 and all(str(c.extra["chapter"]).startswith("第二章") for c in ch2)
    rng = select_chunks("监督法:第10-20条", corpus).chunks
    assert sorted(int(c.extra["article_no"]) for c in rng) == list(range(10, 21))
    assert [c.id for c in select_chunks("监督法:第十条至第二十条", corpus).chunks] == [c.id for c in rng]
    assert len(select_chunks("代表法:第十五条", corpus).chunks) == 1
    report = select_chunks("平利", corpus).chunks
    assert report and {c.doc_id for c in report} == {"reports/shaanxi-pingli-liuhua.txt"}
    assert [c.id for c in select_chunks("reports/shaanxi-pingli-liuhua.txt", corpus).chunks] == [c.id for c in report]
    both = select_chunks(["监督法", "代表法,平利"], corpus)
    assert {c.title for c in both.chunks} >= {SUPERVISION, DEPUTIES} and len(both.resolved) == 3
    # a title with a comma in it still resolves when comma-separated lists are split
    gansu = select_chunks("“三化三邁進”,平涼縣鄉人大履職創新", corpus).chunks
    assert {c.doc_id for c in gansu} == {"reports/gansu-pingliang-sanhua-sanmaijin.txt"}
    q = select_chunks("query:代表建议办理期限", corpus, query_top=5).chunks
    assert 0 < len(q) <= 5
    with pytest.raises(QuizError, match="未找到来源"):
        select_chunks("不存在的法律", corpus)
    with pytest.raises(QuizError, match="没有与"):
        select_chunks("监督法:第999条", corpus)
    with pytest.raises(QuizError, match="不在当前索引"):
        select_chunks("选举法", corpus)


# ----------------------------------------------------------------------------- generation
@pytest.mark.parametrize("source", ["监督法", "代表法"])
def test_generate_from_real_laws(source, corpus, engine):
    from quiz.generate import build_quiz

    counts = {"单选": 6, "多选": 5, "判断": 6, "填空": 5}
    result = build_quiz(source, counts=counts, seed=3, corpus=corpus)
    check_result(result, engine, counts)
    assert all(it.source["locator"].startswith(f"《{source}》第") for it in result.items)
    truth = [it.answer for it in result.items if it.type == "判断"]
    assert "正确" in truth and "错误" in truth  # both kinds of statements
    rep = result.report.to_json()
    assert rep["total"] == 22 and rep["chunks"] > 40 and set(rep["produced"]) == set(counts)


def test_generate_from_seed_report(corpus, engine):
    from quiz.generate import build_quiz

    counts = {"单选": 3, "多选": 2, "判断": 3, "填空": 3}
    result = build_quiz("开化", counts=counts, seed=2, corpus=corpus)
    check_result(result, engine, counts)
    assert all(it.source["title"].startswith("浙江省开化县人大") for it in result.items)
    assert all(it.stem.startswith("据《浙江省开化县人大") for it in result.items)


def test_generate_from_chapter_and_query(corpus, engine):
    from quiz.generate import build_quiz

    result = build_quiz("监督法:第六章", count=8, seed=5, corpus=corpus)
    assert len(result.items) == 8  # a short chapter: types may be filled up by each other
    check_result(result, engine, result.report.produced)
    chapter6 = {f"第{x}条" for x in "四十六 四十七 四十八 四十九 五十 五十一 五十二 五十三 五十四".split()}
    for it in result.items:
        assert it.source["locator"].startswith("《监督法》")
        assert set(re.findall(r"第[^、第]+?条", it.source["locator"])) <= chapter6, it.source["locator"]
    q = build_quiz("query:质询案", count=4, seed=1, corpus=corpus)
    assert len(q.items) == 4


def test_counts_split_and_parse():
    from quiz.select import QuizError
    from quiz.spec import parse_counts, parse_types, split_count

    assert split_count(20, ["单选", "多选", "判断", "填空"]) == {"单选": 5, "多选": 5, "判断": 5, "填空": 5}
    assert split_count(10, ["单选", "多选", "判断"]) == {"单选": 4, "多选": 3, "判断": 3}
    assert parse_counts("单选=5,多选=2，判断=0,填空题=3") == {"单选": 5, "多选": 2, "判断": 0, "填空": 3}
    assert parse_types("填空,单选") == ["填空", "单选"]
    with pytest.raises(QuizError):
        parse_types("问答")
    with pytest.raises(QuizError):
        parse_counts("单选5")


def test_determinism_by_seed(corpus):
    from quiz.generate import build_quiz

    a = build_quiz("监督法,代表法", count=16, seed=11, corpus=corpus).to_json()
    b = build_quiz("监督法,代表法", count=16, seed=11, corpus=corpus).to_json()
    c = build_quiz("监督法,代表法", count=16, seed=12, corpus=corpus).to_json()
    assert json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)
    assert a != c


def test_validator_rejects_bad_items(corpus):
    """The validator catches a distractor from the source sentence and one that is true elsewhere."""
    import copy

    from quiz.generate import build_quiz
    from quiz.pools import pools_for
    from quiz.validate import validate

    pools = pools_for(corpus)
    result = build_quiz("代表法", counts={"单选": 8}, seed=1, corpus=corpus)
    item = next(it for it in result.items if it.meta["kind"] in ("body", "proc"))
    assert validate(item, pools, set()) is None
    assert validate(item, pools, {n(item.stem)}) == "duplicate_stem"
    bad = copy.deepcopy(item)
    wrong_idx = next(i for i, o in enumerate(bad.options) if o not in item.correct_texts())
    word = next(w for w in re.findall(r"[\u4e00-\u9fff]{4}", item.meta["sentence"]) if w not in bad.options)
    bad.meta["distractors"] = [word if d == bad.options[wrong_idx] else d for d in bad.meta["distractors"]]
    bad.options[wrong_idx] = word
    assert validate(bad, pools, set()) in ("distractor_in_sentence", "distractor_in_answer")
    # 代表法: 涉及面广…应当自交办之日起六个月内答复 — 三个月内 is the other time limit of that article
    from quiz.builders import build_single
    from quiz.facts import extract_facts
    import random

    art = next(c for c in corpus.chunks if c.title == DEPUTIES and "自交办之日起三个月内答复" in c.text)
    fact = next(f for f in extract_facts(art) if f.term == "六个月内")
    single = build_single(fact, random.Random(1), pools)
    assert single is not None
    if "三个月内" not in single.options:
        k = next(i for i, o in enumerate(single.options) if o != "六个月内")
        single.meta["distractors"] = ["三个月内" if d == single.options[k] else d for d in single.meta["distractors"]]
        single.options[k] = "三个月内"
    assert validate(single, pools, set()) == "distractor_correct_elsewhere"


# ----------------------------------------------------------------------------- exports
@pytest.fixture(scope="module")
def mixed(corpus):
    from quiz.generate import build_quiz

    return build_quiz("监督法,代表法,平利", count=24, seed=4, corpus=corpus)


def test_exports_open_and_contain_every_item(mixed, tmp_path):
    import docx
    from openpyxl import load_workbook

    from quiz.export import XLSX_HEADER, read_xlsx, source_label, write

    items = mixed.to_json()
    xlsx = write(mixed.items, tmp_path / "q.xlsx")
    wb = load_workbook(xlsx)
    rows = list(wb["试题"].iter_rows(values_only=True))
    assert list(rows[0]) == XLSX_HEADER and len(rows) == len(items) + 1
    for row, it in zip(rows[1:], items):
        assert row[0] == it["type"] + "题" and row[1] == it["stem"] and row[8] == it["answer"]
        assert [o for o in row[2:8] if o] == it["options"] and row[9] == it["explanation"]
        assert row[10] == source_label(it["source"])
    assert [r["stem"] for r in read_xlsx(xlsx)] == [it["stem"] for it in items]
    assert len(list(wb["出处原文"].iter_rows())) == len(items) + 1

    doc = docx.Document(write(mixed.items, tmp_path / "q.docx"))
    paras = [p.text for p in doc.paragraphs]
    text = "\n".join(paras)
    assert "试卷" in paras and "答案与解析" in paras
    split = paras.index("答案与解析")
    paper, answers = "\n".join(paras[:split]), "\n".join(paras[split:])
    for k, it in enumerate(items, start=1):
        assert f"{k}. {it['stem']}" in paper
        assert f"{k}. 答案：{it['answer']}" in answers and it["explanation"] in answers
        for o in it["options"]:
            assert o in text
    assert json.loads((write(mixed.items, tmp_path / "q.json")).read_text(encoding="utf-8")) == items
    txt = write(mixed.items, tmp_path / "q.txt").read_text(encoding="utf-8")
    assert txt.count("答案：") == len(items) and "一、单选题" in txt


def test_text_format_round_trips(mixed):
    from quiz.export import parse_text, to_text

    items = mixed.to_json()
    parsed = parse_text(to_text(mixed.items))
    strip = [{**it, "source": {**it["source"], "text": "", "chunk_id": ""}} for it in items]
    assert parsed == strip
    assert {it["type"] for it in parsed} == {"单选", "多选", "判断", "填空"}
    # without section headings the types are inferred from the shape
    bare = "\n".join(ln for ln in to_text(mixed.items).splitlines() if not re.match(r"^[一二三四]、", ln))
    assert [it["type"] for it in parse_text(bare)] == [it["type"] for it in items]


# ----------------------------------------------------------------------------- CLI
def _cli(*args, env=None):
    return run_module("quiz", *args, env=env)


def test_cli_contract(use_small_index):
    args = ["--source", "监督法", "--count", "20", "--types", "单选,多选,判断,填空", "--seed", "1", "--json"]
    r = _cli(*args)
    assert r.returncode == 0, r.stderr
    items = json.loads(r.stdout)
    assert isinstance(items, list) and len(items) == 20
    assert [it["type"] for it in items] == ["单选"] * 5 + ["多选"] * 5 + ["判断"] * 5 + ["填空"] * 5
    for it in items:
        assert set(it) == CONTRACT and set(it["source"]) == SOURCE_KEYS
        assert it["source"]["title"] == SUPERVISION and it["source"]["chunk_id"]
        if it["type"] == "单选":
            assert re.fullmatch("[ABCD]", it["answer"])
        elif it["type"] == "多选":
            assert re.fullmatch("[A-F]{2,6}", it["answer"])
        elif it["type"] == "判断":
            assert it["answer"] in ("正确", "错误")
        else:
            assert it["options"] == [] and "____" in it["stem"]
    assert "质量报告" in r.stderr
    again = _cli(*args)  # a fresh process (other hash seed) gives the same quiz
    assert again.stdout == r.stdout
    other = _cli(*args[:-2], "2", "--json")
    assert other.returncode == 0 and other.stdout != r.stdout


def test_cli_errors_are_clear(use_small_index):
    for args in (["--source", "不存在的来源", "--json"], ["--source", "监督法:第999条"],
                 ["--source", "监督法", "--types", "问答"], ["--source", "监督法", "--out", "x.pdf"], []):
        r = _cli(*args)
        assert r.returncode != 0, args
        assert r.stderr.startswith("错误：") and "Traceback" not in r.stderr, r.stderr
        assert r.stdout == ""


def test_cli_out_files_and_report(use_small_index, tmp_path):
    from openpyxl import load_workbook

    from quiz.export import parse_text

    rep = tmp_path / "report.json"
    r = _cli("--source", "代表法", "--counts", "单选=3,多选=2,判断=2,填空=1", "--seed", "9",
             "--out", str(tmp_path / "q.xlsx"), "--report", str(rep))
    assert r.returncode == 0, r.stderr
    assert load_workbook(tmp_path / "q.xlsx")["试题"].max_row == 9
    report = json.loads(rep.read_text(encoding="utf-8"))
    assert report["produced"] == {"单选": 3, "多选": 2, "判断": 2, "填空": 1} and "dropped" in report
    for ext in ("docx", "txt", "json"):
        r = _cli("--source", "代表法", "--counts", "单选=3,多选=2,判断=2,填空=1", "--seed", "9",
                 "--out", str(tmp_path / f"q.{ext}"), "--quiet")
        assert r.returncode == 0 and (tmp_path / f"q.{ext}").stat().st_size > 0
    parsed = parse_text((tmp_path / "q.txt").read_text(encoding="utf-8"))
    assert [p["stem"] for p in parsed] == [it["stem"] for it in
                                          json.loads((tmp_path / "q.json").read_text(encoding="utf-8"))]


# ----------------------------------------------------------------------------- Gradio tab
def test_quiz_tab_builds_and_generates_files(engine, tmp_path):
    import gradio as gr

    from web.quiz_tab import build_quiz_tab, render_html

    with gr.Blocks() as demo:
        tab = build_quiz_tab(engine, out_dir=tmp_path)
    ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    assert {"quiz-tab", "quiz-sources", "quiz-generate", "quiz-preview", "quiz-files",
            "quiz-download-xlsx", "quiz-download-docx", "quiz-download-txt", "quiz-download-json"} <= ids
    values = [v for _, v in tab.choices()]
    assert SUPERVISION in values and "reports/shaanxi-pingli-liuhua.txt" in values
    out = tab.generate([SUPERVISION], "平利", 2, 2, 2, 2, 1)
    preview, report, files = out[:3]
    assert len(files) == 4 and all(Path(f).exists() and Path(f).stat().st_size > 0 for f in files)
    assert {Path(f).suffix for f in files} == {".xlsx", ".docx", ".txt", ".json"}
    assert preview.count('class="quiz-item"') == 8 and "质量报告" in report
    assert all(u["visible"] and Path(u["value"]).exists() for u in out[3:])
    err = tab.generate([], "不存在的来源", 2, 2, 2, 2, 1)
    assert "quiz-error" in err[0] and err[2] is None
    # corpus text is escaped in the preview
    html = render_html([{"type": "单选", "stem": "<script>alert(1)</script>", "options": ["<b>x</b>", "y", "z", "w"],
                         "answer": "A", "explanation": "e", "source": {"title": "t", "locator": "l"}}])
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "<b>x" not in html
