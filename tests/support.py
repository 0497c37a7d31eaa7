"""Test helpers shared by several test modules (not fixtures)."""
from __future__ import annotations


class FailingAfter:
    """Fault injection around the real embedder: dies after ``n`` batches, like a killed process."""

    def __init__(self, inner, n: int, message: str = "simulated kill"):
        self.inner, self.n, self.message = inner, n, message
        self.fingerprint, self.dim = inner.fingerprint, inner.dim

    def embed_passages(self, texts):
        if self.n <= 0:
            raise RuntimeError(self.message)
        self.n -= 1
        return self.inner.embed_passages(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)
