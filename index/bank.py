"""The question bank (doc2query): questions as cadres ask them, written for each law article and
report passage, indexed beside the chunks.

Statutes say 罢免, 辞职, 规范性文件; cadres say 让他下台, 不想干了, 红头文件. Matching a cadre's
question against questions written in the same everyday register closes most of that gap before any
ranking: a bank hit votes for the chunk its question was written for, as one more list in the
reciprocal-rank fusion.

Bank files are JSON Lines, one entry per article or passage:

    {"doc_id": "law:…", "article": "第十条", "questions": ["…", "…"]}
    {"doc_id": "reports/x.txt", "anchor": "<verbatim text inside the passage>", "questions": ["…"]}

The bundled bank (``index/question_bank/*.jsonl``) was written offline for the bundled corpus by
writers who never saw the evaluation questions; ``$NPCQA_HOME/question_bank/*.jsonl`` holds banks
written later (e.g. by an LLM at ingest). Entries whose document is not in the index are ignored.
Bank vectors are embedded once per (model fingerprint, bank content) and cached in the home.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from npcqa.text import match_form, tokenize
from npcqa.types import Chunk

log = logging.getLogger(__name__)

BUNDLED_BANK = Path(__file__).with_name("question_bank")


@dataclass(frozen=True)
class BankEntry:
    doc_id: str
    question: str
    article: str = ""  # law article label (第十条, 第十条之一)
    anchor: str = ""  # verbatim text inside a report/opinion passage


def bank_files(home_bank: Path | None) -> list[Path]:
    files = sorted(BUNDLED_BANK.glob("*.jsonl")) if BUNDLED_BANK.is_dir() else []
    if home_bank and home_bank.is_dir():
        files += sorted(home_bank.glob("*.jsonl"))
    return files


def read_bank(files: list[Path]) -> list[BankEntry]:
    """Every (document, locator, question) of the bank files; malformed lines are skipped and logged."""
    out: list[BankEntry] = []
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                for q in d["questions"]:
                    if isinstance(q, str) and q.strip():
                        out.append(BankEntry(d["doc_id"], q.strip(), d.get("article", ""), d.get("anchor", "")))
            except (ValueError, KeyError, TypeError):
                log.warning("question bank %s:%d: not an entry line, skipped", path, n)
    return out


def chunk_targets(entries: list[BankEntry], chunks: list[Chunk]) -> list[int]:
    """For each entry, the index (into ``chunks``) of the chunk it was written for, or -1.

    A law entry goes to the first chunk of its article (an over-long article is split by 款 with the
    header repeated); a passage entry to the chunk whose text holds its anchor."""
    first_of_article: dict[tuple[str, str], int] = {}
    by_doc: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        by_doc.setdefault(c.doc_id, []).append(i)
        label = str(c.extra.get("article", "")) if c.kind == "law" else ""
        if label:
            key = (c.doc_id, label)
            if key not in first_of_article or c.order < chunks[first_of_article[key]].order:
                first_of_article[key] = i
    out = []
    for e in entries:
        if e.article:
            out.append(first_of_article.get((e.doc_id, e.article), -1))
            continue
        anchor = match_form(e.anchor)
        hit = -1
        for i in by_doc.get(e.doc_id, []):
            if anchor and anchor in match_form(chunks[i].text):
                hit = i
                break
        out.append(hit)
    return out


class QuestionBank:
    """Bank questions mapped onto the index's chunks, with their vectors and a BM25 over their words."""

    def __init__(self, entries: list[BankEntry], targets: list[Chunk], vectors: np.ndarray):
        self.entries = entries
        self.targets = targets  # the chunk each entry votes for
        self.vectors = vectors  # (n, dim) float32, unit length
        self.covered = frozenset(c.id for c in targets)  # chunks some bank question votes for
        self._bm25 = None

    def __len__(self) -> int:
        return len(self.entries)

    @classmethod
    def build(cls, chunks: list[Chunk], embedder, cache_dir: Path | None, home_bank: Path | None = None) -> "QuestionBank":
        entries = read_bank(bank_files(home_bank))
        targets = chunk_targets(entries, chunks)
        kept = [(e, chunks[t]) for e, t in zip(entries, targets) if t >= 0]
        entries = [e for e, _ in kept]
        texts = [e.question for e in entries]
        vectors = load_or_embed(texts, embedder, cache_dir) if texts else np.zeros((0, embedder.dim), np.float32)
        return cls(entries, [c for _, c in kept], vectors)

    def dense_hits(self, vector: np.ndarray, accepts, n: int) -> list[tuple[Chunk, float]]:
        """Chunks ranked by their best bank question's cosine to the query vector."""
        if not len(self):
            return []
        # einsum, not BLAS: a gemv this small is 0.3 ms single-threaded, while OpenBLAS's threads take
        # 4-5 ms on a busy 2-core machine (measured; the web app answers several questions at once)
        sims = np.einsum("ij,j->i", self.vectors, np.asarray(vector, dtype=np.float32))
        return self._votes(sims, accepts, n)

    def keyword_hits(self, query_text: str, accepts, n: int) -> list[tuple[Chunk, float]]:
        """Chunks ranked by their best bank question's BM25 score against the question's words."""
        if not len(self):
            return []
        toks = tokenize(query_text)
        if not toks:
            return []
        bm25 = self._keyword_index()
        scores = np.asarray(bm25.get_scores(toks), dtype=np.float32)
        return self._votes(scores, accepts, n, positive_only=True)  # BM25 0: no shared word

    def _votes(self, scores: np.ndarray, accepts, n: int, positive_only: bool = False):
        """The chunks of the best-scoring bank questions, each chunk once at its best question's score."""
        out: list[tuple[Chunk, float]] = []
        seen: set[str] = set()
        for i in _top(scores, n):
            s = float(scores[i])
            if (positive_only and s <= 0) or len(out) >= n:
                break
            c = self.targets[i]
            if c.id in seen or not accepts(c):
                continue
            seen.add(c.id)
            out.append((c, s))
        return out

    def _keyword_index(self):
        if self._bm25 is None:
            import bm25s

            logging.getLogger("bm25s").setLevel(logging.WARNING)
            bm25 = bm25s.BM25()
            bm25.index([tokenize(e.question) or ["∅"] for e in self.entries], show_progress=False)
            self._bm25 = bm25
        return self._bm25


# Several bank questions vote for the same chunk; looking this many times deeper than the chunks
# wanted leaves room for those repeats without sorting the whole bank (4 questions per article at most).
_DEPTH = 6


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the best ``n × _DEPTH`` scores, best first (a partial sort: the bank has thousands)."""
    k = min(len(scores), n * _DEPTH)
    if k <= 0:
        return np.zeros(0, dtype=int)
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part])]


def load_or_embed(texts: list[str], embedder, cache_dir: Path | None) -> np.ndarray:
    """Bank vectors for ``texts``, cached by (model fingerprint, texts): computed once, at ingest or
    the first start, then read in milliseconds. Bank questions are embedded as e5 passages (what is
    retrieved), the cadre's question as a query."""
    key = hashlib.sha256((embedder.fingerprint + "\x1e" + "\x1f".join(texts)).encode("utf-8")).hexdigest()[:16]
    path = cache_dir / f"bank-{key}.npy" if cache_dir else None
    if path and path.is_file():
        try:
            vecs = np.load(path)
            if vecs.shape == (len(texts), embedder.dim):
                return vecs
        except (OSError, ValueError):
            pass
    vecs = np.asarray(embedder.embed_passages(texts), dtype=np.float32)
    if path:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy")
            with os.fdopen(fd, "wb") as f:
                np.save(f, vecs)
            os.replace(tmp, path)
        except OSError:
            pass  # read-only home: recomputed next start
    return vecs
