"""The one table from error code to HTTP status, shared by every endpoint (and the error events
of a stream that has already started).

Every deliberate error is a :class:`~connectors.errors.NuriError` with a stable ``code``; its
status is looked up here (:data:`ERROR_CODES`). Every error body is
``{"error": {"code", "message", "message_en", "request_id"}}``: ``message`` is Korean (shown to
users), ``message_en`` English, ``request_id`` the request's id (its ``X-Request-ID`` header, the
``request_id`` of its audit record and log lines: quote it when reporting a problem); a 500 never
carries the exception text or a stack trace (it is logged).
The error table of ``docs/api.md`` is generated from :data:`ERROR_CODES`; the OpenAPI description documents
each route's (``responses=error_responses(...)``: the statuses of its codes, :class:`ErrorBody`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.request_scope import current_request_id
from connectors.errors import NuriError

log = logging.getLogger("nuri.api")
INTERNAL_MESSAGE = "내부 오류가 발생했습니다"


@dataclass(frozen=True, slots=True)
class ErrorCode:
    status: int
    code: str
    message_en: str
    when: str


#: Every status and code the API answers with.
ERROR_CODES: tuple[ErrorCode, ...] = (
    ErrorCode(400, "invalid_history", "Invalid conversation history",
              "an earlier message of the conversation is unusable (longer than `answer.max_turn_chars`)"),
    ErrorCode(400, "invalid_question", "Invalid question",
              "the question is blank or longer than `answer.max_question_chars`, or no chat message is a user's with "
              "text"),
    ErrorCode(400, "invalid_query", "Invalid search query",
              "the search query is blank or too long, or `top_k` is above `search.max_top_k`"),
    ErrorCode(401, "unauthenticated", "Missing or invalid API key",
              "no `Authorization: Bearer` key, an unknown or revoked key, or gateway headers without a valid, fresh, "
              "unused signature over the request (every path except /healthz and /readyz)"),
    ErrorCode(403, "forbidden", "Not allowed", "the caller's key lacks the role the route needs (e.g. `evaluator`, `admin`)"),
    ErrorCode(403, "cross_site", "Cross-site request refused",
              "a request to the chat (`/ui`) from another site's page (`Origin` or `Sec-Fetch-Site`); only a link "
              "followed to the chat is let through"),
    ErrorCode(400, "invalid_assistant", "Invalid assistant definition",
              "an assistant definition with a wrong field, or guardrails looser than the platform's (the message "
              "names the field)"),
    ErrorCode(400, "invalid_upload", "Unusable upload",
              "an uploaded file of a type Nuri does not read, empty, corrupt or unreadable (the message names the file "
              "and why); nothing of it is indexed"),
    ErrorCode(404, "not_found", "Not found", "unknown path"),
    ErrorCode(404, "conversation_not_found", "Conversation not found",
              "no conversation (or folder) of that id belongs to the caller"),
    ErrorCode(404, "passage_not_found", "Passage not found",
              "no passage or document of that id that the caller may read (one the caller may not read is "
              "answered the same way)"),
    ErrorCode(404, "answer_not_found", "Answer not found",
              "feedback names an `audit_id` that is not an answer given to the same caller"),
    ErrorCode(404, "model_not_found", "Unknown model",
              "`/v1/chat/completions` asked for a model that is neither `nuri` nor an assistant the caller may use "
              "(`GET /v1/models` lists them)"),
    ErrorCode(404, "assistant_not_found", "Unknown assistant",
              "`assistant` names no agency assistant the caller may use (one of another agency is answered the same "
              "way)"),
    ErrorCode(405, "method_not_allowed", "Method not allowed", "wrong HTTP method for the path"),
    ErrorCode(408, "request_timeout", "Request body not received in time",
              "the request body did not arrive in full within `api.body_timeout_s`"),
    ErrorCode(409, "unknown_folder", "No such folder",
              "the body's `folder_id` (creating or moving a conversation) names no folder of the caller's; nothing "
              "is changed"),
    ErrorCode(413, "payload_too_large", "Request body too large",
              "the body is larger than `api.max_body_bytes` (rejected before it is read, so before any model call)"),
    ErrorCode(413, "upload_too_large", "Upload too large",
              "an uploaded file is larger than `documents.max_upload_bytes`, or more files than "
              "`documents.max_files_per_upload`"),
    ErrorCode(422, "invalid_request", "Invalid request",
              "malformed JSON or form data, a missing or wrongly typed field, an unknown field, a value out of range"),
    ErrorCode(429, "rate_limited", "Too many requests",
              "the caller spent its `api.auth.rate_limit` budget; `Retry-After` says when to retry"),
    ErrorCode(500, "internal_error", "Internal error", "anything unexpected (logged; no details in the response)"),
    ErrorCode(502, "model_error", "The model server rejected the request",
              "the model server answered with an error (e.g. prompt too long for its context)"),
    ErrorCode(502, "encoder_error", "The embedding server answered wrongly",
              "the embedding server's answer is unusable (not JSON, an HTML error page, vectors of the wrong shape or "
              "dimension); the message names the server and what was wrong"),
    ErrorCode(503, "model_unavailable", "Model server unavailable",
              "no model configured, the model server is down or did not answer within `llm.connect_timeout_s`"),
    ErrorCode(503, "index_unavailable", "Index unavailable",
              "the index is missing, busy, incompatible with the encoder or its server is down"),
    ErrorCode(503, "encoder_unavailable", "Encoder unavailable",
              "the query encoder or reranker is missing or its server is down"),
    ErrorCode(503, "state_unavailable", "Key store unavailable", "the API key store cannot be read or written"),
    ErrorCode(503, "audit_unavailable", "Audit trail unavailable",
              "the audit trail cannot be written (SQLite locked past `audit.timeout_s`, database server down): "
              "nothing is answered unaudited; a streamed answer that already started ends with this error event "
              "and no `done`"),
    ErrorCode(503, "overloaded", "Server at capacity",
              "the search or answer gate (`api.admission`) is full and its queue too, or the wait ran past "
              "`queue_timeout_s`; `Retry-After` says when to retry"),
    ErrorCode(503, "not_ready", "Not ready",
              "`/readyz`: the embedder, the index or the model server is not ready (`message` says why, "
              "`details.missing` which; the server keeps retrying)"),
    ErrorCode(503, "shutting_down", "Server shutting down",
              "the server received SIGTERM: it finishes the answers already streaming (`api.shutdown_grace_s`) and "
              "takes no new requests; retry on another replica"),
    ErrorCode(503, "embedder_mismatch", "Fitted values do not match the embedder",
              "`calibration.on_mismatch: refuse` and no values fitted for the configured embedder"),
)  # fmt: skip
_BY_CODE = {e.code: e for e in ERROR_CODES}
#: Codes whose cause is a database's own error text: clients get this message, the log the cause.
STORE_CODES = {
    "state_unavailable": "API 키 저장소를 지금 사용할 수 없습니다. 잠시 후 다시 시도하고, 계속되면 관리자에게 알리세요",
    "audit_unavailable": "감사 기록을 남길 수 없어 처리하지 않았습니다. 잠시 후 다시 시도하고, 계속되면 관리자에게 알리세요",
}
INTERNAL = _BY_CODE["internal_error"]


class ApiError(NuriError):
    """An error as the API answers it: a status, a code of :data:`ERROR_CODES`, the messages and
    headers. The HTTP layer raises it for what it decides itself (unknown model, body too large,
    not ready); :func:`api_error` makes one of any other error."""

    def __init__(
        self,
        code: str,
        message: str,
        message_en: str | None = None,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        spec = _BY_CODE[code]
        super().__init__(message, message_en=message_en or spec.message_en)
        self.status, self.code = spec.status, code
        self.headers = headers or {}
        self.details = details


def api_error(exc: BaseException) -> ApiError:
    """The status, code and messages for any failure: a :class:`NuriError` by its code (a code
    the API does not answer with, or a bare base class, is an internal error), anything else an
    internal error without its details."""
    if isinstance(exc, ApiError):
        return exc
    spec = _BY_CODE.get(exc.code) if isinstance(exc, NuriError) else None
    if not isinstance(exc, NuriError) or spec is None or spec is INTERNAL:
        return ApiError(INTERNAL.code, INTERNAL_MESSAGE)
    if spec.code in STORE_CODES:  # the driver's text (SQL, parameters, hosts) stays in the log
        log.warning("store unavailable", extra={"code": spec.code, "reason": str(exc)})
        return ApiError(spec.code, STORE_CODES[spec.code], spec.message_en)
    return ApiError(spec.code, str(exc) or spec.message_en, exc.message_en or spec.message_en)


# -- the errors as the OpenAPI description documents them -------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(..., description="오류 코드 / error code (docs/api.md의 오류 표)")
    message: str = Field(..., description="한국어 메시지 / Korean message")
    message_en: str = Field(..., description="English message")
    request_id: str | None = Field(
        None, description="요청 ID (`X-Request-ID`; 문의할 때 알려 주세요) / the request's id (quote it when reporting)"
    )
    details: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    """Every error's body."""

    error: ErrorDetail


def error_responses(*codes: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: each status its ``codes`` answer with, the error body shape."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in dict.fromkeys(codes):
        spec = _BY_CODE[code]
        entry = out.setdefault(spec.status, {"model": ErrorBody, "description": ""})
        line = f"`{code}`: {spec.when}"
        entry["description"] = f"{entry['description']}\n\n{line}" if entry["description"] else line
    return out


#: What every ``/v1/`` route may answer before it runs: the caller check and the body limits
#: (:mod:`assistant.http.caller_gate`, :mod:`assistant.http.limits`), the key store, the drain.
COMMON = (
    "unauthenticated", "rate_limited", "request_timeout", "payload_too_large", "invalid_request",
    "state_unavailable", "shutting_down",
)  # fmt: skip
#: What answering may fail with (``/v1/ask``, ``/v1/chat/completions``, a conversation's question).
ANSWERING = (
    "invalid_question", "invalid_history", "model_error", "model_unavailable", "index_unavailable",
    "encoder_unavailable", "encoder_error", "audit_unavailable", "overloaded", "embedder_mismatch",
)  # fmt: skip
#: What a search may fail with.
SEARCHING = (
    "invalid_query", "index_unavailable", "encoder_unavailable", "encoder_error", "audit_unavailable", "overloaded",
    "embedder_mismatch",
)  # fmt: skip


def error_body(err: ApiError, with_status: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"code": err.code, "message": err.message, "message_en": err.message_en}
    if with_status:
        body["status"] = err.status
    if getattr(err, "details", None):
        body["details"] = err.details
    request_id = current_request_id()
    if request_id is not None:  # the response's X-Request-ID (streams' error events too)
        body["request_id"] = request_id
    return {"error": body}


def error_response(err: ApiError) -> JSONResponse:
    return JSONResponse(status_code=err.status, content=error_body(err), headers=err.headers or None)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves the app as the JSON error body with the mapped status."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        first = errs[0] if errs else {}
        loc = ".".join(str(x) for x in first.get("loc", ()) if x != "body") or "body"
        msg = first.get("msg", "invalid")
        return error_response(
            ApiError(
                "invalid_request", f"요청 형식이 올바르지 않습니다: {loc}: {msg}", f"Invalid request: {loc}: {msg}"
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(ApiError("not_found", "없는 경로입니다"))
        if exc.status_code == 405:
            allow = allowed_methods(app, request.scope.get("path", "")) or (exc.headers or {}).get("Allow", "")
            headers = {"Allow": allow} if allow else None
            return error_response(ApiError("method_not_allowed", "허용되지 않는 메서드입니다", headers=headers))
        if exc.status_code == 400:  # a body that could not be parsed (not JSON, not UTF-8, broken multipart)
            return error_response(
                ApiError(
                    "invalid_request", f"요청 본문을 읽을 수 없습니다: {exc.detail}", f"Invalid request: {exc.detail}"
                )
            )
        log.warning("unmapped HTTP error", extra={"status": exc.status_code, "detail": str(exc.detail)})
        body = {"code": "http_error", "message": str(exc.detail), "message_en": str(exc.detail)}
        if (request_id := current_request_id()) is not None:
            body["request_id"] = request_id
        return JSONResponse(status_code=exc.status_code, content={"error": body})

    @app.exception_handler(NuriError)
    async def _mapped(_: Request, exc: NuriError) -> JSONResponse:
        err = api_error(exc)
        if err.code == INTERNAL.code:
            log.error("request failed", exc_info=exc)
        elif err.status >= 500:
            log.warning("request failed", extra={"code": err.code, "reason": err.message})
        return error_response(err)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return error_response(ApiError(INTERNAL.code, INTERNAL_MESSAGE))


def allowed_methods(app: FastAPI, path: str) -> str:
    """``Allow`` of a 405: the methods of the resource at ``path``, i.e. of every route with the
    template of the first route matching it (Starlette's own lists only that route's, and FastAPI
    makes one route per method). ``/v1/documents/jobs`` is its own resource, not a ``{doc_id}``."""
    template: str | None = None
    allowed: set[str] = set()
    for route in _flat(app.router.routes):
        regex, methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is None or not methods or not regex.match(path):
            continue
        template = template or getattr(route, "path", None)
        if getattr(route, "path", None) == template:
            allowed |= set(methods)
    return ", ".join(m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS") if m in allowed)


def _flat(routes: list[Any]) -> Iterator[Any]:
    """The routes in routing order, those of included routers in their place (FastAPI keeps an
    included router as one entry: its ``original_router``; Nuri's routers have no prefix)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flat(inner.routes)
        else:
            yield route


def markdown_table() -> str:
    """The error table of ``docs/api.md`` (generated; ``make docs`` writes it, ``make test`` checks it)."""
    lines = ["| status | code | when |", "|---|---|---|"]
    for e in sorted(ERROR_CODES, key=lambda e: e.status):
        lines.append(f"| {e.status} | `{e.code}` | {e.when} |")
    return "\n".join(lines)
