"""The fixed vocabulary of people's-congress work a quiz asks about: bodies, procedures, frequencies.

Facts are found by these lists (``lexicon_hits``) and distractors are drawn from the same classes, so a
body is only ever replaced by another body of its class. ``INTERCHANGEABLE_TERMS`` names the terms that
mean the same thing and so can never be each other's wrong option.
"""
from __future__ import annotations

import functools

# class → terms: a body's distractors come from its own class.
BODY_CLASSES: dict[str, list[str]] = {
    "organ": ["国务院", "中央军事委员会", "国家监察委员会", "最高人民法院", "最高人民检察院",
              "人民政府", "监察委员会", "人民法院", "人民检察院", "审计机关"],
    "npc_organ": ["委员长会议", "主任会议", "主席团", "专门委员会", "常务委员会", "代表团", "代表小组",
                  "代表工作委员会", "宪法和法律委员会", "调查委员会", "执法检查组"],
    "office": ["办事机构", "工作机构"],
    "meeting": ["全体会议", "联组会议", "分组会议", "小组会议", "常务委员会会议", "主席团会议"],
}
# scope keeps body distractors plausible (no 国务院 where the text says 本级…, see quiz.distractors)
NATIONAL = ("国务院", "中央军事委员会", "国家监察委员会", "最高人民法院", "最高人民检察院", "委员长会议",
            "宪法和法律委员会")
LOCAL_ONLY = ("主任会议",)
PROC_CLASSES: dict[str, list[str]] = {
    "proc": ["专题询问", "执法检查", "视察", "专题调查研究", "专题调研", "跟踪监督", "跟踪检查", "备案审查",
             "特定问题调查", "联网监督", "满意度测评", "述职"],
    "motion": ["议案", "质询案", "罢免案"],
    "report": ["专项工作报告", "执法检查报告", "审计工作报告", "决算草案", "中期评估报告", "调整方案",
               "备案审查工作情况报告", "研究处理情况报告"],
}
FREQ_TERMS = ["每年", "每半年", "每季度", "每月", "每两年", "每三年"]
# Terms that say the same thing: never each other's distractor, and one stands for the other
# when the validator asks whether a filler is correct elsewhere in the corpus.
INTERCHANGEABLE_TERMS = [("过半数", "半数以上", "二分之一以上"), ("专题调查研究", "专题调研"),
                         ("执法检查", "跟踪检查"), ("日", "天")]


def interchangeable(term: str) -> set[str]:
    """``term`` and every term that says the same thing (itself alone when it has none)."""
    for group in INTERCHANGEABLE_TERMS:
        if term in group:
            return set(group)
    return {term}


def body_class(term: str) -> str | None:
    for cls, terms in BODY_CLASSES.items():
        if term in terms:
            return cls
    return None


@functools.lru_cache(maxsize=1)
def _lexicon() -> list[tuple[str, str, str]]:
    """(term, kind, class) longest first."""
    rows = [(t, "body", c) for c, ts in BODY_CLASSES.items() for t in ts]
    rows += [(t, "proc", c) for c, ts in PROC_CLASSES.items() for t in ts]
    return sorted(rows, key=lambda r: (-len(r[0]), r[0]))


def lexicon_hits(simp: str) -> list[tuple[int, int, str, str, str]]:
    """Non-overlapping lexicon matches, longest first: (start, end, term, kind, class)."""
    taken = [False] * len(simp)
    hits = []
    for term, kind, cls in _lexicon():
        start = 0
        while (i := simp.find(term, start)) >= 0:
            if not any(taken[i:i + len(term)]):
                hits.append((i, i + len(term), term, kind, cls))
                for j in range(i, i + len(term)):
                    taken[j] = True
            start = i + 1
    return sorted(hits)
