"""The configuration each server ran with, over time: what the impact-assessment report's change
log of settings reads (``nuri assess report``, section 책임성).

Every time a service opens its stores (``nuri serve`` and every API replica, ``nuri ask``, an eval
run in process) it records its configuration, secrets masked (:func:`guardrails.config_mask.mask_tree`),
when it differs from the last one recorded: one row per distinct configuration in a row, with
when, who started it (``cli:<OS user>``) and the SHA-256 of the masked configuration. Two replicas
with the same configuration add nothing; an operator who changes ``answer.min_relevance`` and
restarts adds one row, and :func:`changed_settings` says which settings changed and how.

SQLAlchemy Core on the key store's database (``keys.url``), sharing its engine.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, select
from sqlalchemy.engine import Row
from sqlalchemy.exc import SQLAlchemyError

from connectors.errors import NuriError
from guardrails.config_mask import mask_tree
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

log = logging.getLogger("nuri.settings_log")

_meta = MetaData()
snapshots = Table(
    "settings_snapshots",
    _meta,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False, index=True),
    Column("fingerprint", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("settings", Text, nullable=False),  # the masked configuration, JSON
)


class SettingsLogError(NuriError):
    """The configuration records cannot be read or written (the key store's database)."""

    code = "state_unavailable"


class SettingsSnapshot(BaseModel):
    seq: int
    at: datetime
    fingerprint: str = Field(..., description="SHA-256 of the masked configuration (canonical JSON).")
    subject: str = Field("", description="Who started the process (`cli:<user>`).")
    settings: dict[str, Any]


class SettingChange(BaseModel):
    key: str = Field(..., description="Dotted setting name, e.g. `answer.min_relevance`.")
    before: Any = None
    after: Any = None


def masked(settings_json: dict[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = mask_tree(settings_json)
    return tree


def fingerprint(tree: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(tree, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _flat(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _flat(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, tree


def changed_settings(before: dict[str, Any] | None, after: dict[str, Any]) -> list[SettingChange]:
    """The settings whose value differs between two configurations (dotted names, sorted);
    with no ``before``, none (the first configuration is the baseline, not a change)."""
    if before is None:
        return []
    old, new = dict(_flat(before)), dict(_flat(after))
    return [SettingChange(key=k, before=old.get(k), after=new.get(k))
            for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)]  # fmt: skip


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


class SettingsLog:
    """The ``settings_snapshots`` table (see the module docstring)."""

    def __init__(self, url: str, timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.url = url
        self.engine = open_tables(url, timeout_s, _meta, SettingsLogError, "설정 기록")

    @classmethod
    def from_settings(cls, settings: KeySettings, data_dir: Path, home: Path | None = None) -> SettingsLog:
        """On the key store's database (``keys.url``)."""
        try:
            url = database_url(settings.url, data_dir, home)
        except (SQLAlchemyError, ValueError) as e:
            raise SettingsLogError(f"설정 기록 저장소 주소가 올바르지 않습니다: {db_reason(e)}") from e
        return cls(url, settings.timeout_s)

    def close(self) -> None:
        release_engine(self.engine)

    def __enter__(self) -> SettingsLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, settings_json: dict[str, Any], subject: str) -> bool:
        """Record the configuration (masked here) unless it is the last one recorded; True when
        a row was added."""
        tree = masked(settings_json)
        digest = fingerprint(tree)
        last = select(snapshots.c.fingerprint).order_by(snapshots.c.seq.desc()).limit(1)
        try:
            with write_transaction(self.engine) as conn:
                if conn.execute(last).scalar() == digest:
                    return False
                conn.execute(snapshots.insert().values(
                    at=_iso(datetime.now(UTC)), fingerprint=digest, subject=subject,
                    settings=json.dumps(tree, ensure_ascii=False, sort_keys=True),
                ))  # fmt: skip
        except SQLAlchemyError as e:
            raise SettingsLogError(f"설정 기록을 저장하지 못했습니다: {db_reason(e)}") from e
        log.info("configuration recorded", extra={"fingerprint": digest[:12], "subject": subject})
        return True

    def snapshots(self, since: datetime | None = None, until: datetime | None = None) -> list[SettingsSnapshot]:
        """The configurations recorded in ``[since, until)``, oldest first, preceded by the one in
        force at ``since`` (the last before it), so that the first change in the period has its
        "before"."""
        t = snapshots
        q = select(t).order_by(t.c.seq)
        if since is not None:
            q = q.where(t.c.at >= _iso(since))
        if until is not None:
            q = q.where(t.c.at < _iso(until))
        try:
            with read_transaction(self.engine) as conn:
                rows = list(conn.execute(q))
                if since is not None:
                    before = conn.execute(
                        select(t).where(t.c.at < _iso(since)).order_by(t.c.seq.desc()).limit(1)
                    ).first()
                    if before is not None:
                        rows.insert(0, before)
        except SQLAlchemyError as e:
            raise SettingsLogError(f"설정 기록을 읽지 못했습니다: {db_reason(e)}") from e
        return [_snapshot(r) for r in rows]


def _snapshot(row: Row) -> SettingsSnapshot:
    return SettingsSnapshot(seq=row.seq, at=datetime.fromisoformat(row.at), fingerprint=row.fingerprint,
                            subject=row.subject, settings=json.loads(row.settings))  # fmt: skip
