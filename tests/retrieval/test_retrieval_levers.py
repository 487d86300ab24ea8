"""The offline replay of the hybrid ranking (``fitting.retrieval_levers``) scores the sparse leg
exactly as the index does, so a lever measured there is measured on Nuri's own ranking."""

from __future__ import annotations

import math

import pytest

from fitting.retrieval_levers import Bm25, subsequence
from retrieval.sparse import KoreanSparseEncoder, term_id

PASSAGES = [
    "공직자는 공공기관이 소유하거나 임차한 물품ㆍ차량ㆍ선박ㆍ항공기ㆍ건물ㆍ토지ㆍ시설 등을 사적인 용도로 사용ㆍ수익하여서는 아니 된다.",
    "공공기관이 기록물을 폐기하려는 경우에는 기록물관리 전문요원의 심사와 기록물평가심의회의 심의를 거쳐야 한다.",
    "행정기관의 장은 동일한 사안에 대하여 동일한 조사대상자를 재조사 하여서는 아니 된다.",
]


def test_replayed_bm25_gives_the_index_values_times_qdrant_idf():
    enc = KoreanSparseEncoder()
    bm25 = Bm25([enc.terms(p) for p in PASSAGES])
    stored = enc.encode_passages(PASSAGES)
    query = enc.terms("기록물 폐기 심사")
    scores = bm25.scores(query)
    ids = {term_id(t) for t in query}
    for d, vec in enumerate(stored):
        expected = sum(
            v * math.log(1 + (3 - n + 0.5) / (n + 0.5))
            for i, v in zip(vec.indices, vec.values, strict=True)
            if i in ids
            for n in [sum(1 for s in stored if i in s.indices)]
        )
        assert scores[d] == pytest.approx(expected)
    assert scores.argmax() == 1


def test_an_abbreviation_is_a_subsequence_of_the_term_it_shortens():
    assert subsequence("주민번호", "주민등록번호")
    assert subsequence("청탁금지법", "부정청탁및금품등수수의금지에관한법률")
    assert not subsequence("번호주민", "주민등록번호")
