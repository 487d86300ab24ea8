"""The results store: every eval run appended, listed and read back (``nuri eval list``,
``compare``, ``gate``, the UI's 평가 tab).

SQLAlchemy Core on one table, so the same code runs on the SQLite file of a laptop
(``eval.history_url``, default ``sqlite:///data/eval/history.db`` relative to ``home``) and on a
database server URL (PostgreSQL) in production, through the same engine and transactions as the
key store and the audit trail (:mod:`guardrails.store`: SQLite in WAL mode with a busy timeout;
the table created once even when several processes open a new database at the same moment). A
run is stored whole (its ``results.json``) with the columns a listing needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from connectors.errors import NuriError
from evals.results import RunResult
from guardrails.store import db_reason, open_engine, read_transaction, safe_url, schema_transaction, write_transaction

if TYPE_CHECKING:
    from configs.settings import Settings

_meta = MetaData()
runs = Table(
    "eval_runs",
    _meta,
    Column("run_id", String(128), primary_key=True),
    Column("suite", String(128), nullable=False, index=True),
    Column("started_at", String(40), nullable=False, index=True),
    Column("model", String(256), nullable=False),
    Column("commit", String(64), nullable=False),
    Column("n_items", Integer, nullable=False),
    Column("wall_s", Float, nullable=False),
    Column("metrics", Text, nullable=False),
    Column("result", Text, nullable=False),
)


class HistoryError(NuriError):
    """The results store cannot be opened, read or written."""

    code = "eval_history_unavailable"


class RunNotFoundError(NuriError):
    """No run with that id (or prefix) in the results store."""

    code = "run_not_found"


class RunSummary(BaseModel):
    run_id: str
    suite: str
    started_at: str
    model: str
    commit: str
    items: int
    metrics: dict[str, float | None]


class History:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = open_engine(url)
            with schema_transaction(self.engine) as conn:
                _meta.create_all(conn)
        except (SQLAlchemyError, OSError, ValueError) as e:
            raise HistoryError(f"평가 기록 저장소를 열 수 없습니다 ({safe_url(url)}): {db_reason(e)}") from e

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def from_settings(cls, settings: Settings) -> History:
        url = settings.eval.history_url
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).is_absolute():
            url = str(parsed.set(database=str(settings.resolve(parsed.database))))
        return cls(url)

    def add(self, result: RunResult) -> None:
        row = {
            "run_id": result.run_id,
            "suite": result.suite,
            "started_at": result.started_at,
            "model": result.model,
            "commit": result.commit,
            "n_items": result.dataset.items,
            "wall_s": result.wall_s,
            "metrics": json.dumps(result.metrics),
            "result": result.model_dump_json(),
        }
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(runs.insert().values(**row))
        except SQLAlchemyError as e:
            raise HistoryError(f"평가 결과를 기록하지 못했습니다: {db_reason(e)}") from e

    def list_runs(self, suite: str | None = None, limit: int = 50) -> list[RunSummary]:
        q = select(runs.c.run_id, runs.c.suite, runs.c.started_at, runs.c.model, runs.c.commit, runs.c.n_items,
                   runs.c.metrics).order_by(runs.c.started_at.desc(), runs.c.run_id.desc()).limit(limit)  # fmt: skip
        if suite:
            q = q.where(runs.c.suite == suite)
        try:
            with read_transaction(self.engine) as conn:
                rows = conn.execute(q).all()
        except SQLAlchemyError as e:
            raise HistoryError(f"평가 기록을 읽지 못했습니다: {db_reason(e)}") from e
        return [
            RunSummary(
                run_id=r.run_id,
                suite=r.suite,
                started_at=r.started_at,
                model=r.model,
                commit=r.commit,
                items=r.n_items,
                metrics=json.loads(r.metrics),
            )  # fmt: skip
            for r in rows
        ]

    def get(self, run_id: str) -> RunResult:
        """A run by id, or by a unique prefix of its id; ``latest`` (or ``latest:SUITE``) is the newest."""
        try:
            with read_transaction(self.engine) as conn:
                if run_id == "latest" or run_id.startswith("latest:"):
                    q = select(runs.c.result).order_by(runs.c.started_at.desc(), runs.c.run_id.desc()).limit(1)
                    if run_id.startswith("latest:"):
                        q = q.where(runs.c.suite == run_id.split(":", 1)[1])
                    rows = conn.execute(q).all()
                else:
                    rows = conn.execute(select(runs.c.result).where(runs.c.run_id == run_id)).all()
                    if not rows:
                        like = run_id.replace("%", r"\%").replace("_", r"\_") + "%"
                        rows = conn.execute(select(runs.c.result).where(runs.c.run_id.like(like, escape="\\"))).all()
        except SQLAlchemyError as e:
            raise HistoryError(f"평가 기록을 읽지 못했습니다: {db_reason(e)}") from e
        if not rows:
            raise RunNotFoundError(f"평가 실행 '{run_id}'이(가) 기록에 없습니다 (nuri eval list)")
        if len(rows) > 1:
            raise RunNotFoundError(f"'{run_id}'로 시작하는 실행이 {len(rows)}개입니다: 더 길게 쓰세요")
        return RunResult.model_validate_json(rows[0].result)
