"""Retrieval quality on real statutes: the gold article is in the top 5 for >= 90% of questions.

A subset keeps CI fast: the statutes holding the gold articles of the first questions of
``qa/dev.jsonl`` plus distractor statutes from the same domains, all indexed for real with the
bundled encoder. ``python -m evals.retrieval_eval`` reports the full-corpus figures.
"""

from __future__ import annotations

import pytest

from evals.datasets import load_qa, statute_files
from evals.metrics import RetrievalScores, first_gold_rank
from retrieval.sync import Syncer
from retrieval.types import Principal

N_QUESTIONS = 16
DISTRACTORS = {"국가공무원 복무규칙", "공무원 징계령 시행규칙", "행정절차법 시행령", "공무원보수규정"}

pytestmark = pytest.mark.slow


def test_gold_article_in_top5_for_90_percent_of_questions(shared_data, settings, open_index):
    questions = [q for q in load_qa(shared_data / "qa" / "dev.jsonl") if q.answerable][:N_QUESTIONS]
    laws = {q.law for q in questions} | DISTRACTORS
    files = statute_files(shared_data / "statutes", laws)
    assert len(files) >= len(laws) - 1
    index = open_index()
    report = Syncer(index, settings.connectors, progress=False).sync(files)
    assert not report.failed
    ranks = []
    for q in questions:
        hits = index.search(q.question, top_k=5, principal=Principal(operator=True))
        ranks.append(first_gold_rank([h.anchor for h in hits], q.law, q.articles))
    scores = RetrievalScores.from_ranks(ranks)
    misses = [(q.id, q.law, q.articles, r) for q, r in zip(questions, ranks, strict=True) if r is None]
    assert scores.recall_at_5 >= 0.9, misses
