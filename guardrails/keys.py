"""API keys bound to principals (``nuri keys create|list|revoke``), stored hashed.

A key reads ``nuri_<key id>_<secret>``: the key id (12 hex digits) is not secret, it names the
row to look up; the secret is ``secrets.token_urlsafe(32)`` (256 random bits). Only a hash of
``<key id>:<secret>`` is stored. Because the secret is high-entropy random, a fast hash is
enough: no one can guess it, so a slow password hash (bcrypt, argon2) would add nothing but
latency to every request. The hash is SHA-256, or HMAC-SHA256 keyed with a server secret (the
*pepper*, ``keys.pepper`` / ``NURI_KEYS__PEPPER``) when one is configured, so that a copy of
the database alone does not let anyone test guesses offline. Each row records which of the two
it used. Verification compares hashes in constant time (:func:`hmac.compare_digest`), and an
unknown key id is checked against a dummy hash, so the time taken does not tell a wrong secret
from a malformed key (whether a key id exists is not secret).

The plaintext key is returned once, by :meth:`KeyStore.create`, and never stored or logged.
SQLAlchemy Core on one table: a SQLite file (WAL, transactions; safe with several threads and
processes) or a PostgreSQL URL.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import json
import logging
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator
from sqlalchemy import Column, MetaData, String, Table, delete, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from connectors.errors import NuriError
from connectors.types import Clearance, Role
from guardrails.settings import KeySettings
from guardrails.store import (
    BUSY_TIMEOUT_S,
    database_url,
    db_reason,
    open_tables,
    read_transaction,
    release_engine,
    write_transaction,
)

log = logging.getLogger("nuri.guardrails.keys")

KEY_PREFIX = "nuri"
_KEY_RE = re.compile(r"nuri_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_SCHEME_SHA256 = "sha256"
_SCHEME_HMAC = "hmac-sha256"
_DUMMY_HASH = "0" * 64

_meta = MetaData()
api_keys = Table(
    "api_keys",
    _meta,
    Column("key_id", String(12), primary_key=True),
    Column("label", String(200), nullable=False),
    Column("agency", String(200), nullable=False, index=True),
    Column("clearance", String(16), nullable=False),
    Column("roles", String(200), nullable=False),  # JSON list, sorted
    Column("hash_scheme", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("revoked_at", String(40), nullable=True),
    Column("last_used_at", String(40), nullable=True),
)

#: The chat's sign-ins (``ui.sign_in``): a browser session's token, hashed, and the key it signed
#: in with. In the key store's database, so that every API replica knows every sign-in.
sign_ins = Table(
    "sign_in_sessions",
    _meta,
    Column("token_hash", String(64), primary_key=True),
    Column("key_id", String(12), nullable=False, index=True),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
)


#: Who signed in to the chat without an API key: through the agency's SSO gateway (its signed
#: headers) or an OpenID Connect provider. A sign-in session (:data:`sign_ins`) names one of these
#: by its id (``~`` and 11 random characters, never a key id) for as long as the session lasts.
sign_in_identities = Table(
    "sign_in_identities",
    _meta,
    Column("identity_id", String(12), primary_key=True),
    Column("subject", String(300), nullable=False, index=True),
    Column("agency", String(200), nullable=False),
    Column("clearance", String(16), nullable=False),
    Column("roles", String(200), nullable=False),  # JSON list, sorted
    Column("display_name", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False, index=True),
)
IDENTITY_PREFIX = "~"


#: Gateway signatures already used (``assistant.http.auth``): a signed request replayed to any
#: replica within the signature's window is refused. Only a hash of each signature is kept.
used_signatures = Table(
    "gateway_signatures",
    _meta,
    Column("signature_hash", String(64), primary_key=True),
    Column("expires_at", String(40), nullable=False, index=True),
)


class KeyStoreError(NuriError):
    """The key store cannot be opened, read or written."""

    code = "state_unavailable"


class KeyNotFoundError(NuriError):
    """No key with that id."""

    code = "key_not_found"


class KeyRecord(BaseModel):
    """A key's principal and bookkeeping; never its secret or hash."""

    model_config = ConfigDict(frozen=True)

    key_id: str = Field(..., description="The non-secret id inside the key (`nuri_<key_id>_…`).")
    label: str = Field("", description="What the key is for (free text).")
    agency: str = Field(..., min_length=1, description="The agency whose documents the key may read.")
    clearance: Clearance = Field(..., description="Highest access level it may read.")
    roles: frozenset[Role] = Field(..., min_length=1, description="user, admin, evaluator.")
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @field_validator("agency")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("agency is empty")
        return v

    @field_serializer("roles")
    def _sorted_roles(self, roles: frozenset[str]) -> builtins.list[str]:
        return sorted(roles)


class SignInIdentity(BaseModel):
    """A chat user signed in through the SSO gateway or OpenID Connect: ``subject`` is
    ``gateway:<user>`` or ``oidc:<issuer's subject>``; what they may read comes from the
    gateway's signed headers or the provider's ID token, as they were at sign-in."""

    model_config = ConfigDict(frozen=True)

    identity_id: str
    subject: str
    agency: str
    clearance: Clearance
    roles: frozenset[Role]
    display_name: str = ""
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def key_id_of(presented: str) -> str | None:
    """The key id of a well-formed key, else None (nothing about the secret)."""
    m = _KEY_RE.fullmatch(presented) if isinstance(presented, str) else None
    return m.group(1) if m else None


class KeyStore:
    """API keys in a database (see the module docstring). Thread-safe; several processes may
    share a SQLite file."""

    def __init__(
        self, url: str, pepper: str | None = None, last_used_resolution_s: int = 60, timeout_s: float = BUSY_TIMEOUT_S
    ) -> None:
        self.url = url
        self._pepper = pepper.encode("utf-8") if pepper else None
        self._resolution = timedelta(seconds=last_used_resolution_s)
        self.engine = open_tables(url, timeout_s, _meta, KeyStoreError, "API 키")

    @classmethod
    def from_settings(cls, settings: KeySettings, data_dir: Path, home: Path | None = None) -> KeyStore:
        pepper = settings.pepper.get_secret_value() if settings.pepper else None
        if settings.require_pepper and not pepper:
            raise KeyStoreError(
                "keys.require_pepper: API 키 해시용 비밀값이 없습니다. NURI_KEYS__PEPPER 환경 변수로 설정하세요 "
                "(32자 이상의 임의 문자열)",
                message_en="keys.require_pepper: no key-hash pepper; set NURI_KEYS__PEPPER (a random string of 32+ "
                "characters)",
            )
        url = database_url(settings.url, data_dir, home)
        return cls(url, pepper, settings.last_used_resolution_s, settings.timeout_s)

    def close(self) -> None:
        release_engine(self.engine)

    def __enter__(self) -> KeyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- hashing ---------------------------------------------------------------------------

    def _hash(self, scheme: str, key_id: str, secret: str) -> str | None:
        message = f"{key_id}:{secret}".encode()
        if scheme == _SCHEME_HMAC:
            if self._pepper is None:
                return None
            return hmac.new(self._pepper, message, hashlib.sha256).hexdigest()
        return hashlib.sha256(message).hexdigest()

    # -- operations ------------------------------------------------------------------------

    def create(
        self, agency: str, clearance: str, roles: frozenset[str] | set[str] | builtins.list[str], label: str = ""
    ) -> tuple[KeyRecord, str]:
        """A new key for this principal: (its record, the plaintext key — shown once, stored
        nowhere). ``ValueError`` (pydantic's ``ValidationError``) for an unknown clearance or
        role, an empty agency or no role."""
        scheme = _SCHEME_HMAC if self._pepper else _SCHEME_SHA256
        for _ in range(5):
            key_id = secrets.token_hex(6)
            secret = secrets.token_urlsafe(32)
            record = KeyRecord.model_validate(
                {
                    "key_id": key_id,
                    "label": label.strip(),
                    "agency": agency,
                    "clearance": clearance,
                    "roles": frozenset(roles),
                    "created_at": _now(),
                }
            )
            digest = self._hash(scheme, key_id, secret)
            assert digest is not None
            row = {
                "key_id": key_id,
                "label": record.label,
                "agency": record.agency,
                "clearance": record.clearance,
                "roles": json.dumps(sorted(record.roles)),
                "hash_scheme": scheme,
                "secret_hash": digest,
                "created_at": _iso(record.created_at),
            }
            try:
                with write_transaction(self.engine) as conn:
                    conn.execute(api_keys.insert().values(**row))
            except IntegrityError:
                continue  # key id collision (2^-48): draw again
            except SQLAlchemyError as e:
                raise KeyStoreError(f"API 키를 저장하지 못했습니다: {db_reason(e)}") from e
            log.info(
                "api key created",
                extra={"key_id": key_id, "agency": record.agency, "clearance": record.clearance,
                       "roles": sorted(record.roles), "hash_scheme": scheme},
            )  # fmt: skip
            return record, f"{KEY_PREFIX}_{key_id}_{secret}"
        raise KeyStoreError("API 키 ID를 만들지 못했습니다 (충돌 반복)")

    def authenticate(self, presented: str) -> KeyRecord | None:
        """The active key's record, or None for a malformed, unknown, wrong or revoked key."""
        m = _KEY_RE.fullmatch(presented) if isinstance(presented, str) else None
        key_id, secret = m.groups() if m else ("", "")
        row = self._row(key_id) if m else None
        expected = row.secret_hash if row is not None else _DUMMY_HASH
        scheme = row.hash_scheme if row is not None else _SCHEME_SHA256
        actual = self._hash(scheme, key_id, secret)
        matches = hmac.compare_digest(actual or _DUMMY_HASH, expected) and actual is not None
        if m is None or row is None or not matches:
            if row is not None and actual is None:
                log.warning("api key needs the pepper, none configured", extra={"key_id": key_id})
            log.debug("api key rejected", extra={"key_id": key_id or None, "reason": "malformed" if m is None
                      else "unknown" if row is None else "secret"})  # fmt: skip
            return None
        record = self._record(row)
        if not record.active:
            log.debug("api key rejected", extra={"key_id": key_id, "reason": "revoked"})
            return None
        return self._touch(record)

    def _touch(self, record: KeyRecord) -> KeyRecord:
        now = _now()
        if record.last_used_at is not None and now - record.last_used_at < self._resolution:
            return record
        stale = _iso(now - self._resolution)
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(
                    update(api_keys)
                    .where(api_keys.c.key_id == record.key_id)
                    .where(api_keys.c.last_used_at.is_(None) | (api_keys.c.last_used_at < stale))
                    .values(last_used_at=_iso(now))
                )
        except SQLAlchemyError as e:  # bookkeeping only: the key is still valid
            log.warning("last_used_at not written", extra={"key_id": record.key_id, "error": str(e)})
            return record
        return record.model_copy(update={"last_used_at": now})

    def get(self, key_id: str) -> KeyRecord | None:
        row = self._row(key_id)
        return self._record(row) if row is not None else None

    def revoke(self, key_id: str) -> KeyRecord:
        """Revoke the key (idempotent: a revoked key keeps its first ``revoked_at``)."""
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(
                    update(api_keys)
                    .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                    .values(revoked_at=_iso(_now()))
                )
                row = conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        except SQLAlchemyError as e:
            raise KeyStoreError(f"API 키를 폐기하지 못했습니다: {db_reason(e)}") from e
        if row is None:
            raise KeyNotFoundError(f"API 키 '{key_id}'이(가) 없습니다 (nuri keys list)")
        log.info("api key revoked", extra={"key_id": key_id})
        return self._record(row)

    def list(self, include_revoked: bool = True) -> builtins.list[KeyRecord]:
        """Every key, oldest first (records only: no secret, no hash)."""
        q = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)
        if not include_revoked:
            q = q.where(api_keys.c.revoked_at.is_(None))
        try:
            with read_transaction(self.engine) as conn:
                rows = conn.execute(q).all()
        except SQLAlchemyError as e:
            raise KeyStoreError(f"API 키 목록을 읽지 못했습니다: {db_reason(e)}") from e
        return [self._record(r) for r in rows]

    # -- sign-in sessions (the chat) -------------------------------------------------------

    def _token_hash(self, token: str) -> str:
        data = token.encode("utf-8")
        if self._pepper is not None:
            return hmac.new(self._pepper, data, hashlib.sha256).hexdigest()
        return hashlib.sha256(data).hexdigest()

    def open_session(self, token: str, key_id: str, ttl_s: float) -> None:
        """Remember that the browser holding ``token`` signed in with ``key_id`` (for
        ``ttl_s``). Only the token's hash is stored; expired sessions are removed here."""
        now = _now()
        row = {
            "token_hash": self._token_hash(token),
            "key_id": key_id,
            "created_at": _iso(now),
            "expires_at": _iso(now + timedelta(seconds=ttl_s)),
        }
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(delete(sign_ins).where(sign_ins.c.expires_at < _iso(now)))
                conn.execute(sign_ins.insert().values(**row))
        except SQLAlchemyError as e:
            raise KeyStoreError(f"로그인 세션을 저장하지 못했습니다: {db_reason(e)}") from e

    def remember_identity(
        self,
        subject: str,
        agency: str,
        clearance: str,
        roles: frozenset[str],
        ttl_s: float,
        display_name: str = "",
    ) -> SignInIdentity:
        """Keep a gateway or OpenID Connect sign-in's identity for ``ttl_s`` (its session's
        length); its id is what the sign-in session names. Expired identities are removed here."""
        now = _now()
        identity = SignInIdentity(
            identity_id=IDENTITY_PREFIX + secrets.token_urlsafe(8)[:11],
            subject=subject[:300],
            agency=agency.strip()[:200],
            clearance=clearance,
            roles=frozenset(roles),
            display_name=display_name.strip()[:200],
            expires_at=now + timedelta(seconds=ttl_s),
        )
        row = {
            "identity_id": identity.identity_id,
            "subject": identity.subject,
            "agency": identity.agency,
            "clearance": identity.clearance,
            "roles": json.dumps(sorted(identity.roles)),
            "display_name": identity.display_name,
            "created_at": _iso(now),
            "expires_at": _iso(identity.expires_at),
        }
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(delete(sign_in_identities).where(sign_in_identities.c.expires_at < _iso(now)))
                conn.execute(sign_in_identities.insert().values(**row))
        except SQLAlchemyError as e:
            raise KeyStoreError(f"로그인 정보를 저장하지 못했습니다: {db_reason(e)}") from e
        return identity

    def identity(self, identity_id: str) -> SignInIdentity | None:
        """A remembered sign-in identity that has not expired, or None."""
        if not identity_id.startswith(IDENTITY_PREFIX):
            return None
        try:
            with read_transaction(self.engine) as conn:
                row = conn.execute(
                    select(sign_in_identities).where(sign_in_identities.c.identity_id == identity_id)
                ).first()
        except SQLAlchemyError as e:
            raise KeyStoreError(f"로그인 정보를 읽지 못했습니다: {db_reason(e)}") from e
        if row is None or row.expires_at < _iso(_now()):
            return None
        return SignInIdentity(
            identity_id=row.identity_id,
            subject=row.subject,
            agency=row.agency,
            clearance=row.clearance,
            roles=frozenset(json.loads(row.roles)),
            display_name=row.display_name,
            expires_at=datetime.fromisoformat(row.expires_at),
        )

    def first_use_of_signature(self, signature: str, window_s: float) -> bool:
        """True the first time a gateway ``signature`` is presented within ``window_s`` seconds on
        any replica sharing this store; False when it was used before (a replay). Expired ones
        are removed now and then."""
        now = _now()
        row = {"signature_hash": self._token_hash(signature), "expires_at": _iso(now + timedelta(seconds=window_s))}
        try:
            with write_transaction(self.engine) as conn:
                if secrets.randbelow(64) == 0:
                    conn.execute(delete(used_signatures).where(used_signatures.c.expires_at < _iso(now)))
                taken = conn.execute(
                    select(used_signatures.c.expires_at).where(
                        used_signatures.c.signature_hash == row["signature_hash"]
                    )
                ).first()
                if taken is not None and taken.expires_at >= _iso(now):
                    return False
                if taken is not None:
                    conn.execute(
                        delete(used_signatures).where(used_signatures.c.signature_hash == row["signature_hash"])
                    )
                conn.execute(used_signatures.insert().values(**row))
        except IntegrityError:  # another replica recorded it between the read and the insert
            return False
        except SQLAlchemyError as e:
            raise KeyStoreError(f"게이트웨이 서명 사용 기록을 저장하지 못했습니다: {db_reason(e)}") from e
        return True

    def session_key(self, token: str) -> str | None:
        """The key id a browser session signed in with, or None (unknown or expired token)."""
        if not token:
            return None
        try:
            with read_transaction(self.engine) as conn:
                row = conn.execute(
                    select(sign_ins.c.key_id, sign_ins.c.expires_at).where(
                        sign_ins.c.token_hash == self._token_hash(token)
                    )
                ).first()
        except SQLAlchemyError as e:
            raise KeyStoreError(f"로그인 세션을 읽지 못했습니다: {db_reason(e)}") from e
        if row is None or row.expires_at < _iso(_now()):
            return None
        return str(row.key_id)

    def close_session(self, token: str) -> None:
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(delete(sign_ins).where(sign_ins.c.token_hash == self._token_hash(token)))
        except SQLAlchemyError as e:
            raise KeyStoreError(f"로그인 세션을 지우지 못했습니다: {db_reason(e)}") from e

    def _row(self, key_id: str) -> Row | None:
        try:
            with read_transaction(self.engine) as conn:
                return conn.execute(select(api_keys).where(api_keys.c.key_id == key_id)).first()
        except SQLAlchemyError as e:
            raise KeyStoreError(f"API 키 저장소를 읽지 못했습니다: {db_reason(e)}") from e

    @staticmethod
    def _record(row: Row) -> KeyRecord:
        return KeyRecord(
            key_id=row.key_id,
            label=row.label,
            agency=row.agency,
            clearance=row.clearance,
            roles=frozenset(json.loads(row.roles)),
            created_at=datetime.fromisoformat(row.created_at),
            revoked_at=_parse(row.revoked_at),
            last_used_at=_parse(row.last_used_at),
        )
