"""Retrieval quality on real statutes: the gold article is in the top 5 for >= 90% of questions.

A subset keeps CI fast (``statute_subset`` in conftest: the statutes holding the gold articles of
the first questions of ``qa/dev.jsonl`` plus distractor statutes from the same domains, indexed
for real with the bundled encoder). ``nuri eval run statute`` reports the full-corpus figures.
"""

from __future__ import annotations

import pytest

from evals.metrics import RetrievalScores, first_gold_rank
from retrieval.index import NuriIndex
from retrieval.types import Principal

pytestmark = pytest.mark.slow


def test_gold_article_in_top5_for_90_percent_of_questions(statute_subset, settings, embedder):
    folder, questions = statute_subset
    ranks = []
    with NuriIndex.open(settings.retrieval, folder, create=False, embedder=embedder) as index:
        for q in questions:
            hits = index.search(q.question, top_k=5, principal=Principal(operator=True))
            ranks.append(first_gold_rank([h.anchor for h in hits], q.law, q.articles))
    scores = RetrievalScores.from_ranks(ranks)
    misses = [(q.id, q.law, q.articles, r) for q, r in zip(questions, ranks, strict=True) if r is None]
    assert scores.recall_at_5 >= 0.9, misses
