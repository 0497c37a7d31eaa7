"""Regression gate: answer quality on the committed dev set must not fall below measured floors.

The floors sit a little under what `python -m evals run` measured (README) with the default
st-onnx-int8 embedding: hybrid hit@1 0.753, hit@5 0.907, refusal recall 0.929, 3.1% answerable
refused. A change that loses more than ~3 questions fails here.
"""
from __future__ import annotations

import pytest

from evals.harness import eval_settings, load_questions, run_config

HIT5_FLOOR = 0.87
HIT1_FLOOR = 0.66
REFUSAL_RECALL_FLOOR = 0.85
ANSWERABLE_REFUSED_CEILING = 0.05


@pytest.fixture(scope="module")
def eval_engine(tmp_path_factory):
    from index.engine import Engine
    from ingest.sync import run_sync
    from npcqa.settings import Settings

    base = Settings(home=tmp_path_factory.mktemp("evalhome"))
    settings = eval_settings(base)
    report, _ = run_sync(settings, quiet=True)
    assert not report.errors, report.errors
    return Engine.from_settings(settings)


def test_dev_set_is_large_and_balanced():
    qs = load_questions()
    cats = {q.category for q in qs}
    assert len(qs) >= 80
    assert {"law", "article", "report", "report_trad", "opinion", "cross", "unanswerable"} <= cats
    assert sum(not q.answerable for q in qs) >= 10


def test_hybrid_quality_floor(eval_engine):
    qs = load_questions()
    res, _ = run_config(eval_engine, qs, "hybrid")
    assert res["hit@5"] >= HIT5_FLOOR, res
    assert res["hit@1"] >= HIT1_FLOOR, res
    assert res["refusal_recall"] >= REFUSAL_RECALL_FLOOR, res
    assert res["answerable_refused"] <= ANSWERABLE_REFUSED_CEILING, res
    bm25, _ = run_config(eval_engine, qs, "bm25")
    assert res["hit@1"] > bm25["hit@1"], (res, bm25)
