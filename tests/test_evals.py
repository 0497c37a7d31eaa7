"""Regression gate: answer quality on the committed question sets must not fall below measured floors.

The floors sit a little under what `python -m evals run` measured (README) with the default
st-onnx-int8 embedding — dev.jsonl: hybrid hit@1 0.742, hit@5 0.907, refusal recall 0.929, 3.1%
answerable refused; dev2.jsonl: hit@1 0.826, hit@5 0.935, refusal recall 0.929, 2.2% refused.
A change that loses more than ~3 questions fails here.
"""
from __future__ import annotations

import pytest

from evals.harness import DEV2_SET, choose_refusal_rule, eval_settings, load_questions, refusal_errors, run_config

HIT5_FLOOR = 0.87
HIT1_FLOOR = 0.66
REFUSAL_RECALL_FLOOR = 0.85
ANSWERABLE_REFUSED_CEILING = 0.05


@pytest.fixture(scope="module")
def eval_engine(tmp_path_factory):
    from index.engine import Engine
    from ingest.sync import run_sync
    from npcqa.settings import Settings

    # the 21 core laws: the floors were measured on that index; the all-laws figures come from
    # `python -m evals run` (README), building 23.6k chunks here would slow every test run
    base = Settings(home=tmp_path_factory.mktemp("evalhome"), core_laws=True)
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


def test_second_set_quality_floor(eval_engine):
    qs = load_questions(DEV2_SET)
    res, _ = run_config(eval_engine, qs, "hybrid")
    assert res["hit@5"] >= 0.89 and res["hit@1"] >= 0.76, res
    assert res["refusal_recall"] >= 0.85 and res["answerable_refused"] <= 0.07, res


def test_second_set_is_disjoint_from_dev():
    dev, dev2 = load_questions(), load_questions(DEV2_SET)
    assert len(dev2) >= 50 and sum(not q.answerable for q in dev2) >= 10
    assert not {q.id for q in dev} & {q.id for q in dev2}
    assert not {q.q for q in dev} & {q.q for q in dev2}


def test_refusal_rule_needs_both_signals_and_a_margin():
    # answerable: high coverage, middling dense; unanswerable: the same dense band, low coverage.
    # No dense cut separates them; dense + w × coverage does, and the threshold sits in the gap.
    ans = [(True, 0.8, d) for d in (0.88, 0.89, 0.90, 0.91)]
    un = [(False, 0.2, d) for d in (0.88, 0.89, 0.90, 0.91)]
    rule = choose_refusal_rule(ans + un)
    assert rule["coverage_weight"] > 0
    assert refusal_errors(rule, ans + un) == {"refusal_recall": 1.0, "answerable_refused": 0.0, "questions": 8}
    lowest_answerable = 0.88 + rule["coverage_weight"] * 0.8
    highest_unanswerable = 0.91 + rule["coverage_weight"] * 0.2
    assert highest_unanswerable + 0.003 < rule["threshold"] < lowest_answerable - 0.003
    # separable only by 0.001 on dense alone: inside the noise band, so it is counted as an error
    tight = [(True, 0.0, 0.901), (False, 0.0, 0.900)]
    assert choose_refusal_rule(tight)["banded_answerable_refused"] == 1.0


def test_readme_settings_table_is_generated_from_the_settings_class():
    """The configuration reference in README is the settings class's field descriptions; it must not drift."""
    from npcqa.readme import REPO_ROOT
    from npcqa.settings import settings_markdown

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- settings:start -->\n", 1)[1].split("\n<!-- settings:end -->", 1)[0]
    assert section == settings_markdown(), "README settings table is stale: run `python -m npcqa.settings --readme`"
