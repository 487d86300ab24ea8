"""A citation's ``url`` opens its passage: the chunks around it, a readable location, the source by
name, personal data masked like a search hit, and the original's download when the caller may
read the document and its file lies in a folder Nuri synced (``nuri ingest``, recorded) or the
upload folder. Another agency's restricted passage, document and file are 404, exactly like a
missing id; a source whose file escapes its folder (a symlink, a file swapped for one, a ``..``
path) is never served. The index's new reads (by id, neighbours, a document's chunks, the
document list) run the permission filter inside Qdrant on both backends. The API through the
real middleware (``served_api``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from conftest import bearer, index_on_backend, issue_key, write_md

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "security"))
from served_api import Served, served_api

from assistant.documents import context_texts
from assistant.sync_log import record_cli_sync
from retrieval.sync import Syncer
from retrieval.types import Principal

RRN = "850315-2345671"
GUIDE = "업무 안내.md"
SECTIONS = {
    "1. 목적": "이 안내는 나부처 직원의 출장 업무 처리 절차를 정한다.",
    "2. 신청": f"출장 신청은 출발 3일 전까지 전자결재로 올린다. 예시 담당자 주민등록번호 {RRN}.",
    "3. 숙박": "숙박비는 1박에 10만 원까지 실비로 지급한다.",
    "4. 정산": "출장비 정산은 출장이 끝난 뒤 5일 이내에 영수증을 붙여 신청해야 한다.",
    "5. 보고": "출장 결과 보고서는 정산과 함께 부서장에게 제출한다.",
    "6. 예외": "긴급 출장은 사후에 신청할 수 있으며 사유를 적어야 한다.",
    "7. 문의": "출장 업무 문의는 운영지원과로 한다.",
}
STATUTE = """---
제목: 시험 법
법령MST: 1
법령ID: '000123'
법령구분: 법률
소관부처:
- 나부처
공포일자: 2024-01-02
공포번호: '100'
시행일자: 2024-07-01
상태: 시행
출처: https://www.law.go.kr/법령/시험법
---

# 시험 법

##### 제1조 (목적)

이 법은 시험 출장 제도의 운영을 목적으로 한다.
"""


def _get(s: Served, path: str, key: str) -> httpx.Response:
    return httpx.get(s.url + path, headers=bearer(s.keys[key]), timeout=60)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("passages")
    with served_api(root, embedder, ui={"enabled": False}, documents={"upload_dir": str(root / "uploads")}) as s:
        synced = root / "library"
        write_md(synced, GUIDE, "출장 업무 안내", SECTIONS, meta="agency: 나부처\naccess: internal\n")
        write_md(synced, "비밀.md", "다부처 내부 감사 계획", {"감사 일정": "다부처 내부 감사는 11월 둘째 주에 한다."},
                 meta="agency: 다부처\naccess: restricted\n")  # fmt: skip
        (synced / "시험법.md").write_text(STATUTE, encoding="utf-8")
        outside = root / "outside"
        write_md(outside, "leak.md", "폴더 밖 문서", {"내용": "이 문서는 동기화한 폴더 밖에 있다."})
        (synced / "escape.md").symlink_to(outside / "leak.md")
        (synced / "escape.md.meta.yaml").write_text("agency: 나부처\naccess: public\n", encoding="utf-8")
        write_md(synced, "swapped.md", "바뀐 파일", {"내용": "색인한 뒤 심볼릭 링크로 바뀐 파일이다."},
                 meta="agency: 나부처\naccess: public\n")  # fmt: skip
        report = Syncer(s.service.index, s.settings.connectors, progress=False).sync([synced])
        assert not report.failed, report.failed
        record_cli_sync(s.settings, [synced], report)  # what `nuri ingest` records
        (synced / "swapped.md").unlink()
        (synced / "swapped.md").symlink_to(outside / "leak.md")
        s.keys["other"] = issue_key(s.service, agency="다부처", clearance="restricted")
        yield s


def _chunk_of(s: Served, title: str, index: int = 0) -> tuple[str, str]:
    """(doc_id, chunk_id) of a document's chunk, looked up as an operator."""
    op = Principal(operator=True)
    doc = next(d for d in s.service.index.list_documents(op) if d.title == title)
    return doc.doc_id, s.service.index.document_chunks(doc.doc_id, op)[index].id


def test_a_citations_url_opens_its_passage_with_the_text_around_it(api: Served):
    answer = httpx.post(
        api.url + "/v1/ask",
        json={"question": "출장비 정산은 출장이 끝나고 며칠 안에 신청해야 하나요?"},
        headers=bearer(api.keys["user"]),
        timeout=120,
    ).json()
    cited = next(c for c in answer["citations"] if c["title"] == "출장 업무 안내")
    assert cited["url"] == f"/v1/passages/{cited['chunk_id']}"
    opened = _get(api, cited["url"], "user")
    assert opened.status_code == 200, opened.text
    view = opened.json()
    assert "5일 이내" in view["text"] and view["text"] == cited["text"]
    assert view["location"] == "4. 정산" and view["source"] == GUIDE and "/" not in view["source"]
    assert [t.split()[0] for t in view["before"]] == ["출장", "숙박비는"]  # sections 2 and 3, in order
    assert [t.split()[0] for t in view["after"]] == ["출장", "긴급"]  # sections 5 and 6
    assert RRN not in " ".join(view["before"]) and "출발 3일 전" in view["before"][0]  # masked like a hit
    assert view["download_url"] == f"/v1/documents/{quote(view['doc_id'], safe=':')}/file"
    original = _get(api, view["download_url"], "user")
    assert original.status_code == 200
    assert original.content.decode("utf-8").startswith("# 출장 업무 안내\n")
    assert original.headers["content-type"].startswith("text/markdown")
    assert original.headers["content-disposition"] == (
        "attachment; filename=\"__ __.md\"; filename*=UTF-8''%EC%97%85%EB%AC%B4%20%EC%95%88%EB%82%B4.md"
    )
    detail = _get(api, f"/v1/documents/{view['doc_id']}", "user").json()
    assert [c["location"] for c in detail["chunk_list"]] == list(SECTIONS)
    assert detail["source"] == GUIDE and detail["chunks"] == len(SECTIONS)


def test_a_synced_statute_opens_at_its_article_and_downloads(api: Served):
    doc_id, chunk_id = _chunk_of(api, "시험 법")
    view = _get(api, f"/v1/passages/{chunk_id}", "user").json()
    assert view["location"] == "시험 법 제1조" and view["doc_type"] == "statute"
    assert view["source_url"] == "https://www.law.go.kr/법령/시험법" and view["before"] == view["after"] == []
    original = _get(api, f"/v1/documents/{doc_id}/file", "user")
    assert original.status_code == 200 and "법령MST: 1" in original.text


def test_another_agencys_restricted_passage_document_and_file_are_not_found(api: Served):
    doc_id, chunk_id = _chunk_of(api, "다부처 내부 감사 계획")
    missing = [
        _get(api, "/v1/passages/00000000-0000-5000-8000-000000000000", "user"),
        _get(api, "/v1/passages/not-a-point-id", "user"),
        _get(api, "/v1/documents/file:000000000000000000000000", "user"),
        _get(api, "/v1/documents/file:000000000000000000000000/file", "user"),
    ]
    hidden = [
        _get(api, f"/v1/passages/{chunk_id}", "user"),
        _get(api, f"/v1/documents/{doc_id}", "user"),
        _get(api, f"/v1/documents/{doc_id}/file", "user"),
    ]
    bodies = [{k: v for k, v in r.json()["error"].items() if k != "request_id"} for r in [*missing, *hidden]]
    assert {r.status_code for r in [*missing, *hidden]} == {404}
    assert all(b == bodies[0] for b in bodies) and bodies[0]["code"] == "passage_not_found"
    listed = _get(api, "/v1/documents", "user").json()
    assert doc_id not in {d["doc_id"] for d in listed} and len(listed) >= 4
    stats = _get(api, "/v1/stats", "user").json()
    assert "다부처" not in stats["by_agency"] and "restricted" not in stats["by_access"]
    assert stats["documents"] == len(listed) and stats["chunks"] == sum(d["chunks"] for d in listed)
    # The owning agency reads all three.
    assert _get(api, f"/v1/passages/{chunk_id}", "other").json()["text"] == "다부처 내부 감사는 11월 둘째 주에 한다."
    assert _get(api, f"/v1/documents/{doc_id}/file", "other").status_code == 200
    assert _get(api, "/v1/stats", "other").json()["by_access"]["restricted"] == {"documents": 1, "chunks": 1}


def test_a_source_outside_its_folder_is_never_served(api: Served):
    escaped, escaped_chunk = _chunk_of(api, "폴더 밖 문서")  # indexed through a symlink: its source is outside
    swapped, swapped_chunk = _chunk_of(api, "바뀐 파일")  # indexed inside, then swapped for a symlink
    for doc_id, chunk_id in ((escaped, escaped_chunk), (swapped, swapped_chunk)):
        view = _get(api, f"/v1/passages/{chunk_id}", "user")
        assert view.status_code == 200 and view.json()["download_url"] is None
        assert _get(api, f"/v1/documents/{doc_id}/file", "user").status_code == 404
        assert next(d for d in _get(api, "/v1/documents", "user").json() if d["doc_id"] == doc_id)[
            "download_url"
        ] is None  # fmt: skip
    for path in ("/v1/documents/..%2F..%2Fetc%2Fpasswd/file", "/v1/documents/%2Fetc%2Fpasswd/file"):
        assert _get(api, path, "user").status_code == 404


@pytest.mark.parametrize("backend", ["edge", "qdrant-local"])
def test_the_index_reads_passages_and_documents_within_the_callers_permissions(backend, settings, embedder, tmp_path):
    corpus = tmp_path / "corpus"
    write_md(corpus, "a.md", "가 지침", {f"{i}절": f"가 지침의 {i}번째 절 내용이다." for i in range(5)},
             meta="agency: 가청\naccess: restricted\n")  # fmt: skip
    write_md(corpus, "b.md", "나 안내", {"안내": "누구나 읽는 안내다."}, meta="agency: 나청\naccess: public\n")
    owner = Principal(agency="가청", clearance="restricted")
    stranger = Principal(agency="나청", clearance="restricted")
    with index_on_backend(backend, settings, embedder) as index:
        Syncer(index, settings.connectors, progress=False).sync([corpus])
        docs = {d.title: d for d in index.list_documents(owner)}
        assert {t: (d.chunks, d.agency, d.access) for t, d in docs.items()} == {
            "가 지침": (5, "가청", "restricted"), "나 안내": (1, "나청", "public"),
        }  # fmt: skip
        assert [d.title for d in index.list_documents(stranger)] == ["나 안내"]
        a = docs["가 지침"]
        chunks = index.document_chunks(a.doc_id, owner)
        assert [p.payload["chunk_index"] for p in chunks] == [0, 1, 2, 3, 4] and "text" not in chunks[0].payload
        assert index.document_chunks(a.doc_id, stranger) == [] and index.document(a.doc_id, stranger) is None
        middle = chunks[2].id
        assert index.passage(middle, owner)["text"] == "가 지침의 2번째 절 내용이다."
        assert index.passage(middle, stranger) is None and index.passage("zzz", owner) is None
        around = index.neighbours(a.doc_id, a.version, 2, 1, 5, owner)
        assert [p.payload["chunk_index"] for p in around] == [1, 3, 4]
        assert index.neighbours(a.doc_id, a.version, 2, 1, 5, stranger) == []


def test_text_that_consecutive_chunks_share_is_shown_once():
    shared = "이 문장은 앞 조각의 끝이자 뒤 조각의 시작이다."
    chain = [
        {"chunk_index": 3, "text": f"셋째 조각. {shared}"},
        {"chunk_index": 4, "text": f"{shared} 인용된 넷째 조각. 끝 문장은 다음과 겹친다."},
        {"chunk_index": 5, "text": "인용된 넷째 조각. 끝 문장은 다음과 겹친다. 다섯째 조각."},
        {"chunk_index": 7, "text": "일곱째 조각(여섯째는 읽을 수 없다)."},
    ]
    assert context_texts(chain, 1) == [
        "셋째 조각.",  # its tail is the cited chunk's head: shown there
        chain[1]["text"],  # the cited passage stays whole, as quoted
        "다섯째 조각.",
        "일곱째 조각(여섯째는 읽을 수 없다).",  # not consecutive: nothing to trim
    ]
