"""Statute structure at query time, on both backends: the reference graph (an enforcement
decree article brings the act article it implements, and the reverse), the statute's own
definitions bridging everyday words to its terms, and the title signal."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import index_on_backend
from qdrant_client import QdrantClient

from connectors.settings import ConnectorSettings
from connectors.statute import parse_statute
from connectors.types import AccessLevel
from retrieval.index import DocumentVersion, NuriIndex, build_filter
from retrieval.qdrant_store import QdrantStore
from retrieval.settings import GraphSettings
from retrieval.sync import Syncer
from retrieval.types import Principal

OPERATOR = Principal(operator=True)

ACT = """---
제목: 가상출장법
법령MST: 900001
법령ID: '900001'
법령구분: 법률
소관부처:
- 누리행정청
시행일자: 2026-01-01
---
# 가상출장법

## 제1장 총칙

##### 제1조 (목적)

이 법은 공무원의 출장과 그 비용에 관한 사항을 정한다.

##### 제2조 (정의)

이 법에서 사용하는 용어의 뜻은 다음과 같다.

  1\\. "출장"이란 공무원이 상사의 명을 받아 근무지 밖에서 공무를 수행하는 것을 말한다.

  2\\. "여비"란 출장에 드는 운임, 숙박비 및 식비를 말한다.

  3\\. "원격근무"란 정보통신망을 이용하여 사무실이 아닌 곳에서 근무하는 것을 말한다.

## 제2장 여비

##### 제5조 (여비의 지급)

출장하는 공무원에게는 대통령령으로 정하는 바에 따라 여비를 지급한다.

##### 제6조 (청렴의 의무)

공무원은 직무와 관련하여 사례를 받아서는 아니 된다.
"""

DECREE = """---
제목: 가상출장법 시행령
법령MST: 900002
법령ID: '900002'
법령구분: 대통령령
소관부처:
- 누리행정청
시행일자: 2026-01-01
---
# 가상출장법 시행령

##### 제3조 (숙박비의 상한)

법 제5조에 따른 숙박비는 1박당 10만원을 넘을 수 없다.

##### 제4조 (회계 처리)

회계 담당자는 매월 말 장부를 마감한다.
"""


@pytest.fixture(params=["edge", "qdrant-local"])
def statute_index(request, settings, embedder, tmp_path: Path):
    folder = tmp_path / "statutes"
    (folder / "가상출장법").mkdir(parents=True)
    (folder / "가상출장법" / "법률.md").write_text(ACT, encoding="utf-8")
    (folder / "가상출장법" / "시행령.md").write_text(DECREE, encoding="utf-8")
    index = index_on_backend(request.param, settings, embedder)
    report = Syncer(index, settings.connectors, progress=False).sync([folder])
    assert not report.failed, report.failed
    yield index
    index.close()


def _anchors(index: NuriIndex, query: str, top_k: int) -> list[str]:
    return [h.anchor for h in index.search(query, top_k=top_k, principal=OPERATOR)]


def _graph(index: NuriIndex, enabled: bool) -> None:
    index.settings = index.settings.model_copy(
        update={"search": index.settings.search.model_copy(update={"graph": GraphSettings(enabled=enabled)})}
    )


def test_a_decree_article_brings_the_act_article_it_implements(statute_index: NuriIndex):
    query = "숙박비 1박당 상한이 얼마인가요?"
    _graph(statute_index, True)
    with_graph = _anchors(statute_index, query, 2)
    assert with_graph[0] == "가상출장법 시행령 제3조"
    assert "가상출장법 제5조" in with_graph


def test_without_the_graph_the_act_article_ranks_lower(statute_index: NuriIndex):
    query = "숙박비 1박당 상한이 얼마인가요?"
    _graph(statute_index, True)
    on = _anchors(statute_index, query, 10)
    _graph(statute_index, False)
    off = _anchors(statute_index, query, 10)
    assert on.index("가상출장법 제5조") < off.index("가상출장법 제5조")


def test_each_definition_is_its_own_hit_and_its_term_joins_the_keyword_query(statute_index: NuriIndex):
    hits = statute_index.search("회사에 안 가고 집에서 인터넷으로 일하는 걸 뭐라고 해요?", top_k=3, principal=OPERATOR)
    assert hits[0].anchor == "가상출장법 제2조 제3호"
    assert hits[0].metadata["term"] == "원격근무"
    dense = statute_index.embedder.embed_query("근무지 밖에서 공무를 보는 것").tolist()
    terms = statute_index.defined_terms(dense, build_filter(None, OPERATOR))
    assert terms and terms[0] == "출장"


RULES = """---
제목: 가상보안규정
법령MST: 900003
법령ID: '900003'
법령구분: 훈령
소관부처:
- 누리행정청
시행일자: 2026-01-01
---
# 가상보안규정

##### 제2조 (정의)

이 규정에서 사용하는 용어의 뜻은 다음과 같다.

  1\\. "봉인매체"란 비밀을 담아 봉인 표지를 붙이고 금고에 보관하는 이동식 저장장치를 말한다.
"""


def test_definitions_written_later_count_and_only_for_callers_who_may_read_them(statute_index: NuriIndex, tmp_path):
    """The in-memory definitions are read again after a write, and a restricted definition's
    term joins the query of a caller of its agency only (the filter runs inside Qdrant)."""
    query = statute_index.embedder.embed_query(
        "비밀을 담아 봉인 표지를 붙이고 금고에 보관하는 이동식 저장장치"
    ).tolist()
    agency = Principal(agency="누리행정청", clearance="restricted")
    assert "봉인매체" not in statute_index.defined_terms(query, build_filter(None, OPERATOR))  # read now
    path = tmp_path / "규정.md"
    path.write_text(RULES, encoding="utf-8")
    doc = parse_statute(path, ConnectorSettings())
    doc.access, doc.allowed_agencies = AccessLevel.RESTRICTED, ["누리행정청"]
    statute_index.write([DocumentVersion(doc, "v1", statute_index.chunk(doc))])
    statute_index.commit()
    assert "봉인매체" in statute_index.defined_terms(query, build_filter(None, agency))
    assert "봉인매체" in statute_index.defined_terms(query, build_filter(None, OPERATOR))
    for caller in (Principal(), Principal(agency="한빛데이터원", clearance="restricted")):
        assert "봉인매체" not in statute_index.defined_terms(query, build_filter(None, caller))
    statute_index.delete_document(doc.doc_id)
    statute_index.commit()
    assert "봉인매체" not in statute_index.defined_terms(query, build_filter(None, OPERATOR))


def test_a_shared_collection_is_read_again_after_refresh_seconds(settings, embedder, tmp_path):
    """On the qdrant backend another process may write: a reader re-reads the definitions once
    ``definitions.refresh_seconds`` have passed (0 here), and not before (an hour)."""
    client = QdrantClient(":memory:")

    def on_client(refresh_seconds: float) -> NuriIndex:
        r = settings.retrieval
        defs = r.search.definitions.model_copy(update={"refresh_seconds": refresh_seconds})
        r = r.model_copy(update={"search": r.search.model_copy(update={"definitions": defs})})
        store = QdrantStore(settings.index, dim=embedder.dim, create=True, client=client)
        return NuriIndex.open(r, tmp_path / "unused", embedder=embedder, store=store)

    writer, fresh, hourly = on_client(60), on_client(0), on_client(3600)
    query = embedder.embed_query("비밀을 담아 봉인 표지를 붙이고 금고에 보관하는 이동식 저장장치").tolist()
    everyone = build_filter(None, OPERATOR)
    assert not fresh.defined_terms(query, everyone) and not hourly.defined_terms(query, everyone)
    path = tmp_path / "규정.md"
    path.write_text(RULES, encoding="utf-8")
    doc = parse_statute(path, ConnectorSettings())
    writer.write([DocumentVersion(doc, "v1", writer.chunk(doc))])
    writer.commit()
    assert fresh.defined_terms(query, everyone) == ["봉인매체"]
    assert hourly.defined_terms(query, everyone) == []
