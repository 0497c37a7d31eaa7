"""The distractor pools are mined once per Corpus, even when the web quiz tab serves several visitors
at the same time, and a quiz built concurrently is the quiz built alone (same seed, same JSON)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

THREADS = 4  # concurrent visitors on one Corpus


def test_pools_are_mined_once_under_concurrent_requests(engine, monkeypatch):
    from quiz import pools
    from quiz.select import Corpus

    corpus = Corpus(list(engine.chunks))
    builds = []
    real = pools.PoolCache._build

    def counting(self, chunks, text=None):
        if text is None:  # the whole-corpus build (an on-the-fly extra passes text="")
            builds.append(len(chunks))
        return real(self, chunks, text)

    monkeypatch.setattr(pools.PoolCache, "_build", counting)
    with ThreadPoolExecutor(THREADS) as ex:
        got = list(ex.map(lambda _: pools.pools_for(corpus), range(THREADS)))
    assert builds == [len(corpus.chunks)]
    assert all(p is got[0] for p in got)


def test_a_quiz_built_concurrently_is_the_quiz_built_alone(engine):
    from quiz.export import to_json
    from quiz.generate import build_quiz
    from quiz.select import Corpus

    alone = to_json(build_quiz("监督法", count=8, seed=1, corpus=Corpus(list(engine.chunks))).items)
    shared = Corpus(list(engine.chunks))
    with ThreadPoolExecutor(THREADS) as ex:
        got = list(ex.map(lambda _: to_json(build_quiz("监督法", count=8, seed=1, corpus=shared).items),
                          range(THREADS)))
    assert got == [alone] * THREADS
