"""Who is calling: the one place the caller's identity is read, for every route and the chat UI.

Today the agency comes from a header the agency's gateway/SSO sets (``api.agency_header``);
HTTP headers are ASCII, so a Korean agency name arrives percent-encoded UTF-8
(``%EB%88%84%EB%A6%AC...``) and is decoded here. Without it, a caller sees public documents
only. The gateway also says which roles a caller has (``api.roles_header``, e.g. ``evaluator``
for the chat's 평가 tab). The guardrails issue replaces this with authenticated API keys, here.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

from fastapi import Request

from retrieval.types import Principal


def principal_from_headers(headers: Mapping[str, str] | None, agency_header: str) -> Principal:
    """The caller's principal from request headers (any mapping; names case-insensitive)."""
    raw = None
    if headers is not None:
        raw = headers.get(agency_header) or headers.get(agency_header.lower())
    return Principal(agency=unquote((raw or "").strip()) or None)


def roles_from_headers(headers: Mapping[str, str] | None, roles_header: str) -> frozenset[str]:
    """The caller's roles from the gateway's roles header (``api.roles_header``): a comma-separated
    list, each role stripped and lower-cased (``"Evaluator, admin"`` -> ``{"evaluator", "admin"}``);
    no header, no roles. Trusted only behind the agency gateway, like the agency header."""
    raw = None
    if headers is not None:
        raw = headers.get(roles_header) or headers.get(roles_header.lower())
    return frozenset(role for part in (raw or "").split(",") if (role := part.strip().lower()))


def caller(request: Request) -> Principal:
    """FastAPI dependency: the caller of this request."""
    return principal_from_headers(request.headers, request.app.state.settings.api.agency_header)
