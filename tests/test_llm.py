"""LLM answers through an OpenAI-compatible endpoint, against a scripted server on 127.0.0.1.

The server (tests/llm_server.py) speaks real HTTP, streaming (SSE) and not; scripted replies
cover a good answer, a fabricated citation, a wrong number, an empty reply, HTTP 500/401/429, a
hang past the timeout, endless trickling tokens and a malformed stream. Retrieval runs on the
session's small real index, so the passages the model "sees" are real ones. (The verification rules
themselves: test_verify.py.)
"""
from __future__ import annotations

import json
import logging
import re
import time

import pytest
from pydantic import SecretStr

from index.factory import build_engine
from index.llm import NOTICES, normalize_base_url
from index.prompt import build_messages
from index.verify import numbers_in
from llm_server import Reply, ScriptedLLMServer
from npcqa.text import int_to_cn
from support import free_port, run_module

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
    port = free_port()  # nothing listens here once closed
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
    env = {"NPCQA_LLM_API_KEY": KEY}
    proc = run_module("index", "ask", Q, "--mode", "llm", "--llm-base-url", server.url, "--llm-model", MODEL, "--json",
                      env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"question", "answer", "refused", "citations", "timings_ms"} <= set(out)
    assert out["citations"] and {"n", "doc_id", "title", "kind", "locator", "quote", "text", "source", "date",
                                 "status", "score"} <= set(out["citations"][0])
    assert out["mode"] == "llm" and set(out["verification"]) == {"sentences", "kept", "dropped_markers"}
    assert out["verification"]["kept"] == 2
    assert KEY not in proc.stdout and KEY not in proc.stderr
    # endpoint gone: same contract, extractive, with the notice
    proc = run_module("index", "ask", Q, "--mode", "llm", "--llm-base-url", "http://127.0.0.1:9/v1", "--llm-model",
                      MODEL, "--json", env=env, timeout=240)
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
