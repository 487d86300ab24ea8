"""The database under the key store and the audit trail, on a
SQLite file by default (``sqlite:///{data_dir}/nuri.db``) or a database server URL (PostgreSQL).

SQLite is opened in WAL mode with a busy timeout, and SQLAlchemy issues the ``BEGIN`` itself
(pysqlite's own transaction handling is switched off): a write transaction
(:func:`write_transaction`) starts with ``BEGIN IMMEDIATE``, so it holds the database's write
lock from its first statement and two processes never both read the same state and then write.
On PostgreSQL a write transaction is a plain one; the stores lock the row they serialise on
(``SELECT … FOR UPDATE``), and :func:`read_transaction` reads one consistent snapshot
(``REPEATABLE READ``). Tables are created in a :func:`schema_transaction`, so that stores opened
at the same moment on a new database (several workers starting) create them once: on SQLite the
write lock serialises them, on PostgreSQL a transaction-level advisory lock (two concurrent
``CREATE TABLE`` of one table there do not wait for each other: one fails on the catalog's
unique index).

The stores that live on the key store's database (API keys, conversations, feedback, sync
records, agency assistants) share one engine, so one connection pool, per process
(:func:`shared_engine`, :func:`release_engine`); the audit trail has its own (often another
database, always another role in production).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import Connection, Engine, create_engine, make_url
from sqlalchemy.exc import SQLAlchemyError

#: Execution option marking a connection whose transaction writes (SQLite: ``BEGIN IMMEDIATE``).
_WRITE = "nuri_write"
#: How long a SQLite writer waits for the lock before "database is locked", and how long a
#: connection to a database server may take (the stores' ``timeout_s`` setting overrides it).
BUSY_TIMEOUT_S = 30.0
#: PostgreSQL advisory lock (a 64-bit key; here "nuri") held while a store creates its tables.
SCHEMA_LOCK_KEY = 0x6E757269


def database_url(template: str, data_dir: Path, home: Path | None = None) -> str:
    """A store's SQLAlchemy URL: ``{data_dir}`` in ``template`` replaced by the data folder
    (made absolute against ``home``, default the current directory), and a relative SQLite
    path made absolute the same way."""
    base = home or Path.cwd()
    folder = data_dir if data_dir.is_absolute() else base / data_dir
    url = template.replace("{data_dir}", folder.as_posix())
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(str(parsed.database))
        if not path.is_absolute():
            url = parsed.set(database=str(base / path)).render_as_string(hide_password=False)
    return url


def open_engine(url: str, timeout_s: float = BUSY_TIMEOUT_S) -> Engine:
    """An engine on ``url``; for a SQLite file its folder is created first. ``timeout_s``: how
    long a SQLite writer waits for another one's lock, or how long a server connection may take."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args = (
            {"connect_timeout": max(1, round(timeout_s))} if parsed.get_backend_name() == "postgresql" else {}
        )
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    on_file = parsed.database not in (None, "", ":memory:")
    if on_file:
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": timeout_s})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (below), not the driver
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        if on_file:
            _set_wal(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

    return engine


_shared: dict[tuple[str, float], tuple[Engine, list[int]]] = {}
_shared_lock = threading.Lock()


def shared_engine(url: str, timeout_s: float = BUSY_TIMEOUT_S) -> Engine:
    """The engine of ``url`` that every store of this process on that database shares (opened
    by the first, :func:`open_engine`); each store gives it back with :func:`release_engine`."""
    key = (url, timeout_s)
    with _shared_lock:
        held = _shared.get(key)
        if held is None:
            held = _shared[key] = (open_engine(url, timeout_s), [0])
        held[1][0] += 1
        return held[0]


def release_engine(engine: Engine) -> None:
    """One store is done with a shared engine; the last one disposes of it (its pool closes).
    An engine that is not shared is disposed of at once."""
    with _shared_lock:
        for key, (shared, users) in list(_shared.items()):
            if shared is engine:
                users[0] -= 1
                if users[0] <= 0:
                    del _shared[key]
                    engine.dispose()
                return
    engine.dispose()


def open_tables(url: str, timeout_s: float, metadata: MetaData, error: Callable[[str], Exception], what: str) -> Engine:
    """The shared engine of ``url`` (:func:`shared_engine`) with ``metadata``'s tables created
    (:func:`schema_transaction`): how every store on the key store's database opens. A database
    that cannot be reached or written raises ``error("<what> 저장소를 열 수 없습니다 (url): why")``
    and gives the engine back."""
    engine = None
    try:
        engine = shared_engine(url, timeout_s)
        with schema_transaction(engine) as conn:
            metadata.create_all(conn)
    except (SQLAlchemyError, OSError, ValueError) as e:
        if engine is not None:
            release_engine(engine)
        raise error(f"{what} 저장소를 열 수 없습니다 ({safe_url(url)}): {db_reason(e)}") from e
    return engine


def _set_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode = WAL``, retried while the database is busy: on a new file that
    other connections are opening at the same moment, SQLite answers "database is locked" at
    once instead of waiting for the busy timeout (it may not wait there without risking a
    deadlock)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if getattr(e, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes: committed on exit, rolled back on an exception. On SQLite it
    holds the write lock from the start (``BEGIN IMMEDIATE``)."""
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


@contextmanager
def schema_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction for creating a store's tables (``metadata.create_all(conn)``) and
    their first rows, run by one opener at a time: on PostgreSQL it first takes a
    transaction-level advisory lock (:data:`SCHEMA_LOCK_KEY`), so a second opener waits and
    then finds the tables; on SQLite ``BEGIN IMMEDIATE`` does the same."""
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that reads one snapshot of the database (SQLite: a WAL read transaction;
    PostgreSQL: ``REPEATABLE READ``)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def db_reason(e: BaseException) -> str:
    """The one line of a database error worth showing: the driver's own message (``database is
    locked``, ``connection refused``), without SQLAlchemy's statement and help-link lines."""
    inner = getattr(e, "orig", None) or e
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(inner).__name__


def safe_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ValueError, TypeError):
        return "<url>"
