"""The audit trail: an append-only, tamper-evident record of every request (``nuri audit
verify|export|prune|seal|checkpoint``).

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
a prune refuses to build on it. What the database alone cannot show: the newest records deleted
with the head moved back to an earlier record (truncation), or the whole trail emptied.

Signed head checkpoints outside the database catch that. :meth:`AuditStore.write_checkpoint`
(``nuri audit checkpoint``, on a schedule: the Kubernetes CronJob ``nuri-audit-checkpoint`` every
5 minutes) appends one JSON line to ``audit.checkpoint_file``, an append-only file (a WORM mount,
``chattr +a``, a log shipper's folder) that whoever can write the database cannot rewrite::

    {"at": …, "hash": head hash, "mac": HMAC-SHA256(chain_key, "nuri-audit-checkpoint/1\n" +
     canonical_json({seq, hash, at, scheme})), "scheme": "hmac-sha256", "seq": head seq}

opened with ``O_APPEND``, fsynced, never rewritten; the head record is checked first (a head that
does not verify is not signed). Without the key the line says ``"scheme": "unsigned", "mac":
null``, and a keyed chain is not checkpointed at all. :meth:`AuditStore.verify` then checks the
file (``audit.checkpoint_file``, or ``nuri audit verify --checkpoints FILE``): every line parses
(else ``checkpoint_file``) and its MAC verifies with the key (else ``forged``, and the line is
otherwise ignored; an unsigned line after a signed one is ``forged`` too, since a store with the
key signs every line; earlier unsigned lines, and all lines when verifying without the key, are
checked as hints, and without the key the signed ones are ``unverifiable``); a checkpoint seq
past the head, or a line whose seq is lower than an earlier line's, is ``truncated`` (records
deleted and the head moved back, or the trail emptied); a checkpointed record still in the
database must have the checkpoint's hash, and one at the prune checkpoint the checkpoint's hash
(else ``rewritten``: deleted and replaced, e.g. the tail truncated and then extended again); a
checkpoint of records pruned since is fine as long as a prune record of the chain vouches for the
prune checkpoint (``checkpoint`` otherwise, as above). The file is read before the database's
snapshot, so that a checkpoint written meanwhile is never mistaken for truncation.

What is still not detected: records appended after the last checkpoint and deleted (the head
moved back) before the next one: only checkpointed seqs are compared, so the next checkpoint
signs the shortened chain (checkpoint often: the interval is the window); a sink that is not
append-only (whoever can rewrite both the database and the file undoes it; a missing file is
reported, a file cut back to fewer lines is not); whoever holds the key (it signs anything).
After a legitimate restore of the database from a backup, the records since are reported
``truncated``: keep that file as evidence and start a new one.
Also give the API a database role that cannot update or delete records
(``deploy/postgres/audit_roles.sql``).

The store never masks anything: callers pass the question already masked.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import logging
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator
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
#: The ``scheme`` of a head checkpoint line (:meth:`AuditStore.write_checkpoint`): signed with the
#: chain key, or not (written without the key: an unsigned hint).
CHECKPOINT_HMAC = "hmac-sha256"
CHECKPOINT_UNSIGNED = "unsigned"
#: Put before a checkpoint line's fields under its MAC, so that no checkpoint MAC can pass for a
#: record's HMAC (whose message starts with 64 hex digits) or the other way round.
_CHECKPOINT_DOMAIN = "nuri-audit-checkpoint/1\n"
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
    # Absent (not null) when unknown, so that records written before these fields hash as they did.
    tokens_in: int | None = Field(
        None, ge=0, exclude_if=lambda v: v is None, description="The model's input tokens, as its server reported them."
    )
    tokens_out: int | None = Field(
        None,
        ge=0,
        exclude_if=lambda v: v is None,
        description="The model's output tokens, as its server reported them.",
    )
    assistant: str | None = Field(
        None,
        exclude_if=lambda v: v is None,
        description="The agency assistant the caller asked through (its id); absent: the platform's own.",
    )


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
    kind: Literal[
        "edited", "missing", "link", "head", "malformed", "downgrade", "checkpoint", "unverifiable",
        "truncated", "rewritten", "forged", "checkpoint_file",
    ] = Field(
        ...,
        description="Against the head checkpoint file (`audit.checkpoint_file`): `truncated` (the head is behind "
        "a checkpoint: newest records deleted), `rewritten` (a checkpointed record has another hash), `forged` (a "
        "line whose MAC does not verify), `checkpoint_file` (the file missing, unreadable, or a line malformed).",
    )  # fmt: skip
    seq: int | None = Field(None, description="Where: the record (or the first missing seq).")
    until_seq: int | None = Field(None, description="Last missing seq of a gap.")
    ts: str | None = Field(None, description="The record's time, or of the last record before a gap.")
    line_no: int | None = Field(None, description="The line of the checkpoint file the issue comes from.")
    detail: str

    def line(self) -> str:
        where = f"seq {self.seq}" if self.until_seq in (None, self.seq) else f"seq {self.seq}–{self.until_seq}"
        if self.seq is None:
            where = "체크포인트 파일" if self.kind == "checkpoint_file" else "끝"
            if self.line_no is not None:
                where = f"체크포인트 {self.line_no}번째 줄"
        elif self.line_no is not None:
            where += f" [체크포인트 {self.line_no}번째 줄]"
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
    checkpoint_file: str | None = Field(None, description="The head checkpoint file checked against, if any.")
    checkpoints: int = Field(0, description="Lines of the checkpoint file checked.")
    checkpoints_signed: int = Field(0, description="Of those, lines whose MAC verified with the chain key.")
    last_checkpoint_seq: int | None = Field(None, description="The seq of the file's last line.")
    issues: list[VerifyIssue] = Field(default_factory=list)


class HeadCheckpoint(BaseModel):
    """One line of the head checkpoint file: the chain head (``seq``, ``hash``) at ``at``, signed
    with the chain key (``mac``: HMAC-SHA256 over :meth:`signed_text`), or ``mac: null`` and
    ``scheme: unsigned`` where it was written without the key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(..., ge=0)
    hash: str = Field(..., pattern=r"^[0-9a-f]{64}$")
    at: str = Field(..., min_length=1, description="UTC, ISO 8601, when the checkpoint was taken.")
    scheme: Literal["hmac-sha256", "unsigned"]
    mac: str | None = Field(..., pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _mac_matches_scheme(self) -> HeadCheckpoint:
        if (self.mac is None) != (self.scheme == CHECKPOINT_UNSIGNED):
            raise ValueError("mac must be null exactly when scheme is 'unsigned'")
        return self

    def signed_text(self) -> str:
        """What ``mac`` is computed over: a domain tag, then the other fields' canonical JSON."""
        return _checkpoint_text(self.model_dump(mode="json", exclude={"mac"}))

    def line(self) -> str:
        return canonical_json(self.model_dump(mode="json")) + "\n"


def _checkpoint_text(fields: dict[str, Any]) -> str:
    return _CHECKPOINT_DOMAIN + canonical_json({name: fields[name] for name in ("seq", "hash", "at", "scheme")})


def _mac(text: str, key: bytes) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def checkpoint_mac(checkpoint: HeadCheckpoint, key: bytes) -> str:
    """HMAC-SHA256 of a checkpoint line's fields (``mac`` aside) under the chain key, hex."""
    return _mac(checkpoint.signed_text(), key)


def _append_line(path: Path, line: str) -> None:
    """Append ``line`` to ``path`` with ``O_APPEND`` (the only way a ``chattr +a`` file can be
    written), then fsync; a new file's folder is fsynced too. A last line left without its
    newline (a write cut short) is ended first, so that the new line stays a line of its own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = line.encode("utf-8")
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    data = b"\n" + data
        created = False
    except FileNotFoundError:
        created = True
    except OSError:  # a sink this job may append to but not read
        created = False
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        try:
            dir_fd = os.open(path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)


def read_checkpoints(path: Path) -> tuple[list[tuple[int, HeadCheckpoint]], list[VerifyIssue]]:
    """The lines of a checkpoint file as (line number, checkpoint), and an issue for each line
    that does not parse (``OSError`` when the file cannot be read; blank lines are skipped)."""
    good: list[tuple[int, HeadCheckpoint]] = []
    bad: list[VerifyIssue] = []
    with path.open("rb") as f:
        for n, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                good.append((n, HeadCheckpoint.model_validate_json(raw)))
            except ValidationError as e:
                reason = e.errors()[0].get("msg", "invalid") if e.errors() else "invalid"
                bad.append(
                    VerifyIssue(
                        kind="checkpoint_file", line_no=n,
                        detail=f"체크포인트 줄을 읽을 수 없습니다 ({reason}): 파일이 손상되었거나 덧붙여 쓴 줄입니다 "
                        "/ unreadable checkpoint line (damaged or appended by hand)",
                    )
                )  # fmt: skip
    return good, bad


def checkpoint_path(template: str, data_dir: Path, home: Path | None = None) -> Path:
    """``audit.checkpoint_file`` as a path: ``{data_dir}`` replaced by the data folder, a relative
    path made absolute against ``home`` (default the current directory), as for the store URLs."""
    base = home or Path.cwd()
    folder = data_dir if data_dir.is_absolute() else base / data_dir
    path = Path(template.replace("{data_dir}", folder.as_posix())).expanduser()
    return path if path.is_absolute() else base / path


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


def _check_checkpoints(
    lines: list[tuple[int, HeadCheckpoint]],
    key: bytes | None,
    head_seq: int,
    anchor: tuple[int, str] | None,
    claims: set[tuple[int, str]],
    found: dict[int, tuple[str, str]],
) -> tuple[list[VerifyIssue], int]:
    """The head checkpoint file's lines against the database (see :meth:`AuditStore.verify`):
    its issues, and how many lines' MACs verified. ``found``: (hash, ts) of the records at the
    lines' seqs that are still there; ``claims``: the checkpoints the chain's prune records vouch
    for. A line whose MAC fails says nothing and is only reported; an unsigned line (written
    without the key) is checked as a hint, unless it follows a signed one (forged then)."""
    issues: list[VerifyIssue] = []
    signed = 0
    unchecked: list[int] = []
    signed_seen = False
    high: HeadCheckpoint | None = None  # the line with the highest seq so far
    for n, cp in lines:
        hint = ""
        if cp.mac is None:
            if key is not None and signed_seen:
                issues.append(
                    VerifyIssue(
                        kind="forged", seq=cp.seq, ts=cp.at, line_no=n,
                        detail="서명된 줄 뒤에 서명 없는 체크포인트 줄이 있습니다: 감사 체인 키 없이 덧붙인 줄입니다 "
                        "(위조) / unsigned checkpoint line after signed ones: appended without the chain key",
                    )
                )  # fmt: skip
                continue
            hint = " (서명 없는 줄 / unsigned line)"
        elif key is None:
            unchecked.append(n)
            hint = " (서명 미검사 / MAC not checked)"
        elif not hmac.compare_digest(checkpoint_mac(cp, key), cp.mac):
            issues.append(
                VerifyIssue(
                    kind="forged", seq=cp.seq, ts=cp.at, line_no=n,
                    detail="체크포인트 줄의 서명(HMAC)이 감사 체인 키와 맞지 않습니다: 키 없이 쓰거나 고친 줄입니다 "
                    "(위조) / the checkpoint line's MAC does not verify with the chain key: forged or altered",
                )
            )  # fmt: skip
            continue
        else:
            signed += 1
            signed_seen = True
        if high is not None and cp.seq < high.seq:
            issues.append(
                VerifyIssue(
                    kind="truncated", seq=cp.seq + 1, until_seq=high.seq, ts=cp.at, line_no=n,
                    detail=f"체인 끝이 뒤로 이동했습니다: {high.at}에는 seq {high.seq}, {cp.at}에는 seq {cp.seq} "
                    f"(그 사이에 마지막 기록들이 삭제됨){hint} / the head moved back between two checkpoints: "
                    "the newest records were deleted",
                )
            )  # fmt: skip
        if high is None or cp.seq >= high.seq:
            high = cp
        if cp.seq > head_seq:
            issues.append(
                VerifyIssue(
                    kind="truncated", seq=head_seq + 1, until_seq=cp.seq, ts=cp.at, line_no=n,
                    detail=f"체인 끝(seq {head_seq})이 체크포인트(seq {cp.seq})보다 앞입니다: 마지막 기록들이 "
                    f"삭제되고 체인 끝이 되돌려졌습니다{hint} / the head is behind a checkpoint: the newest records "
                    "were deleted and the head moved back",
                )
            )  # fmt: skip
            continue
        if cp.seq == 0:
            expected: str | None = GENESIS
        elif anchor is not None and cp.seq <= anchor[0]:
            # pruned: the checkpoint left is vouched for by the chain's prune record (check_anchor)
            expected = anchor[1] if cp.seq == anchor[0] else next((h for s, h in claims if s == cp.seq), None)
        else:
            expected = found[cp.seq][0] if cp.seq in found else None  # a missing one: the walk says so
        if expected is not None and expected != cp.hash:
            pruned = anchor is not None and 0 < cp.seq <= anchor[0]
            issues.append(
                VerifyIssue(
                    kind="rewritten", seq=cp.seq, ts=found[cp.seq][1] if cp.seq in found else None, line_no=n,
                    detail=f"{'보존 기간으로 삭제된 ' if pruned else ''}기록의 해시가 체크포인트({cp.at})의 해시와 "
                    f"다릅니다: 그 뒤에 다시 쓰이거나 (삭제 후) 다른 기록으로 바뀌었습니다{hint} / the record's hash "
                    "differs from the checkpoint's: rewritten or replaced since",
                )
            )  # fmt: skip
    if unchecked:
        issues.append(
            VerifyIssue(
                kind="unverifiable", line_no=unchecked[0],
                detail=f"서명된 체크포인트 {len(unchecked)}줄은 감사 체인 키 없이 서명을 검사할 수 없습니다 (검사하지 "
                "못함, 통과 아님): audit.chain_key (NURI_AUDIT__CHAIN_KEY)를 설정하고 다시 검사하세요 / cannot verify "
                "the checkpoint lines' MACs without the chain key",
            )
        )  # fmt: skip
    return issues, signed


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
        checkpoint_file: Path | str | None = None,
    ) -> None:
        self.url = url
        #: Where :meth:`write_checkpoint` appends and :meth:`verify` checks by default (None: nowhere).
        self.checkpoint_file = Path(checkpoint_file) if checkpoint_file else None
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
            checkpoint_file=checkpoint_path(settings.checkpoint_file, data_dir, home)
            if settings.checkpoint_file
            else None,
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

    # -- head checkpoints ------------------------------------------------------------------

    def write_checkpoint(self, path: Path | str | None = None) -> HeadCheckpoint:
        """Append the chain head, signed with the chain key, as one JSON line to the checkpoint
        file (``path``, default ``audit.checkpoint_file``): opened with ``O_APPEND`` (it works on
        a ``chattr +a`` file), written and fsynced; nothing in the file is ever rewritten. The
        head record is checked first (its hash, and with the key its HMAC): a head that does not
        verify is not vouched for (:class:`AuditIntegrityError`). Without the key the line is
        unsigned (``mac: null``), and a keyed chain is refused (its checkpoints must be signed)."""
        target = Path(path) if path is not None else self.checkpoint_file
        if target is None:
            raise AuditError(
                "체크포인트 파일이 지정되지 않았습니다: audit.checkpoint_file (NURI_AUDIT__CHECKPOINT_FILE)를 "
                "설정하거나 --file로 주세요",
                message_en="No checkpoint file: set audit.checkpoint_file (NURI_AUDIT__CHECKPOINT_FILE) or pass --file.",
            )
        try:
            with read_transaction(self.engine) as conn:
                head = conn.execute(select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1)).first()
                if head is None:
                    raise AuditIntegrityError(
                        "체인 끝(audit_head)이 없어 체크포인트를 남기지 않았습니다 (삭제?): `nuri audit verify`로 확인하세요",
                        [VerifyIssue(kind="head", detail="체인 끝(audit_head)이 없습니다 (삭제?)")],
                    )
                head_seq, head_hash = int(head.seq), str(head.hash)
                row = None
                if head_seq > 0:
                    row = conn.execute(select(records_table).where(records_table.c.seq == head_seq)).first()
        except SQLAlchemyError as e:
            raise _unavailable(e) from e
        if row is not None and self._key is None and self._keyed_at_row(row):
            raise AuditError(
                f"감사 기록 체인이 키로 서명되어 있는데(seq {head_seq}) 감사 체인 키가 설정되지 않아 체크포인트에 "
                "서명할 수 없습니다: audit.chain_key (NURI_AUDIT__CHAIN_KEY)를 설정하세요",
                message_en="The audit chain is keyed but no audit.chain_key (NURI_AUDIT__CHAIN_KEY) is configured: "
                "its checkpoints must be signed.",
            )
        if head_seq > 0:
            probe = _Checker(head_seq - 1, row.prev_hash if row is not None else GENESIS, key=self._key)
            if row is not None:
                probe.feed(row)
            probe.finish(head_seq, head_hash)
            if probe.issues:
                raise AuditIntegrityError(
                    f"체인 끝 기록이 검사를 통과하지 못해 체크포인트를 남기지 않았습니다: {probe.issues[0].line()} "
                    "(`nuri audit verify`로 확인하세요)",
                    probe.issues,
                )
        fields: dict[str, Any] = {"seq": head_seq, "hash": head_hash, "at": _iso(self._clock())}
        if self._key is None:
            checkpoint = HeadCheckpoint(**fields, scheme=CHECKPOINT_UNSIGNED, mac=None)
        else:
            fields["scheme"] = CHECKPOINT_HMAC
            checkpoint = HeadCheckpoint(**fields, mac=_mac(_checkpoint_text(fields), self._key))
        try:
            _append_line(target, checkpoint.line())
        except OSError as e:
            raise AuditError(
                f"체크포인트 파일에 쓸 수 없습니다 ({target}): {e.strerror or e}",
                message_en=f"Cannot append to the checkpoint file {target}: {e.strerror or e}",
            ) from e
        log.info("audit head checkpoint written", extra={"seq": head_seq, "file": str(target)})
        return checkpoint

    @staticmethod
    def _keyed_at_row(row: Row) -> bool:
        try:
            return json.loads(row.payload).get("chain") == CHAIN_HMAC
        except (ValueError, AttributeError):
            return False

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

    def record(self, request_id: str) -> AuditRecord | None:
        """The (first) record of request ``request_id`` (an answer's ``audit_id``), or None."""
        q = select(records_table).where(records_table.c.request_id == request_id).order_by(records_table.c.seq)
        try:
            with read_transaction(self.engine) as conn:
                row = conn.execute(q.limit(1)).first()
        except SQLAlchemyError as e:
            raise AuditError(f"감사 기록을 읽지 못했습니다: {db_reason(e)}") from e
        return self._to_record(row) if row is not None else None

    def records(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[AuditRecord]:
        """Records with ``since <= ts < until`` (either open), in seq order."""
        try:
            with read_transaction(self.engine) as conn:
                for row in self._rows(conn, _iso(since) if since else None, _iso(until) if until else None):
                    yield self._to_record(row)
        except SQLAlchemyError as e:
            raise AuditError(f"감사 기록을 읽지 못했습니다: {db_reason(e)}") from e

    def verify(self, checkpoints: Path | str | None = None) -> VerifyReport:
        """Check every hash and link from the last checkpoint (or genesis) to the head: the
        keyed records' HMACs with the chain key (without it they are reported as unverifiable,
        and the report is not ok), the schemes' order (plain, then keyed from a seal on, never
        back), and that a prune record of the chain vouches for the checkpoint. Then, against
        the head checkpoint file (``checkpoints``, default ``audit.checkpoint_file``; none if
        neither): every line's MAC, no head behind a checkpoint (``truncated``), and every
        checkpointed record still in the database with the checkpoint's hash (``rewritten``)."""
        path = Path(checkpoints) if checkpoints is not None else self.checkpoint_file
        lines: list[tuple[int, HeadCheckpoint]] = []
        file_issues: list[VerifyIssue] = []
        if path is not None:  # read before the database: every line then predates the snapshot
            try:
                lines, file_issues = read_checkpoints(path)
            except FileNotFoundError:
                file_issues = [
                    VerifyIssue(
                        kind="checkpoint_file",
                        detail=f"체크포인트 파일이 없습니다 ({path}): `nuri audit checkpoint`가 아직 실행되지 않았거나 "
                        "파일이 없어졌습니다 / checkpoint file missing: never written, or removed",
                    )
                ]  # fmt: skip
            except OSError as e:
                file_issues = [
                    VerifyIssue(
                        kind="checkpoint_file",
                        detail=f"체크포인트 파일을 읽을 수 없습니다 ({path}): {e.strerror or e} / cannot read the "
                        "checkpoint file",
                    )
                ]  # fmt: skip
        wanted = {cp.seq for _, cp in lines}
        found: dict[int, tuple[str, str]] = {}
        try:
            with read_transaction(self.engine) as conn:
                head = conn.execute(select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1)).first()
                head_seq, head_hash = (int(head.seq), str(head.hash)) if head is not None else (0, GENESIS)
                anchor = self._anchor(conn)
                checker = _Checker(*(anchor or (0, GENESIS)), key=self._key)
                for row in self._rows(conn):
                    checker.feed(row)
                    if row.seq in wanted:
                        found[row.seq] = (row.hash, row.ts)
        except SQLAlchemyError as e:
            raise AuditError(f"감사 기록을 읽지 못했습니다: {db_reason(e)}") from e
        if head is None:
            checker.issues.append(VerifyIssue(kind="head", detail="체인 끝(audit_head)이 없습니다 (삭제?)"))
        checker.check_anchor(anchor)
        checker.finish(head_seq, head_hash, require_keyed=self._key is not None)
        line_issues, signed = _check_checkpoints(lines, self._key, head_seq, anchor, checker.claims, found)
        checker.issues += sorted(file_issues + line_issues, key=lambda i: (i.kind == "unverifiable", i.line_no or 0))
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
            checkpoint_file=str(path) if path is not None else None,
            checkpoints=len(lines),
            checkpoints_signed=signed,
            last_checkpoint_seq=lines[-1][1].seq if lines else None,
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
