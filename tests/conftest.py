"""Shared fixtures. Every test gets its own NPCQA_HOME; nothing may download a model."""
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
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SMALL_LAWS = ["中华人民共和国各级人民代表大会常务委员会监督法", "中华人民共和国全国人民代表大会和地方各级人民代表大会代表法"]
SCRIPT_DOC = """某市人大常委会开展“<script>alert('xss')</script>”代表联络站评比活动

今年以来，某市人大常委会组织开展代表联络站星级评比活动，评出五星级代表联络站<b>十二个</b>。
评比结果在常委会会议上通报，并作为年度考核的重要依据。
"""


def make_corpus(root: Path, laws: list[str], reports: bool = True, opinion: bool = True,
                script_doc: bool = True) -> Path:
    """A corpus dir with its own manifest: ``laws`` by exact name, the seed reports, fixtures."""
    corpus = root / "corpus"
    (corpus / "reports").mkdir(parents=True, exist_ok=True)
    (corpus / "opinions").mkdir(parents=True, exist_ok=True)
    (corpus / "laws").mkdir(parents=True, exist_ok=True)
    names = ", ".join(f'"{n}"' for n in laws)
    manifest = (REPO / "corpus" / "manifest.toml").read_text(encoding="utf-8")
    doc_tables = manifest[manifest.index("[documents."):] if reports else ""
    (corpus / "manifest.toml").write_text(
        f'[laws]\nstatus = "现行有效"\nnames = [{names}]\n\n{doc_tables}', encoding="utf-8")
    if reports:
        for p in (REPO / "corpus" / "reports").glob("*.txt"):
            shutil.copy(p, corpus / "reports" / p.name)
    if opinion:
        for p in (REPO / "evals" / "fixtures" / "opinions").glob("*"):
            shutil.copy(p, corpus / "opinions" / p.name)
    if script_doc:
        (corpus / "reports" / "test-script-injection.txt").write_text(SCRIPT_DOC, encoding="utf-8")
    return corpus


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
