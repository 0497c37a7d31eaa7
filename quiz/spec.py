"""Reading what the user asked for: question types (单选 / single / 单选题 …) and how many of each.

Used by the CLI (``--types``, ``--counts``), the 出题 tab and ``build_quiz``; every message is the
user-facing QuizError text.
"""
from __future__ import annotations

import re

from quiz.model import TYPES
from quiz.select import QuizError

TYPE_ALIASES = {"单选": "单选", "单选题": "单选", "single": "单选", "多选": "多选", "多选题": "多选", "multi": "多选",
                "multiple": "多选", "判断": "判断", "判断题": "判断", "judge": "判断", "truefalse": "判断",
                "填空": "填空", "填空题": "填空", "blank": "填空", "fill": "填空"}
MAX_ITEMS = 500  # one request's total: the web tab is open to visitors, so one request stays bounded


def parse_types(spec: str | list[str] | None) -> list[str]:
    if not spec:
        return list(TYPES)
    raw = re.split(r"[,，、\s]+", spec) if isinstance(spec, str) else list(spec)
    out = []
    for r in raw:
        r = r.strip()
        if not r:
            continue
        t = TYPE_ALIASES.get(r) or TYPE_ALIASES.get(r.lower())
        if t is None:
            raise QuizError(f"未知题型“{r}”：可选 单选、多选、判断、填空。")
        if t not in out:
            out.append(t)
    if not out:
        raise QuizError("没有指定题型：可选 单选、多选、判断、填空。")
    return out


def split_count(count: int, types: list[str]) -> dict[str, int]:
    """20 over 4 types → 5 each; a remainder goes to the first types."""
    if count < 0:
        raise QuizError("题目数量不能为负数。")
    base, extra = divmod(count, len(types))
    return {t: base + (1 if i < extra else 0) for i, t in enumerate(types)}


def parse_counts(spec: str) -> dict[str, int]:
    """``单选=5,多选=5,判断=3,填空=2`` → {type: n}."""
    out: dict[str, int] = {}
    for part in re.split(r"[,，;；\s]+", spec or ""):
        if not part.strip():
            continue
        m = re.fullmatch(r"(.+?)\s*[=:：]\s*(\d+)", part.strip())
        if not m:
            raise QuizError(f"无法识别题量“{part}”：请写成 单选=5,多选=5,判断=5,填空=5。")
        t = parse_types(m.group(1))[0]
        out[t] = int(m.group(2))
    if not out:
        raise QuizError("题量为空：请写成 单选=5,多选=5,判断=5,填空=5。")
    return out


def check_total(counts: dict[str, int]) -> None:
    """Refuse negative or oversized requests (QuizError with the user-facing reason)."""
    if any(n < 0 for n in counts.values()):
        raise QuizError("题目数量不能为负数。")
    if sum(counts.values()) > MAX_ITEMS:
        raise QuizError(f"一次最多出 {MAX_ITEMS} 题。")
