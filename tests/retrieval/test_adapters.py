"""The LangChain and LlamaIndex adapters return Nuri's hybrid hits in each framework's types."""

from __future__ import annotations

import pytest
from conftest import write_md

from retrieval.sync import Syncer
from retrieval.types import Principal, SearchFilters


@pytest.fixture()
def index(settings, open_index, tmp_path):
    corpus = tmp_path / "corpus"
    write_md(
        corpus,
        "a.md",
        "출장 여비 안내",
        {"정산 기한": "출장을 마친 날부터 5일 이내에 여비를 정산한다."},
        meta="access: public\ndoc_type: manual\n",
    )
    write_md(
        corpus,
        "b.md",
        "보안 점검 공지",
        {"점검 일정": "매월 첫째 주 수요일에 보안 점검을 실시한다."},
        meta="access: public\ndoc_type: notice\n",
    )
    idx = open_index()
    Syncer(idx, settings.connectors, progress=False).sync([corpus])
    return idx


def test_langchain_retriever_returns_documents_with_citation_metadata(index):
    from langchain_core.retrievers import BaseRetriever

    from retrieval.adapters.langchain import NuriRetriever

    retriever = NuriRetriever(index=index, top_k=2, principal=Principal())
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("여비 정산 기한")
    assert len(docs) == 2
    assert docs[0].metadata["title"] == "출장 여비 안내"
    assert docs[0].metadata["anchor"] == "정산 기한"
    assert "5일 이내" in docs[0].page_content
    assert {"rank", "score", "doc_id", "source"} <= set(docs[0].metadata)


def test_langchain_retriever_applies_filters(index):
    from retrieval.adapters.langchain import NuriRetriever

    docs = NuriRetriever(index=index, filters=SearchFilters(doc_type="notice")).invoke("정산")
    assert {d.metadata["title"] for d in docs} == {"보안 점검 공지"}


def test_llamaindex_retriever_returns_scored_nodes(index):
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore

    from retrieval.adapters.llamaindex import NuriLlamaRetriever

    retriever = NuriLlamaRetriever(index, top_k=1)
    assert isinstance(retriever, BaseRetriever)
    (node,) = retriever.retrieve("보안 점검은 언제 하나요?")
    assert isinstance(node, NodeWithScore)
    assert node.node.metadata["title"] == "보안 점검 공지"
    assert "수요일" in node.node.get_content()
    assert node.score > 0
