"""The outermost layer of the API: every request gets an id, and is counted and timed.

:class:`RequestIds` wraps everything (the shutdown drain included, so that a 503
``shutting_down`` is counted and carries an id too):

- the id: a new uuid4 hex for every request (a caller's own ``X-Request-ID``, when it is a safe
  token, :data:`~assistant.request_scope.REQUEST_ID_PATTERN`, is echoed as
  ``X-Client-Request-ID`` and logged beside it: the id is the audit record's, unique and never
  the caller's choice); set in
  :mod:`assistant.request_scope` for everything that runs for the request (worker threads and a
  streamed answer's steps run in copies of this context), sent back as ``X-Request-ID`` on every
  response, quoted by every error body (``error.request_id``), every log record of the request
  and the audit record of the exchange it started (an answer's ``audit_id``);
- the metrics: ``nuri_http_requests_total{method, route, status}`` and
  ``nuri_http_request_duration_seconds{method, route}`` (to the response's last byte), where
  ``route`` is the route's template (``/v1/conversations/{conversation_id}``; a mounted app, the
  chat, by its mount path; ``unmatched`` for anything else), resolved before the request runs,
  so that a request refused before routing (401, 429, 413, 503) is labelled with its route too;
- the request's trace span, when traces are on (:mod:`assistant.tracing`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.http.shutdown import Draining
from assistant.request_scope import client_request_id, install_log_filter, new_request_id, request_id_var
from assistant.telemetry import Telemetry

log = logging.getLogger("nuri.api")

HEADER = "X-Request-ID"
CLIENT_HEADER = "X-Client-Request-ID"
UNMATCHED = "unmatched"


class RequestIds:
    """ASGI middleware: the request's id, metrics and span (see the module docstring)."""

    def __init__(self, app: ASGIApp, routes_of: Any, telemetry: Telemetry, draining: Draining | None = None) -> None:
        """``routes_of``: the FastAPI app whose routes name the requests (its ``router.routes``);
        ``draining``: the shutdown drain behind this layer (what the server's signal handler drains)."""
        self.app, self.telemetry, self.draining = app, telemetry, draining
        self.routes = RouteNames(routes_of)
        install_log_filter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        client_id = client_request_id(Headers(scope=scope).get(HEADER))
        method = scope.get("method", "GET")
        route = self.routes.name(scope)
        status = 500  # what the server answers when the app fails before its response starts
        started = time.perf_counter()
        token = request_id_var().set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        if client_id is not None:
            log.info("client request id", extra={"client_request_id": client_id})

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                headers[HEADER] = request_id
                if client_id is not None:
                    headers[CLIENT_HEADER] = client_id
            await send(message)

        tracing = self.telemetry.tracing
        span_cm: AbstractContextManager[Any] = (
            tracing.request_span(method, route, request_id) if tracing is not None else nullcontext()
        )
        try:
            with span_cm as span:
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    if span is not None and tracing is not None:
                        tracing.end_request_span(span, status)
        finally:
            request_id_var().reset(token)
            try:
                self.telemetry.http_request(method, route, status, time.perf_counter() - started)
            except Exception:  # metrics never fail a request
                log.exception("request metrics not recorded")


class RouteNames:
    """The route template a request goes to, from the app's own routes (``unmatched`` when none)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def name(self, scope: Scope) -> str:
        probe = {**scope, "type": "http"}
        partial: str | None = None
        for route, prefix in _flat(self.app.router.routes, ""):
            if prefix:
                path = scope.get("path", "")
                if not path.startswith(prefix):
                    continue
                probe = {**scope, "path": path[len(prefix) :] or "/"}
            match, _ = route.matches(probe)
            if match is Match.FULL:
                return prefix + _template(route)
            if match is Match.PARTIAL and partial is None:  # the path exists, not with this method (405)
                partial = prefix + _template(route)
            probe = {**scope, "type": "http"}
        return partial or UNMATCHED


def _flat(routes: list[BaseRoute], prefix: str) -> Iterator[tuple[BaseRoute, str]]:
    """The routes, those of included routers in their place (FastAPI keeps an included router
    as one entry: its ``original_router``, under its include prefix)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _flat(inner.routes, prefix + str(getattr(context, "prefix", "") or ""))
        else:
            yield route, prefix


def _template(route: BaseRoute) -> str:
    if isinstance(route, Mount):
        return route.path or "/"
    return str(getattr(route, "path", UNMATCHED))
