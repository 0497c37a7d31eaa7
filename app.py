"""人大工作问答助手 — the web chat.

    python app.py [--host H] [--port P]        (= make run; default 127.0.0.1:7860)

Without flags, Gradio's GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are respected. When no index
exists yet it is built first (progress printed); a store that cannot be used stops the app with
a message, never a traceback. Analytics are off, no share link is ever created, and the page
needs nothing outside this server (system fonts, no CDN).

``build_demo(engine)`` returns the Blocks, so tests, the load script and the server share one UI:
three tabs — 问答 (the chat, open to everyone unless ``chat_requires_login``), 出题 (quiz builder) and
管理 (the maintainers' console, behind its own login; see ``web/admin.py``). Its ``launch`` applies the
theme/CSS (Gradio 6 takes them in ``launch()``) and refuses ``share``.
"""
from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
# Measured on 2 cores (python -m evals.load, 50 clients × 4 questions, #17): an answer costs the
# server ~30 ms of CPU, so the queue is CPU-bound and 1, 2, 4 or 8 workers all give ~25 answers/s
# (p95 2.1 / 2.1 / 1.7 / 1.9 s). 4 keeps one slow LLM answer from holding up the others while the
# queue (not a rejection) absorbs bursts.
CONCURRENCY = 4
QUEUE_MAX = 512
SANS = ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei",
        "ui-sans-serif", "system-ui", "sans-serif"]
MONO = ["Noto Sans Mono CJK SC", "ui-monospace", "Consolas", "monospace"]
EXAMPLES = [  # (elem_id, label, question): a law question, an article lookup, a report question
    ("example-law", "法律问题", "人大代表在闭会期间可以开展哪些活动？"),
    ("example-article", "条文查询", "监督法第十条规定了什么？"),
    ("example-report", "地方实践", "平凉市如何推动代表活动经常化？"),
]
FOLLOW_UP_TIP = ("多轮追问：简短的追问（15 字以内，以“那/那么/还有/如果/对于…”开头或以“呢”结尾，"
                 "如“那乡镇呢？”）会连同上一个问题一起检索。")
COPY_JS = """
(text) => {
  const btn = document.querySelector('#copy');
  const say = (msg) => { if (!btn) return; const old = btn.dataset.label || btn.textContent;
    btn.dataset.label = old; btn.textContent = msg; setTimeout(() => { btn.textContent = old; }, 2000); };
  if (!text) { say('还没有可复制的回答'); return []; }
  const fallback = () => { const ta = document.createElement('textarea'); ta.value = text;
    ta.style.position = 'fixed'; ta.style.opacity = '0'; document.body.appendChild(ta); ta.select();
    let ok = false; try { ok = document.execCommand('copy'); } catch (e) {} ta.remove();
    say(ok ? '已复制 ✓' : '复制失败，请手动选择文本'); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(() => say('已复制 ✓'), fallback);
  } else { fallback(); }
  return [];
}
"""


def make_theme():
    import gradio as gr

    theme = gr.themes.Default(primary_hue="red", neutral_hue="slate", font=SANS, font_mono=MONO)
    return theme.set(button_primary_background_fill="#8b1a1a", button_primary_background_fill_hover="#a52a2a",
                     button_primary_text_color="#ffffff", button_primary_border_color="#8b1a1a")


def build_demo(engine, feedback_path: str | Path | None = None, logs_dir: str | Path | None = None,
               settings=None, console=None):
    """The app over ``engine``: 问答, 出题 and 管理 tabs.

    ``settings`` (default ``engine.settings``) gives the console its credentials, upload limits and home;
    feedback/logs default to that home. ``console`` may pass a ready ``web.admin.AdminConsole`` (tests)."""
    import gradio as gr

    from quiz.ui import build_quiz_tab
    from web.admin import AdminConsole, build_admin_tab, client_ip, gated_respond, login_gate
    from web.chat import KIND_CHOICES, ChatApp, new_session

    settings = settings or engine.settings
    app = ChatApp(engine, feedback_path=feedback_path or settings.feedback_path, logs_dir=logs_dir or settings.logs_dir)
    console = console or AdminConsole(engine, settings, feedback_path=app.feedback_path)
    gate = bool(settings.chat_requires_login)
    s = {} if gate else app.summary()  # with the login gate, nothing about the corpus before login (#17)
    region_choices = [("全部地区", "")] + [(r, r) for r in s.get("regions", [])]
    status_choices = [("不限", "")] + [(st, st) for st in (s or app.summary()).get("statuses", [])]  # generic words

    with gr.Blocks(title="人大工作问答助手", analytics_enabled=False) as demo:
        session = gr.State(new_session())
        admin_token = gr.State("")  # console session token: server-side only (see web/admin.py)
        header = gr.HTML(app.header_html(s), elem_id="header")
        with gr.Tabs(elem_id="main-tabs"):
            with gr.Tab("问答", id="chat", elem_id="chat-tab"):
                gate_note = gr.HTML('<div class="npc-gate">问答需要登录：请先在“管理”页登录。</div>' if console.enabled else
                                    '<div class="npc-gate">问答需要登录，但管理控制台未启用：请管理员配置 '
                                    "NPCQA_ADMIN_PASSWORD_HASH（python -m npcqa.passwd）。</div>",
                                    visible=gate, elem_id="chat-gate")
                with gr.Row(equal_height=False, visible=not gate, elem_id="chat-area") as chat_area:
                    with gr.Column(scale=1, min_width=250, elem_id="sidebar"):
                        gr.Markdown("**筛选**（对下一个问题生效）")
                        kinds = gr.CheckboxGroup(KIND_CHOICES, value=[k for _, k in KIND_CHOICES], label="文件类型",
                                                 info="都不勾选 = 全部类型", elem_id="kind-filter")
                        region = gr.Dropdown(region_choices, value="", label="地区", info="选定后只检索该地区的文件",
                                             elem_id="region-filter")
                        status = gr.Dropdown(status_choices, value="", label="法律效力", info="只筛选法律，其他文件不受影响",
                                             elem_id="status-filter")
                        gr.Markdown("**示例问题**（点击即问）")
                        example_buttons = [(gr.Button(f"{label}：{q}", size="sm", elem_id=eid, elem_classes="npc-example"), q)
                                           for eid, label, q in EXAMPLES]
                        gr.HTML(f'<p class="npc-tip">{FOLLOW_UP_TIP}</p>', elem_id="follow-up-tip")
                    with gr.Column(scale=3, min_width=420):
                        chat = gr.Chatbot(
                            label="问答", show_label=False, elem_id="chat", height="calc(100vh - 360px)", min_height=420, buttons=[], latex_delimiters=[],
                            sanitize_html=True, render_markdown=True, autoscroll=True, group_consecutive_messages=False,
                            placeholder="<div style='text-align:center;opacity:.7'>在下方输入问题，或点击左侧示例。"
                                        "回答中的编号对应下方“参考依据”，点开可核对原文。</div>",
                        )
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(show_label=False, placeholder="请输入问题，例如：监督法第十条规定了什么？（回车提问）",
                                                  lines=1, max_lines=6, scale=6, elem_id="question", autofocus=True)
                            ask = gr.Button("提问", variant="primary", scale=1, min_width=90, elem_id="ask")
                        with gr.Row():
                            copy = gr.Button("复制回答（含参考依据）", size="sm", elem_id="copy")
                            up = gr.Button("有用", size="sm", elem_id="thumbs-up")
                            down = gr.Button("没用", size="sm", elem_id="thumbs-down")
                            clear = gr.Button("新对话", size="sm", elem_id="clear")
                        comment = gr.Textbox(show_label=False, lines=1, max_lines=3, elem_id="feedback-comment",
                                             placeholder="可选：写下对最新回答的意见（如答非所问、缺少哪部法规），再点“有用”或“没用”")
                        fb_status = gr.Markdown("", elem_id="feedback-status")
                        copy_text = gr.Textbox(visible=False, elem_id="copy-text")

            quiz = build_quiz_tab(engine, gate=login_gate(console, "出题") if gate else None, gate_inputs=[admin_token])
            quiz_tab = quiz.button.parent  # the gr.Tab that build_quiz_tab opened
            if gate and isinstance(quiz_tab, gr.Tab):  # a simple gate: hidden until login
                quiz_tab.visible = False
            gated = [chat_area] + ([quiz_tab] if isinstance(quiz_tab, gr.Tab) else []) if gate else []
            admin_tab = build_admin_tab(console, admin_token, header=header, header_fn=lambda: app.header_html(app.summary()),
                            gated=gated, ungated=[gate_note] if gate else [])

        on_ask = gated_respond(console, app, gate)

        ask_inputs = [question, chat, session, kinds, region, status, admin_token]
        ask_outputs = [chat, session, question, copy_text, fb_status]
        ask.click(on_ask, ask_inputs, ask_outputs, api_name="ask", show_progress="hidden")
        question.submit(on_ask, ask_inputs, ask_outputs, api_visibility="private", show_progress="hidden")
        for btn, q in example_buttons:
            btn.click(lambda q=q: q, None, question, queue=False, api_visibility="private").then(
                on_ask, ask_inputs, ask_outputs, api_visibility="private", show_progress="hidden")
        copy.click(None, copy_text, None, js=COPY_JS, api_visibility="private")
        up.click(lambda c, sess: app.feedback("up", c, sess), [comment, session], [fb_status, comment],
                 api_visibility="private")
        down.click(lambda c, sess: app.feedback("down", c, sess), [comment, session], [fb_status, comment],
                   api_visibility="private")
        chat.clear(lambda: app.clear()[1:], None, [session, question, copy_text, fb_status], queue=False,
                   api_visibility="private")
        clear.click(app.clear, None, [chat, session, question, copy_text, fb_status], queue=False,
                    api_visibility="private")

        def on_load(token, request=None):  # pick up a sync made since start (console, `make ingest`)
            if gate and not console.is_logged_in(token, client_ip(request)):
                return gr.skip(), gr.skip()  # the corpus is shown only after login (#17)
            try:
                engine.refresh()
                fresh = app.summary()
            except Exception:  # noqa: BLE001 — keep the page usable with the start-up summary
                return gr.skip(), gr.skip()
            choices = [("全部地区", "")] + [(r, r) for r in fresh.get("regions", [])]
            return app.header_html(fresh), gr.Dropdown(choices=choices)

        on_load.__annotations__["request"] = gr.Request  # a real class: `gr` is local here, a string would not resolve
        demo.load(on_load, [admin_token], [header, region], api_visibility="private", show_progress="hidden")
        for e in admin_tab.login_events if gate else []:
            e.then(on_load, [admin_token], [header, region], api_visibility="private", show_progress="hidden")

    # api_open=False: /gradio_api/run/<name> may not bypass the queue (and its concurrency limits).
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_MAX, api_open=False)
    demo.chat_app = app  # the handlers, for tests and tools
    demo.admin_console = console
    # Gradio's upload route is open to every visitor (files land in its temp cache, never in the corpus):
    # bound it near the console's own limit, which gives the maintainer the precise reason below that.
    demo.max_upload = f"{int(settings.max_file_mb * 1.1) + 1}mb"
    _bind_launch_defaults(demo)
    return demo


def _bind_launch_defaults(demo) -> None:
    from web.admin import CSS as ADMIN_CSS
    from web.render import CSS

    original = demo.launch

    def launch(*args, **kwargs):
        if kwargs.get("share"):
            raise ValueError("share links are disabled for this app")
        kwargs["share"] = False
        kwargs.setdefault("theme", make_theme())
        kwargs.setdefault("css", CSS + ADMIN_CSS)
        kwargs.setdefault("footer_links", ["api"])
        if getattr(demo, "max_upload", None):
            kwargs.setdefault("max_file_size", demo.max_upload)
        from web.security import launch_kwargs  # security headers, route guards, cookie (web/security.py)

        for key, value in launch_kwargs(demo, None).items():
            kwargs.setdefault(key, value)
        return original(*args, **kwargs)

    demo.launch = launch


# ---------------------------------------------------------------------------------------- CLI
def load_engine(settings):
    """The engine over ``settings``' index, building the index first when there is none."""
    from index import e5convert
    from index.engine import Engine
    from index.store import IndexMissing

    e5convert.announce_conversion(settings)
    try:
        return Engine.from_settings(settings)
    except IndexMissing:
        print("未找到索引：正在首次构建（读取语料、嵌入向量，可能需要几分钟）…", flush=True)
        build_index(settings)
        return Engine.from_settings(settings)


def build_index(settings) -> None:
    from ingest.sync import run_sync, write_log

    state = {"last": -1}

    def progress(done: int, total: int, message: str) -> None:
        pct = int(done * 100 / total) if total else 100
        step = pct // 10
        if step != state["last"]:
            state["last"] = step
            print(f"  嵌入 {done}/{total} 个片段（{pct}%）", flush=True)

    report, _ = run_sync(settings, quiet=True, progress=progress)
    try:
        write_log(settings, "ingest", report.to_json())
    except OSError:
        pass
    print(f"索引已建立：{report.docs_added} 个文档，{report.chunks_total} 个片段（{report.seconds:.0f} 秒）。", flush=True)
    for e in report.errors:
        print(f"  注意：{e.get('path', '')}: {e.get('error', e)}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="app.py", description="人大工作问答助手 web chat")
    ap.add_argument("--host", default=None,
                    help=f"address to listen on (default: $GRADIO_SERVER_NAME or {DEFAULT_HOST})")
    ap.add_argument("--port", type=int, default=None,
                    help=f"port (default: $GRADIO_SERVER_PORT or {DEFAULT_PORT})")
    return ap.parse_args(argv)


def server_address(args: argparse.Namespace) -> tuple[str, int]:
    host = args.host or os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    port = args.port or int(os.environ.get("GRADIO_SERVER_PORT") or DEFAULT_PORT)
    return host, port


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    host, port = server_address(args)

    from index.embedding import EmbeddingError
    from index.store import StoreError
    from npcqa.settings import get_settings

    settings = get_settings()
    try:
        settings.ensure_home()
        engine = load_engine(settings)
    except (StoreError, EmbeddingError) as exc:
        print(f"无法启动：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断；下次启动会继续完成索引。", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 — a message for a person, the details in the log
        print(f"无法启动：{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1

    try:  # warm up (jieba dictionary, OpenCC, first embedding) so the first cadre does not wait
        engine.ask("人大代表有哪些权利")
    except Exception:  # noqa: BLE001 — a failing warm-up must not stop the server; questions report errors
        pass
    demo = build_demo(engine)
    print(f"人大工作问答助手：http://{host}:{port}", flush=True)
    try:
        demo.launch(server_name=host, server_port=port, show_error=False, quiet=True)
    except OSError as exc:
        print(f"无法启动网页服务（{host}:{port}）：{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
