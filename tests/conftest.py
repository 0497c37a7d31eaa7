"""Shared fixtures. Every test gets its own NPCQA_HOME; nothing may download a model.

Also marks every browser test ``slow`` (tests/test_browser*.py and anything marked ``browser``), so that
``pytest -m "not slow"`` is the quick loop; ``make test`` runs everything.
"""
from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
# Models converted at first use (index/e5) are cached once for all test homes and later runs.
os.environ.setdefault("NPCQA_MODEL_CACHE", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                        ".npcqa", "models"))

import pytest  # noqa: E402


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by ``-m``
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name.startswith("test_browser") or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def npcqa_home(tmp_path, monkeypatch):
    """Isolate all state (index, uploads, logs) in a per-test temp dir."""
    home = tmp_path / "home"
    monkeypatch.setenv("NPCQA_HOME", str(home))
    return home


# ---------------------------------------------------------------------------------------------
# A small real index (two laws, the five seed reports, the opinion fixture, a document with
# HTML/script in it), built once per session with the real embedding model and a real Chroma.
# Tests that only read share it; tests that write build their own in their own home.
from support import SMALL_LAWS, Clock, build_console_world, make_corpus  # noqa: E402


@pytest.fixture(scope="session")
def small_index(tmp_path_factory):
    """Settings of a session-wide small real index (read-only for tests)."""
    from ingest.sync import run_sync
    from npcqa.settings import Settings

    root = tmp_path_factory.mktemp("small")
    settings = Settings(home=root / "home", corpus_dir=make_corpus(root, SMALL_LAWS))
    report, _ = run_sync(settings, quiet=True)
    assert not report.errors, report.errors
    return settings


@pytest.fixture(scope="session")
def engine(small_index):
    from index.engine import Engine

    return Engine.from_settings(small_index)


@pytest.fixture
def use_small_index(small_index, monkeypatch):
    """Point NPCQA_HOME/NPCQA_CORPUS_DIR (for CLIs and subprocesses) at the shared small index."""
    monkeypatch.setenv("NPCQA_HOME", str(small_index.home))
    monkeypatch.setenv("NPCQA_CORPUS_DIR", str(small_index.corpus_dir))
    return small_index


# ---------------------------------------------------------------------------------------------
# The 管理 console's world: its own tiny real index (the script-injection report and one report) with
# a console password, built once per session for the admin, gate and security tests. They log in, and
# add and remove only their own uploads, so the corpus files and the index come back as they were.
@pytest.fixture(scope="session")
def console_world(tmp_path_factory):
    return build_console_world(tmp_path_factory.mktemp("console"))


@pytest.fixture
def console(console_world, tmp_path):
    """A fresh AdminConsole over the world, on a settable clock (``console.clock.t``)."""
    from npcqa.auth import LoginThrottle
    from web.console import AdminConsole
    from web.sessions import SessionStore

    clock = Clock()
    c = AdminConsole(console_world["engine"], console_world["settings"], feedback_path=tmp_path / "feedback.jsonl",
                     throttle=LoginThrottle(clock=clock), sessions=SessionStore(clock=clock))
    c.clock = clock
    return c
