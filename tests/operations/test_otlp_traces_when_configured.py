"""Traces over OTLP/HTTP only when ``api.telemetry.otlp_endpoint`` is set: a collector stand-in
(a small HTTP server on 127.0.0.1 taking the protobuf POSTs to ``/v1/traces``) receives, when the
app stops, the request's span and the answer's ``retrieve``, ``generate`` (GenAI attributes) and
``audit`` spans under it; without an endpoint nothing of the SDK is set up."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from model_stub import MODEL, StubModel
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from security.served_api import QUESTION, served_api

from assistant.http.app import create_app
from assistant.telemetry import telemetry_of
from assistant.tracing import tracing_from
from configs.settings import load_settings


class Collector(ThreadingHTTPServer):
    """Takes OTLP/HTTP protobuf exports at ``/v1/traces``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.exports: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/traces"

    def __enter__(self) -> Collector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Collector

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        assert self.headers["Content-Type"] == "application/x-protobuf"
        request = ExportTraceServiceRequest()
        request.ParseFromString(raw)
        self.server.paths.append(self.path)
        self.server.exports.append(request)
        body = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def plain(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


def spans_of(collector: Collector) -> list[dict[str, Any]]:
    out = []
    for export in collector.exports:
        for rs in export.resource_spans:
            resource = {a.key: plain(a.value) for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for span in ss.spans:
                    out.append({
                        "name": span.name, "trace": span.trace_id.hex(), "id": span.span_id.hex(),
                        "parent": span.parent_span_id.hex(), "kind": span.kind, "service": resource.get("service.name"),
                        "attributes": {a.key: plain(a.value) for a in span.attributes},
                        "start": span.start_time_unix_nano, "end": span.end_time_unix_nano,
                    })  # fmt: skip
    return out


@pytest.fixture()
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


def test_an_answer_is_traced_under_its_request_and_flushed_when_the_app_stops(
    tmp_path: Path, embedder: Any, collector: Collector
) -> None:
    telemetry = {"otlp_endpoint": collector.endpoint, "service_name": "nuri-test"}
    with StubModel(usage=(57, 19)) as model, served_api(
        tmp_path, embedder, model_url=model.url, answer={"generation": "model"}, ui={"enabled": False},
        api={"telemetry": telemetry},
    ) as served:  # fmt: skip
        r = httpx.post(
            served.url + "/v1/ask", json={"question": QUESTION},
            headers={"Authorization": f"Bearer {served.keys['user']}", "X-Request-ID": "trace-me-1"}, timeout=60,
        )  # fmt: skip
        assert r.status_code == 200 and r.json()["audit_id"] == r.headers["X-Request-ID"]
        rid = r.headers["X-Request-ID"]
        assert not collector.exports  # batched: nothing sent yet; the app's stop flushes it
    spans = spans_of(collector)
    assert set(collector.paths) == {"/v1/traces"}
    request = next(s for s in spans if s["name"] == "POST /v1/ask")
    assert request["service"] == "nuri-test" and request["kind"] == 2  # SPAN_KIND_SERVER
    assert request["attributes"]["nuri.request_id"] == rid
    assert request["attributes"]["http.route"] == "/v1/ask"
    assert request["attributes"]["http.response.status_code"] == 200
    inside = {s["name"]: s for s in spans if s["parent"] == request["id"]}
    assert {"retrieve", "generate", "audit"} <= set(inside), [s["name"] for s in spans]
    for span in inside.values():
        assert span["trace"] == request["trace"] and span["attributes"]["nuri.request_id"] == rid
        assert request["start"] <= span["start"] <= span["end"] <= request["end"]
    generate = inside["generate"]["attributes"]
    assert generate["gen_ai.operation.name"] == "text_completion" and generate["gen_ai.request.model"] == MODEL
    assert generate["gen_ai.provider.name"] == "llama.cpp"
    assert (generate["gen_ai.usage.input_tokens"], generate["gen_ai.usage.output_tokens"]) == (57, 19)
    assert inside["retrieve"]["end"] <= inside["generate"]["start"] <= inside["audit"]["start"]
    assert "nuri.retrieval_ms" in inside["retrieve"]["attributes"]


def test_without_an_endpoint_no_tracer_or_exporter_is_set_up() -> None:
    settings = load_settings()
    assert settings.api.telemetry.otlp_endpoint is None
    assert tracing_from(settings.api.telemetry) is None
    threads = {t.name for t in threading.enumerate()}
    app = create_app(settings.override(ui={"enabled": False}))
    assert telemetry_of(app).tracing is None
    started = {t.name for t in threading.enumerate()} - threads
    assert not any("Otel" in name or "Span" in name for name in started), started
