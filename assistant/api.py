"""The HTTP API (FastAPI).

    POST /v1/search   {"query", "top_k", "filters"} -> the items of `nuri search --json`
    GET  /healthz     the process is up
    GET  /readyz      the index and models are loaded (503 with the reason otherwise)

Errors are JSON ``{"error": {"code", "message", "message_en"}}`` with the right status:
400 bad query, 404 unknown path, 413 body too large, 422 malformed body, 503 index/model
unavailable, 500 anything else (logged, never a stack trace to the client). The caller's
agency comes from a gateway-set header (``api.agency_header``, percent-encoded UTF-8);
without it, only public documents are searched.
"""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.settings import Settings
from retrieval.errors import IndexBusyError, IndexUnavailableError, ModelUnavailableError, QueryError
from retrieval.index import NuriIndex
from retrieval.types import Hit, Principal, SearchFilters

log = logging.getLogger("nuri.api")


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., min_length=1, description="검색어 (질문)")
    top_k: int | None = Field(None, ge=1, description="돌려받을 결과 수")
    filters: SearchFilters | None = None


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, message_en: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.message_en = status, code, message, message_en


def error_response(status: int, code: str, message: str, message_en: str) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message, "message_en": message_en}},
    )


class BodySizeLimit:
    """Rejects request bodies over ``max_bytes`` with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise ApiError(413, "payload_too_large", *self._texts())
            return msg

        try:
            await self.app(scope, limited, send)
        except ApiError:
            await self._reject(scope, receive, send)

    def _texts(self) -> tuple[str, str]:
        return (
            f"요청 본문이 너무 큽니다 (최대 {self.max_bytes}바이트)",
            f"Request body too large (max {self.max_bytes} bytes)",
        )

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        await error_response(413, "payload_too_large", *self._texts())(scope, receive, send)


def caller(request: Request, settings: Settings) -> Principal:
    """The caller's agency from the gateway header; HTTP headers are ASCII, so a Korean agency
    name arrives percent-encoded UTF-8 (``%EB%88%84%EB%A6%AC...``) and is decoded here."""
    raw = request.headers.get(settings.api.agency_header, "").strip()
    return Principal(agency=unquote(raw) or None)


class AppState:
    """The loaded index, or why it could not be loaded."""

    def __init__(self) -> None:
        self.index: NuriIndex | None = None
        self.not_ready_reason: str | None = "시작 중입니다"
        self.lock = threading.Lock()


def create_app(settings: Settings, index: NuriIndex | None = None) -> FastAPI:
    """Build the app. With ``index`` given, it is used as is (and not closed by the app)."""
    state = AppState()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        owned = index is None
        if index is not None:
            state.index, state.not_ready_reason = index, None
        else:
            try:
                state.index = NuriIndex.open(
                    settings.retrieval, settings.resolve(settings.index_dir), create=False
                )
                state.not_ready_reason = None
            except (IndexUnavailableError, IndexBusyError, ModelUnavailableError) as e:
                state.not_ready_reason = str(e)
                log.error("index not ready", extra={"reason": str(e)})
        yield
        if owned and state.index is not None:
            state.index.close()

    app = FastAPI(
        title="Nuri API",
        description="정부 기관 문서·법령 검색과 근거 기반 답변 (Korean government document assistant)",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.nuri = state

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.message_en)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        first = errs[0] if errs else {}
        loc = ".".join(str(x) for x in first.get("loc", ()) if x != "body") or "body"
        msg = first.get("msg", "invalid")
        return error_response(
            422, "invalid_request", f"요청 형식이 올바르지 않습니다: {loc}: {msg}", f"Invalid request: {loc}: {msg}"
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(404, "not_found", "없는 경로입니다", "Not found")
        if exc.status_code == 405:
            return error_response(405, "method_not_allowed", "허용되지 않는 메서드입니다", "Method not allowed")
        return error_response(exc.status_code, "http_error", str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "내부 오류가 발생했습니다", "Internal error")

    def _ready_index() -> NuriIndex:
        if state.index is None:
            raise ApiError(
                503,
                "index_unavailable",
                f"색인을 사용할 수 없습니다: {state.not_ready_reason}",
                "Index unavailable",
            )
        return state.index

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    def readyz() -> Any:
        if state.index is None:
            return error_response(
                503, "not_ready", f"준비되지 않았습니다: {state.not_ready_reason}", "Not ready"
            )
        try:
            points = state.index.count()
        except Exception as e:  # noqa: BLE001 - report the backend's failure as not ready
            return error_response(503, "not_ready", f"색인 확인 실패: {e}", "Index check failed")
        return {"status": "ready", "chunks": points, "embedder": state.index.embedder.name}

    @app.post("/v1/search", response_model=list[Hit], tags=["search"])
    def search(body: SearchRequest, request: Request) -> list[Hit]:
        idx = _ready_index()
        principal = caller(request, settings)
        try:
            return idx.search(body.query, top_k=body.top_k, filters=body.filters, principal=principal)
        except QueryError as e:
            raise ApiError(400, "invalid_query", str(e), "Invalid query") from e
        except (IndexUnavailableError, ModelUnavailableError) as e:
            raise ApiError(503, "index_unavailable", str(e), "Index or model unavailable") from e

    return app


def build_asgi(settings: Settings, index: NuriIndex | None = None) -> ASGIApp:
    """The app wrapped in the body-size guard (what the server runs)."""
    return BodySizeLimit(create_app(settings, index), settings.api.max_body_bytes)
