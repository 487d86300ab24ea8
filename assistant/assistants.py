"""Agency assistants: one platform, an assistant per agency task (기관별 특화 인공지능).

An :class:`Assistant` is a name and description, the agency that owns it, who may use it
(:class:`AssistantUsers`: agencies, a clearance, roles), what it reads (:class:`AssistantScope`:
agencies, document types, sources, statutes), its own instructions added to the platform's
prompt, its model endpoint and generation mode, example questions, and guardrail settings that
can only be stricter than the platform's (:class:`AssistantGuardrails`: each field is a way to
tighten, none to loosen; the service takes the stricter of both again when it answers, so a
platform made stricter later still binds the assistant).

Access rules, the recurring failures of peers in mind:

- An assistant never widens what its caller reads: its scope becomes conditions *added* to the
  caller's own permission inside the Qdrant filter (:class:`retrieval.types.Scope` on the caller's
  :class:`~retrieval.types.Principal`); a request's filters are more conditions still, so they
  cannot escape the scope either.
- A caller who may not use an assistant is told it does not exist (404 ``assistant_not_found``),
  the same answer as for an unknown id: assistants of other agencies are not disclosed.

Assistants live in the key store's database (``keys.url``: SQLite under ``data_dir`` by default,
PostgreSQL in production) beside a change log (:class:`AssistantChange`: who created, changed or
deleted which assistant, and what it was after the change), which the impact-assessment report
reads. ``nuri assistants`` manages them (:mod:`assistant.assistants_cli`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, delete, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import SQLAlchemyError

from assistant.callers import Caller
from connectors.errors import NuriError
from connectors.types import Clearance
from guardrails.settings import GuardrailSettings, KeySettings
from guardrails.store import (
    BUSY_TIMEOUT_S,
    database_url,
    db_reason,
    open_tables,
    read_transaction,
    release_engine,
    write_transaction,
)
from retrieval.types import CLEARANCE_RANK, Scope

log = logging.getLogger("nuri.assistants")

#: The platform's own assistant (no scope, the platform's prompt and model): ``model: nuri``.
PLATFORM_ID = "nuri"
#: Every agency may use an assistant whose ``users.agencies`` lists this.
ANY_AGENCY = "*"
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
ChangeAction = Literal["create", "update", "delete"]


class AssistantError(NuriError):
    """An assistant definition that cannot be saved (the message says which field and why)."""

    code = "invalid_assistant"


class AssistantNotFoundError(NuriError):
    """No assistant of that id the caller may use (an unknown one is answered the same way)."""

    code = "assistant_not_found"


class AssistantStoreError(NuriError):
    """The assistants cannot be read or written (the key store's database)."""

    code = "state_unavailable"


class AssistantUsers(BaseModel):
    """Who may use the assistant: every condition must hold (operators on the server always may)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agencies: list[str] = Field(
        default_factory=list,
        description=f"Agencies whose people may use it (`{ANY_AGENCY}` = every agency); empty = the owning agency only.",
    )
    min_clearance: Clearance = Field("public", description="The lowest clearance a user needs.")
    roles: list[str] = Field(default_factory=list, description="Roles a user must all hold (e.g. `evaluator`).")


class AssistantScope(BaseModel):
    """What the assistant reads (each non-empty list narrows; all empty = whatever the caller may read)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agencies: list[str] = Field(default_factory=list, description="Only documents of these agencies (소관부처).")
    doc_types: list[str] = Field(default_factory=list, description="Only these document types (e.g. `statute`).")
    sources: list[str] = Field(
        default_factory=list,
        description="Only documents from these sources: an ingested folder (everything under it) or file, "
        "as `nuri ingest` was given it, or a file name.",
    )
    statutes: list[str] = Field(
        default_factory=list,
        description="Only these statutes, by title (with `sources`: these statutes and those sources).",
    )

    @property
    def names_documents(self) -> bool:
        return bool(self.sources or self.statutes)


class AssistantModel(BaseModel):
    """The model that writes its answers (each field empty = the platform's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_urls: list[str] = Field(default_factory=list, description="OpenAI-compatible endpoints (…/v1), e.g. a vLLM.")
    model: str | None = Field(None, description="The model's served name at those endpoints.")
    mode: Literal["chat", "completion"] | None = Field(
        None, description="`chat` for instruction models, `completion` for base models."
    )
    generation: Literal["model", "extractive"] | None = Field(
        None, description="`model`: the model writes the answer; `extractive`: the passages' sentences are quoted."
    )

    @field_validator("base_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not re.match(r"^https?://[^\s/]+", url):
                raise ValueError(f"모델 주소는 http(s)://로 시작해야 합니다: {url!r}")
        return [u.rstrip("/") for u in urls]


class AssistantGuardrails(BaseModel):
    """Ways to be stricter than the platform; none can loosen it (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_relevance: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Refuse unless the best passage is at least this similar (at least the platform's "
        "`answer.min_relevance`).",
    )
    mask_pii_output: bool = Field(False, description="Mask personal data in answers and passages (on = stricter).")
    block_pii_questions: bool = Field(False, description="Refuse questions that contain personal data.")
    block_injection: bool = Field(
        False, description="Refuse suspected prompt injection (where the platform only warns)."
    )


class AssistantSpec(BaseModel):
    """What an administrator defines (``nuri assistants create``, a YAML file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(..., description="Short identifier: the `model` of chat completions, `assistant` of /v1/ask.")
    name: str = Field(..., min_length=1, max_length=100, description="Shown to users.")
    description: str = Field("", max_length=1000)
    agency: str = Field(..., min_length=1, description="The owning agency.")
    default: bool = Field(False, description="The agency's default assistant (listed first to its people).")
    users: AssistantUsers = AssistantUsers()
    scope: AssistantScope = AssistantScope()
    prompt: str = Field("", max_length=4000, description="Instructions added to the platform's answer prompt.")
    model: AssistantModel = AssistantModel()
    examples: list[str] = Field(default_factory=list, description="Example questions shown in the chat.")
    guardrails: AssistantGuardrails = AssistantGuardrails()

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("id는 영문 소문자·숫자·'.', '_', '-'로 된 63자 이하여야 합니다 (예: moel-labor)")
        if value == PLATFORM_ID:
            raise ValueError(f"'{PLATFORM_ID}'는 플랫폼 기본 도우미의 이름입니다")
        return value

    @field_validator("examples")
    @classmethod
    def _examples(cls, values: list[str]) -> list[str]:
        out = [" ".join(v.split()) for v in values if v.strip()]
        if len(out) > 10 or any(len(v) > 300 for v in out):
            raise ValueError("예시 질문은 10개, 각 300자까지입니다")
        return out

    def check_stricter(self, platform: GuardrailSettings, min_relevance: float) -> None:
        """Refuse a definition that asks to be looser than the platform (``min_relevance``: the
        platform's ``answer.min_relevance``)."""
        g = self.guardrails
        if g.min_relevance is not None and g.min_relevance < min_relevance:
            raise AssistantError(
                f"guardrails.min_relevance {g.min_relevance}는 플랫폼 기준 {min_relevance}보다 낮출 수 없습니다 "
                "(도우미의 가드레일은 더 엄격하게만 바꿀 수 있습니다)",
                message_en=f"guardrails.min_relevance {g.min_relevance} is below the platform's {min_relevance}: "
                "an assistant's guardrails may only be stricter",
            )


class Assistant(AssistantSpec):
    """A stored assistant."""

    created_at: datetime
    updated_at: datetime
    created_by: str = ""

    @property
    def version(self) -> str:
        """Changes whenever the definition does (cache key of what is built from it)."""
        return self.updated_at.isoformat()

    def usable_by(self, caller: Caller) -> bool:
        """Whether ``caller`` may use it (see :class:`AssistantUsers`)."""
        p = caller.principal
        if p.operator:
            return True
        u = self.users
        agencies = u.agencies or [self.agency]
        if ANY_AGENCY not in agencies and (p.agency is None or p.agency not in agencies):
            return False
        if CLEARANCE_RANK[p.clearance] < CLEARANCE_RANK[u.min_clearance]:
            return False
        return all(caller.has_role(r) for r in u.roles)

    def public_view(self) -> dict[str, object]:
        """What a user choosing an assistant sees (no endpoints, no prompt, no scope internals)."""
        return {"id": self.id, "name": self.name, "description": self.description, "agency": self.agency,
                "default": self.default, "examples": list(self.examples)}  # fmt: skip


class AssistantChange(BaseModel):
    """One entry of the change log."""

    seq: int
    at: datetime
    assistant_id: str
    action: ChangeAction
    subject: str = Field("", description="Who made the change (`cli:<user>`, `key:<id>`).")
    definition: dict[str, object] | None = Field(None, description="The assistant after the change (None: deleted).")


def resolve_scope(scope: AssistantScope, documents: Iterable[tuple[str, str, str, str]]) -> Scope:
    """The index-level :class:`Scope` of an assistant's scope. ``documents``: (doc_id, source,
    title, doc_type) of every document in the index; its ``sources`` and ``statutes`` become the
    ids of the documents they name (a source matches a document from that file, from under that
    folder, or whose file is named so; a statute matches a ``statute`` document of that title,
    spaces ignored)."""
    doc_ids: tuple[str, ...] | None = None
    if scope.names_documents:
        roots = [s.rstrip("/") for s in scope.sources if s.strip()]
        titles = {"".join(t.split()) for t in scope.statutes}
        ids = []
        for doc_id, source, title, doc_type in documents:
            by_source = any(source == r or source.startswith(r + "/") or Path(source).name == r for r in roots)
            by_statute = doc_type == "statute" and "".join(title.split()) in titles
            if by_source or by_statute:
                ids.append(doc_id)
        doc_ids = tuple(sorted(set(ids)))
    return Scope(agencies=tuple(scope.agencies), doc_types=tuple(scope.doc_types), doc_ids=doc_ids)


def ordered_for(caller: Caller, assistants: Sequence[Assistant]) -> list[Assistant]:
    """The assistants ``caller`` may use: the caller's agency's default first, then the
    agency's others, then the rest, each by name."""
    agency = caller.principal.agency
    usable = [a for a in assistants if a.usable_by(caller)]
    return sorted(usable, key=lambda a: (not (a.agency == agency and a.default), a.agency != agency, a.name, a.id))


_meta = MetaData()
assistants_table = Table(
    "assistants",
    _meta,
    Column("id", String(64), primary_key=True),
    Column("agency", String(200), nullable=False, index=True),
    Column("body", Text, nullable=False),  # the AssistantSpec as JSON
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
)
changes_table = Table(
    "assistant_changes",
    _meta,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False, index=True),
    Column("assistant_id", String(64), nullable=False, index=True),
    Column("action", String(16), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=True),
)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


class AssistantStore:
    """The ``assistants`` and ``assistant_changes`` tables. Thread-safe; replicas share them."""

    def __init__(self, url: str, timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.url = url
        self.engine = open_tables(url, timeout_s, _meta, AssistantStoreError, "도우미")

    @classmethod
    def from_settings(cls, settings: KeySettings, data_dir: Path, home: Path | None = None) -> AssistantStore:
        """On the key store's database (``keys.url``)."""
        try:
            url = database_url(settings.url, data_dir, home)
        except (SQLAlchemyError, ValueError) as e:
            raise AssistantStoreError(f"도우미 저장소 주소가 올바르지 않습니다: {db_reason(e)}") from e
        return cls(url, settings.timeout_s)

    def close(self) -> None:
        release_engine(self.engine)

    def __enter__(self) -> AssistantStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------
    def all(self, agency: str | None = None) -> list[Assistant]:
        q = select(assistants_table).order_by(assistants_table.c.agency, assistants_table.c.id)
        if agency is not None:
            q = q.where(assistants_table.c.agency == agency)
        try:
            with read_transaction(self.engine) as conn:
                return [_assistant(r) for r in conn.execute(q)]
        except SQLAlchemyError as e:
            raise AssistantStoreError(f"도우미 목록을 읽지 못했습니다: {db_reason(e)}") from e

    def get(self, assistant_id: str) -> Assistant | None:
        q = select(assistants_table).where(assistants_table.c.id == assistant_id)
        try:
            with read_transaction(self.engine) as conn:
                row = conn.execute(q).first()
        except SQLAlchemyError as e:
            raise AssistantStoreError(f"도우미를 읽지 못했습니다: {db_reason(e)}") from e
        return _assistant(row) if row is not None else None

    def changes(
        self, since: datetime | None = None, until: datetime | None = None, assistant_id: str | None = None
    ) -> list[AssistantChange]:
        """The change log, oldest first (``since`` inclusive, ``until`` exclusive)."""
        t = changes_table
        q = select(t).order_by(t.c.seq)
        if since is not None:
            q = q.where(t.c.at >= _iso(since))
        if until is not None:
            q = q.where(t.c.at < _iso(until))
        if assistant_id is not None:
            q = q.where(t.c.assistant_id == assistant_id)
        try:
            with read_transaction(self.engine) as conn:
                rows = list(conn.execute(q))
        except SQLAlchemyError as e:
            raise AssistantStoreError(f"도우미 변경 기록을 읽지 못했습니다: {db_reason(e)}") from e
        return [
            AssistantChange(seq=r.seq, at=datetime.fromisoformat(r.at), assistant_id=r.assistant_id, action=r.action,
                            subject=r.subject, definition=json.loads(r.body) if r.body else None)
            for r in rows
        ]  # fmt: skip

    # -- writing ---------------------------------------------------------------------------
    def create(self, spec: AssistantSpec, subject: str) -> Assistant:
        """A new assistant; :class:`AssistantError` when the id is taken."""
        now = datetime.now(UTC)
        body = spec.model_dump_json()
        try:
            with write_transaction(self.engine) as conn:
                if conn.execute(select(assistants_table.c.id).where(assistants_table.c.id == spec.id)).first():
                    raise AssistantError(
                        f"도우미 '{spec.id}'가 이미 있습니다 (바꾸려면 nuri assistants update)",
                        message_en=f"The assistant '{spec.id}' exists already (use nuri assistants update)",
                    )
                if spec.default:
                    self._clear_default(conn, spec.agency, now, subject)
                conn.execute(assistants_table.insert().values(
                    id=spec.id, agency=spec.agency, body=body, created_at=_iso(now), updated_at=_iso(now),
                    created_by=subject,
                ))  # fmt: skip
                self._log(conn, now, spec.id, "create", subject, body)
        except SQLAlchemyError as e:
            raise AssistantStoreError(f"도우미를 저장하지 못했습니다: {db_reason(e)}") from e
        log.info("assistant created", extra={"assistant": spec.id, "agency": spec.agency, "subject": subject})
        created = self.get(spec.id)
        assert created is not None
        return created

    def replace(self, spec: AssistantSpec, subject: str) -> Assistant:
        """Replace an assistant's definition (same id); :class:`AssistantNotFoundError` when none."""
        now = datetime.now(UTC)
        body = spec.model_dump_json()
        try:
            with write_transaction(self.engine) as conn:
                found = conn.execute(update(assistants_table).where(assistants_table.c.id == spec.id).values(
                    agency=spec.agency, body=body, updated_at=_iso(now)))  # fmt: skip
                if found.rowcount == 0:
                    raise AssistantNotFoundError(f"도우미 '{spec.id}'가 없습니다",
                                                 message_en=f"No assistant '{spec.id}'")  # fmt: skip
                if spec.default:
                    self._clear_default(conn, spec.agency, now, subject, keep=spec.id)
                self._log(conn, now, spec.id, "update", subject, body)
        except SQLAlchemyError as e:
            raise AssistantStoreError(f"도우미를 저장하지 못했습니다: {db_reason(e)}") from e
        log.info("assistant updated", extra={"assistant": spec.id, "agency": spec.agency, "subject": subject})
        changed = self.get(spec.id)
        assert changed is not None
        return changed

    def delete(self, assistant_id: str, subject: str) -> None:
        try:
            with write_transaction(self.engine) as conn:
                gone = conn.execute(delete(assistants_table).where(assistants_table.c.id == assistant_id))
                if gone.rowcount == 0:
                    raise AssistantNotFoundError(f"도우미 '{assistant_id}'가 없습니다",
                                                 message_en=f"No assistant '{assistant_id}'")  # fmt: skip
                self._log(conn, datetime.now(UTC), assistant_id, "delete", subject, None)
        except SQLAlchemyError as e:
            raise AssistantStoreError(f"도우미를 지우지 못했습니다: {db_reason(e)}") from e
        log.info("assistant deleted", extra={"assistant": assistant_id, "subject": subject})

    def _clear_default(
        self, conn: Connection, agency: str, now: datetime, subject: str, keep: str | None = None
    ) -> None:
        """One default per agency: the others of ``agency`` stop being it (each change logged)."""
        rows = conn.execute(select(assistants_table).where(assistants_table.c.agency == agency)).all()
        for row in rows:
            spec = json.loads(row.body)
            if row.id != keep and spec.get("default"):
                spec["default"] = False
                body = json.dumps(spec, ensure_ascii=False)
                conn.execute(update(assistants_table).where(assistants_table.c.id == row.id)
                             .values(body=body, updated_at=_iso(now)))  # fmt: skip
                self._log(conn, now, row.id, "update", subject, body)

    @staticmethod
    def _log(
        conn: Connection, now: datetime, assistant_id: str, action: ChangeAction, subject: str, body: str | None
    ) -> None:
        conn.execute(changes_table.insert().values(at=_iso(now), assistant_id=assistant_id, action=action,
                                                   subject=subject, body=body))  # fmt: skip


def _assistant(row: Row) -> Assistant:
    spec = AssistantSpec.model_validate_json(row.body)
    return Assistant(
        **spec.model_dump(),
        created_at=datetime.fromisoformat(row.created_at),
        updated_at=datetime.fromisoformat(row.updated_at),
        created_by=row.created_by,
    )
