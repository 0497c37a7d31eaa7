"""The LLM's prompt: the same retrieved passages as the extractive answer, numbered [1]..[k].

Laws are headed with their 法名 第N条 (``index.answer.locator_label``); the instructions require a
``[n]`` marker at the end of every sentence, which ``index.verify`` then checks. ``build_messages``
also returns the passages exactly as shown, for that check.
"""
from __future__ import annotations

from index.answer import locator_label
from index.verify import Passage
from npcqa.types import Chunk

# Characters of a passage shown to the model (a long report section is cut): 5 passages stay well inside
# the client's context window (index.llm.CONTEXT_WINDOW).
PASSAGE_CHARS = 1200

SYSTEM_PROMPT = ("你是人大工作问答助手。你只能依据用户提供的编号资料回答问题，不得使用资料以外的知识，"
                 "不得编造法律条文、条号、数字、日期或地方做法。")
INSTRUCTIONS = """要求：
1. 用简洁的简体中文回答，一般不超过 5 句，只写资料中明确写到的内容。
2. 每句话末尾用方括号编号标注依据的资料，例如“……在常务委员会举行会议的十日前送交常务委员会[1]。”；一句话依据多条资料时写 [1][2]。只能使用上面出现过的编号。
3. 引用法律时写明法律名称和条号（如《监督法》第十五条）；数字、期限、条号必须与资料原文完全一致。
4. 如果资料不能回答这个问题，只回答“依据不足”，并用一句话说明资料缺少什么，不要猜测。
5. 不要使用 Markdown 格式，不要写资料以外的评论、建议或总结。"""


def passage_header(c: Chunk) -> str:
    if c.kind == "law":
        return locator_label(c)  # 《监督法》第十五条（第二章 听取和审议专项工作报告）
    head = c.title if not c.locator else f"{c.title}（{c.locator}）"
    return head + (f"，{c.region}" if c.region and c.region not in c.title else "")


def build_messages(question: str, top: list[tuple[Chunk, float]]) -> tuple[list[dict[str, str]], list[Passage]]:
    """Chat messages (system + user) numbering the passages [1]..[k], and the passages to verify against."""
    passages, blocks = [], []
    for n, (c, _s) in enumerate(top, 1):
        text = c.text if len(c.text) <= PASSAGE_CHARS else c.text[:PASSAGE_CHARS] + "……"
        blocks.append(f"[{n}] {passage_header(c)}\n{text}")
        passages.append(Passage(n=n, text=text, title=c.title, locator=locator_label(c), heading_path=c.heading_path))
    user = "资料：\n\n" + "\n\n".join(blocks) + f"\n\n问题：{question}\n\n" + INSTRUCTIONS
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}], passages
