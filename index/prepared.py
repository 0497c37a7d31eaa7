"""What the engine hands to an answering strategy, and the one interface every strategy implements.

The engine retrieves and decides (``Engine.prepare``: the question checked, the passages ranked, the
refusal decision taken); a strategy only writes the answer from that. Two strategies exist — quoting
sentences (``index.answer.ExtractiveAnswerer``) and an LLM answer whose citations are verified
(``index.llm_answer.LLMAnswerer``) — and ``index.factory.build_engine`` picks one by ``answer_mode``.
Keeping ``Prepared`` here, below both, is what lets neither import the engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol

from index.articles import Lookup
from index.normalize import Query
from index.relevance import HIGH
from npcqa.types import Answer, Chunk, Relevance

#: One streamed piece: ``("delta", text)`` while the answer is written, then ``("final", Answer)``.
Event = tuple[str, Any]


@dataclass
class Prepared:
    """A question after retrieval and the refusal decision, before any answer is written."""

    question: str
    query_text: str  # the question as searched (a follow-up joined with the previous question)
    q: Query
    ranked: list[tuple[Chunk, float]]
    top: list[tuple[Chunk, float]]
    exact: frozenset[str]
    rel: Relevance
    refused: bool
    t0: float
    t1: float
    confidence: str = HIGH  # high: answer; low: cautious answer under a warning; none: refused
    lookup: Lookup = field(default_factory=Lookup)  # exact article lookup: found articles / clear misses

    def timings(self) -> dict[str, float]:
        return {"retrieve": round((self.t1 - self.t0) * 1000, 1)}


class Answerer(Protocol):
    """An answering strategy: writes the answer to a prepared question (never retrieves, never decides)."""

    def answer(self, prepared: Prepared) -> Answer:
        """The whole answer at once."""
        ...

    def stream(self, prepared: Prepared) -> Iterator[Event]:
        """``("delta", text)`` pieces, then ``("final", Answer)`` (the final one is what counts)."""
        ...
