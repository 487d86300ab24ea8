"""Optional OpenTelemetry traces, sent over OTLP/HTTP (protobuf) to ``api.telemetry.otlp_endpoint``.

Off unless that endpoint is set: then :func:`tracing_from` returns None and nothing of
OpenTelemetry's SDK is set up (no provider, no exporter, no export thread). With it, each app
has its own :class:`Tracing` (a ``TracerProvider`` with a batch processor; never the global
provider, so that several apps in one process keep their spans apart) and:

- one span per HTTP request, ``METHOD route`` (the route's template, never the raw path), with
  the request id (``nuri.request_id``) and the response status
  (:class:`assistant.http.request_id.RequestIds`);
- inside an answer, written once it ended (:meth:`Tracing.answer_spans`, from the times
  :class:`assistant.telemetry.AnswerWatch` noted): ``retrieve`` (everything before the model
  wrote: the question's checks, a follow-up's rewrite, retrieval, the passages' screening),
  ``generate`` per model request with the OpenTelemetry GenAI attributes
  (``gen_ai.operation.name``, ``gen_ai.request.model``, ``gen_ai.provider.name``,
  ``gen_ai.usage.input_tokens`` / ``output_tokens`` as the server reported them) and ``audit``
  (writing the record). An API answer's spans are children of its request's span; the chat's
  hang under an ``answer`` span of their own.

:meth:`Tracing.close` flushes what is still queued; the app calls it when it stops.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from assistant.http.settings import TelemetrySettings

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

    from assistant.llm_client import ModelCall

log = logging.getLogger("nuri.tracing")

Attributes = Mapping[str, str | bool | int | float | Sequence[str]]


def tracing_from(settings: TelemetrySettings) -> Tracing | None:
    """Traces to ``settings.otlp_endpoint``, or None (nothing set up) without one."""
    if not (settings.otlp_endpoint or "").strip():
        return None
    return Tracing(settings)


class Tracing:
    """One app's tracer provider, batch span processor and OTLP/HTTP exporter."""

    def __init__(self, settings: TelemetrySettings, exporter: Any = None) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.settings = settings
        self.provider: TracerProvider = TracerProvider(
            resource=Resource.create({"service.name": settings.service_name})
        )
        self.exporter = exporter or OTLPSpanExporter(endpoint=settings.otlp_endpoint)
        self.provider.add_span_processor(BatchSpanProcessor(self.exporter))
        self.tracer = self.provider.get_tracer("nuri")
        self._closed = False
        log.info("traces exported over OTLP", extra={"endpoint": settings.otlp_endpoint})

    @contextmanager
    def request_span(self, method: str, route: str, request_id: str) -> Iterator[Span]:
        """The span of one HTTP request, current while the request runs (what runs for it, in
        worker threads and streamed answers too, sees it as the parent)."""
        from opentelemetry.trace import SpanKind

        attributes = {"http.request.method": method, "http.route": route, "nuri.request_id": request_id}
        with self.tracer.start_as_current_span(
            f"{method} {route}", kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            yield span

    @staticmethod
    def end_request_span(span: Span, status: int) -> None:
        from opentelemetry.trace import Status, StatusCode

        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))

    def answer_spans(
        self,
        *,
        http: bool,
        endpoint: str,
        request_id: str,
        started_ns: int,
        retrieved_ns: int,
        calls: Sequence[ModelCall],
        provider: str,
        audit_ns: tuple[int, int] | None,
        ended_ns: int,
        outcome: str,
        retrieve_attributes: Attributes,
    ) -> None:
        """The spans of one answer, written after it ended with the times noted while it ran."""
        from opentelemetry import context as otel_context
        from opentelemetry import trace

        base = {"nuri.request_id": request_id, "nuri.endpoint": endpoint}
        parent: Context | None = None  # the current context: the API request's span
        root = None
        if not http:  # the chat: its own root span, whatever context Gradio's task carries
            root = self.tracer.start_span(
                "answer",
                context=otel_context.Context(),
                start_time=started_ns,
                attributes={**base, "nuri.outcome": outcome},
            )
            parent = trace.set_span_in_context(root)
        self._span("retrieve", parent, started_ns, retrieved_ns, {**base, **retrieve_attributes})
        for call in calls:
            attrs: dict[str, Any] = {
                **base,
                "gen_ai.operation.name": call.operation,
                "gen_ai.request.model": call.model,
                "gen_ai.provider.name": provider,
                **_server(call.url),
            }
            if call.tokens_in is not None:
                attrs["gen_ai.usage.input_tokens"] = call.tokens_in
            if call.tokens_out is not None:
                attrs["gen_ai.usage.output_tokens"] = call.tokens_out
            if call.first_chunk_s is not None:
                attrs["nuri.time_to_first_chunk_s"] = round(call.first_chunk_s, 4)
            if call.error is not None:
                attrs["error.type"] = call.error
            end = call.started_ns + int(call.duration_s * 1e9)
            self._span("generate", parent, call.started_ns, end, attrs, error=call.error is not None)
        if audit_ns is not None:
            self._span("audit", parent, audit_ns[0], audit_ns[1], base, error=outcome == "error")
        if root is not None:
            root.end(end_time=ended_ns)

    def _span(
        self, name: str, parent: Context | None, start_ns: int, end_ns: int, attributes: Attributes, error: bool = False
    ) -> None:
        from opentelemetry.trace import Status, StatusCode

        span = self.tracer.start_span(name, context=parent, start_time=start_ns, attributes=attributes)
        if error:
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=max(end_ns, start_ns))

    def flush(self, timeout_ms: int = 5000) -> bool:
        return bool(self.provider.force_flush(timeout_ms))

    def close(self) -> None:
        """Export what is queued and stop the export thread (once)."""
        if self._closed:
            return
        self._closed = True
        self.provider.shutdown()


def _server(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    out: dict[str, Any] = {}
    if parts.hostname:
        out["server.address"] = parts.hostname
        out["server.port"] = parts.port or (443 if parts.scheme == "https" else 80)
    return out
