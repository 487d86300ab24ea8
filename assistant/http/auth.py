"""Who is calling, proven: the one place a request's caller is established.

Two ways in, nothing else:

* **API keys** (``Authorization: Bearer nuri_…``), created by ``nuri keys create`` and stored
  hashed (:mod:`guardrails.keys`). Each key is bound to a principal: agency, clearance
  (public / internal / restricted) and roles (user, admin, evaluator).
* **An agency SSO gateway** (``api.auth.gateway``), when enabled: the gateway sends the user's
  subject, agency, clearance and roles in headers with a timestamp and an HMAC-SHA256 signature
  made with a secret only it and Nuri share (:func:`gateway_signature`) over those headers, the
  method, host, path, query and the body's SHA-256. Unsigned, stale, future-dated, replayed
  (:class:`ReplayCache`) or wrongly signed headers are ignored, so a client that reaches the
  port directly cannot claim an agency by setting a header, nor reuse a request it saw.

Anything else gets 401 (``/healthz`` and ``/readyz`` stay open). Each caller is then held to a
token-bucket rate (``api.auth.rate_limit``): 429 with ``Retry-After`` when spent. What a caller
may read is decided inside the Qdrant filter from its :class:`~retrieval.types.Principal`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import unquote

from fastapi import Request

from assistant.callers import Caller, KeyRecordLike, caller_from_record, clearance_of
from assistant.http.errors import ApiError
from assistant.http.settings import AuthSettings, GatewaySettings, RateLimitSettings
from connectors.types import ROLES
from retrieval.types import Principal

log = logging.getLogger("nuri.api")


class KeyAuthenticator(Protocol):
    def authenticate(self, presented: str) -> KeyRecordLike | None: ...

    def first_use_of_signature(self, signature: str, window_s: float) -> bool: ...


#: The signed message's fields, one per line, in this order (``X-Nuri-Signature`` covers them all).
SIGNED_FIELDS = (
    "timestamp", "subject", "agency", "clearance", "roles", "method", "host", "path", "query", "content_sha256",
)  # fmt: skip


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def gateway_signature(
    secret: str,
    timestamp: str,
    subject: str,
    agency: str,
    clearance: str,
    roles: str,
    method: str,
    path: str,
    *,
    host: str,
    query: str = "",
    content_sha256: str = "",
) -> str:
    """The hex HMAC-SHA256 a gateway sends in ``X-Nuri-Signature``: over the header values exactly
    as sent (the agency still percent-encoded), the request method, the ``Host`` header's name
    (:func:`host_name`), the path, the raw query string and the hex SHA-256 of the body
    (``X-Nuri-Content-SHA256``; of nothing for a GET), one per line (:data:`SIGNED_FIELDS`)."""
    fields = [timestamp, subject, agency, clearance, roles, method.upper(), host_name(host), path, query]
    message = "\n".join([*fields, content_sha256.lower()]).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def host_name(host: str) -> str:
    """The ``Host`` header's name without its port, lower case (what is signed: a proxy that
    forwards ``Host $host``, as deploy/'s nginx does, drops the port)."""
    host = host.strip().lower()
    if host.startswith("["):  # [v6]:port
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _header(headers: Mapping[str, str], name: str) -> str:
    return (headers.get(name) or headers.get(name.lower()) or "").strip()


def _roles(raw: str) -> frozenset[str]:
    return frozenset(r for part in raw.split(",") if (r := part.strip().lower()) in ROLES)


_HEX = frozenset("0123456789abcdef")


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and set(value) <= _HEX


class ReplayCache:
    """Signatures seen in the last ``window_s`` seconds: this process's own (at most ``size``;
    the oldest go first), then the ``shared`` record every replica writes to (the key store)."""

    def __init__(self, window_s: float, size: int, shared: Callable[[str, float], bool] | None = None) -> None:
        self.window_s, self.size, self.shared = window_s, size, shared
        self._seen: OrderedDict[str, float] = OrderedDict()  # signature -> when first seen
        self._lock = threading.Lock()

    def first_use(self, signature: str, now: float | None = None) -> bool:
        """True the first time ``signature`` is presented within the window, False after."""
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._seen:
                oldest, when = next(iter(self._seen.items()))
                if now - when <= self.window_s and len(self._seen) < self.size:
                    break
                del self._seen[oldest]
            if signature in self._seen:
                return False
            self._seen[signature] = now
        return self.shared is None or self.shared(signature, self.window_s)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What the gateway's signature covers besides its own headers."""

    method: str
    path: str
    host: str = ""
    query: str = ""


def caller_from_gateway(
    headers: Mapping[str, str],
    request: SignedRequest,
    gw: GatewaySettings,
    replays: ReplayCache | None = None,
    now: float | None = None,
) -> Caller | None:
    """The gateway's user when the signature over its headers and the request is valid, fresh and
    not seen before, else None. The body is checked against the signed ``content_sha256`` once it
    is read (:func:`check_signed_body`); the caller's ``body_sha256`` carries it."""
    if not gw.enabled or gw.secret is None:
        return None
    signature = _header(headers, gw.signature_header).lower()
    timestamp = _header(headers, gw.timestamp_header)
    content = _header(headers, gw.content_sha256_header).lower()
    if not _is_hex(signature, 64) or not _is_hex(content, 64):
        return None
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return None  # "²" is a digit to str.isdigit, not to int()
    age = (time.time() if now is None else now) - int(timestamp)
    if age > gw.max_skew_s or -age > gw.max_future_skew_s:
        return None
    subject = _header(headers, gw.subject_header)
    agency_raw = _header(headers, gw.agency_header)
    clearance_raw = _header(headers, gw.clearance_header)
    roles_raw = _header(headers, gw.roles_header)
    expected = gateway_signature(
        gw.secret.get_secret_value(),
        timestamp,
        subject,
        agency_raw,
        clearance_raw,
        roles_raw,
        request.method,
        request.path,
        host=request.host,
        query=request.query,
        content_sha256=content,
    )
    if not subject or not hmac.compare_digest(expected, signature):
        return None
    if replays is not None and not replays.first_use(signature):
        log.warning("gateway signature replayed", extra={"subject": subject, "path": request.path})
        return None
    agency = unquote(agency_raw) or None
    principal = Principal(agency=agency, clearance=clearance_of(clearance_raw) if agency else "public")
    roles = _roles(roles_raw) or frozenset({"user"})
    return Caller(principal=principal, roles=roles, subject=f"gateway:{subject}", body_sha256=content)


def caller_from_key(presented: str, keys: KeyAuthenticator) -> Caller | None:
    record = keys.authenticate(presented)
    return None if record is None else caller_from_record(record)


def bearer_token(headers: Mapping[str, str]) -> str | None:
    raw = _header(headers, "Authorization")
    scheme, _, token = raw.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@dataclass
class RateLimiter:
    """A token bucket per caller: ``burst`` requests at once, refilled at ``requests_per_minute``."""

    settings: RateLimitSettings
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # subject -> (tokens, updated)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, subject: str, now: float | None = None) -> float | None:
        """None when the request may go ahead, else the seconds until it may (``Retry-After``)."""
        if not self.settings.enabled:
            return None
        now = time.monotonic() if now is None else now
        rate = self.settings.requests_per_minute / 60.0
        with self._lock:
            tokens, updated = self._buckets.get(subject, (float(self.settings.burst), now))
            tokens = min(float(self.settings.burst), tokens + (now - updated) * rate)
            if tokens >= 1.0:
                self._buckets[subject] = (tokens - 1.0, now)
                return None
            self._buckets[subject] = (tokens, now)
            return (1.0 - tokens) / rate


class Authenticator:
    """Resolves and rate-limits callers (one per app; the chat UI signs in through it too)."""

    def __init__(self, settings: AuthSettings, keys: KeyAuthenticator) -> None:
        self.settings, self.keys = settings, keys
        self.limiter = RateLimiter(settings.rate_limit)
        gw = settings.gateway
        self.replays = ReplayCache(
            gw.max_skew_s + gw.max_future_skew_s, gw.replay_cache_size, shared=keys.first_use_of_signature
        )

    def resolve(self, headers: Mapping[str, str], method: str, path: str, host: str = "", query: str = "") -> Caller:
        token = bearer_token(headers)
        caller = caller_from_key(token, self.keys) if token else None
        if caller is None and token is None:
            signed = SignedRequest(method=method, path=path, host=host, query=query)
            caller = caller_from_gateway(headers, signed, self.settings.gateway, self.replays)
        if caller is None:
            raise unauthenticated(
                "API 키가 없거나 올바르지 않습니다" if token is None else "API 키가 올바르지 않거나 폐기되었습니다"
            )
        self.throttle(caller)
        return caller

    def throttle(self, caller: Caller) -> None:
        wait = self.limiter.take(caller.subject)
        if wait is not None:
            raise rate_limited(wait)


def rate_limited(wait_s: float) -> ApiError:
    seconds = max(1, math.ceil(wait_s))
    return ApiError(
        "rate_limited",
        f"요청이 너무 많습니다. {seconds}초 후 다시 시도하세요",
        f"Too many requests; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


def check_signed_body(caller: Caller, body: bytes) -> None:
    """A gateway caller's body must be the one its signature covers (401 otherwise)."""
    if caller.body_sha256 is not None and not hmac.compare_digest(body_sha256(body), caller.body_sha256):
        log.warning("gateway request body differs from the signed one", extra={"subject": caller.subject})
        raise unauthenticated("서명된 요청 본문과 받은 본문이 다릅니다")


def unauthenticated(message: str) -> ApiError:
    return ApiError(
        "unauthenticated",
        f"{message} (Authorization: Bearer <키>; 키는 관리자가 `nuri keys create`로 발급)",
        "Missing or invalid API key (Authorization: Bearer <key>)",
        headers={"WWW-Authenticate": 'Bearer realm="nuri"'},
    )


def caller(request: Request) -> Caller:
    """FastAPI dependency: the authenticated caller of this request (401/429 otherwise)."""
    cached = getattr(request.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    auth: Authenticator = request.app.state.auth
    resolved = auth.resolve(
        request.headers, request.method, request.url.path, request.headers.get("host", ""), request.url.query
    )
    request.state.caller = resolved
    return resolved


def require_role(role: str) -> object:
    """A dependency factory: the caller must hold ``role`` (admins hold every role)."""

    def _check(request: Request) -> Caller:
        who = caller(request)
        if not who.has_role(role):
            raise ApiError("forbidden", f"이 기능에는 '{role}' 역할이 필요합니다", f"This needs the '{role}' role")
        return who

    return _check
