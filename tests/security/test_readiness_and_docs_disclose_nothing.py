"""Finding 8 (medium): readiness and the API docs told strangers too much.

``/readyz`` gave unauthenticated callers the model servers' URLs, their errors and the chunk
count, and probed every model endpoint and counted the index on each call; ``/docs``,
``/redoc`` and ``/openapi.json`` were open; a database error's text (SQL, parameters) could reach
a client in an error message. Now: a status only, unless an admin's key asks; the result is
reused for ``api.readiness_cache_s``; docs are a setting (off in the production profile); store
errors reach clients as a fixed message, their cause only in the log.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from conftest import bearer, issue_key, make_settings, search_service, write_md
from fastapi.testclient import TestClient
from served_api import GATEWAY_SECRET, QUESTION, Served, served_api
from test_gateway_signatures_cannot_be_replayed import signed

from assistant.http.app import build_asgi
from configs.settings import load_settings
from retrieval.index import NuriIndex
from retrieval.sync import Syncer


class CountingModelServer:
    """An HTTP endpoint that counts the readiness probes it gets and serves no model."""

    def __init__(self) -> None:
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                counter.probes += 1
                self.send_response(503)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.probes = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def model_endpoint() -> Iterator[CountingModelServer]:
    server = CountingModelServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder, model_endpoint) -> Iterator[Served]:
    with served_api(
        tmp_path_factory.mktemp("ready"),
        embedder,
        llm={"base_urls": [model_endpoint.url]},
        api={"readiness_cache_s": 30.0},
        ui={"enabled": False},
    ) as s:
        yield s


def test_readiness_tells_a_stranger_only_the_status(served: Served, model_endpoint: CountingModelServer):
    for headers in ({}, bearer("nuri_000000000000_not-a-key"), bearer(served.keys["user"])):
        r = httpx.get(f"{served.url}/readyz", headers=headers, timeout=30)
        assert r.status_code == 503
        error = r.json()["error"]
        assert "details" not in error and error["code"] == "not_ready"
        assert model_endpoint.url.split("//")[1] not in r.text and "127.0.0.1" not in r.text
    admin = httpx.get(f"{served.url}/readyz", headers=bearer(served.keys["admin"]), timeout=30).json()["error"]
    assert admin["details"]["model_endpoints"][0]["url"] == model_endpoint.url  # the operator is told why


def test_readiness_is_reused_for_its_cache_time(served: Served, model_endpoint: CountingModelServer):
    httpx.get(f"{served.url}/readyz", timeout=30)
    before = model_endpoint.probes
    for _ in range(10):
        assert httpx.get(f"{served.url}/readyz", timeout=30).status_code == 503
    assert model_endpoint.probes == before  # ten calls, no new probe of the model endpoint


def test_the_api_docs_are_a_setting_and_off_in_production(served: Served, tmp_path, monkeypatch):
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert httpx.get(f"{served.url}{path}", timeout=30).status_code == 200  # the default: on
    off = served.settings.override(api={"docs": False})
    with TestClient(build_asgi(off, served.service)) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 404
        assert client.post("/v1/search", json={"query": QUESTION}, headers=bearer(served.keys["user"])).is_success
    monkeypatch.setenv("NURI_PROFILE", "production")
    monkeypatch.delenv("NURI_CONFIG", raising=False)
    assert load_settings().api.docs is False


def test_a_database_error_never_reaches_the_client_with_its_text(tmp_path, embedder):
    write_md(tmp_path / "corpus", "a.md", "안내", {"본문": "재택근무는 주 2일까지 할 수 있다."})
    gateway = {"enabled": True, "secret": GATEWAY_SECRET}
    settings = make_settings(tmp_path, ui={"enabled": False}, api={"auth": {"gateway": gateway}})
    index = NuriIndex.open(settings.retrieval, settings.index_dir, create=True, embedder=embedder)
    Syncer(index, settings.connectors, progress=False).sync([tmp_path / "corpus"])
    data = settings.resolve(settings.data_dir)
    try:
        with search_service(settings, index) as service, TestClient(build_asgi(settings, service)) as client:
            key = issue_key(service)
            assert client.post("/v1/search", json={"query": QUESTION}, headers=bearer(key)).status_code == 200
            # broken databases: the key store's record of gateway signatures, then the audit trail
            with sqlite3.connect(data / "nuri.db") as conn:
                conn.execute("ALTER TABLE gateway_signatures RENAME TO moved_away")
            body = json.dumps({"query": QUESTION}).encode()
            r = client.post("/v1/search", content=body, headers=signed(body))
            assert r.status_code == 503 and r.json()["error"]["code"] == "state_unavailable", r.text
            _no_database_text(r, "gateway_signatures", data)
            with sqlite3.connect(data / "audit.db") as conn:
                conn.execute("ALTER TABLE audit_records RENAME TO moved_away")
            r = client.post("/v1/search", json={"query": QUESTION}, headers=bearer(key))
            assert r.status_code == 503 and r.json()["error"]["code"] == "audit_unavailable", r.text
            _no_database_text(r, "audit_records", data)
    finally:
        index.close()


def _no_database_text(r: httpx.Response, table: str, data: Path) -> None:
    for leak in (table, "SELECT", "INSERT", "sqlite", "no such table", str(data)):
        assert leak.lower() not in r.text.lower(), (leak, r.text)
    assert "관리자" in r.json()["error"]["message"]
