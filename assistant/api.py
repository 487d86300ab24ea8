"""The HTTP API (FastAPI).

    POST /v1/ask               {"question", "history", "filters"} -> {"answer", "citations", "refused"}
    POST /v1/search            {"query", "top_k", "filters"} -> the items of `nuri search --json`
    POST /v1/chat/completions  OpenAI-compatible (also `stream: true`, server-sent events); the
                               citations ride in the extra top-level fields "citations" and
                               "refused" (last chunk when streaming)
    GET  /v1/models            the OpenAI-style model list ("nuri")
    GET  /healthz              the process is up
    GET  /readyz               index and model answer (503 with the reason otherwise)
    /ui                        the Gradio chat (mounted by ``ui.factory``), /docs the OpenAPI docs

Errors are JSON ``{"error": {"code", "message", "message_en"}}`` with the right status:
400 bad query, 404 unknown path or model, 413 body too large, 422 malformed body, 502 the model
server refused the request, 503 index/model unavailable, 500 anything else (logged, never a stack trace to the client). The caller's
agency comes from a gateway-set header (``api.agency_header``, percent-encoded UTF-8);
without it, only public documents are searched.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.answers import Answer, AnswerEvent, HistoryTurn
from assistant.errors import (
    AssistantError,
    InvalidQuestionError,
    ModelResponseError,
    ModelServerError,
)
from assistant.errors import ModelUnavailableError as LLMUnavailableError
from assistant.service import NuriService, ServiceUnavailableError
from assistant.settings import Settings
from retrieval.errors import IndexUnavailableError, ModelUnavailableError, QueryError, RetrievalError
from retrieval.index import NuriIndex
from retrieval.types import Hit, Principal, SearchFilters

log = logging.getLogger("nuri.api")


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., min_length=1, description="검색어 (질문)")
    top_k: int | None = Field(None, ge=1, description="돌려받을 결과 수")
    filters: SearchFilters | None = None


MODEL_ID = "nuri"
MAX_MESSAGES = 50


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=8000, description="질문")
    history: list[HistoryTurn] = Field(default_factory=list, max_length=MAX_MESSAGES, description="이전 대화")
    filters: SearchFilters | None = None


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; unknown OpenAI parameters are accepted and ignored (generation settings
    are Nuri's configuration). ``filters`` is Nuri's extension (``extra_body`` in the client)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(..., description='"nuri"')
    messages: list[ChatMessageIn] = Field(..., min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
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


def _status_for(exc: Exception) -> tuple[int, str, str]:
    """HTTP status, error code and English message for an answering failure."""
    if isinstance(exc, (InvalidQuestionError, QueryError)):
        return 400, "invalid_question", "Invalid question"
    if isinstance(exc, ModelResponseError):
        return 502, "model_error", "The model server rejected the request"
    if isinstance(exc, (LLMUnavailableError, ModelServerError)):
        return 503, "model_unavailable", "Model server unavailable"
    if isinstance(exc, (ServiceUnavailableError, IndexUnavailableError, ModelUnavailableError)):
        return 503, "unavailable", "Index or model unavailable"
    return 500, "internal_error", "Internal error"


def _api_error(exc: Exception) -> ApiError:
    status, code, en = _status_for(exc)
    msg = str(exc) if status != 500 else "내부 오류가 발생했습니다"
    return ApiError(status, code, msg, en)


def split_messages(messages: list[ChatMessageIn]) -> tuple[str, list[HistoryTurn]]:
    """The last user message is the question; earlier user/assistant turns are the history.
    System/developer/tool messages are ignored: Nuri's own prompts govern the model."""
    if messages[-1].role != "user" or not messages[-1].text().strip():
        raise ApiError(
            400,
            "invalid_question",
            "마지막 메시지는 내용이 있는 user 메시지여야 합니다",
            "The last message must be a non-empty user message",
        )
    turns = [m for m in messages[:-1] if m.role in ("user", "assistant") and m.text().strip()]
    limit = HistoryTurn.model_fields["content"].metadata[0].max_length
    if any(len(m.text()) > limit for m in turns):
        raise ApiError(
            400,
            "invalid_history",
            f"이전 대화 메시지가 너무 깁니다 (메시지당 최대 {limit}자)",
            f"A previous message is too long (max {limit} characters each)",
        )
    history = [HistoryTurn(role=m.role, content=m.text()) for m in turns]  # type: ignore[arg-type]
    return messages[-1].text(), history


def _sse(data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {payload}\n\n".encode()


def create_app(
    settings: Settings,
    index: NuriIndex | None = None,
    service: NuriService | None = None,
) -> FastAPI:
    """Build the app. A given ``service`` is used as is (opened and closed by its owner);
    otherwise one is made here (on ``index`` when given) and opened/closed with the app,
    which starts the bundled model server unless ``llm.base_urls`` points elsewhere."""
    owned = service is None
    svc = service or NuriService(settings, index=index)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        if owned:
            svc.open()
        try:
            yield
        finally:
            if owned:
                svc.close()

    app = FastAPI(
        title="Nuri API",
        description="정부 기관 문서·법령 검색과 근거 기반 답변 (Korean government document assistant). "
        "OpenAI 호환 엔드포인트: POST /v1/chat/completions (응답의 `citations`, `refused` 필드에 근거).",
        version="0.2.0",
        lifespan=lifespan,
    )
    app.state.nuri = svc

    @app.exception_handler(ApiError)
    async def _api_error_handler(_: Request, exc: ApiError) -> JSONResponse:
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
        if svc.index is None:
            raise ApiError(
                503,
                "index_unavailable",
                f"색인을 사용할 수 없습니다: {svc.index_error or '열리지 않음'}",
                "Index unavailable",
            )
        return svc.index

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    def readyz() -> Any:
        reason = svc.not_ready_reason
        if reason is None and svc.index is not None:
            try:
                points = svc.index.count()
            except Exception as e:  # noqa: BLE001 - report the backend's failure as not ready
                reason = f"색인 확인 실패: {e}"
        if reason is not None or svc.index is None or svc.llm is None:
            return error_response(503, "not_ready", f"준비되지 않았습니다: {reason}", "Not ready")
        return {
            "status": "ready",
            "chunks": points,
            "embedder": svc.index.embedder.name,
            "model": svc.llm.model,
            "model_endpoints": [url for url, _ in svc.llm.endpoints],
        }

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

    @app.post("/v1/ask", response_model=Answer, tags=["answers"])
    def ask(body: AskRequest, request: Request) -> Answer:
        try:
            return svc.ask(body.question, body.history, body.filters, caller(request, settings))
        except (AssistantError, RetrievalError) as e:
            raise _api_error(e) from e

    @app.get("/v1/models", tags=["openai"])
    def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "nuri"}],
        }

    @app.post("/v1/chat/completions", tags=["openai"])
    def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
        if body.model not in (MODEL_ID, settings.llm.model):
            raise ApiError(
                404,
                "model_not_found",
                f"모델 '{body.model}'이(가) 없습니다. '{MODEL_ID}'를 쓰세요",
                f"The model '{body.model}' does not exist; use '{MODEL_ID}'",
            )
        question, history = split_messages(body.messages)
        principal = caller(request, settings)
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        try:
            events = svc.stream(question, history, body.filters, principal)
            first = next(events)  # retrieval + first model output: failures get a real status
        except (AssistantError, RetrievalError) as e:
            raise _api_error(e) from e
        if not body.stream:
            final = _drain(first, events)
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": MODEL_ID,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": final.answer}, "finish_reason": "stop"}
                ],
                "citations": [c.model_dump() for c in final.citations],
                "refused": final.refused,
            }
        return StreamingResponse(
            _chat_stream(cid, created, first, events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    def _drain(first: AnswerEvent, events: Iterator[AnswerEvent]) -> Answer:
        try:
            for event in _chain(first, events):
                if event.kind == "done" and event.answer is not None:
                    return event.answer
        except (AssistantError, RetrievalError) as e:
            raise _api_error(e) from e
        raise ApiError(500, "internal_error", "답변이 끝나지 않았습니다", "The answer did not finish")

    def _chat_stream(cid: str, created: int, first: AnswerEvent, events: Iterator[AnswerEvent]) -> Iterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            return _sse(
                {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": MODEL_ID,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    **extra,
                }
            )

        yield chunk({"role": "assistant", "content": ""})
        try:
            for event in _chain(first, events):
                if event.kind == "delta" and event.text:
                    yield chunk({"content": event.text})
                elif event.kind == "done" and event.answer is not None:
                    yield chunk(
                        {},
                        "stop",
                        citations=[c.model_dump() for c in event.answer.citations],
                        refused=event.answer.refused,
                    )
        except (AssistantError, RetrievalError) as e:
            status, code, en = _status_for(e)
            log.warning("stream failed", extra={"code": code, "error": str(e)})
            yield _sse({"error": {"code": code, "message": str(e), "message_en": en, "status": status}})
        except Exception:  # noqa: BLE001 - the stream has started: report, never a stack trace
            log.exception("stream failed unexpectedly")
            yield _sse({"error": {"code": "internal_error", "message": "내부 오류가 발생했습니다",
                                  "message_en": "Internal error", "status": 500}})  # fmt: skip
        yield _sse("[DONE]")

    if settings.ui.enabled:
        _mount_ui(app, svc, settings)
    return app


def _chain(first: AnswerEvent, rest: Iterator[AnswerEvent]) -> Iterator[AnswerEvent]:
    yield first
    yield from rest


def _mount_ui(app: FastAPI, svc: NuriService, settings: Settings) -> None:
    """Mount the chat UI through ``ui.factory`` (``module:function``); assistant/ never imports ui/."""
    module_name, _, func_name = settings.ui.factory.partition(":")
    try:
        mount = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as e:
        log.error("chat UI not mounted", extra={"factory": settings.ui.factory, "error": str(e)})
        return
    mount(app, svc, settings)


def build_asgi(
    settings: Settings, index: NuriIndex | None = None, service: NuriService | None = None
) -> ASGIApp:
    """The app wrapped in the body-size guard (what the server runs)."""
    return BodySizeLimit(create_app(settings, index, service), settings.api.max_body_bytes)
