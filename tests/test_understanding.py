"""Everyday wording: the vocabulary, the question bank, the answer-type rules and the relevance model's
provenance check. (The sealed-split quality gate lives in test_evals.py, beside the other gates.)"""
from __future__ import annotations

import json

import pytest

from index.bank import QuestionBank, bank_files, read_bank
from index.everyday import everyday_terms, expand
from index.relevance import CONSERVATIVE, FEATURES, HIGH, LOW, NONE, RelevanceModel, Signals, asked_types, load_model, type_gap
from support import REPO, run_module


@pytest.fixture(scope="module")
def core_law_text():
    """The text of the 21 core laws (from the law DB) and the bundled reports: the vocabulary's targets."""
    import tomllib

    from ingest.lawdb import load_laws

    names = tomllib.loads((REPO / "corpus" / "manifest.toml").read_text(encoding="utf-8"))["laws"]["names"]
    docs, missing = load_laws(names)
    assert not missing
    reports = [p.read_text(encoding="utf-8") for p in (REPO / "corpus" / "reports").glob("*.txt")]
    return "\n".join([d.text for d in docs] + reports)


def test_everyday_vocabulary_targets_are_statutory_terms(core_law_text):
    missing = sorted({t for v in everyday_terms().values() for t in v.split() if t not in core_law_text})
    assert not missing, f"everyday.toml maps to terms neither the core laws nor the reports use: {missing}"


def test_expand_adds_terms_once_and_longest_words_first():
    terms = expand("副县长不称职，能不能让他下台？")
    assert "罢免" in terms and terms.count("罢免") == 1
    assert expand("监督法第十条规定了什么") == []
    assert "规范性文件" in expand("县政府发的红头文件")


def test_bank_entries_map_to_their_article_chunks(engine):
    bank = engine.bank
    assert len(bank) > 100  # the bundled bank covers 监督法 and 代表法 in the small index
    for e, c in list(zip(bank.entries, bank.targets))[:200]:
        assert c.doc_id == e.doc_id
        if e.article:
            assert c.extra.get("article") == e.article


def test_bundled_bank_covers_every_core_law_article(core_law_text):
    entries = read_bank(bank_files(None))
    laws = {e.doc_id for e in entries if e.doc_id.startswith("law:")}
    assert len(laws) == 21
    assert sum(1 for e in entries if e.doc_id.startswith("reports/")) >= 100


def test_bank_vectors_are_cached_per_model_and_content(engine, tmp_path):
    calls = []

    class Counting:
        fingerprint, dim = engine.embedder.fingerprint, engine.embedder.dim

        def embed_passages(self, texts):
            calls.append(len(texts))
            return engine.embedder.embed_passages(texts)

    chunks = engine.chunks
    a = QuestionBank.build(chunks, Counting(), tmp_path)
    b = QuestionBank.build(chunks, Counting(), tmp_path)
    assert len(calls) == 1 and (a.vectors == b.vectors).all()


def test_a_home_bank_file_adds_questions(engine, tmp_path):
    home_bank = tmp_path / "question_bank"
    home_bank.mkdir()
    target = next(c for c in engine.chunks if c.kind == "report")
    (home_bank / "extra.jsonl").write_text(json.dumps(
        {"doc_id": target.doc_id, "anchor": target.text[5:25], "questions": ["一个只在这里出现的问题？"]},
        ensure_ascii=False) + "\n", encoding="utf-8")
    bank = QuestionBank.build(engine.chunks, engine.embedder, tmp_path / "vec", home_bank)
    mine = [c for e, c in zip(bank.entries, bank.targets) if e.question == "一个只在这里出现的问题？"]
    assert [c.id for c in mine] == [target.id]


@pytest.mark.parametrize("q, kind", [
    ("某县人大常委会主任叫什么名字？", "name"), ("平利县人大常委会主任叫什么？", "name"),
    ("人大代表一个月补贴多少钱？", "money"), ("代表每年有多少活动经费？", "money"),
    ("明年省人代会哪天开幕？", "date"), ("开化县人大常委会办公室电话是多少？", "contact"),
    ("哪个省的代表建议质量最高？", "ranking"),
])
def test_asked_types(q, kind):
    assert kind in asked_types(q)


@pytest.mark.parametrize("q", ["质询案要多少人联名？", "县人大常委会由谁召集？", "代表建议多长时间内要答复？",
                               "有个市人大机关创了个党建品牌，叫啥名字？", "请假要打个电话说一声吗？"])
def test_ordinary_questions_ask_no_fact_type(q):
    assert asked_types(q) == []


def test_type_gap_needs_the_type_to_be_absent():
    assert type_gap("人大代表一个月补贴多少钱？", ["代表享受适当补贴和物质上的便利。"])
    assert not type_gap("代表活动经费多少？", ["每名代表每年活动经费1500元。"])
    assert not type_gap("质询案要多少人联名？", ["十人以上联名"])


def test_model_for_another_embedding_falls_back_to_the_conservative_rule(tmp_path):
    path = tmp_path / "m.json"
    n = len(FEATURES)
    model = RelevanceModel(mean=[0.0] * n, scale=[1.0] * n, coef=[1.0] + [0.0] * (n - 1), intercept=0.0, low=0.3,
                           high=0.7, provenance={"embed_model": "model-A"})
    path.write_text(json.dumps(model.to_json()), encoding="utf-8")
    same, notice = load_model("model-A", path)
    assert not same.conservative and notice == ""
    other, notice = load_model("model-B", path)
    assert other is CONSERVATIVE and "model-A" in notice and "fit-relevance" in notice
    missing, notice = load_model("model-A", tmp_path / "none.json")
    assert missing is CONSERVATIVE and "保守" in notice
    # conservative: rules still refuse, everything else is cautious, never confident
    sig = Signals({"dense1": 0.99}, type_gap=False)
    assert CONSERVATIVE.decide(sig)[0] == LOW
    assert CONSERVATIVE.decide(Signals({}, type_gap=True))[0] == NONE
    assert same.decide(Signals({"dense1": 5.0}))[0] == HIGH and same.decide(Signals({"dense1": -5.0}))[0] == NONE


def test_cli_reports_confidence_exactly_as_refused(use_small_index, tmp_path):
    """One question as the argument, two more through ``--file`` (one process: one model load)."""
    qs = ["监督法第十条规定了什么？", "今天天气怎么样？红烧肉怎么做？", "代表在闭会期间能干些什么？"]
    out = run_module("index", "ask", "--json", *qs[:1])
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["confidence"] == "high" and d["refused"] is False and d["citations"]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("".join(json.dumps({"id": n, "q": q}, ensure_ascii=False) + "\n" for n, q in enumerate(qs[1:])),
                     encoding="utf-8")
    out = run_module("index", "ask", "--json", "--file", str(qfile))
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [d["id"] for d in lines] == [0, 1]
    for d in lines:
        assert d["confidence"] in ("high", "low", "none")
        assert (d["confidence"] == "none") == d["refused"]
        assert bool(d["citations"]) == (d["confidence"] != "none")


def test_llm_writes_bank_entries_for_uncovered_chunks_and_resumes(engine, tmp_path):
    """``ingest bank`` over a real HTTP endpoint (the scripted OpenAI-compatible server): uncovered
    chunks get questions, a bad reply is reported and skipped, and a second run writes nothing new."""
    from llm_server import Reply, ScriptedLLMServer

    from ingest.bank import GENERATED, llm_generate, uncovered, write_bank
    from npcqa.settings import Settings

    chunks = [c for c in engine.chunks if c.kind in ("opinion", "report")]
    home_bank = tmp_path / "question_bank"
    todo = uncovered(chunks, home_bank)
    assert len(todo) >= 5
    srv = ScriptedLLMServer(default=Reply(text='好的：\n["这个地方是怎么做的？", "有什么经验可以学？"]')).start()
    try:
        srv.script(Reply(text="我不知道"))  # the first chunk's reply carries no list
        settings = Settings(home=tmp_path / "home", llm_base_url=srv.url, llm_model="test-model")
        report = write_bank(chunks, home_bank, llm_generate(settings), limit=3)
        assert report.chunks_written == 2 and report.questions == 4 and len(report.failed) == 1
        prompt = srv.chat_requests()[0]["body"]["messages"][0]["content"]
        assert todo[0].text[:20] in prompt
        lines = (home_bank / GENERATED).read_text(encoding="utf-8").splitlines()
        assert len(lines) == 2
        bank = QuestionBank.build(engine.chunks, engine.embedder, tmp_path / "vec", home_bank)
        assert {c.id for e, c in zip(bank.entries, bank.targets) if e.question == "这个地方是怎么做的？"} == \
            {todo[1].id, todo[2].id}
        again = write_bank(chunks, home_bank, llm_generate(settings), limit=2)
        assert todo[1] not in uncovered(chunks, home_bank) and again.chunks_written == 2  # resumes past them
    finally:
        srv.stop()
