"""Finding 5 (medium): gateway signatures could be replayed with any body.

Only the timestamp, the identity, the method and the path were signed: for ~5 minutes (10 with a
future timestamp) anyone who saw one signed request could send any body, to any host, with any
query, as that user. Now the signature covers a SHA-256 of the body, the query string and the
host; a signature is accepted once (across replicas: the key store records it); at most
``max_future_skew_s`` into the future; a malformed timestamp or signature is a 401, not a 500.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from served_api import GATEWAY_SECRET, QUESTION, Served, served_api

from assistant.http.app import build_asgi
from assistant.http.auth import body_sha256, gateway_signature
from assistant.service import NuriService

HOST = "testserver"  # what TestClient sends


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder) -> Iterator[Served]:
    with served_api(tmp_path_factory.mktemp("gateway"), embedder, ui={"enabled": False}) as s:
        yield s


@pytest.fixture(scope="module")
def replicas(served: Served) -> Iterator[tuple[TestClient, TestClient]]:
    """Two API replicas over the same key store (its SQLite file) and index."""
    second = NuriService(served.settings, index=served.service.index).open()
    try:
        with (
            TestClient(build_asgi(served.settings, served.service)) as a,
            TestClient(build_asgi(served.settings, second)) as b,
        ):
            yield a, b
    finally:
        second.close()


def signed(
    body: bytes,
    path: str = "/v1/search",
    query: str = "",
    host: str = HOST,
    age_s: int = 0,
    subject: str = "lee.civil",
) -> dict[str, str]:
    ts, agency = str(int(time.time()) - age_s), quote("나부처")
    digest = body_sha256(body)
    sig = gateway_signature(GATEWAY_SECRET, ts, subject, agency, "internal", "user", "POST", path,
                            host=host, query=query, content_sha256=digest)  # fmt: skip
    return {
        "X-Nuri-Subject": subject,
        "X-Nuri-Agency": agency,
        "X-Nuri-Clearance": "internal",
        "X-Nuri-Roles": "user",
        "X-Nuri-Timestamp": ts,
        "X-Nuri-Content-SHA256": digest,
        "X-Nuri-Signature": sig,
        "Content-Type": "application/json",
    }


def _body(query: str = QUESTION) -> bytes:
    return json.dumps({"query": query}).encode()


def test_a_signed_request_is_accepted_once_even_on_another_replica(replicas):
    a, b = replicas
    body = _body()
    headers = signed(body)
    assert a.post("/v1/search", content=body, headers=headers).status_code == 200
    assert a.post("/v1/search", content=body, headers=headers).status_code == 401  # same replica
    assert b.post("/v1/search", content=body, headers=headers).status_code == 401  # another replica


def test_the_signature_covers_the_body_the_query_and_the_host(replicas):
    a, _ = replicas
    body = _body()
    other = _body("다른 질문을 몰래 넣었습니다")
    assert a.post("/v1/search", content=other, headers=signed(body)).status_code == 401  # body swapped
    assert a.post("/v1/search?top_k=50", content=body, headers=signed(body)).status_code == 401  # query added
    assert a.post("/v1/search", content=body, headers=signed(body, host="other.example")).status_code == 401
    assert a.post("/v1/search", content=body, headers=signed(body, path="/v1/ask")).status_code == 401
    ok = a.post("/v1/search?trace=1", content=body, headers=signed(body, query="trace=1"))
    assert ok.status_code == 200, ok.text


def test_only_a_small_clock_skew_into_the_future_is_accepted(replicas):
    a, _ = replicas
    body = _body()
    assert a.post("/v1/search", content=body, headers=signed(body, age_s=-60)).status_code == 401
    assert a.post("/v1/search", content=body, headers=signed(body, age_s=-2)).status_code == 200


def test_a_malformed_timestamp_or_signature_is_a_401_not_a_500(replicas):
    a, _ = replicas
    body = _body()
    for bad in ({"X-Nuri-Timestamp": "²"}, {"X-Nuri-Timestamp": "1e9"}, {"X-Nuri-Timestamp": "9" * 40},
                {"X-Nuri-Signature": "가" * 64}, {"X-Nuri-Signature": "zz"},
                {"X-Nuri-Content-SHA256": "없음"}):  # fmt: skip
        headers = {**signed(body), **bad}
        r = a.post(
            "/v1/search",
            content=body,
            headers={k: v.encode() if not v.isascii() else v for k, v in headers.items()},  # type: ignore[misc]
        )
        assert r.status_code == 401, (bad, r.status_code, r.text)
        assert r.json()["error"]["code"] == "unauthenticated"
