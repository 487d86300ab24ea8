"""Who is calling, before anything costs the server: ``/v1/*`` requests are authenticated and
rate-limited from their headers alone, then their body is read (within ``api.body_timeout_s``
and ``api.max_body_bytes``), and only then do they queue for an admission gate
(:mod:`assistant.http.admission`).

So an unauthenticated or throttled client never takes an answer slot, and a client sending its
body slowly holds nothing but its own connection: a slot is taken only by a known caller whose
request is complete. A gateway caller's body is checked against the SHA-256 its signature
covers (:func:`assistant.http.auth.check_signed_body`). The caller found here is what the
routes' :func:`assistant.http.auth.caller` dependency returns (``request.state.caller``).
"""

from __future__ import annotations

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.http.auth import Authenticator, check_signed_body
from assistant.http.errors import ApiError, api_error, error_response
from connectors.errors import NuriError

#: Paths whose callers must be known before anything else (the chat signs in through Gradio).
AUTHENTICATED_PREFIX = "/v1/"
#: Routes whose large bodies only a caller with a role may send: checked before the body is
#: read, so that any signed-in user cannot make the server take in an upload's megabytes only
#: to be refused by the route (``POST /v1/documents``: up to ``documents.max_files_per_upload``
#: files of ``documents.max_upload_bytes``).
ROLE_BEFORE_BODY: dict[tuple[str, str], str] = {("POST", "/v1/documents"): "admin"}


class CallerFirst:
    """ASGI middleware: authenticate, rate-limit, read the body, then pass the request on."""

    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self.app, self.auth = app, auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not scope.get("path", "").startswith(AUTHENTICATED_PREFIX)
            or scope.get("method") == "OPTIONS"  # a CORS preflight carries no credentials; the app's CORS answers
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            caller = await anyio.to_thread.run_sync(
                lambda: self.auth.resolve(
                    headers,
                    scope["method"],
                    scope["path"],
                    headers.get("host", ""),
                    scope.get("query_string", b"").decode("latin-1"),
                )
            )
            needed = ROLE_BEFORE_BODY.get((scope["method"], scope["path"].rstrip("/") or "/"))
            if needed is not None and not caller.has_role(needed):
                raise ApiError(
                    "forbidden", f"이 기능에는 '{needed}' 역할이 필요합니다", f"This needs the '{needed}' role"
                )
            body, tail = await _read_body(receive)
            check_signed_body(caller, body)
        except NuriError as e:  # 401, 429, 408, 413, or a store that cannot be read (503)
            await error_response(api_error(e))(scope, receive, send)
            return
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, _replay(body, tail, receive), send)


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body (its size and time limits are :class:`~assistant.http.limits.BodySizeLimit`'s),
    and a disconnect that came instead of the rest."""
    chunks: list[bytes] = []
    while True:
        msg = await receive()
        if msg["type"] != "http.request":
            return b"".join(chunks), msg
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, tail: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the connection's own events
    (a streamed answer listens for the client going away)."""
    sent = False

    async def receive_replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if tail is not None:
            return tail
        return await receive()

    return receive_replayed
