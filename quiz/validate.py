"""The validator: every item is checked before it is kept, and a failing one is dropped with a reason.

An item is sound when its structure is right (4 options for 单选, 4–6 for 多选 …), its answer is in
the source text, no distractor is in the source sentence / the answer set / too similar to an answer,
no distractor put in the blank makes a phrase that occurs elsewhere in the corpus (it would be
correct there), a 填空 admits one answer only, and no stem repeats. Reasons are DROP_REASONS keys.
"""
from __future__ import annotations

import re

from npcqa.text import match_form
from quiz.distractors import RESTATES, TOO_SIMILAR, containment, similarity
from quiz.lexicon import interchangeable
from quiz.model import (BLANK, FALSE, JUDGE_OPTIONS, LETTERS, MULTI_MAX_OPTIONS, MULTI_MIN_OPTIONS, PAREN,
                        SINGLE_OPTIONS, TRUE, QuizItem)
from quiz.numbers import render_number, sentence_numbers
from quiz.pools import Pools

_PUNCT = "，。；：、,.;:！？!?）)”"
_LIGHT_VERBS = "(?:组织开展|进行|开展|组织)"  # 进行视察 / 开展视察 / 组织视察 say the same
_LIGHT_VERB = re.compile(_LIGHT_VERBS + "$")
_LIST_JOINER_END = re.compile(r"(、|和|及|或者|以及)$")
_LIST_JOINER_START = re.compile(r"^(、|和|及|或者|以及)")
_LEADING_NUMBER = re.compile(r"^([零〇一二两三四五六七八九十百千\d]+)(.*)$")
_SENTENCE_END = "。；;，,"  # statement options are compared without their final mark
LEFT_CONTEXT = 6  # chars before the term that must recur with it elsewhere…
RIGHT_CONTEXT = 4  # …and chars after it (RIGHT_CONTEXT_ALONE when the left context is too short)
RIGHT_CONTEXT_ALONE = 6
MIN_CONTEXT = 3  # fewer context chars than this prove nothing about the term
LIST_LEFT_CONTEXT = 5  # a list member: what precedes the list…
LIST_SPAN = 30  # …may be this far before the member (the other members in between)


def _fits_elsewhere(left: str, term: str, right: str, pools: Pools, own: str = "") -> bool:
    """Does ``term`` in this context (6 chars before, 4 after; punctuation after matches any punctuation)
    occur anywhere in the corpus outside ``own`` (the source sentence)? Then it is a correct filler
    there, so it cannot be a wrong option / a second answer here."""
    left, right, term = match_form(left), match_form(right), match_form(term)
    own = match_form(own) + "。"
    patterns: list[str] = []
    if _LIST_JOINER_END.search(left) or _LIST_JOINER_START.match(right):
        # a member of a list (专项工作报告、审计查出问题整改情况报告): the list's neighbours say little,
        # what is said of the list is what matters — the term with either side of context is enough
        lctx = _LIST_JOINER_END.sub("", left)[-LIST_LEFT_CONTEXT:]
        if len(lctx) >= MIN_CONTEXT:
            patterns.append(re.escape(lctx) + f"(?:[^，。；]{{0,{LIST_SPAN}}}、)?" + re.escape(term))
        rctx = _LIST_JOINER_START.sub("", right)[:RIGHT_CONTEXT]
        if len(rctx) >= MIN_CONTEXT and not any(ch in _PUNCT for ch in rctx):
            patterns.append(re.escape(term + rctx))
    left6 = left[-LEFT_CONTEXT:]
    right6 = right[:RIGHT_CONTEXT] if len(left6) >= MIN_CONTEXT else right[:RIGHT_CONTEXT_ALONE]
    # 进行视察 / 开展视察 / 组织视察 say the same: a light verb before the term matches any light verb
    lead = re.escape(left6)
    if m := _LIGHT_VERB.search(left6):
        lead = re.escape(left6[:m.start()]) + _LIGHT_VERBS
    terms = "(?:" + "|".join(re.escape(t) for t in sorted(interchangeable(term), key=len, reverse=True)) + ")"
    cut = next((i for i, ch in enumerate(right6) if ch in _PUNCT), None)
    if cut is not None:
        if not (cut == 0 and len(left6) < MIN_CONTEXT):  # a bare term before a comma proves nothing
            patterns.append(lead + terms + re.escape(right6[:cut]) + f"[{re.escape(_PUNCT)}]")
    elif len(left6) + len(right6) >= MIN_CONTEXT:
        patterns.append(lead + terms + re.escape(right6))
    for pat in patterns:
        rx = re.compile(pat)
        if rx.search(pools.corpus_text) and len(rx.findall(pools.corpus_text)) > len(rx.findall(own)):
            return True
    return False


def _alternatives(m: dict, pools: Pools) -> list[str]:
    """Other terms of the same family a blank could be filled with (numbers rendered in the answer's form)."""
    fam = m.get("family", "")
    if fam in pools.terms:
        return list(pools.terms[fam])
    f_term = match_form(m["correct"][0])
    mm = _LEADING_NUMBER.match(f_term)
    if not mm:
        return []
    rest = mm.group(2)
    out = []
    for v, _u in pools.numbers.get(fam, []):
        out.append(render_number(v, mm.group(1)) + rest)
    return out


def _structure_ok(item: QuizItem) -> bool:
    opts = item.options
    if not item.stem.strip() or not item.explanation.strip():
        return False
    if item.type == "单选":
        return len(opts) == SINGLE_OPTIONS and len(item.answer) == 1 and item.answer in LETTERS[:SINGLE_OPTIONS]
    if item.type == "多选":
        wrong = len(opts) - len(item.answer)
        return (MULTI_MIN_OPTIONS <= len(opts) <= MULTI_MAX_OPTIONS and len(item.answer) >= 2 and wrong >= 1
                and all(ch in LETTERS[:len(opts)] for ch in item.answer)
                and list(item.answer) == sorted(set(item.answer)))
    if item.type == "判断":
        return opts == JUDGE_OPTIONS and item.answer in JUDGE_OPTIONS
    if item.type == "填空":
        return not opts and item.stem.count(BLANK) == 1 and bool(item.answer)
    return False


def validate(item: QuizItem, pools: Pools, seen_stems: set[str]) -> str | None:
    """The reason this item must be dropped, or None if it is sound."""
    m = item.meta
    opts = item.options
    if not _structure_ok(item):
        return "bad_structure"
    if len({match_form(o) for o in opts}) != len(opts) or any(not o.strip() for o in opts):
        return "duplicate_options"
    src = match_form(item.source.get("text", ""))
    sent = match_form(m.get("sentence", ""))
    correct = [match_form(t) for t in m.get("correct", [])]
    distractors = [match_form(d) for d in m.get("distractors", [])]
    if m.get("kind") == "statements":  # whole sentences as options: compare without the final mark
        correct = [t.rstrip(_SENTENCE_END) for t in correct]
        distractors = [d.rstrip(_SENTENCE_END) for d in distractors]
    # the answer is supported by the source text (and is what the item says it is)
    shown = [match_form(t).rstrip(_SENTENCE_END) if m.get("kind") == "statements" else match_form(t)
             for t in item.correct_texts()]
    if sorted(shown) != sorted(correct) and item.type in ("单选", "多选", "填空"):
        return "bad_structure"
    if not correct or any(t not in src or t not in sent for t in correct):
        return "answer_not_in_source"
    if item.type == "判断":
        stmt = match_form(m.get("statement", ""))
        if item.answer == TRUE and stmt not in src:
            return "answer_not_in_source"
        if item.answer == FALSE and stmt in src:
            return "false_statement_in_source"
    # no distractor is also correct
    sent_nums = set(sentence_numbers(sent))
    for d in distractors:
        if any(d == t or d in t or t in d for t in correct):
            return "distractor_in_answer"
        if d in sent:
            return "distractor_in_sentence"
        if m.get("kind") in ("time", "count", "ratio"):
            nums = [n for n in sentence_numbers(d)]
            if any(n in sent_nums for n in nums):
                return "distractor_number_in_sentence"
        if m.get("kind") in ("enum", "points", "inline"):
            if m.get("kind") != "inline" and d in src:
                return "distractor_in_sentence"
            if any(similarity(d, i) >= TOO_SIMILAR or (m.get("kind") != "inline" and containment(d, i) >= RESTATES)
                   for i in m.get("items", [])):
                return "distractor_similar_to_answer"
        if "left" in m and _fits_elsewhere(m["left"], d, m["right"], pools, m.get("sentence", "")):
            return "distractor_correct_elsewhere"
        if m.get("kind") == "statements" and d in src:
            return "false_statement_in_source"
    for left, d, right in m.get("swaps", []):
        if _fits_elsewhere(left, d, right, pools):
            return "distractor_correct_elsewhere"
    # a blank must admit one answer only: no other term of its kind fits the same context in the corpus
    if item.type == "填空" and "left" in m:
        for alt in _alternatives(m, pools):
            if alt not in correct and _fits_elsewhere(m["left"], alt, m["right"], pools, m.get("sentence", "")):
                return "blank_ambiguous"
    # a blank / single choice must not show its answer elsewhere in the stem
    if item.type in ("填空", "单选"):
        shown = match_form(item.stem.replace(BLANK, "").replace(PAREN, ""))
        if correct[0] in shown:
            return "answer_visible_in_stem"
    key = match_form(item.stem)
    if key in seen_stems:
        return "duplicate_stem"
    return None
