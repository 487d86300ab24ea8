"""Where the index's documents came from and how their last runs went: one row per run of a sync
(``nuri ingest``), an upload, a delete or a re-index, per source root (a synced folder or file,
or an agency's upload folder).

What it answers: ``GET /v1/sources`` (per root: the last run, its counts and failed files, when
the last clean run finished and how long ago), and which folders originals may be downloaded
from (:meth:`SyncLog.roots`: the synced roots; the upload folder is the settings'). SQLAlchemy
Core on the key store's database (``keys.url``: a SQLite file under ``data_dir`` by default,
PostgreSQL in production), opened with the same helpers as :mod:`guardrails.keys`. The newest
:data:`KEEP_RUNS` runs of each root are kept.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, Text, delete, func, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import SQLAlchemyError

from connectors.errors import NuriError
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

if TYPE_CHECKING:
    from configs.settings import Settings
    from retrieval.sync import SyncReport

log = logging.getLogger("nuri.sync_log")

#: Runs kept per source root (older ones are deleted when a new one is recorded).
KEEP_RUNS = 500
RunKind = Literal["sync", "upload", "delete", "reindex"]

_meta = MetaData()
sync_runs = Table(
    "sync_runs",
    _meta,
    Column("run_id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("root", String(1000), nullable=False, index=True),
    Column("subject", String(200), nullable=False),
    Column("started_at", String(40), nullable=False, index=True),
    Column("finished_at", String(40), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("added", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("removed", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("failures", Text, nullable=False),  # JSON [{"file", "reason"}]
)


class SyncLogError(NuriError):
    """The sync records cannot be read or written (the key store's database)."""

    code = "state_unavailable"


class Failure(BaseModel):
    file: str = Field(..., description="The file, relative to its source root when it lies inside it.")
    reason: str = Field(..., description="Why it was not indexed (the parser's reason, Korean).")


class SyncRun(BaseModel):
    """One run over one source root."""

    run_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    kind: RunKind = "sync"
    root: str = Field(..., description="The synced folder or file, or an agency's upload folder (server path).")
    subject: str = Field("", description="Who ran it (`cli:<user>`, `key:<id>`).")
    started_at: datetime
    finished_at: datetime
    ok: bool = Field(..., description="Finished with no failed file.")
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[Failure] = Field(default_factory=list)


class SourceStatus(BaseModel):
    """A source root as ``GET /v1/sources`` shows it to an admin."""

    root: str
    last_run: SyncRun
    last_success_at: datetime | None = Field(None, description="When the last run with no failed file finished.")
    seconds_since_success: float | None = Field(None, description="Seconds from then to now (None: never).")
    runs: int = Field(..., description="Runs recorded for this root (the newest are kept).")


def now() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


class SyncLog:
    """The ``sync_runs`` table (see the module docstring). Thread-safe; processes may share it."""

    def __init__(self, url: str, timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.url = url
        self.engine = open_tables(url, timeout_s, _meta, SyncLogError, "동기화 기록")

    @classmethod
    def from_settings(cls, settings: KeySettings, data_dir: Path, home: Path | None = None) -> SyncLog:
        """On the key store's database (``keys.url``)."""
        try:
            url = database_url(settings.url, data_dir, home)
        except (SQLAlchemyError, ValueError) as e:
            raise SyncLogError(f"동기화 기록 저장소 주소가 올바르지 않습니다: {db_reason(e)}") from e
        return cls(url, settings.timeout_s)

    def close(self) -> None:
        release_engine(self.engine)

    def __enter__(self) -> SyncLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, run: SyncRun) -> None:
        row = run.model_dump(exclude={"failures", "started_at", "finished_at"}) | {
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
            "failures": json.dumps([f.model_dump() for f in run.failures], ensure_ascii=False),
        }
        stale = (
            select(sync_runs.c.run_id)
            .where(sync_runs.c.root == run.root)
            .order_by(sync_runs.c.started_at.desc(), sync_runs.c.run_id)
            .offset(KEEP_RUNS)
        )
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(sync_runs.insert().values(**row))
                conn.execute(delete(sync_runs).where(sync_runs.c.run_id.in_(stale.scalar_subquery())))
        except SQLAlchemyError as e:
            raise SyncLogError(f"동기화 기록을 저장하지 못했습니다: {db_reason(e)}") from e
        log.info(
            "run recorded",
            extra={"kind": run.kind, "root": run.root, "ok": run.ok, "added": run.added, "updated": run.updated,
                   "removed": run.removed, "failed": run.failed},
        )  # fmt: skip

    def roots(self, kinds: Sequence[RunKind] = ("sync",)) -> list[str]:
        """The roots runs of ``kinds`` were recorded for (default: the synced folders and files)."""
        q = select(sync_runs.c.root).where(sync_runs.c.kind.in_(list(kinds))).distinct()
        try:
            with read_transaction(self.engine) as conn:
                return sorted(str(r.root) for r in conn.execute(q))
        except SQLAlchemyError as e:
            raise SyncLogError(f"동기화 기록을 읽지 못했습니다: {db_reason(e)}") from e

    def runs(self, root: str | None = None, limit: int = 50) -> list[SyncRun]:
        """The newest runs (of one root), newest first."""
        q = select(sync_runs).order_by(sync_runs.c.started_at.desc(), sync_runs.c.run_id).limit(limit)
        if root is not None:
            q = q.where(sync_runs.c.root == root)
        try:
            with read_transaction(self.engine) as conn:
                return [_run(r) for r in conn.execute(q)]
        except SQLAlchemyError as e:
            raise SyncLogError(f"동기화 기록을 읽지 못했습니다: {db_reason(e)}") from e

    def sources(self, at: datetime | None = None) -> list[SourceStatus]:
        """Every root's last run, last clean run and run count, by root."""
        at = at or now()
        t = sync_runs
        try:
            with read_transaction(self.engine) as conn:
                counts = {
                    str(r.root): int(r.n)
                    for r in conn.execute(select(t.c.root, func.count().label("n")).group_by(t.c.root))
                }
                out = []
                for root in sorted(counts):
                    last = conn.execute(
                        select(t).where(t.c.root == root).order_by(t.c.started_at.desc(), t.c.run_id).limit(1)
                    ).first()
                    success = conn.execute(
                        select(t.c.finished_at).where(t.c.root == root, t.c.ok.is_(True))
                        .order_by(t.c.finished_at.desc()).limit(1)
                    ).first()  # fmt: skip
                    assert last is not None
                    when = datetime.fromisoformat(success.finished_at) if success is not None else None
                    out.append(
                        SourceStatus(
                            root=root,
                            last_run=_run(last),
                            last_success_at=when,
                            seconds_since_success=round((at - when).total_seconds(), 3) if when else None,
                            runs=counts[root],
                        )
                    )
        except SQLAlchemyError as e:
            raise SyncLogError(f"동기화 기록을 읽지 못했습니다: {db_reason(e)}") from e
        return out


def _run(row: Row) -> SyncRun:
    return SyncRun(
        run_id=row.run_id,
        kind=row.kind,
        root=row.root,
        subject=row.subject,
        started_at=datetime.fromisoformat(row.started_at),
        finished_at=datetime.fromisoformat(row.finished_at),
        ok=bool(row.ok),
        added=row.added,
        updated=row.updated,
        removed=row.removed,
        unchanged=row.unchanged,
        failed=row.failed,
        failures=[Failure(**f) for f in json.loads(row.failures)],
    )


def _shown(file: str, root: Path) -> str:
    path = Path(file)
    try:
        return str(path.resolve().relative_to(root)) if root.is_dir() else path.name
    except ValueError:
        return file


def runs_of_sync(paths: Sequence[Path], report: SyncReport, started_at: datetime, subject: str) -> list[SyncRun]:
    """The runs of one sync over ``paths``: one per root. Each gets the failed files under it;
    the counts are the whole run's (a sync reports them for all its paths together)."""
    finished = now()
    roots = [Path(p).resolve() for p in paths]
    out = []
    for root in roots:
        mine = [(f, r) for f, r in report.failed if Path(f).resolve() == root or Path(f).resolve().is_relative_to(root)]
        out.append(
            SyncRun(
                kind="sync",
                root=str(root),
                subject=subject,
                started_at=started_at,
                finished_at=finished,
                ok=not mine,
                added=report.added,
                updated=report.updated,
                removed=report.removed,
                unchanged=report.unchanged,
                failed=len(mine),
                failures=[Failure(file=_shown(f, root), reason=r) for f, r in mine],
            )
        )
    return out


def record_cli_sync(settings: Settings, paths: Sequence[Path], report: SyncReport) -> None:
    """Record a ``nuri ingest`` run (it took ``report.seconds`` until now) in the key store's
    database. Never fails the sync: a database the command cannot reach (an ingest job without
    it) is logged and passed over."""
    from assistant.callers import cli_subject

    started_at = now() - timedelta(seconds=report.seconds)
    try:
        with SyncLog.from_settings(settings.keys, settings.resolve(settings.data_dir), settings.home) as sync_log:
            for run in runs_of_sync(paths, report, started_at, cli_subject()):
                sync_log.record(run)
    except SyncLogError as e:
        log.warning("sync run not recorded", extra={"reason": str(e)})
