"""The two "how many of these words does that text contain" measures — different on purpose.

Both count a word when it, or an alias of it (``index/aliases.toml``), occurs in the text, and give
a word of three or more characters partial credit by the share of its character bigrams found (a
paraphrase tolerance). They answer different questions, and were tuned separately:

- ``question_coverage`` — *does the corpus speak about this question?* One of the refusal decision's
  signals (``index.relevance`` feature ``coverage``; the fitted model's coefficients were measured with
  exactly this rule). Words weigh by their length, a bigram match earns only half credit, only term
  aliases count, and the best of the top passages wins.
- ``term_share`` — *does this passage back this sentence?* The LLM answer's citation check
  (``index.verify``) and the quote picker (``index.llm_answer``). Every word weighs one, bigram matches
  earn full credit, law-name and term aliases count both ways.

Changing either rule changes answers (refusals or verified sentences): keep them apart.
"""
from __future__ import annotations

import functools
import re

from index.normalize import alias_tables
from npcqa.text import content_words
from npcqa.types import Chunk

#: A citation marker ``[n]`` of an answer sentence (not a word of it).
CITATION_MARKER = re.compile(r"\[(\d{1,3})\]")
# Words of at least this many characters earn partial credit by their character bigrams (a two-character
# word is itself one bigram: it is there or not).
PARTIAL_WORD_CHARS = 3
# The decision's coverage gives a bigram match half credit (a paraphrase is weaker evidence than the word).
QUESTION_BIGRAM_CREDIT = 0.5
# The decision's coverage is the best over this many top passages (the ones an answer quotes first).
COVERAGE_PASSAGES = 3


def _bigram_share(w: str, text: str) -> float:
    grams = [w[i: i + 2] for i in range(len(w) - 1)]
    return sum(g in text for g in grams) / len(grams)


def question_coverage(question: str, ranked: list[tuple[Chunk, float]]) -> float:
    """Length-weighted share of the question's content words found in the best of the top passages."""
    words = content_words(question)
    _, terms = alias_tables()
    total = sum(len(w) for w in words) or 1
    cov = 0.0
    for c, _ in ranked[:COVERAGE_PASSAGES]:
        t = c.embed_text
        got = 0.0
        for w in words:
            if w in t or (w in terms and any(x in t for x in terms[w].split())):
                got += len(w)
            elif len(w) >= PARTIAL_WORD_CHARS:
                got += len(w) * _bigram_share(w, t) * QUESTION_BIGRAM_CREDIT
        cov = max(cov, got / total)
    return cov


@functools.lru_cache(maxsize=1)
def _sentence_aliases() -> tuple[dict[str, str], dict[str, list[str]]]:
    """Law-name aliases, and term aliases in both directions (常委会 ↔ 常务委员会)."""
    laws, terms = alias_tables()
    both: dict[str, list[str]] = {}
    for k, v in terms.items():
        both.setdefault(k, []).extend(v.split())
        for part in v.split():
            both.setdefault(part, []).append(k)
    return laws, both


def term_share(sentence: str, haystack: str, words: list[str] | None = None) -> float:
    """Share (by count) of the sentence's content words found in ``haystack`` (Simplified, squashed:
    ``npcqa.text.match_form``). ``words``: the sentence's content words when the caller has them."""
    words = words if words is not None else content_words(CITATION_MARKER.sub("", sentence))
    if not words:
        return 1.0
    laws, terms = _sentence_aliases()
    got = 0.0
    for w in words:
        if w in haystack or (w in laws and laws[w] in haystack) or any(a in haystack for a in terms.get(w, ())):
            got += 1
        elif len(w) >= PARTIAL_WORD_CHARS:
            got += _bigram_share(w, haystack)
    return got / len(words)
