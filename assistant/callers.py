"""Who an exchange is for: the principal that decides what may be read, the roles that decide what
may be done, and the subject the audit trail records (never a key)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Protocol, cast

from connectors.types import Clearance
from retrieval.types import CLEARANCE_RANK, Principal


class KeyRecordLike(Protocol):
    @property
    def key_id(self) -> str: ...
    @property
    def agency(self) -> str: ...
    @property
    def clearance(self) -> str: ...
    @property
    def roles(self) -> frozenset[str]: ...


@dataclass(frozen=True, slots=True)
class Caller:
    """``subject``: ``key:<key id>`` (API key), ``gateway:<user id>`` (signed SSO headers) or
    ``cli:<OS user>`` (an operator on the server itself)."""

    principal: Principal
    roles: frozenset[str]
    subject: str
    #: A gateway caller: the body's SHA-256 its signature vouches for (checked once the body is read).
    body_sha256: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles


def cli_subject() -> str:
    """``cli:<OS user>``: who runs a command on the server itself."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


def operator_caller() -> Caller:
    """The CLI on the server: an operator reads everything (it can read the files anyway)."""
    return Caller(Principal(operator=True), frozenset({"admin"}), cli_subject())


def scoped_caller(agency: str | None = None, clearance: str = "public", subject: str | None = None) -> Caller:
    """The CLI on the server reading as one agency at one clearance (no roles; ``public`` and no
    agency: what anyone may read). ``nuri eval run --as-agency/--as-clearance`` asks with it."""
    principal = Principal(agency=(agency or "").strip() or None, clearance=clearance_of(clearance))
    return Caller(principal, frozenset(), subject or cli_subject())


def clearance_of(raw: str) -> Clearance:
    """A clearance name as given (any case); anything unknown is ``public``."""
    value = raw.strip().lower()
    return cast(Clearance, value) if value in CLEARANCE_RANK else "public"


def caller_from_record(record: KeyRecordLike) -> Caller:
    """The caller an API key stands for."""
    principal = Principal(agency=record.agency or None, clearance=clearance_of(record.clearance))
    return Caller(principal=principal, roles=frozenset(record.roles), subject=f"key:{record.key_id}")
