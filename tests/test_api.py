"""HTTP API without a model: search, health/readiness, request validation and JSON errors with
the right status codes and codes. No model server is started here (the service is opened with
``start_model=False``); answers with a real model are in test_api_answers.py."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from conftest import bearer, issue_key, make_settings, search_service, write_md
from fastapi.testclient import TestClient

from assistant.http.app import build_asgi
from retrieval.index import NuriIndex
from retrieval.sync import Syncer


@pytest.fixture(scope="module")
def client(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("api")
    corpus = root / "corpus"
    write_md(
        corpus,
        "p.md",
        "정보공개 안내",
        {"처리 기한": "청구를 받은 날부터 10일 이내에 공개 여부를 결정한다."},
        meta="agency: 누리행정청\naccess: public\n",
    )
    write_md(
        corpus,
        "i.md",
        "재택근무 지침",
        {"근무 일수": "재택근무는 주 2일까지 할 수 있다."},
        meta="agency: 누리행정청\naccess: internal\ndoc_type: guideline\n",
    )
    settings = make_settings(root, api={"max_body_bytes": 4096}, ui={"enabled": False})
    index = NuriIndex.open(settings.retrieval, settings.index_dir, create=True, embedder=embedder)
    Syncer(index, settings.connectors, progress=False).sync([corpus])
    with search_service(settings, index) as service:
        public_key = issue_key(service, agency="다른부처", clearance="public")
        with TestClient(build_asgi(settings, service), headers=bearer(public_key)) as c:
            c.internal_key = issue_key(service, agency="누리행정청", clearance="internal")  # type: ignore[attr-defined]
            c.service = service  # type: ignore[attr-defined]
            yield c
    index.close()


def _error(resp, status):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body["error"]) - {"details", "request_id"} == {"code", "message", "message_en"}
    assert "Traceback" not in resp.text
    return body["error"]


def test_healthz_and_readyz_without_a_model(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    admin = issue_key(client.service, roles=("admin",))
    err = _error(client.get("/readyz", headers=bearer(admin)), 503)
    assert err["code"] == "not_ready" and "모델" in err["message"]
    assert err["details"]["missing"] == "model"


def test_search_returns_the_cli_json_items(client):
    resp = client.post("/v1/search", json={"query": "정보공개 결정 기한", "top_k": 1})
    assert resp.status_code == 200
    (hit,) = resp.json()
    assert set(hit) == {"rank", "score", "chunk_id", "doc_id", "title", "anchor", "source", "text"}
    assert hit["title"] == "정보공개 안내" and "10일" in hit["text"]


def test_a_public_clearance_key_sees_public_documents_only(client):
    titles = {h["title"] for h in client.post("/v1/search", json={"query": "재택근무 며칠", "top_k": 5}).json()}
    assert titles == {"정보공개 안내"}


def test_an_internal_clearance_key_unlocks_internal_documents(client):
    resp = client.post("/v1/search", json={"query": "재택근무 며칠", "top_k": 5}, headers=bearer(client.internal_key))
    assert "재택근무 지침" in {h["title"] for h in resp.json()}


def test_a_forged_agency_header_without_a_key_gets_401_and_with_a_public_key_nothing_more(client):
    forged = {"X-Nuri-Agency": quote("누리행정청"), "X-Nuri-Clearance": "restricted"}
    resp = client.post("/v1/search", json={"query": "재택근무 며칠"}, headers={**forged, "Authorization": ""})
    assert _error(resp, 401)["code"] == "unauthenticated"
    assert resp.headers["www-authenticate"].startswith("Bearer")
    titles = {h["title"] for h in client.post("/v1/search", json={"query": "재택근무 며칠"}, headers=forged).json()}
    assert titles == {"정보공개 안내"}


@pytest.mark.parametrize("auth", ["Bearer nuri_0123456789ab_wrongsecret", "Bearer x", "Basic abc", "nuri_key"])
def test_unknown_or_malformed_keys_get_401(client, auth):
    assert _error(client.post("/v1/search", json={"query": "정보공개"}, headers={"Authorization": auth}), 401)
    assert _error(client.get("/v1/models", headers={"Authorization": auth}), 401)


def test_a_revoked_key_stops_working_at_once(client):
    key = issue_key(client.service)
    assert client.post("/v1/search", json={"query": "정보공개"}, headers=bearer(key)).status_code == 200
    client.service.keys.revoke(key.split("_")[1])
    assert _error(client.post("/v1/search", json={"query": "정보공개"}, headers=bearer(key)), 401)


def test_health_and_readiness_stay_open_without_a_key(client):
    assert client.get("/healthz", headers={"Authorization": ""}).status_code == 200
    assert client.get("/readyz", headers={"Authorization": ""}).status_code == 503  # open, but no model here


def test_filters_in_body(client):
    resp = client.post(
        "/v1/search",
        json={"query": "재택근무", "filters": {"doc_type": "guideline"}},
        headers=bearer(client.internal_key),
    )
    assert {h["title"] for h in resp.json()} == {"재택근무 지침"}


def test_blank_query_is_400(client):
    err = _error(client.post("/v1/search", json={"query": "   "}), 400)
    assert err["code"] == "invalid_query"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"query": 3},
        {"query": "x", "top_k": 0},
        {"query": "x", "unknown": 1},
        {"query": "x", "filters": {"colour": "red"}},
    ],
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
    settings = make_settings(tmp_path, index_dir=tmp_path / "absent", ui={"enabled": False})
    from assistant.service import NuriService

    with NuriService(settings, start_model=False) as service:
        key, admin = issue_key(service), issue_key(service, roles=("admin",))
    with TestClient(build_asgi(settings), headers=bearer(key)) as c:
        assert c.get("/healthz").status_code == 200
        err = _error(c.get("/readyz", headers=bearer(admin)), 503)
        assert "nuri ingest" in err["message"] and err["code"] == "not_ready"
        assert _error(c.post("/v1/search", json={"query": "정보공개"}), 503)["code"] == "index_unavailable"


# -- answer endpoints: request validation happens before any model call --------------------------
# The service points at a port where nothing listens: a request that got as far as the model
# would fail with 503, so every status below proves the request was judged before that.
UNREACHABLE = "http://127.0.0.1:9/v1"
QUESTION = "상반기 정보보안 점검 기간은 언제인가요?"


@pytest.fixture(scope="module")
def no_model(sample_index, tmp_path_factory):
    from conftest import answer_settings

    from assistant.service import NuriService

    settings = answer_settings(
        UNREACHABLE, api={"max_body_bytes": 16384}, ui={"enabled": False}, llm={"connect_timeout_s": 1.0}
    )
    with NuriService(settings, index=sample_index) as service:
        key = issue_key(service)
        with TestClient(build_asgi(settings, service), headers=bearer(key)) as c:
            c.key = key  # type: ignore[attr-defined]
            yield c


def test_unknown_model_is_404_through_the_official_client(no_model):
    import openai

    client = openai.OpenAI(base_url="http://testserver/v1", api_key=no_model.key, http_client=no_model, max_retries=0)
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    body = raised.value.body  # the client unwraps {"error": {...}}
    assert isinstance(body, dict) and body["code"] == "model_not_found"


def test_the_last_user_message_with_text_is_the_question(no_model):
    """What follows the question (an assistant's prefill) is not used, as the OpenAPI description
    says; without a user message with text the request is 400."""
    resp = no_model.post(
        "/v1/chat/completions",
        json={"model": "nuri", "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
    )
    assert resp.status_code == 200 and resp.json()["object"] == "chat.completion"
    for messages in (
        [{"role": "assistant", "content": "b"}],
        [{"role": "user", "content": "  "}, {"role": "system", "content": "x"}],
        [{"role": "user", "content": [{"type": "text", "text": " "}, {"type": "image_url", "image_url": {}}]}],
    ):
        resp = no_model.post("/v1/chat/completions", json={"model": "nuri", "messages": messages})
        assert _error(resp, 400)["code"] == "invalid_question"


@pytest.mark.parametrize(
    "body",
    [
        {"model": "nuri"},
        {"model": "nuri", "messages": []},
        {"model": "nuri", "messages": [{"role": "x", "content": "a"}]},
    ],
)
def test_malformed_chat_request_is_422(no_model, body):
    assert _error(no_model.post("/v1/chat/completions", json=body), 422)["code"] == "invalid_request"


def test_blank_question_is_400_and_empty_is_422(no_model):
    assert _error(no_model.post("/v1/ask", json={"question": "   "}), 400)["code"] == "invalid_question"
    assert _error(no_model.post("/v1/ask", json={"question": ""}), 422)["code"] == "invalid_request"
    assert _error(no_model.post("/v1/ask", json={"question": "a", "unknown": 1}), 422)["code"] == "invalid_request"


def test_the_same_failure_has_the_same_code_on_every_endpoint(no_model):
    """One mapping: a question over the limit is `invalid_question` on /v1/ask and on the
    OpenAI endpoint alike; a model that cannot be reached is `model_unavailable` on both."""
    long_question = "가" * 2001
    ask = no_model.post("/v1/ask", json={"question": long_question})
    chat = no_model.post(
        "/v1/chat/completions", json={"model": "nuri", "messages": [{"role": "user", "content": long_question}]}
    )
    assert _error(ask, 400)["code"] == _error(chat, 400)["code"] == "invalid_question"
    ask = no_model.post("/v1/ask", json={"question": QUESTION})
    chat = no_model.post(
        "/v1/chat/completions", json={"model": "nuri", "messages": [{"role": "user", "content": QUESTION}]}
    )
    assert _error(ask, 503)["code"] == _error(chat, 503)["code"] == "model_unavailable"


def test_oversize_request_is_413_before_the_model(no_model):
    big = {"model": "nuri", "messages": [{"role": "user", "content": "가" * 20000}]}
    assert _error(no_model.post("/v1/chat/completions", json=big), 413)["code"] == "payload_too_large"


def test_overlong_history_message_is_400_not_500(no_model):
    body = {
        "model": "nuri",
        "messages": [
            {"role": "user", "content": "a" * 9000},
            {"role": "assistant", "content": "네"},
            {"role": "user", "content": QUESTION},
        ],
    }
    assert _error(no_model.post("/v1/chat/completions", json=body), 400)["code"] == "invalid_history"
