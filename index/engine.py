"""The question-answering engine: loads the model and indexes once, answers many questions.

    engine = build_engine(get_settings())            # index.factory: the strategy of ``answer_mode``
    answer = engine.answer("监督法第十条规定了什么", filters=Filters(kinds=["law"]))
    extractive = engine.answer_extractive("…")       # quoted sentences, whatever ``answer_mode`` says

The engine retrieves and decides: it checks the question, looks up articles asked for by number,
ranks passages, and takes the refusal decision (``prepare``). Writing the answer is the job of an
answering strategy (``index.prepared.Answerer``) handed in by ``index.factory``; the engine knows
none but the extractive one, which is its default and every strategy's fallback.
"""
from __future__ import annotations

import copy
import re
import threading
import time
from dataclasses import dataclass
from typing import Iterator

from index.answer import ExtractiveAnswerer
from index.articles import Lookup
from index.bank import QuestionBank
from index.coverage import question_coverage
from index.embedding import Embedder, make_embedder
from index.everyday import expand
from index.keyword import KeywordIndex, sync_keyword_index
from index.normalize import Query, normalize
from index.prepared import Answerer, Event, Prepared
from index.relevance import HIGH, NONE, SIGNAL_DEPTH, load_model, signals
from index.retrieve import ArticleRetriever, DenseRetriever, Filters, FusionRetriever, KeywordRetriever
from index.store import ChunkStore, open_store
from npcqa.settings import Settings
from npcqa.types import Answer, Chunk, Relevance

MAX_QUESTION_CHARS = 2000  # longer is a pasted document, not a question (the message says to shorten it)
# Weights of the question bank's two lists (bank questions by embedding, by BM25) in the fusion, beside
# BM25 1.0 and dense ``settings.dense_weight``. Chunks without bank questions (laws outside the bundled
# bank, uploads) stand in at their own dense/BM25 rank (index.retrieve._bank_ranks), so the bank's votes
# never push an uncovered document down. Measured on the default all-laws index, gold in the top 5
# before any decision — fit split (core laws) / everyday questions on 12 non-core laws
# (evals/blind/other_fit.jsonl) / dev / dev2: no bank 0.796 / 0.846 / 0.907 / 0.957; 0.5 + 0.5 without
# stand-ins 0.882 / 0.821 / 0.959 / 1.0; with stand-ins 0.5 + 0.5 0.849 / 0.846 / 0.938 / 1.0,
# 1.0 + 1.0 0.895 / 0.821 / 0.948 / 0.978 (one non-core question fewer, seven core ones more).
BANK_WEIGHT = 1.0
BANK_KEYWORD_WEIGHT = 1.0
# A follow-up is short: "那乡镇呢？" / "如果是代表提出的呢". A longer turn is a question of its own.
FOLLOW_UP_CHARS = 15
# ``Relevance.dense`` (shown in the answer's relevance JSON, not read by the decision): the closest of the
# first three dense hits, the passages an answer quotes first.
DENSE_SUMMARY_HITS = 3
_FOLLOW_UP = re.compile(r"^(那|那么|那在|还有|如果是|如果|换成|对于|至于|而)")


class QuestionError(ValueError):
    """The question itself cannot be answered as given (empty, too long, no words)."""


def contextualize(question: str, history: list[str] | None) -> str:
    """Multi-turn rule: a short follow-up ("那乡镇呢？") is read together with the previous question."""
    q = question.strip()
    if not history:
        return q
    prev = history[-1].strip()
    if prev and len(q) <= FOLLOW_UP_CHARS and (_FOLLOW_UP.match(q) or q.endswith(("呢", "呢？", "呢?"))):
        return f"{prev} {q}"
    return q


def check_question(question: str) -> str:
    q = (question or "").strip()
    if not q:
        raise QuestionError("问题为空：请输入一个问题，例如“监督法第十条规定了什么？”")
    if len(q) > MAX_QUESTION_CHARS:
        raise QuestionError(f"问题太长（{len(q)} 字）：请精简到 {MAX_QUESTION_CHARS} 字以内，只写要问的内容。")
    if not any(ch.isalnum() for ch in q):
        raise QuestionError("问题里没有文字：请用中文写出要问的内容。")
    return q


class Engine:
    def __init__(self, settings: Settings, embedder: Embedder, store: ChunkStore, keyword_index: KeywordIndex,
                 answerer: Answerer | None = None):
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.extractive = ExtractiveAnswerer()
        self.answerer: Answerer = answerer or self.extractive  # what ``answer``/``answer_stream`` use
        self.relevance_model, self.relevance_notice = load_model(embedder.fingerprint)
        if settings.refusal_threshold is not None and not self.relevance_model.conservative:
            self.relevance_model.low = settings.refusal_threshold
        self._lock = threading.RLock()  # serialises refreshes only; questions read a snapshot
        self._rev: str | None = store.revision()
        self._install(keyword_index)

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None,
                      answerer: Answerer | None = None) -> "Engine":
        embedder = embedder or make_embedder(settings)
        store = open_store(settings, embedder)
        keyword_index = sync_keyword_index(store, settings.keyword_dir)
        return cls(settings, embedder, store, keyword_index, answerer)

    def with_answering(self, settings: Settings, answerer: Answerer | None = None) -> "Engine":
        """A view sharing this engine's model, store and indexes, answering with ``settings`` and
        ``answerer`` (default: extractive) — e.g. the eval harness's LLM run over its loaded engine."""
        view = copy.copy(self)
        view.settings = settings
        view.answerer = answerer or view.extractive
        return view

    def _install(self, keyword_index: KeywordIndex) -> None:
        """Build the retrievers over ``keyword_index`` and swap them in with one assignment: a question in
        flight keeps the snapshot it started with, the next one gets the new one (no lock on the read path)."""
        kw = keyword_index
        n = self.settings.candidates
        keyword = KeywordRetriever(kw, n=n)
        dense = DenseRetriever(self.store, self.embedder, kw.chunks if self.settings.dense_exact else None, n=n)
        article = ArticleRetriever(kw, n=n)
        bank = QuestionBank.build(kw.chunks, self.embedder, self.settings.home / "bank",
                                  self.settings.home / "question_bank")
        fusion = FusionRetriever(keyword, dense, article, rrf_k=self.settings.rrf_k,
                                 dense_weight=self.settings.dense_weight, bank=bank,
                                 bank_weight=BANK_WEIGHT, bank_keyword_weight=BANK_KEYWORD_WEIGHT, n=n)
        vocabulary = frozenset(kw.bm25.vocab_dict) if kw.bm25 is not None else frozenset()
        self._state = Retrieval(kw, keyword, dense, article, bank, fusion, vocabulary)
        self._kw_stamp = self._stamp()

    # the current snapshot's parts (read-only views for the UI, the quiz and the evals)
    keyword_index = property(lambda self: self._state.keyword_index)
    #: every indexed chunk of the current snapshot, in keyword-index order (what other packages read)
    chunks = property(lambda self: self._state.keyword_index.chunks)
    keyword_retriever = property(lambda self: self._state.keyword_retriever)
    dense = property(lambda self: self._state.dense)
    article = property(lambda self: self._state.article)
    bank = property(lambda self: self._state.bank)
    fusion = property(lambda self: self._state.fusion)
    vocabulary = property(lambda self: self._state.vocabulary)

    def _stamp(self):
        meta = self.settings.keyword_dir / "meta.json"
        try:
            return meta.stat().st_mtime_ns
        except OSError:
            return None

    def refresh(self, force: bool = False) -> None:
        """Pick up a sync finished by this or another process (keyword index re-derived if needed).

        A finished sync in this home rewrites the keyword index (cheap to reload); a sync finished by
        another process sharing a Chroma server commits a new store revision. A sync still running
        commits nothing, so answers keep coming from the last consistent state."""
        with self._lock:
            rev = self.store.revision()
            if force or self._stamp() != self._kw_stamp or rev != self._rev:
                serving = self._state.dense.loaded
                self._install(sync_keyword_index(self.store, self.settings.keyword_dir))
                self._rev = rev
                if serving:  # read the new vectors here, not in the next cadre's question
                    self._state.dense.load()

    # ---------------------------------------------------------------- stats for the UI
    def corpus_summary(self) -> dict:
        docs: dict[str, Chunk] = {}
        for c in self.chunks:
            docs.setdefault(c.doc_id, c)
        kinds = {"law": 0, "opinion": 0, "report": 0}
        version_dates = []
        for c in docs.values():
            kinds[c.kind] = kinds.get(c.kind, 0) + 1
            if c.kind == "law" and c.extra.get("package_version"):
                version_dates.append(str(c.extra.get("package_version")))
        return {"docs": len(docs), "chunks": len(self.chunks), **kinds,
                "law_package": sorted(set(version_dates))[-1] if version_dates else "",
                "regions": sorted({c.region for c in docs.values() if c.region})}

    # ---------------------------------------------------------------- answering
    def relevance(self, q: Query, ranked: list[tuple[Chunk, float]], lists: dict) -> Relevance:
        """How much of the question the best chunks speak about (a word counts when it, or its alias
        expansion, or most of its characters' bigrams appear in the chunk), how close the nearest
        chunks are in the embedding space, and every other signal the decision reads."""
        cov = question_coverage(q.text, ranked)
        dense = max((s for _, s in lists["dense"][:DENSE_SUMMARY_HITS]), default=0.0)
        sig = signals(q.text, q.law_titles, ranked, lists, cov, self.vocabulary, self.bank.covered)
        return Relevance(cov, dense, sig)

    def retrieve(self, question: str, filters: Filters | None = None, mode: str = "hybrid",
                 n: int | None = None) -> tuple[Query, list[tuple[Chunk, float]]]:
        q, ranked, _ = self._search(question, filters, mode, n)
        return q, ranked

    def search(self, question: str, filters: Filters | None = None, mode: str = "hybrid",
               n: int | None = None) -> tuple[Query, list[tuple[Chunk, float]], Relevance]:
        """``retrieve`` plus the relevance signals the decision uses."""
        q, ranked, lists = self._search(question, filters, mode, n, need_dense=True)
        return q, ranked, self.relevance(q, ranked, lists)

    def _search(self, question: str, filters: Filters | None, mode: str, n: int | None, need_dense: bool = False):
        st = self._state  # one snapshot for the whole question (see _install)
        q = normalize(question, st.article.titles)
        extra = expand(q.text)
        if extra:  # everyday words → the statute's terms, for BM25 only
            q.keyword_text = " ".join([q.keyword_text, *extra])
        filters = filters or Filters()
        ranked, lists = st.fusion.search_with_lists(q, filters, n or self.settings.candidates, mode=mode)
        if need_dense and mode == "bm25":  # BM25-only ranking, same decision signals as the other modes
            # (the signals read the first SIGNAL_DEPTH dense and bank hits: fetch just those)
            vector = st.dense.embedder.embed_query(q.dense_text)
            lists["dense"] = st.dense.search(q, filters, SIGNAL_DEPTH, vector=vector)
            lists["bank"] = st.bank.dense_hits(vector, filters.accepts, SIGNAL_DEPTH)
        return q, ranked, lists

    def prepare(self, question: str, filters: Filters | None = None, history: list[str] | None = None,
                mode: str = "hybrid") -> Prepared:
        """Check the question, retrieve, and take the refusal decision (shared by every answer mode)."""
        question = check_question(question)
        self.refresh()
        t0 = time.perf_counter()
        query_text = contextualize(question, history)
        q = normalize(query_text, self.article.titles)
        lookup = self.lookup_articles(q, filters, follow_up=question if query_text != question else "")
        if lookup:  # an article asked for by number (or a clear miss) needs no ranking: the article is the answer
            ranked = [(c, 1.0) for c in lookup.chunks]
            rel = self.relevance(q, ranked, {"keyword": [], "dense": [], "bank": []})
        else:
            q, ranked, rel = self.search(query_text, filters, mode)
        t1 = time.perf_counter()
        exact = frozenset(c.id for c in lookup.chunks)
        top = ranked[: self.settings.top_k]
        if not top:
            confidence, rel.probability = NONE, 0.0
        elif exact:
            confidence, rel.probability = HIGH, 1.0
        elif lookup:  # a clear miss (law not indexed, no such article): never another law's article
            confidence, rel.probability = NONE, 0.0
        else:
            confidence, rel.probability = self.relevance_model.decide(rel.signals)
        return Prepared(question, query_text, q, ranked, top, exact, rel, confidence == NONE, t0, t1, confidence,
                        lookup)

    # ---------------------------------------------------------------- exact article lookup (issue #15)
    def lookup_articles(self, q: Query, filters: Filters | None = None, follow_up: str = "") -> Lookup:
        """"XX法第N条…": the whole articles asked for, or the misses that say why there are none.
        ``follow_up``: the current turn when ``q`` joins it to the previous question (its numbers count)."""
        if not q.articles:
            return Lookup()
        tail = normalize(follow_up).text if follow_up else ""
        return self._state.article.lookup(q, filters or Filters(), tail)

    # ---------------------------------------------------------------- answering (a strategy writes it)
    def answer(self, question: str, filters: Filters | None = None, history: list[str] | None = None) -> Answer:
        """The answer in the configured ``answer_mode`` (the strategy ``index.factory`` chose): extractive,
        or an LLM answer whose citations were verified (falling back to extractive with a ``notice``)."""
        return self.answerer.answer(self.prepare(question, filters, history))

    def answer_stream(self, question: str, filters: Filters | None = None,
                      history: list[str] | None = None) -> Iterator[Event]:
        """``answer`` as it is written: ``("delta", text)`` pieces, then ``("final", Answer)``.

        Extractive answers are ready at once and are streamed line by line; an LLM answer streams the
        model's tokens as they arrive and the final Answer carries the verified text, which replaces
        what was streamed."""
        yield from self.answerer.stream(self.prepare(question, filters, history))

    def answer_extractive(self, question: str, filters: Filters | None = None, history: list[str] | None = None,
                          mode: str = "hybrid") -> Answer:
        """The extractive answer, whatever ``answer_mode`` says; ``mode``: the retrieval (hybrid/bm25/dense)."""
        return self.extractive.answer(self.prepare(question, filters, history, mode))

    def decide(self, rel: Relevance) -> str:
        """high / low / none for these signals (an exact article hit is decided before, as high)."""
        return self.relevance_model.decide(rel.signals)[0]


@dataclass(frozen=True)
class Retrieval:
    """Everything a question reads, built together over one keyword index and swapped in at once."""

    keyword_index: KeywordIndex
    keyword_retriever: KeywordRetriever
    dense: DenseRetriever
    article: ArticleRetriever
    bank: QuestionBank
    fusion: FusionRetriever
    vocabulary: frozenset
