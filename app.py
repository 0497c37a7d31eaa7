"""人大工作问答助手 — the web chat.

    python app.py [--host H] [--port P]        (= make run; default 127.0.0.1:7860)

Without flags, Gradio's GRADIO_SERVER_NAME / GRADIO_SERVER_PORT are respected. When no index
exists yet it is built first (progress printed); a store that cannot be used stops the app with
a message, never a traceback. Analytics are off, no share link is ever created, and the page
needs nothing outside this server (system fonts, no CDN).

``build_demo(engine)`` returns the Blocks, so tests, the load script and the server share one UI:
three tabs — 问答 (the chat, open to everyone unless ``chat_requires_login``), 出题 (quiz builder) and
管理 (the maintainers' console, behind its own login; see ``web/admin_tab.py``). Its ``launch`` applies the
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

from web.page import (CHAT_PLACEHOLDER, COPY_JS, EXAMPLES, FEEDBACK_MORE, FILTERS_LABEL,  # noqa: E402
                      FOLD_ON_PHONE_JS, FOLLOW_UP_TIP, LAYOUT_JS, make_theme)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
# Queue workers. Extractive answers are CPU-bound (the question's embedding, one thread each, then
# retrieval): one worker per core is best. Measured on 2 cores, AVX2-capped, `python -m evals.load
# --clients 50 --questions 4` (evals/results/load_avx2_50x4.json): 2 workers p95 2.86 s / 16.3 answers/s,
# 4 workers 3.12 s / 15.6, 8 workers 3.36 s / 13.9. An LLM answer mostly waits on the endpoint, so with
# `answer_mode` llm/auto more workers keep one slow answer from holding up the others.
CPU_BOUND_CONCURRENCY = 2
LLM_CONCURRENCY = 4
QUEUE_MAX = 512


def queue_concurrency(settings) -> int:
    """Queue workers for ``settings``' answer mode (see the measurement above)."""
    return CPU_BOUND_CONCURRENCY if settings.answer_mode == "extractive" else LLM_CONCURRENCY
def build_demo(engine, feedback_path: str | Path | None = None, logs_dir: str | Path | None = None,
               settings=None, console=None):
    """The app over ``engine``: 问答, 出题 and 管理 tabs.

    ``settings`` (default ``engine.settings``) gives the console its credentials, upload limits and home;
    feedback/logs default to that home. ``console`` may pass a ready ``web.console.AdminConsole`` (tests)."""
    import gradio as gr

    from web.admin_tab import build_admin_tab
    from web.chat import KIND_CHOICES, ChatApp, new_session
    from web.console import AdminConsole
    from web.gate import gated_respond, login_gate
    from web.quiz_tab import build_quiz_tab
    from web.sessions import client_ip

    settings = settings or engine.settings
    app = ChatApp(engine, feedback_path=feedback_path or settings.feedback_path, logs_dir=logs_dir or settings.logs_dir)
    console = console or AdminConsole(engine, settings, feedback_path=app.feedback_path)
    gate = bool(settings.chat_requires_login)
    s = {} if gate else app.summary()  # with the login gate, nothing about the corpus before login (#17)
    region_choices = [("全部地区", "")] + [(r, r) for r in s.get("regions", [])]
    status_choices = [("不限", "")] + [(st, st) for st in (s or app.summary()).get("statuses", [])]  # generic words

    with gr.Blocks(title="人大工作问答助手", analytics_enabled=False) as demo:
        session = gr.State(new_session())
        admin_token = gr.State("")  # console session token: server-side only (see web/sessions.py)
        header = gr.HTML(app.header_html(s), elem_id="header")
        with gr.Tabs(elem_id="main-tabs"):
            with gr.Tab("问答", id="chat", elem_id="chat-tab"):
                gate_note = gr.HTML('<div class="npc-gate">问答需要登录：请先在“管理”页登录。</div>' if console.enabled else
                                    '<div class="npc-gate">问答需要登录，但管理控制台未启用：请管理员配置 '
                                    "NPCQA_ADMIN_PASSWORD_HASH（python -m npcqa.passwd）。</div>",
                                    visible=gate, elem_id="chat-gate")
                with gr.Row(equal_height=False, visible=not gate, elem_id="chat-area") as chat_area:
                    # filters and examples in one panel: open beside the chat on wide screens (LAYOUT_JS opens it),
                    # folded above the chat on phones; closed by default so a phone never shows it first
                    with gr.Column(scale=1, min_width=250, elem_id="sidebar"):
                        with gr.Accordion(FILTERS_LABEL, open=False, elem_id="filters"):
                            gr.Markdown("**筛选**（对下一个问题生效）")
                            kinds = gr.CheckboxGroup(KIND_CHOICES, value=[k for _, k in KIND_CHOICES], label="文件类型",
                                                     info="都不勾选 = 全部类型", elem_id="kind-filter")
                            region = gr.Dropdown(region_choices, value="", label="地区", info="选定后只检索该地区的文件",
                                                 elem_id="region-filter")
                            status = gr.Dropdown(status_choices, value="", label="法律效力",
                                                 info="只筛选法律，其他文件不受影响", elem_id="status-filter")
                            gr.Markdown("**示例问题**（点击即问）")
                            example_buttons = [(gr.Button(f"{label}：{q}", size="sm", elem_id=eid,
                                                          elem_classes="npc-example"), q) for eid, label, q in EXAMPLES]
                            gr.HTML(f'<p class="npc-tip">{FOLLOW_UP_TIP}</p>', elem_id="follow-up-tip")
                    with gr.Column(scale=3, min_width=420, elem_id="chat-column"):
                        # no height: the chat grows with its answers and the page is the one scroll (CSS in web/static/chat-layout.css)
                        chat = gr.Chatbot(
                            label="问答", show_label=False, elem_id="chat", height=None, buttons=[], latex_delimiters=[],
                            sanitize_html=True, render_markdown=True, autoscroll=False, group_consecutive_messages=False,
                            placeholder=f"<div class='npc-placeholder'>{CHAT_PLACEHOLDER}</div>",
                        )
                        with gr.Row(equal_height=True, elem_id="composer"):
                            question = gr.Textbox(show_label=False, placeholder="请输入问题，例如：监督法第十条规定了什么？（回车提问）",
                                                  lines=1, max_lines=6, scale=6, elem_id="question", autofocus=True)
                            ask = gr.Button("提问", variant="primary", scale=1, min_width=90, elem_id="ask")
                        with gr.Row(elem_id="actions"):
                            copy = gr.Button("复制回答", size="sm", elem_id="copy")
                            up = gr.Button("有用", size="sm", elem_id="thumbs-up")
                            down = gr.Button("没用", size="sm", elem_id="thumbs-down")
                            clear = gr.Button("新对话", size="sm", elem_id="clear")
                        fb_status = gr.Markdown("", elem_id="feedback-status")
                        # the comment opens once 有用/没用 is pressed (that press already records the rating)
                        with gr.Row(equal_height=True, elem_id="feedback-row"):
                            comment = gr.Textbox(show_label=False, lines=1, max_lines=3, scale=6, elem_id="feedback-comment",
                                                 placeholder="可选：补充意见（如答非所问、缺少哪部法规）", visible=False)
                            send = gr.Button("提交意见", size="sm", scale=1, min_width=90, elem_id="feedback-send",
                                             visible=False)
                        rating = gr.State("")
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
            btn.click(lambda q=q: q, None, question, queue=False, api_visibility="private", js=FOLD_ON_PHONE_JS).then(
                on_ask, ask_inputs, ask_outputs, api_visibility="private", show_progress="hidden")
        copy.click(None, copy_text, None, js=COPY_JS, api_visibility="private")

        # The comment box (comment + send) opens once 有用/没用 has recorded a rating; ``rating`` holds that rating
        # while the box is open and "" while it is closed. It is only ever hidden when open: Gradio 6.17 did not
        # show again a component that an update had hidden while it was already hidden.
        skip3 = (gr.skip(), gr.skip(), gr.skip())

        def close_box(value):
            return (gr.Textbox(value="", visible=False), gr.Button(visible=False), "") if value else skip3

        def rate(value, c, sess):  # records the rating at once, then offers the comment box
            msg, box = app.feedback(value, c, sess)
            if not msg.startswith("已记录"):  # ChatApp.feedback's success texts; else no answer yet / not saved
                return msg, *skip3
            return msg + FEEDBACK_MORE, gr.Textbox(value=box, visible=True), gr.Button(visible=True), value

        def send_comment(value, c, sess):  # the comment, with the rating just given, as one more record
            if not value:
                return "请先点“有用”或“没用”。", *skip3
            if not (c or "").strip():
                return "请先写下意见，再点“提交意见”。", *skip3
            msg, _ = app.feedback(value, c, sess, follow_up=True)
            if not msg.startswith("已记录"):
                return msg, *skip3
            return "已收到您的意见，谢谢！", *close_box(value)

        box_outputs = [comment, send, rating]
        for trigger in [ask.click, question.submit] + [btn.click for btn, _ in example_buttons]:
            # a new question closes the box: a comment (and its rating) belongs to the answer it was opened for
            trigger(close_box, rating, box_outputs, queue=False, api_visibility="private")
        up.click(lambda c, sess: rate("up", c, sess), [comment, session], [fb_status, *box_outputs],
                 api_visibility="private")
        down.click(lambda c, sess: rate("down", c, sess), [comment, session], [fb_status, *box_outputs],
                   api_visibility="private")
        send.click(send_comment, [rating, comment, session], [fb_status, *box_outputs], api_visibility="private")
        comment.submit(send_comment, [rating, comment, session], [fb_status, *box_outputs], api_visibility="private")
        chat.clear(lambda value: (*app.clear()[1:], *close_box(value)), rating,
                   [session, question, copy_text, fb_status, *box_outputs], queue=False, api_visibility="private")
        clear.click(lambda value: (*app.clear(), *close_box(value)), rating,
                    [chat, session, question, copy_text, fb_status, *box_outputs], queue=False, api_visibility="private")

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
        demo.load(None, None, None, js=LAYOUT_JS)  # panel open on wide screens; new answers scrolled into view

    # api_open=False: /gradio_api/run/<name> may not bypass the queue (and its concurrency limits).
    demo.queue(default_concurrency_limit=queue_concurrency(settings), max_size=QUEUE_MAX, api_open=False)
    demo.chat_app = app  # the handlers, for tests and tools
    demo.admin_console = console
    # Gradio's upload route is open to every visitor (files land in its temp cache, never in the corpus):
    # bound it near the console's own limit, which gives the maintainer the precise reason below that.
    demo.max_upload = f"{int(settings.max_file_mb * 1.1) + 1}mb"
    _bind_launch_defaults(demo)
    return demo


def _bind_launch_defaults(demo) -> None:
    from web.styles import ADMIN_CSS, CHAT_CSS as CSS

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
    from index.e5.cache import announce_conversion
    from index.factory import build_engine
    from index.store import IndexMissing

    try:
        engine = build_engine(settings)
    except IndexMissing:  # the `python -m ingest` child announces (and does) any conversion it needs
        print("未找到索引：正在首次构建（读取语料、嵌入向量，可能需要几分钟）…", flush=True)
        build_index(settings)
        engine = build_engine(settings)
    announce_conversion(settings)  # still pending: the warm-up converts it, say so once
    return engine


def build_index(settings) -> None:
    """First start: ``python -m ingest`` in a child process, so the app never holds the build's memory
    (all laws + the embedding model: 1.9 GB measured in one process; the CLI itself embeds any text the
    caches lack in a further child). Law vectors ship with the project, so this takes about as long on
    any CPU; its summary and any file errors are printed as they come."""
    import subprocess

    env = {**os.environ, "NPCQA_HOME": str(settings.home), "NPCQA_CORPUS_DIR": str(settings.corpus_dir),
           "NPCQA_MODEL_CACHE": str(settings.models_dir), "NPCQA_EMBED_MODEL": settings.embed_model,
           "NPCQA_ALL_LAWS": "1" if settings.all_laws else "0", "NPCQA_CORE_LAWS": "1" if settings.core_laws else "0",
           "NPCQA_EMBED_CACHE": "1" if settings.embed_cache else "0"}
    root = Path(__file__).resolve().parent
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])
    rc = subprocess.run([sys.executable, "-m", "ingest"], cwd=str(root), env=env).returncode
    if rc not in (0, 1):  # 1 = some files could not be read (listed above); the rest is indexed
        print(f"  注意：建立索引的进程以代码 {rc} 结束。", flush=True)


def warm_up(engine) -> None:
    """Load the embedding model and warm jieba/OpenCC with one question, so the first cadre does not wait."""
    try:
        engine.answer_extractive("人大代表有哪些权利")
    except Exception:  # noqa: BLE001 — a failing warm-up must not stop the server; questions report errors
        pass


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

    base = get_settings()
    # the server embeds short questions, several at once: one thread per forward (ingest children keep theirs)
    settings = base.model_copy(update={"embed_threads": base.query_threads})
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

    if engine.relevance_notice:  # the relevance model was fitted for another embedding model
        print(f"注意：{engine.relevance_notice}", file=sys.stderr, flush=True)
    demo = build_demo(engine)
    print(f"人大工作问答助手：http://{host}:{port}", flush=True)
    try:
        demo.launch(server_name=host, server_port=port, show_error=False, quiet=True, prevent_thread_lock=True)
    except OSError as exc:
        print(f"无法启动网页服务（{host}:{port}）：{exc}", file=sys.stderr)
        return 1
    # Serving already: the page and the index are up. The embedding model (torch + weights, the heaviest
    # part of a start: seconds, more on CPUs without VNNI) loads now, in the background of a live server;
    # a question asked before it is ready waits for it inside the embedder, it is never refused.
    warm_up(engine)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
