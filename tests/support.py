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

# An opinion with 一、二、三、 sections (three chunks); tests that replace it derive their own v2.
OPINION_V1 = """青石县人大常委会关于加强代表联络站建设的意见

一、总体要求
坚持因地制宜、务实管用，不搞形式主义，把代表联络站建成代表履职的重要平台。
二、主要任务
联络站每月至少接待选民一次，接待情况登记入册，群众意见分类交办。
三、保障措施
县财政每年安排每个联络站经费两万元，专款专用。
"""


def console_env(root, password: str, report: str) -> dict:
    """A tiny real index (one report) with a console password: the admin and security tests' world."""
    from conftest import make_corpus
    from index.engine import Engine
    from ingest.sync import run_sync
    from npcqa.auth import hash_password
    from npcqa.settings import Settings

    corpus = make_corpus(root, [], reports=False, opinion=False)
    (corpus / "reports" / "sandan.txt").write_text(report, encoding="utf-8")
    settings = Settings(home=root / "home", corpus_dir=corpus, admin_password_hash=hash_password(password),
                        embed_batch=8)
    report_, _ = run_sync(settings, quiet=True)
    assert not report_.errors, report_.errors
    return {"root": root, "settings": settings, "engine": Engine.from_settings(settings)}

