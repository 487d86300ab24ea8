"""The results store: every eval run appended, listed and read back (``nuri eval list``,
``compare``, ``gate``, the UI's 평가 tab).

SQLAlchemy Core on one table, so the same code runs on the SQLite file of a laptop
(``eval.history_url``, default ``sqlite:///data/eval/history.db`` relative to ``home``) and on a
database server URL (PostgreSQL) in production, through the same engine and transactions as the
key store and the audit trail (:mod:`guardrails.store`: SQLite in WAL mode with a busy timeout;
the table created once even when several processes open a new database at the same moment). A
run is stored whole (its ``results.json``) with the columns a listing needs.

A run holds questions, answers and cited passages: what its principal could read. Beside each run
``eval_run_access`` records who ran it and that principal (a table of its own, so a store made
before runs had one opens as it is: a run without a row is an operator run of unknown agency).
The CLI on the server lists and reads every run; :class:`RunViewer` is anyone else: an admin sees
every run, an evaluator only the runs asked as their own agency at a clearance they hold (never an
operator run, a server-key run or an old one). The filter is part of the query, so a prefix or
``latest`` only ever matches a run the viewer may see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, Text, false, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Select

from connectors.errors import NuriError
from evals.results import LEGACY_PRINCIPAL, UNKNOWN_RUNNER, RunPrincipal, RunResult
from guardrails.store import db_reason, open_engine, read_transaction, safe_url, schema_transaction, write_transaction
from retrieval.types import CLEARANCE_RANK

if TYPE_CHECKING:
    from assistant.callers import Caller
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
#: Who ran each run and with whose reading rights (see the module docstring).
access = Table(
    "eval_run_access",
    _meta,
    Column("run_id", String(128), primary_key=True),
    Column("ran_by", String(256), nullable=False),
    Column("agency", String(256), nullable=True, index=True),
    Column("clearance", String(16), nullable=True),
    Column("operator", Boolean, nullable=False),
    Column("via", String(256), nullable=False),
)


#: The agency assistant each run evaluated (no row: the platform's own).
run_assistants = Table(
    "eval_run_assistants",
    _meta,
    Column("run_id", String(128), primary_key=True),
    Column("assistant", String(64), nullable=False, index=True),
)

_joined = runs.outerjoin(access, runs.c.run_id == access.c.run_id).outerjoin(
    run_assistants, runs.c.run_id == run_assistants.c.run_id
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
    ran_by: str = UNKNOWN_RUNNER
    principal: RunPrincipal = Field(default_factory=lambda: LEGACY_PRINCIPAL.model_copy())
    assistant: str | None = Field(None, description="The agency assistant evaluated (None: the platform's own).")


@dataclass(frozen=True, slots=True)
class RunViewer:
    """Someone other than the CLI on the server looking at runs (the UI's 평가 tab): ``admin``
    sees every run; anyone else only the runs asked as their own ``agency`` at a clearance no
    higher than theirs."""

    agency: str | None
    clearance: str = "public"
    admin: bool = False

    @classmethod
    def of(cls, caller: Caller) -> RunViewer:
        p = caller.principal
        return cls(agency=p.agency, clearance=p.clearance, admin=p.operator or "admin" in caller.roles)

    def levels(self) -> list[str]:
        """The clearances of the runs this viewer may see."""
        mine = CLEARANCE_RANK.get(self.clearance, -1)
        return [c for c, rank in CLEARANCE_RANK.items() if rank <= mine]

    def may_see(self, principal: RunPrincipal) -> bool:
        if self.admin:
            return True
        return (
            bool(self.agency)
            and not principal.operator
            and principal.agency == self.agency
            and principal.clearance is not None
            and principal.clearance in self.levels()
        )

    def where(self, q: Select[Any]) -> Select[Any]:
        """``q`` (over runs outer-joined with their access rows) limited to the runs this viewer may see."""
        if self.admin:
            return q
        if not self.agency:
            return q.where(false())
        return q.where(
            access.c.operator == false(), access.c.agency == self.agency, access.c.clearance.in_(self.levels())
        )


def _principal(row: Any) -> tuple[str, RunPrincipal]:
    """(ran_by, principal) of a listed row; a run without an access row is an old operator run."""
    if row.via is None:
        return UNKNOWN_RUNNER, LEGACY_PRINCIPAL.model_copy()
    return row.ran_by, RunPrincipal(
        agency=row.agency, clearance=row.clearance, operator=bool(row.operator), via=row.via
    )


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
        p = result.principal
        who = {"run_id": result.run_id, "ran_by": result.ran_by, "agency": p.agency, "clearance": p.clearance,
               "operator": p.operator, "via": p.via}  # fmt: skip
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(runs.insert().values(**row))
                conn.execute(access.insert().values(**who))
                if result.assistant:
                    conn.execute(run_assistants.insert().values(run_id=result.run_id, assistant=result.assistant))
        except SQLAlchemyError as e:
            raise HistoryError(f"평가 결과를 기록하지 못했습니다: {db_reason(e)}") from e

    def list_runs(
        self, suite: str | None = None, limit: int = 50, viewer: RunViewer | None = None, assistant: str | None = None
    ) -> list[RunSummary]:
        """Newest first; with ``viewer``, only the runs that viewer may see (None: the CLI, every
        run); with ``assistant``, only the runs of that agency assistant."""
        q = select(runs.c.run_id, runs.c.suite, runs.c.started_at, runs.c.model, runs.c.commit, runs.c.n_items,
                   runs.c.metrics, access.c.ran_by, access.c.agency, access.c.clearance, access.c.operator,
                   access.c.via, run_assistants.c.assistant).select_from(_joined).order_by(
                   runs.c.started_at.desc(), runs.c.run_id.desc()).limit(limit)  # fmt: skip
        if viewer is not None:
            q = viewer.where(q)
        if suite:
            q = q.where(runs.c.suite == suite)
        if assistant:
            q = q.where(run_assistants.c.assistant == assistant)
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
                ran_by=_principal(r)[0],
                principal=_principal(r)[1],
                assistant=r.assistant,
            )  # fmt: skip
            for r in rows
        ]

    def get(self, run_id: str, viewer: RunViewer | None = None) -> RunResult:
        """A run by id, or by a unique prefix of its id; ``latest`` (or ``latest:SUITE``) is the newest.
        With ``viewer``, only among the runs that viewer may see: any other run is not found."""

        def query() -> Select[Any]:
            q = select(runs.c.result).select_from(_joined)
            return q if viewer is None else viewer.where(q)

        try:
            with read_transaction(self.engine) as conn:
                if run_id == "latest" or run_id.startswith("latest:"):
                    q = query().order_by(runs.c.started_at.desc(), runs.c.run_id.desc()).limit(1)
                    if run_id.startswith("latest:"):
                        q = q.where(runs.c.suite == run_id.split(":", 1)[1])
                    rows = conn.execute(q).all()
                else:
                    rows = conn.execute(query().where(runs.c.run_id == run_id)).all()
                    if not rows:
                        like = run_id.replace("%", r"\%").replace("_", r"\_") + "%"
                        rows = conn.execute(query().where(runs.c.run_id.like(like, escape="\\"))).all()
        except SQLAlchemyError as e:
            raise HistoryError(f"평가 기록을 읽지 못했습니다: {db_reason(e)}") from e
        if not rows:
            raise RunNotFoundError(f"평가 실행 '{run_id}'이(가) 기록에 없습니다 (nuri eval list)")
        if len(rows) > 1:
            raise RunNotFoundError(f"'{run_id}'로 시작하는 실행이 {len(rows)}개입니다: 더 길게 쓰세요")
        result = RunResult.model_validate_json(rows[0].result)
        if viewer is not None and not viewer.may_see(result.principal):  # the stored run says otherwise
            raise RunNotFoundError(f"평가 실행 '{run_id}'이(가) 기록에 없습니다 (nuri eval list)")
        return result
