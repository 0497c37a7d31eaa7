"""Shared fixtures. Every test gets its own NPCQA_HOME; nothing may download a model."""
from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def npcqa_home(tmp_path, monkeypatch):
    """Isolate all state (index, uploads, logs) in a per-test temp dir."""
    home = tmp_path / "home"
    monkeypatch.setenv("NPCQA_HOME", str(home))
    return home
