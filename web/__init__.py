"""The Gradio app's web layer for 人大工作问答助手 (imports from npcqa, index, ingest and quiz; app.py on top).

问答 (chat): ``chat`` (handlers), ``render`` (answer HTML + page CSS), ``feedback`` (👍/👎 records).
出题 (quiz): ``quiz_tab``.
管理 (console): ``console`` (operations, no Gradio) over ``sessions`` (login sessions) and ``uploads``;
``admin_render`` (HTML/tables), ``admin_layout`` (components per panel), ``admin_wiring`` /
``admin_upload`` / ``admin_tab`` (events); ``gate`` (the optional login gate of chat and quiz).
Shared: ``markup.esc`` (the one HTML escape), ``clock`` (timestamps), ``styles`` (``static/*.css``),
``security`` (middleware, cookie), ``cleanup`` (temp files).
"""
