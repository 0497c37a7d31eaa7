"""Test helpers shared by several test modules (not fixtures)."""
from __future__ import annotations

# A small scraped-style report (header line, section heads) that several tiny test corpora share.
SANDAN_REPORT = """某县人大常委会推行“三单”工作法

发布时间：2024-05-06 来源：某县人大网

主要做法
某县人大常委会建立问题清单、任务清单、责任清单，推动监督工作落地见效。每季度召开一次推进会，通报清单完成情况。
取得成效
去年共交办问题四十二个，办结率达到百分之九十五。群众满意度明显提升。
"""


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
