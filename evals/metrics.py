"""Retrieval metrics at article level: recall@k and mean reciprocal rank."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def article_of(anchor: str, law: str) -> str | None:
    """ "국가공무원법 제76조 제1항~제2항" -> "제76조" when it belongs to ``law``; else None."""
    prefix = f"{law} "
    if not anchor.startswith(prefix):
        return None
    rest = anchor[len(prefix) :]
    return rest.split(" ", 1)[0] if rest.startswith("제") else None


def first_gold_rank(anchors: Sequence[str], law: str, gold_articles: Sequence[str]) -> int | None:
    """1-based rank of the first hit that is one of the gold articles of ``law``."""
    gold = set(gold_articles)
    for rank, anchor in enumerate(anchors, start=1):
        if article_of(anchor, law) in gold:
            return rank
    return None


@dataclass
class RetrievalScores:
    n: int
    recall_at_1: float
    recall_at_5: float
    mrr: float

    @classmethod
    def from_ranks(cls, ranks: Sequence[int | None], mrr_cutoff: int = 10) -> RetrievalScores:
        n = len(ranks)
        if n == 0:
            return cls(0, 0.0, 0.0, 0.0)
        return cls(
            n=n,
            recall_at_1=sum(1 for r in ranks if r is not None and r <= 1) / n,
            recall_at_5=sum(1 for r in ranks if r is not None and r <= 5) / n,
            mrr=sum(1 / r for r in ranks if r is not None and r <= mrr_cutoff) / n,
        )
