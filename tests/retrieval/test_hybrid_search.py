"""The retrieval suite, run on both backends: Qdrant Edge (embedded default) and
qdrant-client (server backend, driven through its local mode)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import index_on_backend, write_md
from qdrant_client import QdrantClient

from retrieval.errors import QueryError
from retrieval.index import NuriIndex
from retrieval.payload import point_id
from retrieval.qdrant_store import QdrantStore
from retrieval.sync import Syncer
from retrieval.types import Principal, SearchFilters

OPERATOR = Principal(operator=True)


def _corpus(folder):
    write_md(
        folder,
        "telework.md",
        "재택근무 운영 지침",
        {
            "신청 대상": "정규직 직원은 누구나 재택근무를 신청할 수 있다.",
            "근무 일수": "재택근무는 주 2일까지 할 수 있으며 부서장의 사전 승인을 받아야 한다.",
            "보안": "재택근무 중에는 기관이 지급한 노트북과 VPN만 사용한다.",
        },
        meta="agency: 누리행정청\ndoc_type: guideline\naccess: internal\n",
    )
    write_md(
        folder,
        "disclosure.md",
        "정보공개 청구 처리 안내",
        {
            "처리 기한": "공공기관은 정보공개 청구를 받은 날부터 10일 이내에 공개 여부를 결정하여야 한다.",
            "수수료": "사본 출력물은 1장당 250원의 수수료를 받는다.",
        },
        meta="agency: 누리행정청\ndoc_type: notice\naccess: public\n",
    )
    write_md(
        folder,
        "data-plan.md",
        "데이터 분석 과제 계획",
        {
            "과제 개요": "한빛데이터원은 민원 데이터를 분석하여 처리 기간 단축 방안을 마련한다.",
            "보안 등급": "원천 데이터는 한빛데이터원과 누리행정청만 열람할 수 있다.",
        },
        meta="agency: 한빛데이터원\ndoc_type: plan\naccess: restricted\nallowed_agencies: [한빛데이터원, 누리행정청]\n",
    )


@pytest.fixture(params=["edge", "qdrant-local"])
def index(request, settings, embedder, tmp_path):
    corpus = tmp_path / "corpus"
    _corpus(corpus)
    idx = index_on_backend(request.param, settings, embedder)
    report = Syncer(idx, settings.connectors, progress=False).sync([corpus])
    assert report.added == 3 and not report.failed
    yield idx
    idx.close()


def test_korean_question_finds_the_right_section(index):
    hits = index.search("재택근무 사전 승인은 누가 하나요?", top_k=3, principal=OPERATOR)
    assert hits[0].anchor == "근무 일수"
    assert hits[0].title == "재택근무 운영 지침"
    assert [h.rank for h in hits] == [1, 2, 3]
    assert hits[0].score >= hits[-1].score


def test_exact_terms_match_through_the_sparse_vector(index):
    hits = index.search("정보공개 수수료 250원", top_k=2, principal=OPERATOR)
    assert hits[0].anchor == "수수료"


def test_hit_carries_citation_fields(index):
    hit = index.search("정보공개 결정 기한", top_k=1, principal=OPERATOR)[0]
    assert set(hit.model_dump()) == {"rank", "score", "chunk_id", "doc_id", "title", "anchor", "source", "text"}
    assert hit.chunk_id  # the passage opens by it: GET /v1/passages/{chunk_id}
    assert hit.doc_id.startswith("file:")
    assert hit.source.endswith("disclosure.md")
    assert "10일 이내" in hit.text


def test_agency_and_doc_type_filters_apply_inside_qdrant(index):
    hits = index.search("보안", top_k=10, filters=SearchFilters(agency="한빛데이터원"), principal=OPERATOR)
    assert hits and {h.title for h in hits} == {"데이터 분석 과제 계획"}
    hits = index.search("보안", top_k=10, filters=SearchFilters(doc_type="notice"), principal=OPERATOR)
    assert hits and {h.title for h in hits} == {"정보공개 청구 처리 안내"}


def test_anonymous_caller_sees_public_documents_only(index):
    hits = index.search("재택근무 신청", top_k=10, principal=Principal())
    assert hits and {h.metadata["access"] for h in hits} == {"public"}


def test_internal_documents_need_an_identified_agency_with_internal_clearance(index):
    hits = index.search("재택근무 신청", top_k=10, principal=Principal(agency="다른부처", clearance="restricted"))
    titles = {h.title for h in hits}
    assert "재택근무 운영 지침" in titles
    assert "데이터 분석 과제 계획" not in titles  # restricted to its allowed agencies
    public_only = index.search("재택근무 신청", top_k=10, principal=Principal(agency="다른부처", clearance="public"))
    assert {h.metadata["access"] for h in public_only} == {"public"}


def test_restricted_documents_reach_allowed_agencies_with_restricted_clearance_only(index):
    allowed = index.search(
        "민원 데이터 분석", top_k=10, principal=Principal(agency="누리행정청", clearance="restricted")
    )
    assert "데이터 분석 과제 계획" in {h.title for h in allowed}
    owner = index.search(
        "민원 데이터 분석", top_k=10, principal=Principal(agency="한빛데이터원", clearance="restricted")
    )
    assert "데이터 분석 과제 계획" in {h.title for h in owner}
    for clearance in ("public", "internal"):  # the right agency, too low a clearance
        low = index.search(
            "민원 데이터 분석", top_k=10, principal=Principal(agency="한빛데이터원", clearance=clearance)
        )
        assert "데이터 분석 과제 계획" not in {h.title for h in low}


@pytest.mark.parametrize("query", ["", "   "])
def test_empty_query_is_rejected(index, query):
    with pytest.raises(QueryError):
        index.search(query)


def test_over_long_query_and_bad_top_k_are_rejected(index):
    with pytest.raises(QueryError):
        index.search("가" * 5000)
    with pytest.raises(QueryError):
        index.search("재택근무", top_k=1000)


def test_backends_return_the_same_ranking(settings, embedder, tmp_path):
    corpus = tmp_path / "corpus"
    _corpus(corpus)
    results = []
    for store in (None, QdrantStore(settings.index, dim=embedder.dim, create=True, client=QdrantClient(":memory:"))):
        idx = NuriIndex.open(settings.retrieval, tmp_path / "edge", create=True, embedder=embedder, store=store)
        Syncer(idx, settings.connectors, progress=False).sync([corpus])
        results.append([(h.doc_id, h.anchor) for h in idx.search("보안 규정과 VPN", top_k=5, principal=OPERATOR)])
        idx.close()
    assert results[0] == results[1]


@pytest.mark.parametrize("collapse", [True, False])
def test_a_long_sections_chunks_give_way_to_other_sections(settings, embedder, tmp_path, collapse):
    """A section split into several chunks is one result (its best chunk), so the next
    relevant section still makes the top ranks; with collapsing off the chunks compete."""
    para = "재택근무는 주 2일까지 할 수 있으며 부서장의 사전 승인을 받아야 한다."
    write_md(
        tmp_path / "corpus", "telework.md", "재택근무 운영 지침",
        {"근무 일수": "\n\n".join(f"{i}. {para}" for i in range(1, 9)),
         "신청 절차": "재택근무를 하려면 부서장에게 근무 희망일 3일 전까지 신청한다.",
         "보안": "재택근무 중에는 기관이 지급한 노트북과 VPN만 사용한다."},
    )  # fmt: skip
    settings = settings.override(chunking={"max_tokens": 56}, search={"collapse_sections": collapse})
    with NuriIndex.open(
        settings.retrieval, settings.resolve(settings.index_dir), create=True, embedder=embedder
    ) as idx:
        Syncer(idx, settings.connectors, progress=False).sync([tmp_path / "corpus"])
        assert idx.count() >= 10  # "근무 일수" really was split, into more chunks than 3 × top_k
        hits = idx.search("재택근무 부서장 승인", top_k=3, principal=OPERATOR)
    anchors = [h.anchor for h in hits]
    assert anchors[0] == "근무 일수"
    if collapse:
        assert len(set(anchors)) == 3 and hits[0].metadata["section"] == "근무 일수"
    else:
        assert anchors.count("근무 일수") >= 2


def test_equal_fused_scores_rank_by_point_id_whatever_order_the_engine_returns(index, monkeypatch):
    """Reciprocal-rank fusion ties (rank i in one list and j in the other) come back from the
    engine in no fixed order; the ranking breaks them by point id, so a query ranks the same
    every run. Here every candidate ties, returned once in the engine's order, once reversed."""
    query = "재택근무 신청과 정보공개 처리 기한"
    engine = index.store.hybrid_query
    returned: list[list[str]] = []

    def tied(reverse):
        def query_engine(q):
            points = [replace(p, score=1.0) for p in engine(q)]
            returned.append([p.id for p in points])
            return list(reversed(points)) if reverse else points

        return query_engine

    runs = []
    for reverse in (False, True):
        monkeypatch.setattr(index.store, "hybrid_query", tied(reverse))
        hits = index.search(query, top_k=3, principal=OPERATOR)
        runs.append([point_id(h.doc_id, h.metadata["version"], h.metadata["chunk_index"]) for h in hits])
    assert runs[0] == runs[1] == sorted(returned[0])[:3]


def test_best_first_orders_equal_scores_by_point_id():
    from retrieval.store import ScoredPayload, best_first

    points = [ScoredPayload("c", 0.5, {}), ScoredPayload("a", 0.5, {}), ScoredPayload("b", 0.9, {})]
    assert [p.id for p in best_first(points)] == ["b", "a", "c"]
    assert [p.id for p in best_first(list(reversed(points)))] == ["b", "a", "c"]
