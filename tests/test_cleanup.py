"""The scheduled clean-up of quiz / feedback export folders (web.cleanup), on a real temp tree."""
from __future__ import annotations

import os
import time

from web import cleanup


def _folder(root, name: str, age_s: float = 0.0):
    d = root / name
    d.mkdir()
    (d / "quiz.xlsx").write_bytes(b"x")
    if age_s:
        t = time.time() - age_s
        os.utime(d, (t, t))
    return d


def test_only_our_old_export_folders_are_removed(tmp_path):
    old_quiz = _folder(tmp_path, "npcqa-quiz-abc", age_s=2 * cleanup.EXPORT_MAX_AGE)
    old_feedback = _folder(tmp_path, "npcqa-feedback-abc", age_s=2 * cleanup.EXPORT_MAX_AGE)
    fresh = _folder(tmp_path, "npcqa-quiz-new")
    foreign = _folder(tmp_path, "someone-else", age_s=2 * cleanup.EXPORT_MAX_AGE)
    target = _folder(tmp_path, "outside", age_s=2 * cleanup.EXPORT_MAX_AGE)
    link = tmp_path / "npcqa-quiz-link"
    link.symlink_to(target, target_is_directory=True)
    t = time.time() - 2 * cleanup.EXPORT_MAX_AGE
    os.utime(link, (t, t), follow_symlinks=False)

    removed = cleanup.remove_old_exports(tmp_path)

    assert sorted(removed) == sorted([old_quiz, old_feedback])
    assert not old_quiz.exists() and not old_feedback.exists()
    assert fresh.exists() and foreign.exists()
    assert link.is_symlink() and (target / "quiz.xlsx").exists()  # a link is never followed


def test_the_cleaner_runs_on_its_schedule_until_stopped(tmp_path):
    first = _folder(tmp_path, "npcqa-quiz-1", age_s=120)
    cleaner = cleanup.Cleaner(root=tmp_path, every=0.05, max_age=60).start()
    try:
        deadline = time.time() + 10
        while first.exists() and time.time() < deadline:
            time.sleep(0.02)
        assert not first.exists()
        # a folder that turns old after the first pass is removed by a later one: the clean-up repeats
        second = _folder(tmp_path, "npcqa-feedback-2", age_s=120)
        while second.exists() and time.time() < deadline:
            time.sleep(0.02)
        assert not second.exists()
        assert {p.name for p in cleaner.removed} == {"npcqa-quiz-1", "npcqa-feedback-2"}
    finally:
        cleaner.stop()
    assert not cleaner.thread.is_alive()
    third = _folder(tmp_path, "npcqa-quiz-3", age_s=120)
    time.sleep(0.2)
    assert third.exists()  # stopped means stopped


def test_start_sets_gradio_cache_cleanup_and_one_cleaner_per_process():
    import gradio as gr

    with gr.Blocks() as a:
        gr.Markdown("a")
    with gr.Blocks() as b:
        gr.Markdown("b")
    first, second = cleanup.start(a), cleanup.start(b)
    assert first is second and first.thread.is_alive()
    assert a.delete_cache == b.delete_cache == (cleanup.CLEAN_EVERY, cleanup.CACHE_MAX_AGE)
