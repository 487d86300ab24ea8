"""Which search result or citation is a reference passage.

A statute reference matches a passage whose anchor is one of its articles of that law
(``"국가공무원법 제76조 제1항~제2항"`` is article 제76조 of 국가공무원법); a document reference
matches a passage of that document (its id, file name or title) and, with ``anchor``, only a
part whose heading starts with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Protocol

from evals.metrics import article_of
from evals.schema import PassageRef


class PassageLike(Protocol):
    doc_id: str
    title: str
    anchor: str
    source: str


def matching_key(passage: PassageLike, refs: list[PassageRef]) -> str | None:
    """The reference key (:meth:`PassageRef.unit_keys`) this passage is, or None."""
    for ref in refs:
        if ref.law:
            article = article_of(passage.anchor, ref.law)
            if article is not None and article in ref.articles:
                return f"{ref.law} {article}"
        elif ref.doc in (passage.doc_id, PurePath(passage.source).name, passage.title) and (
            not ref.anchor or passage.anchor.startswith(ref.anchor)
        ):
            return ref.unit_keys()[0]
    return None


def ranked_run(passages: Sequence[PassageLike], refs: list[PassageRef]) -> tuple[dict[str, float], list[bool]]:
    """A ranx run for one question (key -> score, higher first) and whether each position is
    relevant. Every position keeps its own key, so ranks are the search's own positions: a
    reference passage counts once, at its first position; later chunks of it count as misses."""
    run: dict[str, float] = {}
    relevant: list[bool] = []
    n = len(passages)
    for i, p in enumerate(passages):
        key = matching_key(p, refs)
        if key is None or key in run:
            key, rel = f"{p.doc_id}|{p.anchor}|#{i + 1}", False
        else:
            rel = True
        run[key] = float(n - i)
        relevant.append(rel)
    return run, relevant
