"""What a quiz is made of: the item, the quality report and the result, plus the fixed marks they use.

Every other quiz module (builders, validator, exports, the 出题 tab) speaks in these types, so they
live apart from the code that makes them. ``QuizItem.to_json`` is the exported contract; ``meta`` is
what the validator needs and is never exported.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from quiz.select import Selection

TYPES = ("单选", "多选", "判断", "填空")
BLANK = "____"
PAREN = "（　　）"
LETTERS = "ABCDEF"
TRUE, FALSE = "正确", "错误"
JUDGE_OPTIONS = [TRUE, FALSE]
SINGLE_OPTIONS = 4  # 单选: the answer and three distractors, the usual exam form
MULTI_MIN_OPTIONS = 4  # 多选: at least four options…
MULTI_MAX_OPTIONS = len(LETTERS)  # …and at most one per letter A–F


@dataclass
class QuizItem:
    type: str
    stem: str
    options: list[str]
    answer: str
    explanation: str
    source: dict  # title, locator, text, chunk_id
    meta: dict = field(default_factory=dict, repr=False, compare=False)  # validator inputs; not exported

    def to_json(self) -> dict:
        return {"type": self.type, "stem": self.stem, "options": list(self.options), "answer": self.answer,
                "explanation": self.explanation,
                "source": {k: self.source.get(k, "") for k in ("title", "locator", "text", "chunk_id")}}

    def correct_texts(self) -> list[str]:
        if self.type in ("单选", "多选"):
            return [self.options[LETTERS.index(ch)] for ch in self.answer if ch in LETTERS[:len(self.options)]]
        return [self.answer]


DROP_REASONS = {
    "bad_structure": "结构不合规",
    "duplicate_options": "选项重复",
    "answer_not_in_source": "答案在原文中找不到",
    "false_statement_in_source": "错误表述竟在原文中",
    "distractor_in_answer": "干扰项与答案重合",
    "distractor_in_sentence": "干扰项出现在原句中",
    "distractor_number_in_sentence": "干扰数字出现在原句中",
    "distractor_similar_to_answer": "干扰项与正确项过于相似",
    "distractor_correct_elsewhere": "干扰项代入后在语料中成立",
    "answer_visible_in_stem": "答案在题干中可见",
    "duplicate_stem": "题干重复",
    "blank_ambiguous": "空格可填多个答案",
}
DROP_SAMPLES = 8  # dropped items kept in the report as examples (enough to see a pattern, short to read)


@dataclass
class QualityReport:
    seed: int
    requested: dict[str, int]
    produced: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)  # reason → n
    dropped_by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    shortfall: dict[str, int] = field(default_factory=dict)  # type → items that could not be made
    filled: dict[str, int] = field(default_factory=dict)  # type → extra items made to cover a shortfall
    material: dict[str, int] = field(default_factory=dict)  # candidate facts / lists by kind
    judge_truth: dict[str, int] = field(default_factory=dict)
    chunks: int = 0
    sources: dict = field(default_factory=dict)
    elapsed_ms: float = 0.0
    drop_samples: list[dict] = field(default_factory=list)

    @property
    def total_dropped(self) -> int:
        return sum(self.dropped.values())

    def record_drop(self, t: str, item: QuizItem, reason: str) -> None:
        """Count a validator rejection of a ``t`` item (and keep the first few as samples)."""
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        self.dropped_by_type.setdefault(t, {})
        self.dropped_by_type[t][reason] = self.dropped_by_type[t].get(reason, 0) + 1
        if len(self.drop_samples) < DROP_SAMPLES:
            self.drop_samples.append({"type": t, "reason": reason, "stem": item.stem, "options": item.options})

    def to_json(self) -> dict:
        return {"seed": self.seed, "requested": self.requested, "produced": self.produced,
                "total": sum(self.produced.values()), "dropped_total": self.total_dropped, "dropped": self.dropped,
                "dropped_by_type": self.dropped_by_type, "shortfall": self.shortfall, "filled": self.filled,
                "judge_truth": self.judge_truth, "material": self.material, "chunks": self.chunks,
                "sources": self.sources, "elapsed_ms": self.elapsed_ms, "drop_samples": self.drop_samples}

    def summary(self) -> str:
        lines = ["出题质量报告：",
                 "  题型  要求  生成  校验剔除",
                 *[f"  {t}  {self.requested.get(t, 0):>4}  {self.produced.get(t, 0):>4}  "
                   f"{sum(self.dropped_by_type.get(t, {}).values()):>6}" for t in TYPES
                   if t in self.requested or t in self.produced],
                 f"  来源文本块 {self.chunks} 个；候选素材 {sum(self.material.values())} 条；用时 {self.elapsed_ms:.0f} ms"]
        if self.dropped:
            lines.append("  剔除原因：" + "，".join(f"{DROP_REASONS.get(k, k)} {v}" for k, v in self.dropped.items()))
        if self.shortfall:
            lines.append("  素材不足：" + "，".join(f"{t} 少 {n} 题" for t, n in self.shortfall.items()))
        if self.filled:
            lines.append("  已用其他题型补足：" + "，".join(f"{t} +{n}" for t, n in self.filled.items()))
        return "\n".join(lines)


@dataclass
class QuizResult:
    items: list[QuizItem]
    report: QualityReport
    selection: Selection | None = None

    def to_json(self) -> list[dict]:
        return [it.to_json() for it in self.items]
