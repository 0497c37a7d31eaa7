"""Quiz builder: 单选/多选/判断/填空 with answers, 解析 and 出处 from indexed chunks, no LLM.

    from quiz import build_quiz
    result = build_quiz("监督法", count=20, seed=1)
    quiz.export.write(result.items, "quiz.xlsx")
"""
from quiz.generate import build_quiz, generate  # noqa: F401
from quiz.model import TYPES, QualityReport, QuizItem, QuizResult  # noqa: F401
from quiz.select import Corpus, QuizError, select_chunks  # noqa: F401

__all__ = ["build_quiz", "generate", "TYPES", "QualityReport", "QuizItem", "QuizResult", "Corpus", "QuizError",
           "select_chunks"]
