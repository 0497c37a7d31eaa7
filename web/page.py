"""What the chat page is made of besides its wiring: fonts, theme, example questions, fixed texts and
the page's small scripts (``web/static/*.js``, read like the style sheets).

Why here and not in ``app.py``: the wiring (``app.build_demo``) should read as the page's structure;
these are its materials, and tests and the load script name them without starting a server.
"""
from __future__ import annotations

from web.styles import script

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
FILTERS_LABEL = "筛选与示例"
CHAT_PLACEHOLDER = (f"在下方输入问题，或在“{FILTERS_LABEL}”中点选示例问题。"
                    "回答中的编号对应下方“参考依据”，点开可核对原文。")
FEEDBACK_MORE = "如有具体意见，可在下方补充。"
NARROW_PX = 480  # phones: the layout of web/static/chat-layout.css's media query below this width
LAYOUT_JS = script("layout") % NARROW_PX
FOLD_ON_PHONE_JS = script("fold-on-phone") % NARROW_PX
COPY_JS = script("copy")


def make_theme():
    import gradio as gr

    theme = gr.themes.Default(primary_hue="red", neutral_hue="slate", font=SANS, font_mono=MONO)
    return theme.set(button_primary_background_fill="#8b1a1a", button_primary_background_fill_hover="#a52a2a",
                     button_primary_text_color="#ffffff", button_primary_border_color="#8b1a1a")
