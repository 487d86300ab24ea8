"""``GET /metrics``: the app's metrics in the Prometheus text format (:mod:`assistant.telemetry`).

``api.metrics.enabled: false`` answers 404 as for any unknown path. With
``api.metrics.require_key`` (on in the production profile) only a caller with the ``metrics``
role (a Prometheus scraper's key, sent as a bearer token) or ``admin`` may read it: 401 without a
valid key, 403 with another role; off, it is open like ``/healthz``. Outside ``/v1/``, it passes
no admission gate and no body is read for it (:class:`~assistant.http.caller_gate.CallerFirst`
checks callers of ``/v1/*`` only: the key, when required, is checked here).

The router's lifespan makes the app's :class:`~assistant.telemetry.Telemetry` when the app
starts (so that the service's answers are counted from the first one) and flushes its traces
when it stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from assistant.http.auth import caller
from assistant.http.errors import ApiError, error_responses
from assistant.telemetry import telemetry_of
from configs.settings import Settings

#: Roles that may read ``/metrics`` when a key is required (``admin`` holds every role).
METRICS_ROLE = "metrics"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    telemetry = telemetry_of(app)
    try:
        yield
    finally:
        await anyio.to_thread.run_sync(telemetry.close)  # exports the traces still queued


router = APIRouter(tags=["ops"], lifespan=lifespan)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus 텍스트 형식 / the Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **error_responses("unauthenticated", "forbidden", "not_found", "rate_limited", "state_unavailable",
                          "shutting_down"),
    },
)  # fmt: skip
def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not settings.api.metrics.enabled:
        raise ApiError("not_found", "없는 경로입니다")
    if settings.api.metrics.require_key:
        who = caller(request)  # 401 (or 429) without a valid key
        if not who.has_role(METRICS_ROLE):
            raise ApiError(
                "forbidden",
                f"지표(/metrics)는 '{METRICS_ROLE}' 또는 'admin' 역할의 키로만 볼 수 있습니다",
                f"/metrics needs a key with the '{METRICS_ROLE}' or 'admin' role",
            )
    return Response(telemetry_of(request.app).exposition(), media_type=CONTENT_TYPE_LATEST)
