"""The relevance decision: confident answer, cautious answer, or refusal, from many signals.

One cosine and word coverage cannot tell "phrased differently" from "not in the corpus". The
decision here reads what the retrievers saw (dense closeness and its margin, the best question-bank
match, BM25 strength, whether the rankings agree, how much of the question the corpus vocabulary
knows, whether a law named in the question is the one found) and combines them with a logistic model
fitted by ``python -m evals fit-relevance`` on the blind question set's fitting split only. Two
rules come before the model, because no score should overrule them:

- the question asks for a fact of a type (a person's name, a sum of money, a date, a phone number
  or address) that none of the best passages contains → refuse;
- (outside the model) an exact article lookup is answered as asked, see ``index.engine``.

The model file carries its provenance (question sets, embedding fingerprint, date). When the running
embedding model is another one, its coefficients mean nothing: the engine says so at start-up and
uses ``CONSERVATIVE``, which refuses only by the rules above and answers everything else cautiously.
"""
from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from npcqa.text import content_words, to_simplified

log = logging.getLogger(__name__)

MODEL_FILE = Path(__file__).with_name("relevance_model.json")
HIGH, LOW, NONE = "high", "low", "none"
# The cautious answer's first line (web chat, CLI, LLM answers alike).
CAUTION_TEXT = "以下条文和材料可能相关，但未必直接回答了问题，请核对原文。"

# ------------------------------------------------------------------ answer types
# What a question asks for when it wants a specific fact, and how such a fact looks in a passage.
# "谁" alone is not here: "由谁召集？" is answered by a role (常务委员会), which laws do contain.
ASKS = {
    # a person's name (叫什么 alone asks for the name of a programme or a booklet, which reports do hold)
    "name": re.compile(r"((主任|委员长|书记|县长|市长|省长|院长|检察长|部长|主席|秘书长|局长|乡长|镇长|代表|委员|领导)"
                       r"(叫什么名字|叫什么|叫啥名字?|叫啥|名字叫什么|姓什么|姓啥|是谁|是哪位)|姓名|谁担任着?)"),
    "money": re.compile(r"(多少钱|几块钱|多少元|多少万|(工资|薪水|薪酬|月薪|年薪)|"
                        r"(补贴|补助|津贴|经费|报酬|奖金|费用|预算)(是)?多少|多少[\u4e00-\u9fa5]{0,4}(补贴|补助|津贴|经费|报酬|奖金|费用)|"
                        r"花了多少|拨了多少|拿多少|金额)"),
    "date": re.compile(r"(哪天|哪一天|几月几[日号]|几号|什么日子|哪一年成立|具体日期|哪年哪月|开幕时间|几点)"),
    "contact": re.compile(r"(电话(号码)?是多少|电话号码|联系电话|手机号|联系方式|邮箱|地址(在|是)|网址|在哪办公|办公地点|门牌|邮编)"),
    # a ranking or a judgment between people or places: laws never rank, reports rarely do
    "ranking": re.compile(r"((哪个|哪位|哪些|谁)[^，。？?]{0,12}最(高|好|多|快|强|差|低|少|优秀|敬业|厉害)|"
                          r"(哪个|谁)[^，。？?]{0,10}更(快|好|高|多|强|有效))"),
}
HAS = {
    "name": re.compile(r"(同志|主任[\u4e00-\u9fa5]{2,3}[，、。]|[\u4e00-\u9fa5]{1}某|姓名)"),
    "money": re.compile(r"([\d０-９.]+\s*(万|亿)?元|[零一二三四五六七八九十百千万亿两]+元)"),
    # a named day: 2024年3月, 12日, 每月十八日, 星期三, 每周五 (a passage that names a day answers 哪天)
    "date": re.compile(r"(\d{4}\s*年\s*\d{1,2}\s*月|\d{1,2}\s*[日号]|[一二三四五六七八九十廿]+[日号]|星期[一二三四五六日天]|每周[一二三四五六日])"),
    "contact": re.compile(r"(\d{3,4}-?\d{7,8}|电话：|地址：|@)"),
    "ranking": re.compile(r"(排名|名列|第一名|评为|评选出)"),
}


def asked_types(question: str) -> list[str]:
    q = to_simplified(question)
    return [t for t, rx in ASKS.items() if rx.search(q)]


def type_gap(question: str, passages: list[str]) -> bool:
    """The question asks for a fact of a type that none of ``passages`` contains."""
    types = asked_types(question)
    if not types:
        return False
    text = to_simplified("\n".join(passages))
    return all(not HAS[t].search(text) for t in types)


# ------------------------------------------------------------------ signals
# The signals read the first five hits of each list: the five passages an answer cites (settings.top_k),
# the depth the fitted model's coefficients were measured at (change it and refit).
SIGNAL_DEPTH = 5
# A margin compares the best hit with the fifth (the last of SIGNAL_DEPTH).
MARGIN_RANK = SIGNAL_DEPTH - 1
# The logistic's input is clamped to ±30 (p within 1e-13 of 0 or 1) so that exp() cannot overflow.
LOGIT_CLAMP = 30.0

FEATURES = ("dense1", "dense_margin", "bank1", "bank_margin", "bm25_norm", "coverage", "agree",
            "known_words", "law_match", "asks_fact", "top_covered")


@dataclass
class Signals:
    """What the retrievers saw for one question; ``values`` are the model's inputs (``FEATURES``)."""

    values: dict[str, float]
    type_gap: bool = False

    def vector(self) -> list[float]:
        return [float(self.values.get(f, 0.0)) for f in FEATURES]

    def to_json(self) -> dict:
        return {k: round(v, 4) for k, v in self.values.items()} | {"type_gap": self.type_gap}


def signals(question: str, law_titles: list[str], ranked: list, lists: dict, coverage: float,
            vocabulary, covered: frozenset = frozenset()) -> Signals:
    """Signals from the fused ranking and the per-retriever lists (``keyword``, ``dense``, ``bank``).
    ``covered``: ids of the chunks the question bank has questions for."""
    dense = [s for _, s in lists.get("dense", [])]
    bank = [s for _, s in lists.get("bank", [])]
    if bank and ranked and ranked[0][0].id not in covered:
        # the answer comes from a chunk without bank questions (a law outside the bundled bank, an
        # upload): its own closeness stands in for the bank's, as its rank does in the fusion
        own = next((s for c, s in lists.get("dense", []) if c.id == ranked[0][0].id), None)
        if own is not None and own > bank[0]:
            bank = [own] + bank[1:]
    kw = [s for _, s in lists.get("keyword", [])]
    words = content_words(question)
    known = sum(len(w) for w in words if w in vocabulary) / (sum(len(w) for w in words) or 1)
    top_ids = [c.id for c, _ in ranked[:SIGNAL_DEPTH]]

    def share(hits) -> float:
        ids = {c.id for c, _ in hits[:SIGNAL_DEPTH]}
        return len(ids & set(top_ids)) / SIGNAL_DEPTH if top_ids else 0.0

    agree = (share(lists.get("dense", [])) + share(lists.get("keyword", []))) / 2
    law_match = 0.0
    if law_titles and ranked:
        law_match = 1.0 if ranked[0][0].title in law_titles else -1.0
    passages = [c.text for c, _ in ranked[:SIGNAL_DEPTH]]
    values = {
        "dense1": dense[0] if dense else 0.0,
        "dense_margin": (dense[0] - dense[min(MARGIN_RANK, len(dense) - 1)]) if dense else 0.0,
        # no bank entry among the candidates (a filter to opinions, uploaded documents): the passage's own
        # closeness stands in, so that a document without bank questions is not taken for a miss
        "bank1": bank[0] if bank else (dense[0] if dense else 0.0),
        "bank_margin": (bank[0] - bank[min(MARGIN_RANK, len(bank) - 1)]) if bank else
        ((dense[0] - dense[min(MARGIN_RANK, len(dense) - 1)]) if dense else 0.0),
        "bm25_norm": math.log1p(kw[0]) if kw else 0.0,
        "coverage": coverage,
        "agree": agree,
        "known_words": known,
        "law_match": law_match,
        "asks_fact": 1.0 if asked_types(question) else 0.0,
        # bank questions match a question more closely than passages do: the model needs to know
        # whether bank1 is a bank match or the passage's own closeness standing in for one
        "top_covered": 1.0 if ranked and ranked[0][0].id in covered else 0.0,
    }
    return Signals(values, type_gap=type_gap(question, passages))


# ------------------------------------------------------------------ the decision
@dataclass
class RelevanceModel:
    """A logistic model over ``FEATURES`` plus the two thresholds that split its probability into
    the three outcomes; fitted and written by ``python -m evals fit-relevance``."""

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    low: float  # p below this: refuse
    high: float  # p at or above this: confident answer; in between: cautious answer
    provenance: dict = field(default_factory=dict)
    conservative: bool = False

    def probability(self, s: Signals) -> float:
        z = self.intercept + sum(c * (x - m) / (sc or 1.0)
                                 for c, x, m, sc in zip(self.coef, s.vector(), self.mean, self.scale))
        return 1.0 / (1.0 + math.exp(-max(-LOGIT_CLAMP, min(LOGIT_CLAMP, z))))

    def decide(self, s: Signals) -> tuple[str, float]:
        """(confidence, probability). The type-gap rule refuses whatever the model says."""
        if s.type_gap:
            return NONE, 0.0
        if self.conservative:
            return LOW, 0.5
        p = self.probability(s)
        return (HIGH if p >= self.high else LOW if p >= self.low else NONE), p

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "mean": self.mean, "scale": self.scale, "coef": self.coef,
                "intercept": self.intercept, "low": self.low, "high": self.high, "provenance": self.provenance}

    @classmethod
    def from_json(cls, d: dict) -> "RelevanceModel":
        if list(d.get("features", [])) != list(FEATURES):
            raise ValueError("relevance model was fitted on other features")
        return cls(mean=[float(x) for x in d["mean"]], scale=[float(x) for x in d["scale"]],
                   coef=[float(x) for x in d["coef"]], intercept=float(d["intercept"]), low=float(d["low"]),
                   high=float(d["high"]), provenance=dict(d.get("provenance", {})))


# No coefficients: refuse only by rule, answer everything else cautiously (see the module docstring).
CONSERVATIVE = RelevanceModel(mean=[0.0] * len(FEATURES), scale=[1.0] * len(FEATURES), coef=[0.0] * len(FEATURES),
                              intercept=0.0, low=0.0, high=1.0, provenance={"rule": "conservative"}, conservative=True)


def load_model(fingerprint: str, path: Path = MODEL_FILE) -> tuple[RelevanceModel, str]:
    """The fitted model for this embedding model, or ``CONSERVATIVE`` and the reason why not."""
    try:
        model = RelevanceModel.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return CONSERVATIVE, f"未找到相关性模型 {path.name}：改用保守规则（只按规则拒答，其余一律谨慎作答）。"
    except (OSError, ValueError, KeyError, TypeError) as e:
        return CONSERVATIVE, f"相关性模型 {path.name} 无法读取（{e}）：改用保守规则。"
    fitted_for = model.provenance.get("embed_model", "")
    if fitted_for != fingerprint:
        return CONSERVATIVE, (f"相关性模型是为嵌入模型 {fitted_for or '（未记录）'} 拟合的，当前为 {fingerprint}："
                              "改用保守规则（只按规则拒答，其余一律谨慎作答）；请运行 python -m evals fit-relevance 重新拟合。")
    return model, ""
