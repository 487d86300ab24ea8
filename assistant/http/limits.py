"""Request limits enforced before a route runs: the body's size (``api.max_body_bytes``) and the
time it may take to arrive (``api.body_timeout_s``). A route that takes files has its own
(:class:`BodyLimit`: ``POST /v1/documents``, ``documents.max_upload_bytes`` per file)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.http.errors import ApiError, error_response


@dataclass(frozen=True, slots=True)
class BodyLimit:
    """One route's own limits, instead of the API's: its body size, the time it may take to
    arrive and the code of its 413."""

    max_bytes: int
    timeout_s: float
    code: str = "payload_too_large"


class BodySizeLimit:
    """Rejects request bodies over ``max_bytes`` with 413 before they are read into memory, and
    bodies not complete within ``timeout_s`` of the first read with 408. Once the body is in,
    ``receive`` is the connection's own again (a streamed answer waits on it for a disconnect).
    ``routes`` gives (method, path) its own :class:`BodyLimit` (uploads)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout_s: float = 10.0,
        routes: Mapping[tuple[str, str], BodyLimit] | None = None,
    ) -> None:
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s
        self.routes = dict(routes or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        own = self.routes.get((scope.get("method", ""), scope.get("path", "")))
        limit = own or BodyLimit(self.max_bytes, self.timeout_s)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit.max_bytes:
            await error_response(self._too_large(limit))(scope, receive, send)
            return
        seen = 0
        complete = False
        deadline: float | None = None

        async def limited() -> Message:
            nonlocal seen, complete, deadline
            if complete:
                return await receive()
            if deadline is None:
                deadline = time.monotonic() + limit.timeout_s
            try:
                msg = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise self._too_slow(limit) from None
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit.max_bytes:
                    raise self._too_large(limit)
                complete = not msg.get("more_body", False)
            else:
                complete = True
            return msg

        try:
            await self.app(scope, limited, send)
        except ApiError as e:  # raised while reading the body, so before any response started
            await error_response(e)(scope, receive, send)

    def _too_large(self, limit: BodyLimit) -> ApiError:
        return ApiError(
            limit.code,
            f"요청 본문이 너무 큽니다 (최대 {limit.max_bytes}바이트)",
            f"Request body too large (max {limit.max_bytes} bytes)",
        )

    def _too_slow(self, limit: BodyLimit) -> ApiError:
        return ApiError(
            "request_timeout",
            f"요청 본문이 {limit.timeout_s:g}초 안에 다 도착하지 않았습니다",
            f"The request body did not arrive within {limit.timeout_s:g} s",
            headers={"Connection": "close"},
        )
