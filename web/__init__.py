"""Web chat (Gradio) for 人大工作问答助手: rendering, handlers and feedback storage."""
