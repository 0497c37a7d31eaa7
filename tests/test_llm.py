"""LLM answers through an OpenAI-compatible endpoint, against a scripted server on 127.0.0.1.

The server (tests/llm_server.py) speaks real HTTP, streaming (SSE) and not; scripted replies
cover a good answer, a fabricated citation, a wrong number, an empty reply, HTTP 500/401/429, a
hang past the timeout, endless trickling tokens and a malformed stream. Retrieval runs on the
session's small real index, so the passages the model "sees" are real ones.
"""
from __future__ import annotations

from index.relevance import CAUTION_TEXT

import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from index.coverage import term_share
from index.factory import build_engine
from index.llm import NOTICES, normalize_base_url
from index.prompt import build_messages
from index.verify import Passage, clean_reply, numbers_in, parse_markers, split_answer, verify_answer
from llm_server import Reply, ScriptedLLMServer
from npcqa.text import int_to_cn

REPO = Path(__file__).resolve().parent.parent
KEY = "sk-test-SECRET-123"
MODEL = "test-model"
Q = "政府的专项工作报告最晚要提前几天交到常委会？"  # top passage: 《监督法》第十五条 (二十日前 / 十日前 / 七日前)


# ------------------------------------------------------------------------------------ helpers
def prompt_passages(body: dict) -> dict[int, str]:
    """The numbered passages of the prompt the engine sent: {n: text}."""
    user = body["messages"][-1]["content"]
    blocks = re.findall(r"^\[(\d+)\] [^\n]*\n(.*?)(?=\n\n\[\d+\] |\n\n问题：)", user, re.S | re.M)
    return {int(n): t for n, t in blocks}


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[。；])", text.strip())[0].rstrip("。；")


def good_reply(body: dict) -> str:
    """Two sentences quoted from passages 1 and 2, each with its marker, the way a model would."""
    p = prompt_passages(body)
    return f"根据资料，{first_sentence(p[1])}[1]。\n{first_sentence(p[2])}[2]。"


def fabricated_reply(body: dict) -> str:
    p = prompt_passages(body)
    return f"{first_sentence(p[1])}[1][9]。\n{first_sentence(p[2])}[2]。"


def wrong_number(text: str) -> tuple[str, str, str]:
    """Change the first 'N日' of a sentence to a number of days its passage never mentions."""
    m = re.search(r"([一二三四五六七八九十]+)日", text)
    assert m, text
    present = {v for u, v in numbers_in(text) if u == "日"}
    for k in (15, 25, 30, 40, 45, 60):
        if k not in present:
            return text[:m.start()] + int_to_cn(k) + text[m.end() - 1:], m.group(0), int_to_cn(k) + "日"
    raise AssertionError("no free number")


def wrong_number_reply(body: dict) -> str:
    p = prompt_passages(body)
    sent = next(s for s in re.split(r"(?<=[。；])", p[1]) if re.search(r"[一二三四五六七八九十]+日", s))
    bad, _, _ = wrong_number(sent.rstrip("。；"))
    return f"{bad}[1]。\n{first_sentence(p[2])}[2]。"


def llm_settings(small_index, url: str, **upd):
    base = {"answer_mode": "llm", "llm_base_url": url, "llm_model": MODEL, "llm_api_key": SecretStr(KEY),
            "llm_timeout": 6.0, "llm_max_tokens": 400}
    return small_index.model_copy(update={**base, **upd})


def stream(eng, question=Q, **kw):
    events = list(eng.answer_stream(question, **kw))
    assert events[-1][0] == "final"
    return [p for k, p in events if k == "delta"], events[-1][1]


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def server():
    srv = ScriptedLLMServer(model=MODEL, require_key=KEY).start()
    yield srv
    srv.stop()


@pytest.fixture
def llm(engine, small_index, server):
    server.script()
    return build_engine(llm_settings(small_index, server.url), engine=engine)


# ------------------------------------------------------------------------------------ verification rules
def test_markers_are_parsed_in_every_common_style():
    lines = split_answer("监督法规定十日前送交[1]。常委会应当审议。[2][3]\n1. 代表可以列席【1，2】；**重点**［３］")
    assert lines == [["监督法规定十日前送交[1]。", "常委会应当审议[2][3]。"], ["代表可以列席[1][2]；", "重点[3]"]]
    assert parse_markers("监督法规定……十日前送交[1][2]。") == ("监督法规定……十日前送交", [1, 2], "。")
    assert clean_reply("<think>先想一想[7]</think>答案[1]。") == "答案[1]。"
    assert split_answer("听取专项工作报告；审查批准决算[1]。代表可以列席；") == [
        ["听取专项工作报告；审查批准决算[1]。", "代表可以列席；"]]


@pytest.mark.parametrize("a,b,same", [
    ("十日前", "10日前", True), ("十天内", "十日内", True), ("第十五条", "第15条", True), ("2024年", "二〇二四年", True),
    ("三分之一以上", "1/3", False), ("三分之一以上", "三分之一", True), ("百分之五十", "50%", True),
    ("三个月内", "3个月", True), ("二十日", "十日", False), ("第十条", "第十一条", False), ("五人以上", "五日", False),
])
def test_numbers_compare_across_scripts_and_units(a, b, same):
    assert (numbers_in(a) == numbers_in(b)) is same, (numbers_in(a), numbers_in(b))


def test_words_that_merely_contain_numerals_are_not_numbers():
    assert numbers_in("统一规划，一般情况下，一是加强，进一步，一府一委两院，第一，") == set()


PASSAGE = Passage(1, "人民政府对报告修改后，在常务委员会举行会议的十日前送交常务委员会。常务委员会办事机构应当在常务委员会"
                     "举行会议的七日前，将专项工作报告发给常务委员会组成人员。",
                  "中华人民共和国各级人民代表大会常务委员会监督法", "《监督法》第十五条")
OTHER = Passage(2, "代表应当与原选区选民或者原选举单位保持密切联系，听取和反映他们的意见和要求。",
                "中华人民共和国全国人民代表大会和地方各级人民代表大会代表法", "《代表法》第二十五条")


def test_supported_paraphrase_keeps_its_marker():
    v = verify_answer("根据《监督法》第十五条，政府修改报告后要在常委会会议十日前送交常委会[1]。", [PASSAGE, OTHER])
    assert (v.sentences, v.kept, v.dropped_markers) == (1, 1, 0) and v.passed
    assert v.text.endswith("送交常委会。[1]")


def test_fabricated_marker_is_removed():
    v = verify_answer("政府修改报告后在常委会会议十日前送交常委会[1][9]。", [PASSAGE, OTHER])
    assert v.to_json() == {"sentences": 1, "kept": 1, "dropped_markers": 1}
    assert "[9]" not in v.text and "[1]" in v.text


def test_marker_to_a_passage_that_does_not_say_it_is_removed():
    v = verify_answer("政府修改报告后在常委会会议十日前送交常委会[1][2]。", [PASSAGE, OTHER])
    assert v.checks[0].kept_markers == [1] and v.dropped_markers == 1 and "[2]" not in v.text


def test_wrong_number_is_caught_and_the_sentence_dropped():
    v = verify_answer("政府修改报告后要在常委会会议二十日前送交常委会[1]。\n办事机构在会议七日前把报告发给组成人员[1]。",
                      [PASSAGE, OTHER])
    assert (v.sentences, v.kept) == (2, 1)
    assert v.checks[0].missing_numbers == [("日", 20.0)] and not v.checks[0].kept_markers
    assert "二十日" not in v.text and "七日前" in v.text
    assert v.passed  # 1 of 2 kept: exactly the 50 % floor


def test_wrong_article_number_is_caught():
    v = verify_answer("《监督法》第十六条规定，政府修改报告后在常委会会议十日前送交常委会[1]。", [PASSAGE])
    assert v.kept == 0 and not v.passed and v.checks[0].missing_numbers == [("第条", 16.0)]


def test_unsupported_and_unmarked_sentences_are_dropped_and_too_few_fails():
    v = verify_answer("政府在会议十日前送交报告[1]。代表每年必须述职两次[1]。这体现了监督的刚性。", [PASSAGE, OTHER])
    assert (v.sentences, v.kept) == (3, 1) and not v.passed
    assert v.text == "政府在会议十日前送交报告。[1]"


def test_headings_survive_only_before_cited_lines():
    v = verify_answer("【法律规定】\n政府在会议十日前送交报告[1]。\n具体如下：", [PASSAGE])
    assert v.text == "【法律规定】\n政府在会议十日前送交报告。[1]" and v.sentences == 1


def test_declining_reply_is_recognized():
    v = verify_answer("依据不足：资料没有提到乡镇人大的会议次数。", [PASSAGE])
    assert v.declined and not v.passed


def test_rule_keeps_every_verbatim_sentence_of_extractive_answers(engine):
    """Measured on the dev questions: quoted passage sentences always pass (no false drops)."""
    from evals.harness import load_questions

    total = kept = 0
    for q in load_questions()[::8]:  # 14 questions across categories (all 111: 424/424 sentences kept)
        ans = engine.answer_extractive(q.q)
        if ans.refused:
            continue
        ps = [Passage(c.n, c.text, c.title, c.locator, c.heading_path) for c in ans.citations]
        # a cautious answer's first line is the engine's warning, not a quoted sentence
        v = verify_answer(ans.answer.removeprefix(CAUTION_TEXT), ps)
        total += v.sentences
        kept += v.kept
        assert v.dropped_markers == 0, (q.q, [c.text for c in v.checks if not c.kept])
    assert total > 20 and kept == total


def test_term_share_counts_aliases_and_titles():
    hay = re.sub(r"\s+", "", PASSAGE.haystack)
    assert term_share("监督法规定常委会组成人员", hay) == 1.0  # 监督法 → title, 常委会 → 常务委员会
    assert term_share("代表联络站星级评比", hay) < 0.5


def test_prompt_numbers_passages_and_names_laws(engine):
    prep = engine.prepare(Q)
    messages, passages = build_messages(prep.query_text, prep.top)
    user = messages[-1]["content"]
    assert user.startswith("资料：") and "[1] 《监督法》第十五条" in user and "问题：" + Q in user
    assert "依据不足" in user and "[1][2]" in user
    assert [p.n for p in passages] == list(range(1, len(prep.top) + 1))
    assert normalize_base_url("http://host:8000") == "http://host:8000/v1"
    assert normalize_base_url("http://host:8000/v1/") == "http://host:8000/v1"


# ------------------------------------------------------------------------------------ end to end
def test_good_answer_streams_then_final_verified(engine, small_index, server):
    llm = build_engine(llm_settings(small_index, server.url, llm_timeout=10.0), engine=engine)
    server.script(Reply(text=good_reply, chunk_chars=4, chunk_delay=0.025))
    t_first = None
    deltas = []
    final = None
    t0 = time.perf_counter()
    for kind, payload in llm.answer_stream(Q):
        if kind == "delta":
            deltas.append(payload)
            t_first = t_first or time.perf_counter()
        else:
            final = payload
    t_end = time.perf_counter()
    assert len(deltas) > 10 and t_end - t_first > 0.2  # tokens arrived one by one, not all at the end
    assert t_end - t0 < 15
    raw = "".join(deltas)
    assert raw.startswith("根据资料，") and "[1]" in raw
    assert final.mode == "llm" and not final.refused and final.notice == ""
    assert final.verification == {"sentences": 2, "kept": 2, "dropped_markers": 0}
    assert re.search(r"\[1\]$", final.answer.splitlines()[0]) and "[2]" in final.answer
    ext = llm.answer_extractive(Q)  # same retrieved passages as the extractive answer
    assert [c.chunk_id for c in final.citations] == [c.chunk_id for c in ext.citations]
    assert final.citations[0].quote and final.citations[0].quote in final.citations[0].text
    assert set(final.timings_ms) >= {"retrieve", "answer", "llm"}
    req = server.chat_requests()[-1]
    assert req["body"]["stream"] is True and req["body"]["model"] == MODEL and req["body"]["max_tokens"] == 400
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"  # the key reaches the endpoint, and only there


def test_non_streaming_answer(llm, server):
    server.script(Reply(text=good_reply))
    ans = llm.answer(Q)
    assert ans.mode == "llm" and ans.verification["kept"] == 2
    assert server.chat_requests()[-1]["body"].get("stream") in (None, False)


def test_fabricated_marker_removed_end_to_end(llm, server):
    server.script(Reply(text=fabricated_reply))
    ans = llm.answer(Q)
    assert ans.mode == "llm" and "[9]" not in ans.answer
    assert ans.verification == {"sentences": 2, "kept": 2, "dropped_markers": 1}
    assert max(int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)) <= len(ans.citations)


def test_wrong_number_caught_end_to_end(llm, server):
    server.script(Reply(text=wrong_number_reply))
    ans = llm.answer(Q)
    bad = wrong_number_reply(server.chat_requests()[-1]["body"])
    wrong = re.search(r"[一二三四五六七八九十]+日", bad).group(0)
    assert ans.mode == "llm" and ans.verification["sentences"] == 2 and ans.verification["kept"] == 1
    assert wrong not in ans.answer and "已删除 1 句" in ans.notice
    # the same wrong sentence alone: nothing survives → extractive answer, with the reason
    server.script(Reply(text=lambda b: wrong_number_reply(b).splitlines()[0]))
    ans = llm.answer(Q)
    assert ans.mode == "extractive" and "核实" in ans.notice and ans.verification["kept"] == 0
    assert ans.answer == llm.answer_extractive(Q).answer


@pytest.mark.parametrize("reply,reason", [
    (Reply(text=""), "empty"),
    (Reply(text="   \n "), "empty"),
    (Reply(status=500), "http"),
    (Reply(status=429, error="Rate limit reached"), "rate"),
    (Reply(status=503), "http"),
    (Reply(text=good_reply, malformed=True), "malformed"),
    (Reply(text="依据不足：资料没有提到这个问题。"), "declined"),
])
@pytest.mark.parametrize("streaming", [True, False])
def test_failures_fall_back_to_extractive_with_notice(llm, server, reply, reason, streaming):
    server.script(reply)
    t0 = time.perf_counter()
    ans = stream(llm)[1] if streaming else llm.answer(Q)
    assert time.perf_counter() - t0 < 10
    assert ans.mode == "extractive" and not ans.refused
    expected = NOTICES[reason].format(status=reply.status, timeout=6)
    assert ans.notice == expected
    assert ans.answer == llm.answer_extractive(Q).answer and ans.citations


@pytest.mark.parametrize("reply", [Reply(hang=8), Reply(text=good_reply, trickle=8)], ids=["hang", "trickle"])
def test_never_waits_past_the_timeout(engine, small_index, server, reply):
    """A server that never answers, or streams empty tokens forever, is cut off at llm_timeout (2 s)."""
    llm = build_engine(llm_settings(small_index, server.url, llm_timeout=2.0), engine=engine)
    server.script(reply)
    t0 = time.perf_counter()
    deltas, ans = stream(llm)
    elapsed = time.perf_counter() - t0
    assert 1900 <= ans.timings_ms["llm"] < 2000 + 600, ans.timings_ms  # cut off at the deadline
    assert elapsed < 2 + 5, elapsed  # plus retrieval and the extractive answer, on a busy CPU
    assert ans.mode == "extractive" and ans.notice == NOTICES["timeout"].format(timeout=2)
    if reply.trickle:
        assert deltas  # the streamed text was shown, then replaced by the final answer


def test_endpoint_down(engine, small_index):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    eng = build_engine(llm_settings(small_index, f"http://127.0.0.1:{port}/v1"), engine=engine)
    t0 = time.perf_counter()
    ans = eng.answer(Q)
    assert time.perf_counter() - t0 < 10
    assert ans.mode == "extractive" and ans.notice == NOTICES["down"]


def test_refused_question_never_calls_the_model(llm, server):
    before = len(server.chat_requests())
    ans = llm.answer("明天北京会不会下雨？")
    assert ans.refused and ans.mode == "extractive" and len(server.chat_requests()) == before


def test_ask_stays_extractive(llm, server):
    before = len(server.chat_requests())
    assert llm.answer_extractive(Q).mode == "extractive" and len(server.chat_requests()) == before


def test_unconfigured_llm_mode_says_so(engine, small_index):
    eng = build_engine(small_index.model_copy(update={"answer_mode": "llm"}), engine=engine)
    ans = eng.answer(Q)
    assert ans.mode == "extractive" and ans.notice == NOTICES["unconfigured"]
    auto = build_engine(small_index.model_copy(update={"answer_mode": "auto"}), engine=engine)
    ans = auto.answer(Q)
    assert ans.mode == "extractive" and ans.notice == ""


def test_auto_mode_uses_a_reachable_endpoint_and_caches_the_probe(engine, small_index, server):
    eng = build_engine(llm_settings(small_index, server.url, answer_mode="auto"), engine=engine)
    probes = lambda: sum(1 for r in server.requests if r["path"].endswith("/models"))  # noqa: E731
    before = probes()
    server.script(Reply(text=good_reply), Reply(text=good_reply))
    assert eng.answer(Q).mode == "llm"
    assert eng.answer(Q).mode == "llm"
    assert probes() == before + 1  # one probe, cached
    down = build_engine(llm_settings(small_index, "http://127.0.0.1:9/v1", answer_mode="auto"), engine=engine)
    t0 = time.perf_counter()
    ans = down.answer(Q)
    assert ans.mode == "extractive" and ans.notice == NOTICES["unreachable"]
    assert down.answer(Q).mode == "extractive" and time.perf_counter() - t0 < 8


def test_api_key_never_logged_or_shown(engine, small_index, server, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "sk-test-SECRET-401"  # the server's 401 body echoes the key it was sent
    server.script(Reply(text=good_reply), Reply(status=500, error=f"upstream said key={KEY}"))
    good = build_engine(llm_settings(small_index, server.url), engine=engine)
    answers = [good.answer(Q), good.answer(Q)]
    bad = build_engine(llm_settings(small_index, server.url, llm_api_key=SecretStr(wrong)), engine=engine)
    answers.append(bad.answer(Q))
    assert answers[0].mode == "llm" and answers[1].notice == NOTICES["http"].format(status=500)
    assert answers[2].notice == NOTICES["auth"]
    assert any("Incorrect API key" in r.getMessage() or "401" in r.getMessage() for r in caplog.records)
    text = caplog.text + "".join(json.dumps(a.to_json(), ensure_ascii=False) for a in answers)
    assert KEY not in text and wrong not in text
    assert KEY not in repr(good.settings) and KEY not in repr(good.answerer)


def test_web_chat_streams_and_shows_the_notice(llm, server, tmp_path):
    from web.chat import ChatApp

    app = ChatApp(llm, feedback_path=tmp_path / "fb.jsonl", logs_dir=tmp_path / "logs")
    server.script(Reply(text=good_reply, chunk_chars=4), Reply(status=429))
    steps = list(app.respond(Q, [], None))
    streaming = [s[0][-1]["content"] for s in steps if "npc-streaming" in s[0][-1]["content"]]
    assert len(streaming) > 3 and "根据资料" in streaming[-1]
    final = steps[-1][0][-1]["content"]
    assert "npc-streaming" not in final and "npc-src" in final and steps[-1][1]["last"]["mode"] == "llm"
    steps = list(app.respond(Q, [], None))
    final = steps[-1][0][-1]["content"]
    assert "大模型服务繁忙" in final and steps[-1][1]["last"]["mode"] == "extractive"
    assert KEY not in final


# ------------------------------------------------------------------------------------ CLI and evals
def test_cli_llm_json_contract(use_small_index, server):
    server.script(Reply(text=good_reply))
    env = {**os.environ, "NPCQA_LLM_API_KEY": KEY}
    proc = subprocess.run([sys.executable, "-m", "index", "ask", Q, "--mode", "llm", "--llm-base-url", server.url,
                           "--llm-model", MODEL, "--json"], cwd=REPO, capture_output=True, text=True, timeout=240,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"question", "answer", "refused", "citations", "timings_ms"} <= set(out)
    assert out["citations"] and {"n", "doc_id", "title", "kind", "locator", "quote", "text", "source", "date",
                                 "status", "score"} <= set(out["citations"][0])
    assert out["mode"] == "llm" and set(out["verification"]) == {"sentences", "kept", "dropped_markers"}
    assert out["verification"]["kept"] == 2
    assert KEY not in proc.stdout and KEY not in proc.stderr
    # endpoint gone: same contract, extractive, with the notice
    proc = subprocess.run([sys.executable, "-m", "index", "ask", Q, "--mode", "llm", "--llm-base-url",
                           "http://127.0.0.1:9/v1", "--llm-model", MODEL, "--json"], cwd=REPO, capture_output=True,
                          text=True, timeout=240, env=env)
    out = json.loads(proc.stdout)
    assert proc.returncode == 0 and out["mode"] == "extractive" and out["notice"] == NOTICES["down"]
    assert "verification" not in out and out["citations"]


def test_evals_run_mode_llm_on_three_questions(engine, small_index, server, monkeypatch, tmp_path, capsys):
    """`python -m evals run --mode llm` code path, with the eval index swapped for the small one."""
    import evals.__main__ as ev
    from evals.harness import load_questions

    monkeypatch.setattr(ev, "eval_settings", lambda base: llm_settings(small_index, server.url))
    monkeypatch.setattr(ev, "load_questions", lambda path=None: load_questions()[:3])
    monkeypatch.setattr(ev, "_engine", lambda settings, quiet: engine)
    server.script(*[Reply(text=good_reply)] * 3)
    assert ev.main(["run", "--mode", "llm", "--json", "--out", str(tmp_path / "dev_llm.json")]) == 0
    data = json.loads(capsys.readouterr().out)
    res = data["results"]["hybrid+llm"]
    assert res["questions"] == 3 and res["llm_answers"] == 3 and res["sentences_kept_share"] == 1.0
    assert {"hit@1", "hit@5", "mrr", "latency_p50_ms"} <= set(res)
    assert json.loads((tmp_path / "dev_llm.json").read_text())["results"]["hybrid+llm"] == res
