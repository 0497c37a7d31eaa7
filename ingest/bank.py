"""Writing question-bank entries with an LLM, for documents the bundled bank does not cover.

The bundled bank (``index/question_bank``) was written offline for the bundled corpus. Documents a
maintainer adds later (opinions, reports, laws beyond the core ones) have none, so everyday wording
finds them less often. When an OpenAI-compatible endpoint is configured (``NPCQA_LLM_BASE_URL``),
``python -m ingest bank`` asks it for a few questions per uncovered chunk, in the cadres' register,
and appends them to ``$NPCQA_HOME/question_bank/generated.jsonl`` (one line per chunk, flushed at
once: a killed run keeps what it wrote and the next run resumes where it stopped). The engine picks
the file up at its next start or refresh.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from index.bank import bank_files, chunk_targets, read_bank
from npcqa.types import Chunk

QUESTIONS_PER_CHUNK = 3
ANCHOR_CHARS = 24  # the start of the chunk's text, verbatim: how the engine finds the chunk again
MAX_PASSAGE_CHARS = 1200  # longer passages are cut for the prompt (an article of 1,200 characters is rare)
GENERATED = "generated.jsonl"

PROMPT = (
    "下面是一段{kind}原文。请写出{n}个基层人大干部、人大代表或普通群众会用日常口语提出、并且这段原文能够回答的问题。"
    "要求：不用法律条文的原话，不写法律名称和条号，每个问题一句话。只输出一个 JSON 数组，例如 [\"问题一？\", \"问题二？\"]。\n\n"
    "原文（{title} {locator}）：\n{text}"
)
_KIND = {"law": "法律条文", "opinion": "文件", "report": "地方人大工作实践报道"}


@dataclass
class BankReport:
    chunks_written: int = 0
    questions: int = 0
    already_covered: int = 0
    failed: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"chunks_written": self.chunks_written, "questions": self.questions,
                "already_covered": self.already_covered, "failed": self.failed}


def parse_questions(reply: str) -> list[str]:
    """The JSON array of question strings in an LLM reply (surrounding prose or a ```json fence tolerated)."""
    m = re.search(r"\[.*\]", reply, re.S)
    if not m:
        return []
    try:
        items = json.loads(m.group(0))
    except ValueError:
        return []
    return [q.strip() for q in items if isinstance(q, str) and 4 <= len(q.strip()) <= 120][:QUESTIONS_PER_CHUNK + 1]


def uncovered(chunks: list[Chunk], home_bank: Path) -> list[Chunk]:
    """Chunks no bank entry (bundled or in the home) points to; for a split article, its first chunk only."""
    entries = read_bank(bank_files(home_bank))
    covered = {t for t in chunk_targets(entries, chunks) if t >= 0}
    seen_articles: set[tuple[str, str]] = set()
    out = []
    for i in sorted(range(len(chunks)), key=lambda i: (chunks[i].doc_id, chunks[i].order)):
        c = chunks[i]
        label = str(c.extra.get("article", "")) if c.kind == "law" else ""
        if label:
            if (c.doc_id, label) in seen_articles:
                continue
            seen_articles.add((c.doc_id, label))
        if i not in covered:
            out.append(c)
    return out


def write_bank(chunks: list[Chunk], home_bank: Path, generate: Callable[[str], str], limit: int | None = None,
               progress: Callable[[int, int], None] | None = None) -> BankReport:
    """Ask ``generate(prompt) -> reply`` for every uncovered chunk (up to ``limit``) and append the entries."""
    todo = uncovered(chunks, home_bank)
    report = BankReport(already_covered=len({(c.doc_id, c.locator) for c in chunks}) - len(todo))
    todo = todo[:limit] if limit is not None else todo
    home_bank.mkdir(parents=True, exist_ok=True)
    with open(home_bank / GENERATED, "a", encoding="utf-8") as out:
        for n, c in enumerate(todo, 1):
            prompt = PROMPT.format(kind=_KIND.get(c.kind, "文件"), n=QUESTIONS_PER_CHUNK, title=c.title,
                                   locator=c.locator, text=c.text[:MAX_PASSAGE_CHARS])
            try:
                questions = parse_questions(generate(prompt))
            except Exception as exc:  # the endpoint is a boundary we do not own: record and go on
                report.failed.append({"doc_id": c.doc_id, "locator": c.locator, "reason": str(exc)[:200]})
                questions = []
            if questions:
                entry = {"doc_id": c.doc_id, "questions": questions}
                if c.kind == "law" and c.extra.get("article"):
                    entry["article"] = str(c.extra["article"])
                else:
                    entry["anchor"] = c.text[:ANCHOR_CHARS]
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")
                out.flush()
                report.chunks_written += 1
                report.questions += len(questions)
            elif not any(f["doc_id"] == c.doc_id and f["locator"] == c.locator for f in report.failed):
                report.failed.append({"doc_id": c.doc_id, "locator": c.locator, "reason": "回复中没有问题列表"})
            if progress:
                progress(n, len(todo))
    return report


def llm_generate(settings) -> Callable[[str], str]:
    """``generate(prompt)`` over the configured endpoint (index.llm's client: timeouts, no key in errors)."""
    from index.llm import LLMClient, LLMFailure

    client = LLMClient(settings)
    if not client.configured:
        raise RuntimeError("未配置大模型接口：请设置 NPCQA_LLM_BASE_URL（和 NPCQA_LLM_MODEL）后再生成问题库。")

    def generate(prompt: str) -> str:
        try:
            return "".join(client.generate([{"role": "user", "content": prompt}], stream=False))
        except LLMFailure as f:
            raise RuntimeError(f.notice) from None

    return generate
