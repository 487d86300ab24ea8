"""The audit trail: an append-only, tamper-evident record of every request (``nuri audit
verify|export|prune``).

Each record is stored as columns (for queries) and as its canonical JSON (sorted keys, no
spaces, UTF-8), which is what is hashed::

    hash = sha256(prev_hash + canonical_json(record without "hash"))

``prev_hash`` is the previous record's hash (64 zeros for the first), and ``seq`` numbers the
records 1, 2, 3, … without gaps. A one-row table (``audit_head``) holds the last seq and hash.
An append reads the head, inserts the record and moves the head inside one transaction that
holds a lock: ``BEGIN IMMEDIATE`` on SQLite (the database's write lock), ``SELECT … FOR
UPDATE`` of the head row on PostgreSQL; so concurrent writers (threads, processes, servers)
keep one unbroken chain.

:meth:`AuditStore.verify` recomputes every hash and link: an edited record (its hash, or a
column that differs from its JSON), a deleted one (a gap in seq, or the head past the last
record), an inserted or replaced one (a broken link) are reported with their seq and time.
Retention (:meth:`AuditStore.prune`) deletes the oldest records, only after checking them, and
keeps a checkpoint (the last deleted record's seq and hash) from which verification starts; the
prune itself is appended to the trail. What the chain cannot show: someone with write access to
the database who rewrites every record from some point on, head included. Keep the head hash
that ``nuri audit verify`` prints somewhere else (a ticket, a WORM store) to catch that.

The store never masks anything: callers pass the question already masked.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
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
    hash: str

    def payload(self) -> str:
        """The canonical JSON that is hashed (every field but ``hash``)."""
        return canonical_json(self.model_dump(mode="json", exclude={"hash"}))


class VerifyIssue(BaseModel):
    kind: Literal["edited", "missing", "link", "head", "malformed"]
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
    issues: list[VerifyIssue] = Field(default_factory=list)


class PruneReport(BaseModel):
    deleted: int
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoint_hash: str | None = None
    cutoff: str


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def record_hash(prev_hash: str, payload: str) -> str:
    """``sha256(prev_hash + payload)``, hex; ``payload`` is the record's canonical JSON."""
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        raise ValueError("naive datetime: give a time zone (UTC)")
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Checker:
    """Walks records in seq order from an anchor (genesis or the last checkpoint)."""

    def __init__(self, anchor_seq: int, anchor_hash: str) -> None:
        self.expect_seq = anchor_seq + 1
        self.expect_prev = anchor_hash
        self.prev_seq = anchor_seq
        self.prev_ts: str | None = None
        self.count = 0
        self.first_seq: int | None = None
        self.issues: list[VerifyIssue] = []

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

    def _check_record(self, row: Row) -> None:
        if record_hash(row.prev_hash, row.payload) != row.hash:
            self.issues.append(
                VerifyIssue(kind="edited", seq=row.seq, ts=row.ts, detail="내용이 바뀌었습니다 (해시 불일치)")
            )
            return
        try:
            data = json.loads(row.payload)
            stored = {name: getattr(row, name) for name in _MIRRORED}
            differs = [name for name in _MIRRORED if data.get(name) != stored[name]]
        except (ValueError, AttributeError) as e:
            self.issues.append(
                VerifyIssue(kind="malformed", seq=row.seq, ts=row.ts, detail=f"기록을 읽을 수 없습니다: {e}")
            )
            return
        if differs:
            self.issues.append(
                VerifyIssue(
                    kind="edited", seq=row.seq, ts=row.ts,
                    detail=f"열 값이 기록 내용과 다릅니다 (변경?): {', '.join(differs)}",
                )
            )  # fmt: skip

    def finish(self, head_seq: int, head_hash: str) -> None:
        last_seq = self.expect_seq - 1
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
    ) -> None:
        self.url = url
        self.store_question, self.store_answer, self.store_retrieved = store_question, store_answer, store_retrieved
        self._clock = clock
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
        )

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

    def _append(self, conn: Connection, entry: AuditEntry) -> AuditRecord:
        head_seq, head_hash = self._lock_head(conn)
        fields = entry.model_dump(mode="json")
        fields.update(seq=head_seq + 1, ts=_iso(self._clock()), prev_hash=head_hash)
        payload = canonical_json(fields)
        digest = record_hash(head_hash, payload)
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
        """Check every hash and link from the last checkpoint (or genesis) to the head."""
        try:
            with read_transaction(self.engine) as conn:
                head = conn.execute(select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1)).first()
                head_seq, head_hash = (int(head.seq), str(head.hash)) if head is not None else (0, GENESIS)
                anchor = self._anchor(conn)
                checker = _Checker(*(anchor or (0, GENESIS)))
                for row in self._rows(conn):
                    checker.feed(row)
        except SQLAlchemyError as e:
            raise AuditError(f"감사 기록을 읽지 못했습니다: {db_reason(e)}") from e
        if head is None:
            checker.issues.append(VerifyIssue(kind="head", detail="체인 끝(audit_head)이 없습니다 (삭제?)"))
        checker.finish(head_seq, head_hash)
        report = VerifyReport(
            ok=not checker.issues,
            records=checker.count,
            first_seq=checker.first_seq,
            last_seq=checker.expect_seq - 1 if checker.count else None,
            head_seq=head_seq,
            head_hash=head_hash,
            checkpoint_seq=anchor[0] if anchor else None,
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
                keep_from = conn.execute(
                    select(func.min(records_table.c.seq)).where(records_table.c.ts >= cutoff)
                ).scalar()
                limit = head_seq if keep_from is None else int(keep_from) - 1
                anchor = self._anchor(conn) or (0, GENESIS)
                checker = _Checker(*anchor)
                last: Row | None = None
                for row in self._rows(conn, max_seq=limit):
                    checker.feed(row)
                    last = row
                if last is None:
                    return PruneReport(deleted=0, cutoff=cutoff)
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
                        endpoint="audit.prune",
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
               "prompt_version", "answer", "citations", "decisions", "refused", "latency_ms", "prev_hash", "hash")  # fmt: skip
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
                name: "" if data[name] is None else canonical_json(data[name]) if name in _CSV_JSON else data[name]
                for name in CSV_COLUMNS
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
