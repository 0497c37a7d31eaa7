"""``python -m index.vector_cache fill --texts FILE``: embed a JSON list of texts into this home's local
cache (the child process of ``fill_in_subprocess``, so the parent never loads the model).

Building and verifying the shipped law vectors needs the law DB and ingest's chunking, and index
does not import ingest: any other command prints where it went (``python -m ingest.law_vectors``)
and exits 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MOVED = ("法律向量的生成与校验已移到 ingest：请运行 python -m ingest.law_vectors build|verify|info"
         "（或 make vectors）")
EXIT_MOVED = 2  # a usage error: the command exists, under another module


def fill(texts_path: Path) -> int:
    from index.embedding import make_embedder
    from npcqa.settings import get_settings

    settings = get_settings()
    texts = json.loads(texts_path.read_text(encoding="utf-8"))
    emb = make_embedder(settings)
    for i in range(0, len(texts), settings.embed_batch):
        emb.embed_passages(texts[i:i + settings.embed_batch])
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["fill"]:
        print(MOVED, file=sys.stderr)
        return EXIT_MOVED
    p = argparse.ArgumentParser(prog="python -m index.vector_cache fill",
                                description="Embed texts into this home's local vector cache.")
    p.add_argument("--texts", type=Path, required=True, help="JSON list of texts to embed")
    return fill(p.parse_args(argv[1:]).texts)


if __name__ == "__main__":
    sys.exit(main())
