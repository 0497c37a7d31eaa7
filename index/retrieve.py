"""Retrievers: jieba BM25, dense (Chroma), exact article lookup, and their reciprocal-rank fusion.

Each is a llama-index ``BaseRetriever`` (so it plugs into llama-index query engines), and each
also exposes ``search(query, filters, n) -> [(Chunk, score)]`` which the engine calls directly
to skip node conversion on the hot path. A reranker would be one more retriever wrapping the
fusion one; none with weights shipped on PyPI was found, so there is none.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from index.articles import ArticleIndex, Lookup
from index.embedding import Embedder
from index.keyword import KeywordIndex
from index.normalize import Query, normalize
from index.store import ChunkStore, date_num
from npcqa.types import Chunk

# Candidates a retriever returns when not told (the engine passes ``settings.candidates``).
DEFAULT_CANDIDATES = 50
# Reciprocal-rank fusion's k when not told: the original RRF paper's value (Cormack et al. 2009). The engine
# always passes ``settings.rrf_k`` (tuned on the dev set: 30).
DEFAULT_RRF_K = 60
# BM25's weight in the fusion: the unit the other lists' weights (dense, question bank) are measured against.
KEYWORD_WEIGHT = 1.0
# Chroma has no substring filter for ``region``: over-fetch this many times ``n`` and filter here.
REGION_OVERFETCH = 2
# ``date_to`` given but unparsable: no upper bound (a YYYYMMDD number past any real date).
NO_DATE_LIMIT = 99999999


@dataclass
class Filters:
    """What a cadre narrows a question to. ``region`` narrows local documents (reports, opinions) and
    leaves national laws in; ``statuses`` (现行有效 …) narrows laws and leaves other kinds in."""

    kinds: list[str] = field(default_factory=list)  # law / opinion / report
    region: str = ""  # substring of a local document's region
    statuses: list[str] = field(default_factory=list)
    date_from: str = ""  # YYYY-MM-DD
    date_to: str = ""

    def __bool__(self) -> bool:
        return bool(self.kinds or self.region or self.statuses or self.date_from or self.date_to)

    def chroma_where(self) -> dict | None:
        conds: list[dict] = []
        if self.kinds:
            conds.append({"kind": {"$in": list(self.kinds)}})
        if self.statuses:
            conds.append({"$or": [{"status": {"$in": list(self.statuses)}}, {"kind": {"$ne": "law"}}]})
        if self.date_from:
            conds.append({"date_num": {"$gte": date_num(self.date_from)}})
        if self.date_to:
            conds.append({"date_num": {"$lte": date_num(self.date_to) or NO_DATE_LIMIT}})
        if not conds:
            return None
        return conds[0] if len(conds) == 1 else {"$and": conds}

    def accepts(self, c: Chunk) -> bool:
        if self.kinds and c.kind not in self.kinds:
            return False
        if self.statuses and c.kind == "law" and c.status not in self.statuses:
            return False
        if self.region and c.kind != "law" and self.region not in c.region:
            return False
        d = date_num(c.date)
        if self.date_from and d < date_num(self.date_from):
            return False
        if self.date_to and d > date_num(self.date_to):
            return False
        return True


def _nodes(hits: list[tuple[Chunk, float]]) -> list[NodeWithScore]:
    return [NodeWithScore(node=TextNode(id_=c.id, text=c.text, metadata=c.to_metadata()), score=s) for c, s in hits]


class _Base(BaseRetriever):
    def __init__(self, n: int = DEFAULT_CANDIDATES, filters: Filters | None = None):
        super().__init__()
        self.n, self.filters = n, filters or Filters()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return _nodes(self.search(normalize(query_bundle.query_str), self.filters, self.n))

    def search(self, q: Query, filters: Filters, n: int) -> list[tuple[Chunk, float]]:  # pragma: no cover
        raise NotImplementedError


class KeywordRetriever(_Base):
    def __init__(self, keyword_index: KeywordIndex, **kw_args):
        super().__init__(**kw_args)
        self.keyword_index = keyword_index

    def search(self, q: Query, filters: Filters, n: int) -> list[tuple[Chunk, float]]:
        chunks = self.keyword_index.chunks
        mask = np.fromiter((filters.accepts(c) for c in chunks), bool, len(chunks)) if filters else None
        return self.keyword_index.search(q.keyword_text, n, mask)


class DenseRetriever(_Base):
    """Cosine nearest chunks, computed exactly over every vector of the snapshot's chunks.

    Why not Chroma's HNSW query: it is approximate, and its results differ between processes over the
    same collection (measured on the all-laws index: 4 of 120 questions' top 40 changed between two
    runs at the default ef_search 100, 1 of 120 at 500; one dev question flipped from answered to
    refused). A cadre asking the same question twice must get the same answer. The exact product is
    cheap: 23.6k × 384 float32 is 36 MB and one query is a few ms. The vectors come from the store the
    first time a question needs them (about 1 s for all laws), and only for chunks in the snapshot's
    keyword index, so a sync still writing vectors is not read half-done."""

    def __init__(self, store: ChunkStore, embedder: Embedder, chunks: list[Chunk] | None = None, **kw_args):
        super().__init__(**kw_args)
        self.store, self.embedder = store, embedder
        self._chunks = chunks  # None: no snapshot given, ask Chroma (tools that index without one)
        self._matrix: tuple[np.ndarray, list[Chunk]] | None = None
        self._load_lock = threading.Lock()

    def load(self) -> tuple[np.ndarray, list[Chunk]]:
        """The (vectors, chunks) rows, read from the store once and then kept (thread-safe)."""
        if self._matrix is None:
            with self._load_lock:
                if self._matrix is None:
                    by_id = {c.id: c for c in self._chunks or []}
                    rows: list[np.ndarray] = []
                    kept: list[Chunk] = []
                    for ids, vecs in self.store.iter_vectors():
                        keep = [i for i, cid in enumerate(ids) if cid in by_id]
                        rows.append(vecs[keep])
                        kept += [by_id[ids[i]] for i in keep]
                    mat = np.concatenate(rows) if rows else np.zeros((0, self.embedder.dim), np.float32)
                    order = sorted(range(len(kept)), key=lambda i: kept[i].id)  # ties break by chunk id
                    mat, kept = mat[order], [kept[i] for i in order]
                    norms = np.linalg.norm(mat, axis=1, keepdims=True)
                    self._matrix = (mat / np.where(norms > 0, norms, 1.0)).astype(np.float32), kept
        return self._matrix

    @property
    def loaded(self) -> bool:
        return self._matrix is not None

    def search(self, q: Query, filters: Filters, n: int, vector: np.ndarray | None = None):
        if vector is None:
            vector = self.embedder.embed_query(q.dense_text)
        if self._chunks is None:
            hits = self.store.query(vector, n * REGION_OVERFETCH if filters.region else n, filters.chroma_where())
            return [h for h in hits if filters.accepts(h[0])][:n] if filters.region else hits
        mat, chunks = self.load()
        if not len(chunks):
            return []
        v = np.asarray(vector, dtype=np.float32)
        v = v / (np.linalg.norm(v) or 1.0)
        # einsum, not BLAS: see index.bank.QuestionBank.dense_hits (BLAS threads cost more than they save here)
        sims = np.einsum("ij,j->i", mat, v)
        out: list[tuple[Chunk, float]] = []
        for i in _best_first(sims):
            if filters.accepts(chunks[i]):
                out.append((chunks[i], float(sims[i])))
                if len(out) >= n:
                    break
        return out


# Rows sorted up front for one dense search: 5× the 50 candidates a question asks for, so a filter that
# rejects most of the best rows (a report-only search over 23.6k law chunks) rarely needs the full sort.
SORTED_FIRST = 256


def _best_first(scores: np.ndarray, first: int = SORTED_FIRST):
    """Row indices by falling score, deterministic for the same matrix; a partial sort of the best
    ``first``, then the rest only if a filter rejected that many."""
    k = min(len(scores), first)
    part = np.sort(np.argpartition(-scores, k - 1)[:k]) if k < len(scores) else np.arange(len(scores))
    top = part[np.argsort(-scores[part], kind="stable")]
    yield from top.tolist()
    if k < len(scores):
        seen = set(top.tolist())
        yield from (int(i) for i in np.argsort(-scores, kind="stable") if int(i) not in seen)


class ArticleRetriever(_Base):
    """"公司法第十条" → that whole article, whatever numerals or text surround it (index.articles).

    Law names are derived from the titles of the indexed chunks when the retriever is built, so they
    follow whatever laws the index holds."""

    def __init__(self, keyword_index: KeywordIndex, **kw_args):
        super().__init__(**kw_args)
        self.keyword_index = keyword_index
        self.articles = ArticleIndex(keyword_index.chunks)

    @property
    def titles(self) -> set[str]:
        return self.articles.titles

    def lookup(self, q: Query, filters: Filters, follow_up: str = "") -> Lookup:
        """Found articles and clear misses of the question (an empty Lookup: not an article lookup).
        ``follow_up``: the current turn, normalized, when ``q`` joins it to the previous question."""
        return self.articles.lookup(q.text, filters.accepts if filters else None, follow_up)

    def search(self, q: Query, filters: Filters, n: int, follow_up: str = "") -> list[tuple[Chunk, float]]:
        if not q.articles:  # no 第N条 in the question: skip the name scan on the hot path
            return []
        return [(c, 1.0) for c in self.lookup(q, filters, follow_up).chunks if filters.accepts(c)][:n]


class FusionRetriever(_Base):
    """Exact article hits first, then reciprocal-rank fusion of BM25 and dense lists."""

    def __init__(self, keyword: KeywordRetriever, dense: DenseRetriever, article: ArticleRetriever,
                 rrf_k: int = DEFAULT_RRF_K, dense_weight: float = 1.0, bank=None, bank_weight: float = 1.0,
                 bank_keyword_weight: float = 0.0, **kw_args):
        super().__init__(**kw_args)
        self.keyword, self.dense, self.article, self.rrf_k = keyword, dense, article, rrf_k
        self.dense_weight = dense_weight
        self.bank, self.bank_weight = bank, bank_weight  # index.bank.QuestionBank: everyday-worded questions
        self.bank_keyword_weight = bank_keyword_weight

    def search(self, q: Query, filters: Filters, n: int, mode: str = "hybrid") -> list[tuple[Chunk, float]]:
        return self.search_with_lists(q, filters, n, mode)[0]

    def search_with_lists(self, q: Query, filters: Filters, n: int,
                          mode: str = "hybrid") -> tuple[list[tuple[Chunk, float]], dict]:
        """The fused ranking and the per-retriever lists it came from (``{"keyword": [...], "dense": [...]}``),
        returned, never kept on ``self``, so that concurrent questions never read each other's lists."""
        exact = self.article.search(q, filters, n)
        lists: list[tuple[float, list]] = []
        keyword_hits: list[tuple[Chunk, float]] = []
        dense_hits: list[tuple[Chunk, float]] = []
        bank_hits: list[tuple[Chunk, float]] = []
        use_bank = self.bank is not None and len(self.bank) > 0
        if mode in ("hybrid", "bm25"):
            keyword_hits = self.keyword.search(q, filters, n)
            lists.append((KEYWORD_WEIGHT, _ranks(keyword_hits)))
            if use_bank and self.bank_keyword_weight:
                hits = self.bank.keyword_hits(q.keyword_text, filters.accepts, n)
                lists.append((self.bank_keyword_weight, _bank_ranks(hits, keyword_hits, self.bank.covered)))
        if mode in ("hybrid", "dense"):
            vector = self.dense.embedder.embed_query(q.dense_text)  # one query embedding for both lists
            dense_hits = self.dense.search(q, filters, n, vector=vector)
            lists.append((self.dense_weight, _ranks(dense_hits)))
            if use_bank and self.bank_weight:
                bank_hits = self.bank.dense_hits(vector, filters.accepts, n)
                lists.append((self.bank_weight, _bank_ranks(bank_hits, dense_hits, self.bank.covered)))
        fused: dict[str, float] = {}
        chunk_of: dict[str, Chunk] = {}
        for weight, ranks in lists:
            for c, rank in ranks:
                fused[c.id] = fused.get(c.id, 0.0) + weight / (self.rrf_k + rank + 1)
                chunk_of[c.id] = c
        by_retriever = {"keyword": keyword_hits, "dense": dense_hits, "bank": bank_hits}
        ranked = sorted(fused.items(), key=lambda kv: -kv[1])
        out = [(c, 1.0) for c, _ in exact]
        seen = {c.id for c, _ in exact}
        out += [(chunk_of[i], s) for i, s in ranked if i not in seen]
        return out[:n], by_retriever


def _ranks(hits: list[tuple[Chunk, float]]) -> list[tuple[Chunk, int]]:
    return [(c, r) for r, (c, _) in enumerate(hits)]


def _bank_ranks(bank_hits: list[tuple[Chunk, float]], base_hits: list[tuple[Chunk, float]],
                covered: frozenset[str]) -> list[tuple[Chunk, int]]:
    """A bank list's ranks, with every chunk that has no bank question standing in at its rank in
    ``base_hits`` (the same modality searched over the chunks themselves).

    Without the stand-ins only bank-covered chunks would get the bank's votes: an uploaded report or a
    law outside the bundled bank would lose to a covered chunk it beats on both BM25 and dense."""
    out = _ranks(bank_hits)
    out += [(c, r) for r, (c, _) in enumerate(base_hits) if c.id not in covered]
    return out

