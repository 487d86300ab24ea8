"""The audit trail: an append-only, tamper-evident record of every request (``nuri audit
verify|export|prune|seal``).

Each record is stored as columns (for queries) and as its canonical JSON (sorted keys, no
spaces, UTF-8), which is what is hashed::

    hash = HMAC-SHA256(chain_key, prev_hash + canonical_json(record without "hash"))   # keyed
    hash = sha256(prev_hash + canonical_json(record without "hash"))                    # plain

``prev_hash`` is the previous record's hash (64 zeros for the first), and ``seq`` numbers the
records 1, 2, 3, … without gaps. A one-row table (``audit_head``) holds the last seq and hash.
An append reads the head, inserts the record and moves the head inside one transaction that
holds a lock: ``BEGIN IMMEDIATE`` on SQLite (the database's write lock), ``SELECT … FOR
UPDATE`` of the head row on PostgreSQL; so concurrent writers (threads, processes, servers)
keep one unbroken chain.

The keyed chain (``audit.chain_key``, from ``NURI_AUDIT__CHAIN_KEY``: a key that is never in the
database) makes the trail verifiable without trusting the database. A keyed record says so in its
own JSON (``"chain": "hmac-sha256"``, under the HMAC); a plain one has no ``chain`` field and hashes
exactly as before keyed chains existed, so a trail written without the key still verifies: plain
records up to a *seal* record (``nuri audit seal``, once, when the key is first configured; its
HMAC covers the last plain hash), keyed ones from there on. The scheme only goes one way: a plain
record after a keyed one, a keyed record after plain ones that is not the seal, or — with the key
configured — a chain whose last record is plain, is a ``downgrade`` (someone without the key
rewrote the keyed part as SHA-256); a store with the key will not extend a plain trail before the
seal, and one without the key will not extend a keyed chain (that would be a downgrade too).
:meth:`AuditStore.verify` without the key cannot check the keyed records' HMACs: it still checks
their links, columns and the plain part, and reports the keyed ones as ``unverifiable`` (the
report is then not ok: never a silent pass).

:meth:`AuditStore.verify` recomputes every hash and link: an edited record (its hash, or a
column that differs from its JSON), a deleted one (a gap in seq, or the head past the last
record), an inserted or replaced one (a broken link) are reported with their seq and time; with
the key, a tail rewritten consistently (hashes and head recomputed) shows as edited records from
its first seq, since no one without the key can compute their HMACs. Retention
(:meth:`AuditStore.prune`) deletes the oldest records, only after checking them, and keeps a
checkpoint (the last deleted record's seq and hash) from which verification starts; the prune
itself is appended to the trail (keyed, naming the checkpoint's seq and hash), and the checkpoint
verification starts from must be one that such a prune record of the verified chain names: a
checkpoint inserted by hand, with the records before it deleted, is reported (``checkpoint``), and
a prune refuses to build on it. What the database alone still cannot show: the newest records
deleted with the head moved back to an earlier record (truncation), or the whole trail emptied;
keep the head that ``nuri audit verify`` prints somewhere else (a ticket, a WORM store) to catch
that, and give the API a database role that cannot update or delete records
(``deploy/postgres/audit_roles.sql``).

The store never masks anything: callers pass the question already masked.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError
from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, Text, func, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from connectors.errors import NuriError
from guardrails.decisions import GuardrailDecision
from guardrails.settings import AuditSettings
from guardrails.store import (
    BUSY_TIMEOUT_S,
    database_url,
    db_reason,
    open_engine,
    read_transaction,
    safe_url,
    schema_transaction,
    write_transaction,
)

log = logging.getLogger("nuri.guardrails.audit")

GENESIS = "0" * 64
#: The ``chain`` field of a keyed record: its hash is HMAC-SHA256 with ``audit.chain_key``.
CHAIN_HMAC = "hmac-sha256"
#: The record that switches a plain trail to the keyed chain (``nuri audit seal``), and a prune's.
SEAL_ENDPOINT = "audit.seal"
PRUNE_ENDPOINT = "audit.prune"
#: The shortest chain key accepted (``openssl rand -hex 32`` gives 64).
MIN_KEY_CHARS = 32
#: What a prune record says about the checkpoint it left (its decision's reason).
_PRUNE_CLAIM = re.compile(r"seq (\d+)-(\d+) deleted .*checkpoint hash ([0-9a-f]{64})")
ExportFormat = Literal["jsonl", "csv"]
_BATCH = 1000

_meta = MetaData()
records_table = Table(
    "audit_records",
    _meta,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("ts", String(40), nullable=False, index=True),
    Column("request_id", String(128), nullable=False, index=True),
    Column("principal_id", String(200), nullable=True, index=True),
    Column("agency", String(200), nullable=True, index=True),
    Column("endpoint", String(200), nullable=False),
    Column("model", String(256), nullable=True),
    Column("prompt_version", String(128), nullable=True),
    Column("refused", Boolean, nullable=False),
    Column("latency_ms", Float, nullable=True),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)
head_table = Table(
    "audit_head",
    _meta,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)
checkpoints_table = Table(
    "audit_checkpoints",
    _meta,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # the last pruned record
    Column("hash", String(64), nullable=False),
    Column("ts", String(40), nullable=False),
    Column("pruned_at", String(40), nullable=False),
    Column("deleted", Integer, nullable=False),
)
#: Reads the chain head and locks it until the transaction ends (PostgreSQL and other servers; on
#: SQLite no ``FOR UPDATE`` is rendered: the write transaction's ``BEGIN IMMEDIATE`` holds the lock).
HEAD_FOR_UPDATE = select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1).with_for_update()
HEAD_SEQ = select(head_table.c.seq).where(head_table.c.id == 1)
#: Columns that repeat a field of the record's JSON (verify checks they still agree).
_MIRRORED = ("seq", "ts", "request_id", "principal_id", "agency", "endpoint", "model", "prompt_version",
             "refused", "latency_ms", "prev_hash")  # fmt: skip


class AuditError(NuriError):
    """The audit store cannot be opened, read or written (an answer is then not given: 503)."""

    code = "audit_unavailable"


def _unavailable(e: SQLAlchemyError) -> AuditError:
    """The error for a trail that cannot be written now (locked past the timeout, server down):
    the database's own message goes to the log, not to the caller."""
    log.error("audit store unavailable", extra={"error": type(e).__name__, "detail": db_reason(e)})
    return AuditError(
        "감사 기록을 남길 수 없습니다: 감사 기록 저장소가 응답하지 않습니다 (잠금 대기 시간 초과 또는 연결 실패). "
        "기록되지 않는 답변은 드리지 않습니다. 잠시 후 다시 시도하거나 관리자에게 문의해 주세요.",
        message_en="The audit trail cannot be written (store locked or unreachable); no unaudited answer is given. "
        "Retry later or contact the administrator.",
    )


class AuditIntegrityError(AuditError):
    """The records to prune do not verify: they are kept as evidence."""

    code = "audit_integrity"

    def __init__(self, message: str, issues: list[VerifyIssue]) -> None:
        super().__init__(message)
        self.issues = issues


class RetrievedChunk(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    chunk_id: str
    score: float


class AuditEntry(BaseModel):
    """What the caller records about one request. ``question`` must already be masked."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    request_id: str = Field(..., min_length=1)
    principal_id: str | None = Field(None, description="Key id or gateway subject; never the key.")
    agency: str | None = None
    endpoint: str = Field(..., min_length=1, description="e.g. `/v1/ask`, `/v1/chat/completions`.")
    question: str | None = Field(None, description="The question as masked by the caller.")
    retrieved: list[RetrievedChunk] = Field(default_factory=list)
    model: str | None = None
    prompt_version: str | None = None
    answer: str | None = None
    citations: list[dict[str, JsonValue]] = Field(default_factory=list, description="e.g. {n, doc_id, anchor}.")
    decisions: list[GuardrailDecision] = Field(default_factory=list)
    refused: bool = False
    latency_ms: float | None = None


class AuditRecord(AuditEntry):
    """A stored record: the entry, its place in the chain and its hash."""

    seq: int
    ts: str = Field(..., description="UTC, ISO 8601 with microseconds.")
    prev_hash: str
    chain: Literal["hmac-sha256"] | None = Field(
        None,
        exclude_if=lambda v: v is None,  # a plain record's JSON (and hash) is what it was before keyed chains
        description="`hmac-sha256`: keyed record (hash = HMAC with `audit.chain_key`); absent: SHA-256.",
    )
    hash: str

    def payload(self) -> str:
        """The canonical JSON that is hashed (every field but ``hash``; ``chain`` only on a keyed
        record, so that plain records written before it existed hash as they did)."""
        return canonical_json(self.model_dump(mode="json", exclude={"hash"}))


class VerifyIssue(BaseModel):
    kind: Literal["edited", "missing", "link", "head", "malformed", "downgrade", "checkpoint", "unverifiable"]
    seq: int | None = Field(None, description="Where: the record (or the first missing seq).")
    until_seq: int | None = Field(None, description="Last missing seq of a gap.")
    ts: str | None = Field(None, description="The record's time, or of the last record before a gap.")
    detail: str

    def line(self) -> str:
        where = f"seq {self.seq}" if self.until_seq in (None, self.seq) else f"seq {self.seq}–{self.until_seq}"
        if self.seq is None:
            where = "끝"
        return f"{where}{f' ({self.ts})' if self.ts else ''}: {self.detail}"


class VerifyReport(BaseModel):
    ok: bool
    records: int = Field(..., description="Records checked.")
    first_seq: int | None = None
    last_seq: int | None = None
    head_seq: int
    head_hash: str
    checkpoint_seq: int | None = Field(None, description="Records up to this seq were pruned.")
    keyed: bool = Field(False, description="Verified with `audit.chain_key` (HMAC of the keyed records checked).")
    keyed_from_seq: int | None = Field(None, description="First keyed record checked (the seal, or the first).")
    unverifiable: int = Field(
        0, description="Keyed records whose hash could not be checked: no `audit.chain_key` here (not ok)."
    )
    issues: list[VerifyIssue] = Field(default_factory=list)


class PruneReport(BaseModel):
    deleted: int
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoint_hash: str | None = None
    cutoff: str


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def record_hash(prev_hash: str, payload: str, key: bytes | None = None) -> str:
    """``sha256(prev_hash + payload)``, hex; ``payload`` is the record's canonical JSON. With
    ``key`` (a keyed record): ``HMAC-SHA256(key, prev_hash + payload)``."""
    message = (prev_hash + payload).encode("utf-8")
    if key is not None:
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def prune_claim(payload: dict[str, Any]) -> tuple[int, str] | None:
    """The checkpoint (last deleted seq, its hash) that a prune record's JSON says it left."""
    if payload.get("endpoint") != PRUNE_ENDPOINT:
        return None
    for decision in payload.get("decisions") or ():
        m = _PRUNE_CLAIM.search(str(decision.get("reason", ""))) if isinstance(decision, dict) else None
        if m:
            return int(m.group(2)), m.group(3)
    return None


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: give a time zone (UTC)")
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Checker:
    """Walks records in seq order from an anchor (genesis or the last checkpoint). With ``key``
    the keyed records' HMACs are checked; without it they are counted as unverifiable."""

    def __init__(self, anchor_seq: int, anchor_hash: str, key: bytes | None = None) -> None:
        self.expect_seq = anchor_seq + 1
        self.expect_prev = anchor_hash
        self.prev_seq = anchor_seq
        self.prev_ts: str | None = None
        self.count = 0
        self.first_seq: int | None = None
        self.issues: list[VerifyIssue] = []
        self.key = key
        #: "start" (genesis or a checkpoint: either scheme may follow), "plain", "keyed" (for good).
        self.scheme = "start"
        self.keyed_from: int | None = None
        self.unverifiable: list[int] = []
        #: Checkpoints (seq, hash) that the prune records walked here say they left.
        self.claims: set[tuple[int, str]] = set()

    def feed(self, row: Row) -> None:
        self.count += 1
        if self.first_seq is None:
            self.first_seq = row.seq
        if row.seq < self.expect_seq:  # only before the first record: seq is the primary key
            self.issues.append(
                VerifyIssue(
                    kind="link", seq=row.seq, ts=row.ts,
                    detail=f"체크포인트(seq {self.prev_seq}) 이전의 기록이 남아 있습니다 (체크포인트 위조?)",
                )
            )  # fmt: skip
        elif row.seq != self.expect_seq:
            if self.prev_ts is not None:
                before = f"seq {self.prev_seq} ({self.prev_ts})"
            else:
                before = "체인 시작" if self.prev_seq == 0 else f"체크포인트 seq {self.prev_seq}"
            self.issues.append(
                VerifyIssue(
                    kind="missing", seq=self.expect_seq, until_seq=row.seq - 1, ts=self.prev_ts,
                    detail=f"기록이 없습니다 (삭제?): {before} ~ seq {row.seq} ({row.ts}) 사이",
                )
            )  # fmt: skip
        elif row.prev_hash != self.expect_prev:
            self.issues.append(
                VerifyIssue(
                    kind="link", seq=row.seq, ts=row.ts,
                    detail=f"이전 해시가 seq {self.prev_seq}의 해시와 다릅니다 (기록 삽입·교체?)",
                )
            )  # fmt: skip
        self._check_record(row)
        self.expect_seq, self.expect_prev = row.seq + 1, row.hash
        self.prev_seq, self.prev_ts = row.seq, row.ts

    def _issue(self, kind: str, row: Row, detail: str) -> None:
        self.issues.append(VerifyIssue(kind=kind, seq=row.seq, ts=row.ts, detail=detail))

    def _check_record(self, row: Row) -> None:
        try:
            data = json.loads(row.payload)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            scheme = data.get("chain")
            if scheme not in (None, CHAIN_HMAC):
                raise ValueError(f"unknown chain scheme {scheme!r}")
        except ValueError as e:
            self._issue("malformed", row, f"기록을 읽을 수 없습니다: {e}")
            return
        keyed = scheme == CHAIN_HMAC
        self._check_scheme(row, data, keyed)
        if keyed and self.key is None:
            self.unverifiable.append(row.seq)
        elif record_hash(row.prev_hash, row.payload, self.key if keyed else None) != row.hash:
            detail = "내용이 바뀌었습니다 (해시 불일치)"
            if keyed:
                detail = "내용이 바뀌었습니다 (HMAC 불일치: 감사 체인 키 없이 다시 쓴 기록이거나 다른 키)"
            self._issue("edited", row, detail)
            return
        claim = prune_claim(data)
        if claim is not None:
            self.claims.add(claim)
        try:
            stored = {name: getattr(row, name) for name in _MIRRORED}
        except AttributeError as e:
            self._issue("malformed", row, f"기록을 읽을 수 없습니다: {e}")
            return
        differs = [name for name in _MIRRORED if data.get(name) != stored[name]]
        if differs:
            self._issue("edited", row, f"열 값이 기록 내용과 다릅니다 (변경?): {', '.join(differs)}")

    def _check_scheme(self, row: Row, data: dict[str, Any], keyed: bool) -> None:
        """Once keyed, always keyed: a plain record after a keyed one is a downgrade (rewritten by
        someone without the key); plain records turn keyed only at a seal record."""
        if keyed:
            if self.scheme == "plain" and data.get("endpoint") != SEAL_ENDPOINT:
                self._issue("downgrade", row, "평문 기록 뒤의 첫 키 서명 기록이 봉인(audit.seal) 기록이 아닙니다")
            if self.keyed_from is None:
                self.keyed_from = row.seq
            self.scheme = "keyed"
            return
        if self.scheme == "keyed":
            self._issue(
                "downgrade", row,
                "키 서명(HMAC) 체인 뒤에 평문(SHA-256) 기록이 있습니다: 감사 체인 키 없이 다시 쓴 기록입니다",
            )  # fmt: skip
            return
        if data.get("endpoint") == SEAL_ENDPOINT:
            self._issue("downgrade", row, "봉인(audit.seal) 기록이 키 서명 기록이 아닙니다 (평문으로 다시 씀?)")
        self.scheme = "plain"

    def finish(self, head_seq: int, head_hash: str, require_keyed: bool = False) -> None:
        last_seq = self.expect_seq - 1
        if self.unverifiable:
            first, last = self.unverifiable[0], self.unverifiable[-1]
            self.issues.append(
                VerifyIssue(
                    kind="unverifiable", seq=first, until_seq=last,
                    detail=f"키로 서명된 기록 {len(self.unverifiable)}건은 감사 체인 키 없이 검사할 수 없습니다 "
                    "(검사하지 못함, 통과 아님): audit.chain_key (NURI_AUDIT__CHAIN_KEY)를 설정하고 다시 검사하세요 "
                    "/ cannot verify the keyed records without the chain key",
                )
            )  # fmt: skip
        if require_keyed and self.count and self.scheme != "keyed":
            self.issues.append(
                VerifyIssue(
                    kind="downgrade", seq=last_seq, ts=self.prev_ts,
                    detail="감사 체인 키가 설정되어 있는데 체인 끝이 키 서명 기록이 아닙니다: 키 없이 평문으로 다시 쓴 "
                    "체인이거나, 키를 설정한 뒤 `nuri audit seal`을 아직 실행하지 않았습니다",
                )
            )  # fmt: skip
        if head_seq > last_seq:
            self.issues.append(
                VerifyIssue(
                    kind="missing", seq=last_seq + 1, until_seq=head_seq, ts=self.prev_ts,
                    detail=f"마지막 기록들이 없습니다 (삭제?): 체인 끝은 seq {head_seq}, 남은 마지막 기록은 seq {last_seq}",
                )
            )  # fmt: skip
        elif head_seq < last_seq:
            self.issues.append(
                VerifyIssue(
                    kind="head", seq=head_seq + 1, until_seq=last_seq, ts=self.prev_ts,
                    detail=f"체인 끝(seq {head_seq}) 뒤에 기록이 있습니다 (저장소 밖에서 추가?)",
                )
            )  # fmt: skip
        elif head_hash != self.expect_prev:
            self.issues.append(
                VerifyIssue(
                    kind="head", seq=last_seq, ts=self.prev_ts,
                    detail="체인 끝의 해시가 마지막 기록의 해시와 다릅니다 (기록 교체?)",
                )
            )  # fmt: skip

    def check_anchor(self, anchor: tuple[int, str] | None) -> None:
        """The checkpoint verification started from must be one that a prune record of the
        walked (and, keyed, HMAC-checked) chain says it left: a checkpoint inserted by hand, with
        the records before it deleted, has none."""
        if anchor is not None and anchor not in self.claims:
            self.issues.append(
                VerifyIssue(
                    kind="checkpoint", seq=anchor[0],
                    detail=f"체크포인트(seq {anchor[0]})를 남긴 정리(audit.prune) 기록이 체인에 없습니다 "
                    "(체크포인트 위조 후 그 앞 기록 삭제?)",
                )
            )  # fmt: skip


class AuditStore:
    """The audit trail in a database (see the module docstring). Thread-safe; several processes
    may append to one SQLite file."""

    def __init__(
        self,
        url: str,
        *,
        store_question: bool = True,
        store_answer: bool = True,
        store_retrieved: bool = True,
        clock: Callable[[], datetime] = _utcnow,
        timeout_s: float = BUSY_TIMEOUT_S,
        chain_key: str | None = None,
    ) -> None:
        self.url = url
        self.store_question, self.store_answer, self.store_retrieved = store_question, store_answer, store_retrieved
        self._clock = clock
        if chain_key and len(chain_key) < MIN_KEY_CHARS:
            raise AuditError(
                f"감사 체인 키(audit.chain_key)가 너무 짧습니다: {MIN_KEY_CHARS}자 이상 (openssl rand -hex 32)",
                message_en=f"audit.chain_key is too short: at least {MIN_KEY_CHARS} characters (openssl rand -hex 32).",
            )
        self._key = chain_key.encode("utf-8") if chain_key else None
        try:
            self.engine = open_engine(url, timeout_s)
            with schema_transaction(self.engine) as conn:
                _meta.create_all(conn)
                if conn.execute(select(head_table.c.id).where(head_table.c.id == 1)).first() is None:
                    conn.execute(head_table.insert().values(id=1, seq=0, hash=GENESIS))
        except IntegrityError:
            pass  # another process created the head row first (a database without the schema lock)
        except (SQLAlchemyError, OSError, ValueError) as e:
            raise AuditError(f"감사 기록 저장소를 열 수 없습니다 ({safe_url(url)}): {db_reason(e)}") from e

    @classmethod
    def from_settings(cls, settings: AuditSettings, data_dir: Path, home: Path | None = None) -> AuditStore:
        return cls(
            database_url(settings.url, data_dir, home),
            store_question=settings.store_question,
            store_answer=settings.store_answer,
            store_retrieved=settings.store_retrieved,
            timeout_s=settings.timeout_s,
            chain_key=settings.chain_key.get_secret_value() if settings.chain_key else None,
        )

    @property
    def keyed(self) -> bool:
        """Whether this store holds the chain key (writes keyed records, checks their HMACs)."""
        return self._key is not None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    def ensure_writable(self) -> None:
        """:class:`AuditError` now if a record could not be written now (SQLite: another writer
        holds the lock past the timeout; a server: unreachable). Called before an answer is
        given, so that an answer the trail cannot take is refused before any of its text is
        sent; :meth:`append` still decides."""
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(HEAD_SEQ)
        except SQLAlchemyError as e:
            raise _unavailable(e) from e

    def append(self, entry: AuditEntry) -> AuditRecord:
        """Append one record to the chain (serialised with every other writer)."""
        changes: dict[str, Any] = {}
        if not self.store_question:
            changes["question"] = None
        if not self.store_answer:
            changes["answer"] = None
        if not self.store_retrieved:
            changes["retrieved"] = []
        if changes:
            entry = entry.model_copy(update=changes)
        try:
            with write_transaction(self.engine) as conn:
                record = self._append(conn, entry)
        except SQLAlchemyError as e:
            raise _unavailable(e) from e
        log.debug("audit record appended", extra={"seq": record.seq, "request_id": record.request_id})
        return record

    def _lock_head(self, conn: Connection) -> tuple[int, str]:
        row = conn.execute(HEAD_FOR_UPDATE).one()
        return int(row.seq), str(row.hash)

    @staticmethod
    def _keyed_at(conn: Connection, seq: int) -> bool | None:
        """Whether record ``seq`` is keyed; None for genesis (0) or a record that is not there."""
        if seq <= 0:
            return None
        payload = conn.execute(select(records_table.c.payload).where(records_table.c.seq == seq)).scalar()
        if payload is None:
            return None
        try:
            return json.loads(payload).get("chain") == CHAIN_HMAC
        except (ValueError, AttributeError):
            return None

    def _chain_error(self, head_keyed: bool | None, head_seq: int) -> AuditError | None:
        """Why this store may not extend a chain whose head record is (not) keyed: a plain
        record after keyed ones would be a downgrade (no key here), and keyed records straight
        after plain ones need the switch to be recorded first (``nuri audit seal``)."""
        if self._key is None and head_keyed:
            return AuditError(
                f"감사 기록 체인이 키로 서명되어 있는데(seq {head_seq}) 감사 체인 키가 설정되지 않았습니다: "
                "audit.chain_key (NURI_AUDIT__CHAIN_KEY)를 설정하세요. 키 없이 기록하면 체인이 평문으로 "
                "바뀌므로 기록하지 않습니다.",
                message_en="The audit chain is keyed but no audit.chain_key (NURI_AUDIT__CHAIN_KEY) is configured: "
                "nothing is written without it.",
            )
        if self._key is not None and head_keyed is False:
            return AuditError(
                f"감사 체인 키가 설정되었지만 기존 감사 기록(seq {head_seq}까지)이 평문(SHA-256) 체인입니다: "
                "키를 처음 설정한 경우 `nuri audit seal`을 한 번 실행해 키 서명 체인으로 전환하세요. 이미 전환한 "
                "체인이라면 키 없이 평문으로 다시 쓴 것입니다: `nuri audit verify`로 확인하세요.",
                message_en=f"audit.chain_key is set but the trail (up to seq {head_seq}) is a plain SHA-256 chain: "
                "run `nuri audit seal` once when first configuring the key; if it was keyed before, it was rewritten "
                "without the key (`nuri audit verify`).",
            )
        return None

    def check_chain(self) -> None:
        """:class:`AuditError` now if this store could not extend the chain as it is (the key
        missing for a keyed chain, or a plain chain not sealed yet): for the server's start."""
        try:
            with read_transaction(self.engine) as conn:
                head_seq = int(conn.execute(HEAD_SEQ).scalar() or 0)
                error = self._chain_error(self._keyed_at(conn, head_seq), head_seq)
        except SQLAlchemyError as e:
            raise _unavailable(e) from e
        if error is not None:
            raise error

    def seal(self, actor: str = "system") -> AuditRecord | None:
        """Switch a plain trail to the keyed chain: after checking it, append a keyed seal
        record (its HMAC covers the last plain hash, so the plain part cannot be rewritten
        either). Run once, when the key is first configured. None when there is nothing to do
        (an empty trail, or already keyed). :class:`AuditIntegrityError` if the trail does not
        verify (it is not sealed then)."""
        if self._key is None:
            raise AuditError(
                "감사 체인 키가 없어 봉인할 수 없습니다: audit.chain_key (NURI_AUDIT__CHAIN_KEY)를 설정하세요",
                message_en="Cannot seal the audit chain without audit.chain_key (NURI_AUDIT__CHAIN_KEY).",
            )
        try:
            with write_transaction(self.engine) as conn:
                head_seq, head_hash = self._lock_head(conn)
                if head_seq == 0 or self._keyed_at(conn, head_seq) is not False:
                    return None
                anchor = self._anchor(conn)
                checker = _Checker(*(anchor or (0, GENESIS)), key=self._key)
                for row in self._rows(conn):
                    checker.feed(row)
                checker.finish(head_seq, head_hash)
                checker.check_anchor(anchor)
                if checker.issues:
                    raise AuditIntegrityError(
                        f"감사 기록이 무결성 검사를 통과하지 못해 봉인하지 않았습니다: {checker.issues[0].line()}",
                        checker.issues,
                    )
                record = self._append(
                    conn,
                    AuditEntry(
                        request_id=f"seal-{uuid.uuid4().hex}",
                        principal_id=actor,
                        endpoint=SEAL_ENDPOINT,
                        decisions=[
                            GuardrailDecision(
                                name="audit_chain", action="seal", stage="audit",
                                reason=f"chain keyed (HMAC-SHA256) from seq {head_seq + 1}; "
                                f"seq 1-{head_seq} plain SHA-256, last hash {head_hash}",
                            )
                        ],
                    ),
                    seal=True,
                )  # fmt: skip
        except SQLAlchemyError as e:
            raise AuditError(f"감사 기록 체인을 봉인하지 못했습니다: {db_reason(e)}") from e
        log.info("audit chain sealed", extra={"seq": record.seq})
        return record

    def _append(self, conn: Connection, entry: AuditEntry, *, seal: bool = False) -> AuditRecord:
        head_seq, head_hash = self._lock_head(conn)
        head_keyed = self._keyed_at(conn, head_seq)
        if not (seal and head_keyed is False):
            error = self._chain_error(head_keyed, head_seq)
            if error is not None:
                raise error
        fields = entry.model_dump(mode="json")
        fields.update(seq=head_seq + 1, ts=_iso(self._clock()), prev_hash=head_hash)
        if self._key is not None:
            fields["chain"] = CHAIN_HMAC
        payload = canonical_json(fields)
        digest = record_hash(head_hash, payload, self._key)
        conn.execute(
            records_table.insert().values(
                **{name: fields[name] for name in _MIRRORED}, payload=payload, hash=digest
            )
        )  # fmt: skip
        conn.execute(update(head_table).where(head_table.c.id == 1).values(seq=fields["seq"], hash=digest))
        return AuditRecord.model_validate({**fields, "hash": digest})

    # -- reading ---------------------------------------------------------------------------

    def _rows(self, conn: Connection, since: str | None = None, until: str | None = None,
              max_seq: int | None = None) -> Iterator[Row]:  # fmt: skip
        """Rows in seq order, fetched in batches (keyset pagination) inside ``conn``'s snapshot."""
        after = -1
        while True:
            q = select(records_table).where(records_table.c.seq > after).order_by(records_table.c.seq).limit(_BATCH)
            if since is not None:
                q = q.where(records_table.c.ts >= since)
            if until is not None:
                q = q.where(records_table.c.ts < until)
            if max_seq is not None:
                q = q.where(records_table.c.seq <= max_seq)
            batch = conn.execute(q).all()
            yield from batch
            if len(batch) < _BATCH:
                return
            after = batch[-1].seq

    @staticmethod
    def _prune_rows(conn: Connection, after: int) -> list[Row]:
        """The prune records after seq ``after`` (what they say is checked against checkpoints)."""
        q = select(records_table).where(records_table.c.seq > after, records_table.c.endpoint == PRUNE_ENDPOINT)
        return list(conn.execute(q.order_by(records_table.c.seq)).all())

    @staticmethod
    def _anchor(conn: Connection) -> tuple[int, str] | None:
        row = conn.execute(
            select(checkpoints_table.c.seq, checkpoints_table.c.hash).order_by(checkpoints_table.c.seq.desc()).limit(1)
        ).first()
        return (int(row.seq), str(row.hash)) if row is not None else None

    @staticmethod
    def _to_record(row: Row) -> AuditRecord:
        return AuditRecord.model_validate({**json.loads(row.payload), "hash": row.hash})

    def records(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[AuditRecord]:
        """Records with ``since <= ts < until`` (either open), in seq order."""
        try:
            with read_transaction(self.engine) as conn:
                for row in self._rows(conn, _iso(since) if since else None, _iso(until) if until else None):
                    yield self._to_record(row)
        except SQLAlchemyError as e:
            raise AuditError(f"감사 기록을 읽지 못했습니다: {db_reason(e)}") from e

    def verify(self) -> VerifyReport:
        """Check every hash and link from the last checkpoint (or genesis) to the head: the
        keyed records' HMACs with the chain key (without it they are reported as unverifiable,
        and the report is not ok), the schemes' order (plain, then keyed from a seal on, never
        back), and that a prune record of the chain vouches for the checkpoint."""
        try:
            with read_transaction(self.engine) as conn:
                head = conn.execute(select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1)).first()
                head_seq, head_hash = (int(head.seq), str(head.hash)) if head is not None else (0, GENESIS)
                anchor = self._anchor(conn)
                checker = _Checker(*(anchor or (0, GENESIS)), key=self._key)
                for row in self._rows(conn):
                    checker.feed(row)
        except SQLAlchemyError as e:
            raise AuditError(f"감사 기록을 읽지 못했습니다: {db_reason(e)}") from e
        if head is None:
            checker.issues.append(VerifyIssue(kind="head", detail="체인 끝(audit_head)이 없습니다 (삭제?)"))
        checker.check_anchor(anchor)
        checker.finish(head_seq, head_hash, require_keyed=self._key is not None)
        report = VerifyReport(
            ok=not checker.issues,
            records=checker.count,
            first_seq=checker.first_seq,
            last_seq=checker.expect_seq - 1 if checker.count else None,
            head_seq=head_seq,
            head_hash=head_hash,
            checkpoint_seq=anchor[0] if anchor else None,
            keyed=self._key is not None,
            keyed_from_seq=checker.keyed_from,
            unverifiable=len(checker.unverifiable),
            issues=checker.issues,
        )
        if not report.ok:
            log.warning(
                "audit trail does not verify", extra={"issues": len(report.issues), "first": report.issues[0].line()}
            )
        return report

    # -- retention -------------------------------------------------------------------------

    def prune(self, older_than: datetime, actor: str = "system") -> PruneReport:
        """Delete the oldest records, up to (not including) the first one at or after
        ``older_than``, after checking them; a checkpoint keeps the chain verifiable and the
        prune is appended to the trail. :class:`AuditIntegrityError` when they do not verify."""
        cutoff = _iso(older_than)
        try:
            with write_transaction(self.engine) as conn:
                head_seq, _ = self._lock_head(conn)
                head_keyed = self._keyed_at(conn, head_seq)  # before the head record may be deleted
                error = self._chain_error(head_keyed, head_seq)
                if error is not None:
                    raise error
                keep_from = conn.execute(
                    select(func.min(records_table.c.seq)).where(records_table.c.ts >= cutoff)
                ).scalar()
                limit = head_seq if keep_from is None else int(keep_from) - 1
                anchor = self._anchor(conn)
                checker = _Checker(*(anchor or (0, GENESIS)), key=self._key)
                last: Row | None = None
                for row in self._rows(conn, max_seq=limit):
                    checker.feed(row)
                    last = row
                if last is None:
                    return PruneReport(deleted=0, cutoff=cutoff)
                if anchor is not None and anchor not in checker.claims:
                    # the prune record that left the checkpoint may lie past what is deleted now
                    for row in self._prune_rows(conn, after=limit):
                        probe = _Checker(row.seq - 1, row.prev_hash, key=self._key)
                        probe.feed(row)
                        if not probe.issues:
                            checker.claims |= probe.claims
                checker.check_anchor(anchor)
                if checker.unverifiable:  # cannot happen past _chain_error, unless the tail was downgraded
                    checker.finish(last.seq, last.hash)
                if checker.issues:
                    raise AuditIntegrityError(
                        f"보존 기간이 지난 감사 기록이 무결성 검사를 통과하지 못해 삭제하지 않았습니다: {checker.issues[0].line()}",
                        checker.issues,
                    )
                conn.execute(
                    checkpoints_table.insert().values(
                        seq=last.seq, hash=last.hash, ts=last.ts, pruned_at=_iso(self._clock()), deleted=checker.count
                    )
                )
                conn.execute(records_table.delete().where(records_table.c.seq <= last.seq))
                report = PruneReport(
                    deleted=checker.count, first_seq=checker.first_seq, last_seq=last.seq, checkpoint_hash=last.hash,
                    cutoff=cutoff,
                )  # fmt: skip
                self._append(
                    conn,
                    AuditEntry(
                        request_id=f"prune-{uuid.uuid4().hex}",
                        principal_id=actor,
                        endpoint=PRUNE_ENDPOINT,
                        decisions=[
                            GuardrailDecision(
                                name="retention", action="prune", stage="audit",
                                reason=f"seq {report.first_seq}-{report.last_seq} deleted (ts < {cutoff}); "
                                f"checkpoint hash {last.hash}",
                            )
                        ],
                    ),
                )  # fmt: skip
        except SQLAlchemyError as e:
            raise AuditError(f"감사 기록을 정리하지 못했습니다: {db_reason(e)}") from e
        log.info("audit records pruned", extra=report.model_dump())
        return report

    def apply_retention(self, retention_days: int, actor: str = "system") -> PruneReport | None:
        """Prune records older than ``retention_days`` (0 = keep forever: None). For the
        server's start and ``nuri audit prune``."""
        if retention_days <= 0:
            return None
        return self.prune(self._clock() - timedelta(days=retention_days), actor=actor)

    # -- export ----------------------------------------------------------------------------

    def export(self, since: datetime | None, until: datetime | None, fmt: ExportFormat, out: TextIO) -> int:
        """Write the records with ``since <= ts < until`` to ``out``: JSON Lines (each line the
        record's JSON, hash included: an export can be re-verified) or CSV (lists and objects
        as JSON in their cell, null as an empty cell). Returns how many."""
        return write_records(self.records(since, until), fmt, out)


CSV_COLUMNS = ("seq", "ts", "request_id", "principal_id", "agency", "endpoint", "question", "retrieved", "model",
               "prompt_version", "answer", "citations", "decisions", "refused", "latency_ms", "prev_hash", "hash",
               "chain")  # fmt: skip
_CSV_JSON = {"retrieved", "citations", "decisions", "refused", "latency_ms", "seq"}


def write_records(records: Iterable[AuditRecord], fmt: ExportFormat, out: TextIO) -> int:
    n = 0
    if fmt == "jsonl":
        for record in records:
            out.write(canonical_json(record.model_dump(mode="json")) + "\n")
            n += 1
        return n
    if fmt != "csv":
        raise ValueError(f"unknown export format: {fmt}")
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        data = record.model_dump(mode="json")
        writer.writerow(
            {
                name: "" if data.get(name) is None else canonical_json(data[name]) if name in _CSV_JSON else data[name]
                for name in CSV_COLUMNS  # a plain record has no "chain"
            }  # fmt: skip
        )
        n += 1
    return n


def read_records(inp: TextIO, fmt: ExportFormat) -> list[AuditRecord]:
    """Records from an export (:meth:`AuditStore.export`); ``ValueError`` for a malformed one."""
    try:
        if fmt == "jsonl":
            return [AuditRecord.model_validate_json(line) for line in inp if line.strip()]
        out = []
        for row in csv.DictReader(inp):
            data: dict[str, Any] = {
                name: None if value == "" else json.loads(value) if name in _CSV_JSON else value
                for name, value in row.items()
            }
            data["retrieved"] = data["retrieved"] or []
            data["citations"] = data["citations"] or []
            data["decisions"] = data["decisions"] or []
            out.append(AuditRecord.model_validate(data))
        return out
    except (ValidationError, json.JSONDecodeError, KeyError) as e:
        raise ValueError(f"감사 기록 내보내기 파일을 읽을 수 없습니다: {e}") from e
