"""The 出题 tab of the Gradio app.

    with gr.Blocks() as demo:
        ...
        quiz_tab = build_quiz_tab(engine)   # adds the tab; returns its components and handler

Choose sources (dropdown of indexed laws / reports, plus free text such as ``监督法:第二章`` or
``query:代表建议``), counts per type and a seed; 生成 shows an escaped HTML preview with answers,
解析 and 出处, the quality report, and download buttons for .xlsx / .docx / .txt / .json.
Element ids are stable and prefixed ``quiz-``.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import gradio as gr  # a UI module: imported only when the app is built (gr.Request must resolve for Gradio)

from npcqa.types import KIND_LABELS
from quiz.export import source_label, write
from quiz.generate import build_quiz
from quiz.model import TYPES, QuizItem
from quiz.select import Corpus, QuizError
from web.cleanup import QUIZ_EXPORT_PREFIX
from web.clock import file_stamp
from web.markup import esc
from web.styles import QUIZ_CSS

MAX_PER_TYPE = 50
MAX_SEED = 2**31 - 1  # random.Random takes any int, but a 10**308 "seed" is only a way to burn CPU
DEFAULT_COUNTS = {"单选": 5, "多选": 3, "判断": 5, "填空": 3}
_ELEM = {"单选": "single", "多选": "multi", "判断": "judge", "填空": "blank"}



@dataclass
class QuizTab:
    sources: Any
    source_text: Any
    counts: dict[str, Any]
    seed: Any
    button: Any
    preview: Any
    report: Any
    files: Any
    downloads: dict[str, Any]
    generate: Callable  # the click handler (also callable directly)
    choices: Callable[[], list[tuple[str, str]]]


def render_html(items: list[QuizItem] | list[dict], error: str = "") -> str:
    """Preview markup; every piece of corpus text is HTML-escaped."""
    if error:
        return f'<div class="quiz-error" role="alert">⚠️ {esc(error)}</div>'
    if not items:
        return '<div class="quiz-empty">选择出题来源和题量后点击“生成试题”。</div>'
    out = []
    for n, it in enumerate(items, start=1):
        d = it.to_json() if hasattr(it, "to_json") else it
        opts = ""
        if d["type"] in ("单选", "多选"):
            opts = '<ol class="quiz-options" type="A">' + "".join(f"<li>{esc(o)}</li>" for o in d["options"]) + "</ol>"
        out.append(
            f'<div class="quiz-item" data-type="{esc(d["type"])}">'
            f'<p><b>{n}.</b> <span class="quiz-type">{esc(d["type"])}</span>{esc(d["stem"])}</p>{opts}'
            f'<p class="quiz-answer">答案：{esc(d["answer"])}</p>'
            f'<p class="quiz-expl">解析：{esc(d["explanation"])}</p>'
            f'<p class="quiz-src">出处：{esc(source_label(d["source"]))}</p></div>')
    return f"<style>{QUIZ_CSS}</style>" + "".join(out)


def build_quiz_tab(engine, out_dir: str | Path | None = None, gate: Callable[[Any, Any], str] | None = None,
                   gate_inputs: list | None = None) -> QuizTab:
    """Add the 出题 tab; call inside an open ``gr.Blocks()`` context.

    ``gate(token, request)`` returns "" to allow a generation or a message saying why not; it is
    checked on the server for every click and API call (hiding the tab alone would leave
    ``/quiz_generate`` open). ``gate_inputs`` are the components whose value is passed as ``token``."""

    state: dict[str, Any] = {"chunks": None, "corpus": None}

    def corpus() -> Corpus:  # rebuilt when the engine serves a new snapshot (a sync) — a new chunk list
        chunks = getattr(engine, "chunks", None)
        if state["corpus"] is None or chunks is not state["chunks"]:
            state["chunks"] = chunks
            state["corpus"] = Corpus.from_engine(engine)
        return state["corpus"]

    def choices() -> list[tuple[str, str]]:
        out = []
        for d in corpus().documents():
            label = f"{d['name']}（{KIND_LABELS.get(d['kind'], d['kind'])}）"
            out.append((label, d["title"] if d["kind"] == "law" else d["doc_id"]))
        return out

    def nothing(message: str) -> tuple:
        """Outputs of a generation that did not happen: the message, no files, hidden downloads."""
        return (render_html([], error=message), "", None, *([gr.update(value=None, visible=False)] * 4))

    def generate(selected, text, n_single, n_multi, n_judge, n_blank, seed):
        if not isinstance(selected, (list, type(None))) or not isinstance(text, (str, type(None))):
            return nothing("出题来源格式不对：请在列表中选择，或在文本框中输入。")
        sources = [s for s in (selected or []) if s]
        if text and text.strip():
            sources.append(text.strip())
        try:
            counts = {}
            try:
                seed = int(seed or 0)
            except (TypeError, ValueError, OverflowError):
                raise QuizError("随机种子应为整数，例如 1。") from None
            if abs(seed) > MAX_SEED:
                raise QuizError(f"随机种子应在 ±{MAX_SEED} 之间。")
            for t, n in zip(TYPES, (n_single, n_multi, n_judge, n_blank)):
                try:
                    n = int(n or 0)
                except (TypeError, ValueError, OverflowError):
                    raise QuizError(f"{t}题数应为 0–{MAX_PER_TYPE} 之间的整数。") from None
                if n < 0 or n > MAX_PER_TYPE:
                    raise QuizError(f"{t}题数应在 0–{MAX_PER_TYPE} 之间。")
                counts[t] = n
            if not sum(counts.values()):
                raise QuizError("题量全为 0：请至少为一种题型设置题数。")
            if not sources:
                raise QuizError("请先选择出题来源，或在文本框中输入，例如 监督法:第二章。")
            if hasattr(engine, "refresh"):
                try:
                    engine.refresh()
                except Exception:  # noqa: BLE001 - a stale index still makes a quiz
                    pass
            result = build_quiz(sources, counts={t: n for t, n in counts.items() if n}, seed=int(seed or 0),
                                corpus=corpus())
        except QuizError as e:
            return nothing(str(e))
        base = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix=QUIZ_EXPORT_PREFIX))
        base.mkdir(parents=True, exist_ok=True)
        stem = f"quiz-{file_stamp()}-seed{int(seed or 0)}"
        paths = {fmt: str(write(result.items, base / f"{stem}.{fmt}")) for fmt in ("xlsx", "docx", "txt", "json")}
        return (render_html(result.items), result.report.summary(), list(paths.values()),
                *[gr.update(value=paths[fmt], visible=True) for fmt in ("xlsx", "docx", "txt", "json")])

    with gr.Tab("出题", id="quiz", elem_id="quiz-tab"):
        gr.Markdown("从已索引的法律条文和地方实践报告中自动出题（单选、多选、判断、填空），每题附答案、解析和出处。"
                    "同一随机种子得到相同试题。", elem_id="quiz-intro")
        with gr.Row():
            # behind the login gate the titles are listed only to a logged-in user (on focus), never in /config
            sources = gr.Dropdown(choices=[] if gate is not None else choices(), multiselect=True, label="出题来源（法律 / 报告）",
                                  elem_id="quiz-sources", scale=3)
            source_text = gr.Textbox(label="或输入来源", placeholder="监督法:第二章 / 代表法:第10-20条 / 平利 / query:代表建议",
                                     elem_id="quiz-source-text", scale=2)
        with gr.Row():
            counts = {t: gr.Number(value=DEFAULT_COUNTS[t], minimum=0, maximum=MAX_PER_TYPE, precision=0,
                                   label=f"{t}题数", elem_id=f"quiz-count-{_ELEM[t]}") for t in TYPES}
            seed = gr.Number(value=1, precision=0, label="随机种子", elem_id="quiz-seed")
        button = gr.Button("生成试题", variant="primary", elem_id="quiz-generate")
        with gr.Row():
            downloads = {fmt: gr.DownloadButton(f"下载 .{fmt}", visible=False, elem_id=f"quiz-download-{fmt}")
                         for fmt in ("xlsx", "docx", "txt", "json")}
        preview = gr.HTML(render_html([]), elem_id="quiz-preview")
        report = gr.Textbox(label="质量报告", lines=6, interactive=False, elem_id="quiz-report")
        files = gr.File(label="全部导出文件", file_count="multiple", interactive=False, elem_id="quiz-files")
        inputs = [sources, source_text, *counts.values(), seed]
        handler = generate
        if gate is not None:
            def gated(selected, text, n_single, n_multi, n_judge, n_blank, seed_value, token,
                      request: gr.Request):
                refusal = gate(token, request)
                if refusal:
                    return nothing(refusal)
                return generate(selected, text, n_single, n_multi, n_judge, n_blank, seed_value)

            handler = gated
            inputs += list(gate_inputs or [])

            def fill_choices(token, request: gr.Request):
                return gr.skip() if gate(token, request) else gr.Dropdown(choices=choices())

            sources.focus(fill_choices, list(gate_inputs or []), sources, api_visibility="private",
                          show_progress="hidden")
        button.click(handler, inputs=inputs, outputs=[preview, report, files, *downloads.values()],
                     api_name="quiz_generate")
    return QuizTab(sources, source_text, counts, seed, button, preview, report, files, downloads, generate, choices)
