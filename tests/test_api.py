"""HTTP API: search, health/readiness, and JSON errors with the right status codes."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from conftest import write_md
from fastapi.testclient import TestClient

from assistant.api import build_asgi
from retrieval.index import NuriIndex
from retrieval.sync import Syncer


@pytest.fixture(scope="module")
def client(tmp_path_factory, embedder):
    from assistant.settings import load_settings

    root = tmp_path_factory.mktemp("api")
    corpus = root / "corpus"
    write_md(corpus, "p.md", "정보공개 안내", {"처리 기한": "청구를 받은 날부터 10일 이내에 공개 여부를 결정한다."}, meta="agency: 누리행정청\naccess: public\n")
    write_md(corpus, "i.md", "재택근무 지침", {"근무 일수": "재택근무는 주 2일까지 할 수 있다."}, meta="agency: 누리행정청\naccess: internal\ndoc_type: guideline\n")
    settings = load_settings(index_dir=root / "index")
    settings.api.max_body_bytes = 4096
    index = NuriIndex.open(settings.retrieval, settings.index_dir, create=True, embedder=embedder)
    Syncer(index, settings.connectors, progress=False).sync([corpus])
    with TestClient(build_asgi(settings, index)) as c:
        yield c
    index.close()


def _error(resp, status):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body["error"]) == {"code", "message", "message_en"}
    assert "Traceback" not in resp.text
    return body["error"]


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["chunks"] >= 2


def test_search_returns_the_cli_json_items(client):
    resp = client.post("/v1/search", json={"query": "정보공개 결정 기한", "top_k": 1})
    assert resp.status_code == 200
    (hit,) = resp.json()
    assert set(hit) == {"rank", "score", "doc_id", "title", "anchor", "source", "text"}
    assert hit["title"] == "정보공개 안내" and "10일" in hit["text"]


def test_search_without_agency_header_sees_public_only(client):
    titles = {h["title"] for h in client.post("/v1/search", json={"query": "재택근무 며칠", "top_k": 5}).json()}
    assert titles == {"정보공개 안내"}


def test_agency_header_unlocks_internal_documents(client):
    resp = client.post("/v1/search", json={"query": "재택근무 며칠", "top_k": 5}, headers={"X-Nuri-Agency": quote("누리행정청")})
    assert "재택근무 지침" in {h["title"] for h in resp.json()}


def test_filters_in_body(client):
    resp = client.post(
        "/v1/search",
        json={"query": "재택근무", "filters": {"doc_type": "guideline"}},
        headers={"X-Nuri-Agency": quote("누리행정청")},
    )
    assert {h["title"] for h in resp.json()} == {"재택근무 지침"}


def test_blank_query_is_400(client):
    err = _error(client.post("/v1/search", json={"query": "   "}), 400)
    assert err["code"] == "invalid_query"


@pytest.mark.parametrize(
    "body",
    [{}, {"query": 3}, {"query": "x", "top_k": 0}, {"query": "x", "unknown": 1}, {"query": "x", "filters": {"colour": "red"}}],
)
def test_malformed_body_is_422(client, body):
    err = _error(client.post("/v1/search", json=body), 422)
    assert err["code"] == "invalid_request"


def test_invalid_json_is_422(client):
    resp = client.post("/v1/search", content=b"{not json", headers={"content-type": "application/json"})
    _error(resp, 422)


def test_top_k_above_limit_is_400(client):
    _error(client.post("/v1/search", json={"query": "x", "top_k": 500}), 400)


def test_oversize_body_is_413(client):
    err = _error(client.post("/v1/search", json={"query": "가" * 10000}), 413)
    assert err["code"] == "payload_too_large"


def test_unknown_path_is_404_json(client):
    _error(client.get("/v1/nope"), 404)


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    assert "/v1/search" in client.get("/openapi.json").json()["paths"]


def test_missing_index_makes_search_and_readyz_503(tmp_path):
    from assistant.settings import load_settings

    settings = load_settings(index_dir=tmp_path / "absent")
    with TestClient(build_asgi(settings)) as c:
        assert c.get("/healthz").status_code == 200
        err = _error(c.get("/readyz"), 503)
        assert "nuri ingest" in err["message"]
        _error(c.post("/v1/search", json={"query": "정보공개"}), 503)
