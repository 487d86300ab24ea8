"""The chat answers only its own pages: cross-site requests to ``ui.path`` are refused and its
sign-in cookie is ``SameSite=Lax`` (or ``Strict``, ``ui.cookie_samesite``).

Gradio sets its sign-in cookie ``SameSite=None; Secure`` and, unless the parent app has a CORS
policy of its own (``assistant.http.app`` gives it one: no other origin by default), answers
any origin with ``Access-Control-Allow-Credentials: true``; a page on another site the user
opens could then call the chat with the user's session. Here:

* a request whose ``Sec-Fetch-Site`` is ``cross-site`` or ``same-site`` (another host of the
  same registrable domain), or whose ``Origin`` is not the chat's own host, gets 403
  ``cross_site``; the one exception is following a link to the chat (a ``GET`` navigation),
  which reads nothing and changes nothing;
* every cookie the chat sets is rewritten to the configured ``SameSite``.

Requests without these headers (command-line clients, the tests' HTTP clients) are not browser
requests made on a user's behalf by another site, and pass.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.http.auth import host_name
from assistant.http.errors import ApiError, error_response

_SAMESITE = re.compile(rb";\s*samesite=[a-z]+", re.IGNORECASE)


def cross_site_reason(headers: Headers, method: str) -> str | None:
    """Why a request to the chat counts as cross-site, or None."""
    site = headers.get("sec-fetch-site", "").lower()
    navigation = method in ("GET", "HEAD") and headers.get("sec-fetch-mode", "").lower() == "navigate"
    if site in ("cross-site", "same-site") and not navigation:
        return f"Sec-Fetch-Site: {site}"
    origin = headers.get("origin")
    if origin is None or navigation:
        return None
    # The chat's own name: the Host header, or the one a proxy that renames the host passes on
    # (a page on another site cannot set X-Forwarded-Host: that needs a CORS preflight, refused).
    own = {host_name(h) for h in (headers.get("host", ""), headers.get("x-forwarded-host", "")) if h}
    theirs = urlsplit(origin.strip()).hostname if origin.strip().lower() != "null" else None
    if theirs is None or theirs.lower() not in own:
        return f"Origin: {origin[:100]}"
    return None


class ChatSameSiteOnly:
    """ASGI middleware for the requests under ``path`` (the mounted chat)."""

    def __init__(self, app: ASGIApp, path: str, samesite: str = "lax") -> None:
        self.app, self.path = app, path.rstrip("/")
        self.samesite = f"; SameSite={samesite.capitalize()}".encode()

    def _ours(self, scope: Scope) -> bool:
        path = scope.get("path", "")
        return scope["type"] == "http" and (path == self.path or path.startswith(self.path + "/"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._ours(scope):
            await self.app(scope, receive, send)
            return
        reason = cross_site_reason(Headers(scope=scope), scope["method"])
        if reason is not None:
            err = ApiError(
                "cross_site",
                "다른 사이트에서 보낸 요청은 받지 않습니다. 누리 화면에서 직접 이용하세요",
                f"Cross-site request to the chat refused ({reason})",
            )
            await error_response(err)(scope, receive, send)
            return

        async def send_with_samesite(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, self._samesite(v) if k.lower() == b"set-cookie" else v) for k, v in message.get("headers", [])
                ]
            await send(message)

        await self.app(scope, receive, send_with_samesite)

    def _samesite(self, cookie: bytes) -> bytes:
        return _SAMESITE.sub(b"", cookie) + self.samesite
