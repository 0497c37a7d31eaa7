"""The one place that turns settings into an engine with its answering strategy.

    engine = build_engine(settings)                       # loads the model and indexes
    llm_view = build_engine(llm_settings, engine=engine)  # same indexes, answers per llm_settings

``answer_mode`` extractive → ``index.answer.ExtractiveAnswerer``; llm / auto →
``index.llm_answer.LLMAnswerer`` (which itself falls back to extractive per request). It sits above
both the engine and the strategies, so the engine never imports the LLM code.
"""
from __future__ import annotations

from index.engine import Engine
from index.llm_answer import LLMAnswerer
from index.prepared import Answerer
from npcqa.settings import Settings


def answerer_for(settings: Settings) -> Answerer | None:
    """The strategy ``settings.answer_mode`` names; None for extractive (the engine's own default)."""
    if settings.answer_mode == "extractive":
        return None
    return LLMAnswerer(settings)


def build_engine(settings: Settings, engine: Engine | None = None) -> Engine:
    """The engine that answers with ``settings`` (answer mode, endpoint, model).

    Without ``engine``, loads one from settings. With one (e.g. the eval harness's), returns a view
    sharing its model, store and indexes but using ``settings`` for answering (the same settings: the
    engine itself, with a fresh strategy — a new client, no reachability cached)."""
    if engine is None:
        return Engine.from_settings(settings, answerer=answerer_for(settings))
    if engine.settings is settings:
        engine.answerer = answerer_for(settings) or engine.extractive
        return engine
    return engine.with_answering(settings, answerer_for(settings))
