"""One id per request, quoted everywhere it matters: the response's ``X-Request-ID``, the error
body's ``error.request_id`` (a stream's error event too), the request's log records and the audit
record of the answer it gave (its ``audit_id``). Through the real middleware (``build_asgi`` under
uvicorn), the model a local OpenAI-protocol server."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from model_stub import StubModel
from security.served_api import QUESTION, Served, served_api
from test_audit_fail_closed import sqlite_write_lock

HEX_ID = re.compile(r"[0-9a-f]{32}")


class Collected(logging.Handler):
    """Every record that reaches the root logger's handlers (as the server's log handler sees it)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def logs() -> Iterator[Collected]:
    """Installed before the app is built (the app puts its request-id filter on the handlers there)."""
    handler = Collected()
    root, nuri = logging.getLogger(), logging.getLogger("nuri")
    level = nuri.level
    root.addHandler(handler)
    nuri.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        nuri.setLevel(level)


@pytest.fixture(scope="module")
def model() -> Iterator[StubModel]:
    with StubModel() as stub:
        yield stub


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, embedder: Any, model: StubModel, logs: Collected
) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("request-ids")
    with served_api(
        root, embedder, model_url=model.url, answer={"generation": "model"}, audit={"timeout_s": 0.5},
        ui={"enabled": False},
    ) as s:  # fmt: skip
        yield s


def auth(served: Served, role: str = "user") -> dict[str, str]:
    return {"Authorization": f"Bearer {served.keys[role]}"}


def audit_record(served: Served, request_id: str) -> Any:
    assert served.service.audit is not None
    found = [r for r in served.service.audit.records() if r.request_id == request_id]
    assert len(found) == 1, found
    return found[0]


def test_an_error_response_and_its_body_quote_one_request_id(served: Served) -> None:
    refused = httpx.post(served.url + "/v1/search", json={"query": "재택근무"})
    assert refused.status_code == 401
    rid = refused.headers["X-Request-ID"]
    assert HEX_ID.fullmatch(rid) and refused.json()["error"]["request_id"] == rid

    own = httpx.post(served.url + "/v1/search", json={"query": "재택근무"}, headers={"X-Request-ID": "gw-7f.2_a"})
    assert (
        HEX_ID.fullmatch(own.headers["X-Request-ID"])
        and own.json()["error"]["request_id"] == own.headers["X-Request-ID"]
    )
    assert own.headers["X-Client-Request-ID"] == "gw-7f.2_a"  # the caller's own id is echoed, never used as ours

    for unsafe in ("a" * 65, "id with spaces", "<script>", "한글"):
        replaced = httpx.get(served.url + "/no/such/path", headers={"X-Request-ID": unsafe.encode()})
        assert replaced.status_code == 404
        assert HEX_ID.fullmatch(replaced.headers["X-Request-ID"])
        assert replaced.json()["error"]["request_id"] == replaced.headers["X-Request-ID"]

    invalid = httpx.post(served.url + "/v1/ask", json={"question": "   "}, headers=auth(served))
    assert invalid.status_code == 400 and invalid.json()["error"]["code"] == "invalid_question"
    assert invalid.json()["error"]["request_id"] == invalid.headers["X-Request-ID"]
    ok = httpx.get(served.url + "/healthz")
    assert HEX_ID.fullmatch(ok.headers["X-Request-ID"])  # every response, not only errors


def test_an_answer_its_response_and_its_audit_record_share_one_id(served: Served) -> None:
    plain = httpx.post(served.url + "/v1/ask", json={"question": QUESTION}, headers=auth(served), timeout=60)
    assert plain.status_code == 200, plain.text
    answer = plain.json()
    assert answer["refused"] is False and answer["audit_id"] == plain.headers["X-Request-ID"]
    record = audit_record(served, answer["audit_id"])
    assert record.endpoint == "/v1/ask" and record.agency == "나부처"

    body = {"question": QUESTION, "stream": True}
    with httpx.stream("POST", served.url + "/v1/ask", json=body, headers=auth(served), timeout=60) as streamed:
        events = [json.loads(x[6:]) for x in streamed.iter_lines() if x.startswith("data: {")]
    done = [e for e in events if e["type"] == "done"]
    assert done and done[0]["answer"]["audit_id"] == streamed.headers["X-Request-ID"]
    assert audit_record(served, streamed.headers["X-Request-ID"]).endpoint == "/v1/ask"

    chat = {"model": "nuri", "messages": [{"role": "user", "content": QUESTION}]}
    own = httpx.post(
        served.url + "/v1/chat/completions",
        json=chat,
        headers={**auth(served), "X-Request-ID": "client-42"},
        timeout=60,
    )
    assert own.status_code == 200 and own.headers["X-Client-Request-ID"] == "client-42"
    assert audit_record(served, own.headers["X-Request-ID"]).endpoint == "/v1/chat/completions"
    assert not [x for x in served.service.audit.records() if x.request_id == "client-42"]  # type: ignore[union-attr]

    search = httpx.post(served.url + "/v1/search", json={"query": "재택근무"}, headers=auth(served))
    assert audit_record(served, search.headers["X-Request-ID"]).endpoint == "/v1/search"


def test_a_stream_that_fails_after_it_started_quotes_its_request_id_in_the_error_event(
    served: Served, model: StubModel, logs: Collected
) -> None:
    """The id is read inside the stream's generator (worker threads, after the route returned)."""
    audit_db = served.settings.resolve(served.settings.data_dir) / "audit.db"
    model.hold, model.go = True, type(model.go)()
    try:
        lines: list[str] = []
        body = {"question": QUESTION, "stream": True}
        with httpx.stream("POST", served.url + "/v1/ask", json=body, headers=auth(served), timeout=60) as r:
            assert r.status_code == 200
            stream = r.iter_lines()
            for line in stream:
                lines.append(line)
                if "주 2일" in line:
                    break
            with sqlite_write_lock(audit_db):
                model.go.set()
                lines += list(stream)
    finally:
        model.hold = False
    rid = r.headers["X-Request-ID"]
    events = [json.loads(x[6:]) for x in lines if x.startswith("data: {")]
    assert events[-1]["type"] == "error" and events[-1]["error"]["code"] == "audit_unavailable"
    assert events[-1]["error"]["request_id"] == rid
    failed = [x for x in logs.records if x.getMessage() == "stream failed"]
    assert failed and getattr(failed[-1], "request_id", None) == rid
    metrics = httpx.get(served.url + "/metrics").text.splitlines()
    assert "nuri_audit_failures_total 1.0" in metrics
    assert 'nuri_answers_total{endpoint="/v1/ask",outcome="error"} 1.0' in metrics


def test_the_log_records_of_a_request_carry_its_id(served: Served, logs: Collected) -> None:
    before = len(logs.records)
    r = httpx.post(served.url + "/v1/ask", json={"question": QUESTION}, headers=auth(served), timeout=60)
    assert r.status_code == 200
    rid = r.headers["X-Request-ID"]
    mine = [x for x in logs.records[before:] if getattr(x, "request_id", None) == rid]
    assert any(x.name == "nuri.orchestrator" and x.getMessage() == "answer" for x in mine), [
        (x.name, x.getMessage(), getattr(x, "request_id", None)) for x in logs.records[before:]
    ]
    outside = logging.LogRecord("nuri.test", logging.INFO, __file__, 1, "outside a request", None, None)
    logs.handle(outside)  # the filter runs on the handler: a record outside any request gets no id
    assert not hasattr(outside, "request_id")
