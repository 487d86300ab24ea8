"""What ``GET /metrics`` shows (Prometheus text format), per app: a :class:`Telemetry` holds its
own registry (tests build many apps in one process; the global default registry is never used).

Names as Prometheus renders them; the OpenTelemetry GenAI semantic conventions' names where one
exists (``gen_ai.client.token.usage`` -> ``gen_ai_client_token_usage``, with the convention's
bucket boundaries and attributes as labels)::

    nuri_http_requests_total{method, route, status}        route: the template (/v1/passages/{chunk_id}),
    nuri_http_request_duration_seconds{method, route}       ``unmatched`` for unknown paths
    nuri_answers_total{endpoint, outcome}                   answered | refused | error | abandoned (the caller left)
    nuri_searches_total{endpoint}
    nuri_guardrail_decisions_total{check, action}           the decisions reported with each answer
    nuri_audit_failures_total                               records the audit trail could not take
    nuri_admission_queue_depth{gate}, nuri_admission_in_flight{gate}, nuri_admission_shed_total{gate}
    nuri_index_points                                       the index's count (reused for INDEX_COUNT_CACHE_S)
    nuri_source_sync_age_seconds{source}                    fed through set_source_sync_age / watch_source_sync_ages
    gen_ai_client_token_usage{gen_ai_token_type, gen_ai_request_model, gen_ai_operation_name, gen_ai_provider_name}
    gen_ai_client_operation_duration_seconds{gen_ai_request_model, gen_ai_operation_name, gen_ai_provider_name, error_type}
    gen_ai_client_operation_time_to_first_chunk_seconds{gen_ai_request_model, gen_ai_operation_name, gen_ai_provider_name}

The time to the first token is measured here, on the client side, from sending the request to
the first streamed chunk: that is the convention's ``gen_ai.client.operation.time_to_first_chunk``
(``gen_ai.server.time_to_first_token`` is the model server's own measurement). Token counts are
the server's own (``stream_options.include_usage``); a server that reports none is counted as
nothing (the convention: no usage metric unless the count is readily available), never guessed.

How the numbers arrive: the HTTP middleware (:class:`assistant.http.request_id.RequestIds`)
counts requests; the service's answers and searches reach every :class:`Telemetry` watching that
service (:func:`watch_service`; :class:`AnswerWatch` notes one answer's model calls and times);
the admission gates, the index count and the sources' sync ages are read when scraped.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from assistant.answers import Answer, AnswerEvent, AnswerTrace
from assistant.llm_client import UsageMeter, metering
from assistant.request_scope import current_request_id
from assistant.tracing import Tracing, tracing_from
from guardrails.audit import AuditError
from guardrails.decisions import GuardrailDecision

if TYPE_CHECKING:
    from assistant.exchange import Exchange
    from assistant.sync_log import SyncLog
    from configs.settings import Settings
    from retrieval.index import NuriIndex


class Watched(Protocol):
    """What the metrics read of the service they watch (:class:`assistant.service.NuriService`;
    named by shape, so that the service may import this module)."""

    index: NuriIndex | None
    sync_log: SyncLog | None


log = logging.getLogger("nuri.telemetry")
# No ``*_created`` series beside every counter and histogram (the text format makes each a series
# of its own, doubling what Prometheus stores for nothing Nuri's dashboards read). Process-wide.
disable_created_metrics()

#: ``gen_ai.client.token.usage``'s bucket boundaries (the convention's).
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
#: ``gen_ai.client.operation.duration`` and ``time_to_first_chunk``'s (the convention's), in seconds.
GENAI_SECONDS_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
HTTP_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
#: ``gen_ai.provider.name`` by ``model_server.engine`` (no well-known value exists for either).
PROVIDERS = {"llamacpp": "llama.cpp", "vllm": "vllm"}
OUTCOMES = ("answered", "refused", "error", "abandoned")
#: Seconds ``nuri_index_points`` reuses the index's count (a scrape every few seconds never counts each time).
INDEX_COUNT_CACHE_S = 5.0


class Telemetry:
    """One app's metrics (and its traces, when ``api.telemetry.otlp_endpoint`` is set)."""

    def __init__(self, settings: Settings, service: Watched | None = None, state: Any = None) -> None:
        """``state``: the app's ``state``, where the admission gates are found when scraped."""
        self.settings = settings
        self.registry = CollectorRegistry()
        self.provider = PROVIDERS.get(settings.model_server.engine, settings.model_server.engine)
        self._service = weakref.ref(service) if service is not None else None
        self._state = state
        reg = self.registry
        self.http_requests = Counter(
            "nuri_http_requests", "HTTP requests by method, route template and status.",
            ["method", "route", "status"], registry=reg,
        )  # fmt: skip
        self.http_duration = Histogram(
            "nuri_http_request_duration_seconds", "HTTP request duration (to the last byte of the response).",
            ["method", "route"], buckets=HTTP_SECONDS_BUCKETS, registry=reg,
        )  # fmt: skip
        self.answers = Counter(
            "nuri_answers", "Answers by endpoint and outcome.", ["endpoint", "outcome"], registry=reg
        )
        self.searches = Counter("nuri_searches", "Searches by endpoint.", ["endpoint"], registry=reg)
        self.guardrail_decisions = Counter(
            "nuri_guardrail_decisions", "Guardrail decisions reported with answers, by check and action.",
            ["check", "action"], registry=reg,
        )  # fmt: skip
        self.audit_failures = Counter("nuri_audit_failures", "Audit records the trail could not take.", registry=reg)
        genai = ["gen_ai_request_model", "gen_ai_operation_name", "gen_ai_provider_name"]
        self.token_usage = Histogram(
            "gen_ai_client_token_usage", "Number of input and output tokens used (as the model server reported them).",
            ["gen_ai_token_type", *genai], buckets=TOKEN_BUCKETS, registry=reg,
        )  # fmt: skip
        self.operation_duration = Histogram(
            "gen_ai_client_operation_duration_seconds", "GenAI operation duration (one request to a model server).",
            [*genai, "error_type"], buckets=GENAI_SECONDS_BUCKETS, registry=reg,
        )  # fmt: skip
        self.time_to_first_chunk = Histogram(
            "gen_ai_client_operation_time_to_first_chunk_seconds",
            "Time from sending a generation request to its first streamed chunk.",
            genai, buckets=GENAI_SECONDS_BUCKETS, registry=reg,
        )  # fmt: skip
        self._sync_ages: dict[str, float] = {}
        self._sync_age_sources: list[Callable[[], Mapping[str, float]]] = []
        if service is not None:
            self._sync_age_sources.append(self._recorded_sync_ages)
        self._points: tuple[float, int | None] | None = None
        self._lock = threading.Lock()
        reg.register(_ScrapeTime(self))
        self.tracing: Tracing | None = tracing_from(settings.api.telemetry)
        if service is not None:
            watch_service(service, self)

    # -- what the app reports --------------------------------------------------------------
    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_duration.labels(method, route).observe(seconds)

    def searched(self, endpoint: str) -> None:
        self.searches.labels(endpoint).inc()

    def audit_failed(self) -> None:
        self.audit_failures.inc()

    def answer_ended(self, watch: AnswerWatch, outcome: str, decisions: Iterable[GuardrailDecision]) -> None:
        self.answers.labels(watch.endpoint, outcome).inc()
        for d in decisions:
            if d.acted:
                self.guardrail_decisions.labels(d.name, d.action).inc()
        for call in watch.meter.calls:
            labels = (call.model, call.operation, self.provider)
            self.operation_duration.labels(*labels, call.error or "").observe(call.duration_s)
            if call.first_chunk_s is not None and call.error is None:
                self.time_to_first_chunk.labels(*labels).observe(call.first_chunk_s)
            if call.tokens_in is not None:
                self.token_usage.labels("input", *labels).observe(call.tokens_in)
            if call.tokens_out is not None:
                self.token_usage.labels("output", *labels).observe(call.tokens_out)
        if self.tracing is not None:
            try:
                watch.write_spans(self.tracing, self.provider, outcome)
            except Exception:  # a span that cannot be written never fails an answer
                log.exception("answer spans not written")

    # -- hooks for what others feed --------------------------------------------------------
    def set_source_sync_age(self, source: str, seconds: float) -> None:
        """``nuri_source_sync_age_seconds{source}``: seconds since ``source`` was last synced
        (pushed; :meth:`watch_source_sync_ages` reads them when scraped instead)."""
        with self._lock:
            self._sync_ages[source] = float(seconds)

    def watch_source_sync_ages(self, read: Callable[[], Mapping[str, float]]) -> None:
        """Read the sources' sync ages (source -> seconds) at each scrape: e.g. from the sync
        records, ``now - last successful sync`` per source. Overrides pushed values of a source."""
        with self._lock:
            self._sync_age_sources.append(read)

    def _recorded_sync_ages(self) -> Mapping[str, float]:
        """Seconds since each synced source's last run without a failed file (the sync records,
        :mod:`assistant.sync_log`); a source that never had one is left out (its runs show in
        ``/v1/sources``)."""
        service = self._service() if self._service is not None else None
        log_store = getattr(service, "sync_log", None)
        if log_store is None:
            return {}
        return {s.root: s.seconds_since_success for s in log_store.sources() if s.seconds_since_success is not None}

    # -- exposition ------------------------------------------------------------------------
    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def close(self) -> None:
        """Flush and stop the traces' exporter (when the app stops)."""
        if self.tracing is not None:
            self.tracing.close()

    # -- read when scraped -----------------------------------------------------------------
    def index_points(self) -> int | None:
        """The index's point count, reused for :data:`INDEX_COUNT_CACHE_S`; None without an index."""
        ttl = INDEX_COUNT_CACHE_S
        now = time.monotonic()
        with self._lock:
            cached = self._points
        if cached is not None and now - cached[0] < ttl:
            return cached[1]
        service = self._service() if self._service is not None else None
        index = getattr(service, "index", None)
        points: int | None = None
        if index is not None:
            try:
                points = int(index.count())
            except Exception as e:  # noqa: BLE001 - a busy or gone index: no value this scrape
                log.warning("index count unavailable for metrics", extra={"reason": str(e)})
        with self._lock:
            self._points = (now, points)
        return points

    def sync_ages(self) -> dict[str, float]:
        with self._lock:
            ages, sources = dict(self._sync_ages), list(self._sync_age_sources)
        for read in sources:
            try:
                ages.update({str(k): float(v) for k, v in read().items()})
            except Exception as e:  # noqa: BLE001 - a failing reader loses its values, not the scrape
                log.warning("source sync ages unavailable", extra={"reason": str(e)})
        return ages

    def admission_gates(self) -> dict[str, Any]:
        admission = getattr(self._state, "admission", None) if self._state is not None else None
        return dict(getattr(admission, "gates", {}) or {})


class _ScrapeTime(Collector):
    """The values read when ``/metrics`` is scraped."""

    def __init__(self, telemetry: Telemetry) -> None:
        self._telemetry = weakref.ref(telemetry)

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        t = self._telemetry()
        if t is None:
            return []
        depth = GaugeMetricFamily(
            "nuri_admission_queue_depth", "Requests waiting for an admission gate.", labels=["gate"]
        )
        running = GaugeMetricFamily(
            "nuri_admission_in_flight", "Requests holding an admission gate's place.", labels=["gate"]
        )
        shed = CounterMetricFamily(
            "nuri_admission_shed", "Requests refused 503 by a full admission gate.", labels=["gate"]
        )
        for name, gate in sorted(t.admission_gates().items()):
            depth.add_metric([name], gate.waiting)
            running.add_metric([name], gate.running)
            shed.add_metric([name], gate.rejected)
        out: list[Metric] = [depth, running, shed]
        points = t.index_points()
        if points is not None:
            out.append(GaugeMetricFamily("nuri_index_points", "Points (passages) in the index.", value=points))
        ages = GaugeMetricFamily(
            "nuri_source_sync_age_seconds", "Seconds since each source was last synced.", labels=["source"]
        )
        for source, age in sorted(t.sync_ages().items()):
            ages.add_metric([source], age)
        out.append(ages)
        return out


# -- the service's side -------------------------------------------------------------------
_watchers: weakref.WeakKeyDictionary[Any, weakref.WeakSet[Telemetry]] = weakref.WeakKeyDictionary()
_watchers_lock = threading.Lock()


def watch_service(service: Watched, telemetry: Telemetry) -> None:
    """Count ``service``'s answers and searches in ``telemetry`` (as long as both live)."""
    with _watchers_lock:
        _watchers.setdefault(service, weakref.WeakSet()).add(telemetry)


def watchers_of(service: Watched) -> list[Telemetry]:
    with _watchers_lock:
        found = _watchers.get(service)
        return list(found) if found is not None else []


def search_done(service: Watched, endpoint: str) -> None:
    for t in watchers_of(service):
        t.searched(endpoint)


@contextmanager
def auditing(service: Watched) -> Iterator[None]:
    """Around an audit record that must be written: one the trail refuses is counted."""
    try:
        yield
    except AuditError:
        for t in watchers_of(service):
            t.audit_failed()
        raise


class AnswerWatch:
    """One answer as it runs through :meth:`assistant.service.NuriService._answer`: its model calls (noted by the
    model client while :meth:`metered` hands out the events), its times, and how it ended,
    reported once to every :class:`Telemetry` watching the service."""

    def __init__(self, service: Watched, exchange: Exchange) -> None:
        self.watchers = watchers_of(service)
        self.exchange = exchange
        self.endpoint = exchange.endpoint.value
        self.meter = UsageMeter()
        self.started_ns = time.time_ns()
        self.first_event_ns: int | None = None
        self.audit_ns: tuple[int, int] | None = None
        self.trace: AnswerTrace | None = None
        self._stream: Generator[AnswerEvent, None, None] | None = None
        self._ended = False

    @property
    def tokens(self) -> tuple[int | None, int | None]:
        """Input and output tokens of the answer's model calls, as their servers reported them."""
        return self.meter.tokens_in, self.meter.tokens_out

    def metered(self, events: Iterable[AnswerEvent]) -> Iterator[AnswerEvent]:
        """``events``, each one produced inside :func:`~assistant.llm_client.metering` (set and
        reset around each step: the steps of a streamed answer run in different contexts)."""
        self._stream = self._metered(iter(events))
        return self._stream

    def _metered(self, events: Iterator[AnswerEvent]) -> Generator[AnswerEvent, None, None]:
        try:
            while True:
                with metering(self.meter):
                    event = next(events, None)
                if event is None:
                    return
                if self.first_event_ns is None:
                    self.first_event_ns = time.time_ns()
                yield event
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # a model stream still open stops now (the server stops generating)

    @contextmanager
    def auditing(self) -> Iterator[None]:
        """Around the answer's audit record: its time (the ``audit`` span); a trail that refuses
        it ends the answer as an error."""
        started = time.time_ns()
        try:
            yield
        except BaseException as e:
            self.audit_ns = (started, time.time_ns())
            self.failed(e, audited=False)
            raise
        self.audit_ns = (started, time.time_ns())

    def finished(self, answer: Answer, trace: AnswerTrace | None) -> None:
        self.trace = trace
        self._end("refused" if answer.refused else "answered", answer.guardrails)

    def failed(self, error: BaseException, audited: bool = True) -> None:
        """The answer ended early: ``error`` (GeneratorExit: the caller left); ``audited``:
        False when the trail refused its record."""
        if self._stream is not None:
            with contextlib.suppress(Exception):  # the answer's own error is the one that counts
                self._stream.close()
        if not audited:
            for t in self.watchers:
                t.audit_failed()
        self._end("abandoned" if isinstance(error, GeneratorExit) else "error", [])

    def _end(self, outcome: str, decisions: Iterable[GuardrailDecision]) -> None:
        if self._ended:
            return
        self._ended = True
        decisions = list(decisions)
        for t in self.watchers:
            try:
                t.answer_ended(self, outcome, decisions)
            except Exception:  # metrics never fail an answer
                log.exception("answer metrics not recorded")

    def write_spans(self, tracing: Tracing, provider: str, outcome: str) -> None:
        ended = time.time_ns()
        calls = self.meter.calls
        # The model request that was writing when the first event came out generated the answer:
        # everything before it is the retrieval; without one, until the first event.
        retrieved = self.first_event_ns or ended
        for call in calls:
            call_end = call.started_ns + int(call.duration_s * 1e9)
            if call.started_ns <= retrieved <= call_end:
                retrieved = call.started_ns
                break
        trace = self.trace
        attrs: dict[str, Any] = {}
        if trace is not None:
            attrs = {"nuri.retrieval_ms": round(trace.retrieval_ms, 1), "nuri.passages": trace.passages}
        tracing.answer_spans(
            http=self.exchange.endpoint.http and current_request_id() is not None,
            endpoint=self.endpoint,
            request_id=self.exchange.request_id,
            started_ns=self.started_ns,
            retrieved_ns=retrieved,
            calls=calls,
            provider=provider,
            audit_ns=self.audit_ns,
            ended_ns=ended,
            outcome=outcome,
            retrieve_attributes=attrs,
        )


# -- the app's side -----------------------------------------------------------------------
def telemetry_of(app: Any) -> Telemetry:
    """The app's :class:`Telemetry` (``app.state.telemetry``), made at its first use and watching
    the app's service."""
    state = app.state
    with _apps_lock:
        existing = getattr(state, "telemetry", None)
        if isinstance(existing, Telemetry):
            return existing
        telemetry = Telemetry(state.settings, getattr(state, "nuri", None), state)
        state.telemetry = telemetry
        return telemetry


_apps_lock = threading.Lock()
