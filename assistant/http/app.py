"""The HTTP API (FastAPI): the app factory only assembles the routers.

    POST /v1/ask               {"question", "history", "filters"} -> {"answer", "citations", "refused"}
    POST /v1/search            {"query", "top_k", "filters"} -> the items of `nuri search --json`
    POST /v1/chat/completions  OpenAI-compatible (also `stream: true`, server-sent events)
    GET  /v1/models            the OpenAI-style model list ("nuri")
    GET  /healthz, /readyz     liveness; readiness (503; the reasons only to an admin's key)
    GET  /metrics              Prometheus text (``api.metrics``; routes.metrics, assistant.telemetry)
    GET  /v1/usage             usage per agency/key/model/endpoint/day from the audit trail (admins)
    /ui                        the Gradio chat (mounted by ``ui.factory``), /docs the OpenAPI docs
                               (``api.docs``; off in the production profile)

Errors: :mod:`assistant.http.errors` (one mapping, one JSON shape); the OpenAPI description:
:mod:`assistant.http.openapi`. The caller (API keys or a
signed gateway identity; 401 otherwise, except /healthz and /readyz): :mod:`assistant.http.auth`.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from assistant.http.admission import Admission
from assistant.http.auth import Authenticator
from assistant.http.caller_gate import CallerFirst
from assistant.http.errors import install_error_handlers
from assistant.http.limits import BodySizeLimit
from assistant.http.openapi import describe
from assistant.http.request_id import RequestIds
from assistant.http.routes import answers, conversations, documents, feedback, health, metrics, openai, search, usage
from assistant.http.shutdown import Draining
from assistant.service import NuriService
from assistant.telemetry import telemetry_of
from configs.settings import Settings

log = logging.getLogger("nuri.api")


def create_app(settings: Settings, service: NuriService | None = None) -> FastAPI:
    """Build the app. A given ``service`` is used as is (opened and closed by its owner);
    otherwise one is made here and opened/closed with the app, which starts the bundled model
    server unless ``llm.base_urls`` points elsewhere."""
    owned = service is None
    svc = service or NuriService(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if owned:
            svc.open()
        try:
            yield
        finally:
            if owned:
                svc.close()

    docs = settings.api.docs
    app = FastAPI(
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        title="Nuri API",
        description="정부 기관 문서·법령 검색과 근거 기반 답변 (Korean government document assistant). "
        "OpenAI 호환 엔드포인트: POST /v1/chat/completions (응답의 `citations`, `refused` 필드에 근거).",
        version="0.2.0",
        lifespan=lifespan,
    )
    app.state.nuri = svc
    app.state.settings = settings
    app.state.auth = Authenticator(settings.api.auth, svc)
    install_error_handlers(app)
    # An explicit CORS policy (none allowed by default). Gradio's own would otherwise answer any
    # origin with credentials for the mounted chat; it defers to a parent app that has one.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.api.cors.allowed_origins),
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        allow_credentials=False,
    )
    for module in (health, search, answers, openai, conversations, feedback, documents, metrics, usage):
        app.include_router(module.router)
    app.openapi = lambda: describe(app, settings)  # type: ignore[method-assign]
    if settings.ui.enabled:
        _mount_ui(app, svc, settings)
    return app


def _mount_ui(app: FastAPI, svc: NuriService, settings: Settings) -> None:
    """Mount the chat UI through ``ui.factory`` (``module:function``); assistant/ never imports ui/."""
    module_name, _, func_name = settings.ui.factory.partition(":")
    try:
        mount = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as e:
        log.error("chat UI not mounted", extra={"factory": settings.ui.factory, "error": str(e)})
        return
    mount(app, svc, settings)


def build_asgi(settings: Settings, service: NuriService | None = None) -> RequestIds:
    """The app behind, outermost first: the request's id, metrics and span, the shutdown drain,
    the body's size and time limits, the caller check (authentication and rate limit from the
    headers, then the body read), the admission gates (what the server runs; the drain's
    ``.draining`` is set on SIGTERM by :func:`assistant.http.server.serve`)."""
    app = create_app(settings, service)
    admission = Admission(app, settings.api.admission)
    app.state.admission = admission
    known_first = CallerFirst(admission, app.state.auth)  # no slot, no body read, before the caller is known
    # Uploads (POST /v1/documents) have their own size and time limits: documents.max_upload_bytes per file.
    limits = BodySizeLimit(
        known_first, settings.api.max_body_bytes, settings.api.body_timeout_s, documents.body_limits(settings)
    )
    draining = Draining(limits)
    app.state.draining = draining
    return RequestIds(draining, app, telemetry_of(app), draining=draining)
