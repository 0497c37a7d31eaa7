"""Numerals in quiz text: reading them (Arabic or Chinese), writing a distractor the way the answer is
written (三十日 → 十五日, 30日 → 15日), and how many days a time unit spans (to rank time limits).
"""
from __future__ import annotations

import re

from npcqa.text import cn_to_int, int_to_cn

CN_NUM = "零〇一二两三四五六七八九十百千"
NUM = rf"(?:[{CN_NUM}]+|\d+)"
DAY_UNITS = {"日": 1, "天": 1, "个工作日": 1.4, "周": 7, "个月": 30, "年": 365, "小时": 1 / 24}


def num_value(s: str) -> int | None:
    s = s.strip().rstrip("%")
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return int(float(s))
    return cn_to_int(s)


def sentence_numbers(sentence: str) -> list[int]:
    """Every numeral in a sentence (Arabic or Chinese runs), as ints."""
    out = []
    for m in re.finditer(rf"\d+|[{CN_NUM}]+", sentence):
        tok = m.group(0)
        if re.fullmatch(r"[零〇]+", tok):
            continue
        v = num_value(tok)
        if v is not None and (tok.isdigit() or len(tok) > 1 or tok not in "一"):
            out.append(v)
        for part in re.split(r"分之", tok) if "分之" in tok else []:
            pv = num_value(part)
            if pv is not None:
                out.append(pv)
    return out


def render_number(v: int, like: str) -> str:
    """Write ``v`` the way ``like`` is written (Arabic or Chinese numerals)."""
    return str(v) if re.search(r"\d", like) else int_to_cn(v)
