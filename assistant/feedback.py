"""Feedback on answers (``POST /v1/feedback``): a thumbs up or down, reasons from a closed set
(:data:`REASONS`) and a comment, tied to the answer through its ``audit_id``.

Feedback is accepted only for an answer the audit trail recorded as given to the same caller
(the record's ``principal_id`` is the caller's ``subject`` and its endpoint an answering one):
anyone else's ``audit_id``, a search's, or one the trail does not hold is
:class:`AnswerNotFoundError` (404), all alike. Without an audit trail (``audit.enabled: false``)
no answer can be vouched for, so no feedback is taken. One feedback per answer and caller: giving
it again replaces it. The comment is masked before it is stored (the service's guardrails,
:meth:`guardrails.pipeline.Guardrails.mask`, or the personal data checks alone while the index,
and so the guard, is not open), and the agency is the one the audit record names.

Stored in the key store's database (``keys.url``), table ``answer_feedback``. Evaluators list it
(``GET /v1/feedback``: their own agency's); negative feedback becomes draft eval items
(``nuri eval items from-feedback``, :mod:`evals.feedback_items`).
"""

from __future__ import annotations

import builtins
import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field
from sqlalchemy import Column, Index, MetaData, String, Table, Text, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from assistant.callers import Caller
from assistant.exchange import Endpoint
from connectors.errors import NuriError
from guardrails.audit import AuditStore
from guardrails.pipeline import Guardrails
from guardrails.settings import GuardrailSettings, KeySettings, PiiSettings
from guardrails.store import (
    BUSY_TIMEOUT_S,
    database_url,
    db_reason,
    open_tables,
    read_transaction,
    release_engine,
    write_transaction,
)

log = logging.getLogger("nuri.feedback")

MAX_COMMENT_CHARS = 2000
Rating = Literal["up", "down"]
Reason = Literal[
    "wrong", "not_grounded", "wrong_citation", "incomplete", "outdated", "should_refuse", "should_answer",
    "unclear", "other",
]  # fmt: skip


class ReasonLabel(NamedTuple):
    ko: str
    en: str


#: The closed set of reasons, with what the chat and the review show.
REASONS: dict[str, ReasonLabel] = {
    "wrong": ReasonLabel("사실과 다름", "Factually wrong"),
    "not_grounded": ReasonLabel("근거와 맞지 않음", "Not supported by the sources"),
    "wrong_citation": ReasonLabel("인용이 틀림", "Wrong citation"),
    "incomplete": ReasonLabel("답이 부족함", "Incomplete"),
    "outdated": ReasonLabel("오래된 내용", "Outdated"),
    "should_refuse": ReasonLabel("답하지 말았어야 함", "Should have refused"),
    "should_answer": ReasonLabel("답했어야 함", "Should have answered"),
    "unclear": ReasonLabel("이해하기 어려움", "Hard to understand"),
    "other": ReasonLabel("기타", "Other"),
}
#: Where an answer can come from (an audit record of one of these can take feedback).
ANSWER_ENDPOINTS = frozenset(e.value for e in Endpoint if not e.searches)

_meta = MetaData()
feedback_table = Table(
    "answer_feedback",
    _meta,
    Column("id", String(32), primary_key=True),
    Column("audit_id", String(128), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("agency", String(200), nullable=True, index=True),
    Column("rating", String(8), nullable=False),
    Column("reasons", String(400), nullable=False),  # JSON list of REASONS keys
    Column("comment", Text, nullable=False),
    Column("conversation_id", String(32), nullable=True),
    Column("created_at", String(40), nullable=False, index=True),
    Column("updated_at", String(40), nullable=False),
    Index("ux_answer_feedback_audit_subject", "audit_id", "subject", unique=True),
)


class FeedbackStoreError(NuriError):
    """The feedback store cannot be opened, read or written (503)."""

    code = "state_unavailable"


class AnswerNotFoundError(NuriError):
    """The ``audit_id`` is not an answer given to this caller (404; the same whoever it was given to)."""

    code = "answer_not_found"

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            super().__init__(message)
            return
        super().__init__(
            "피드백할 답변을 찾을 수 없습니다: audit_id가 이 사용자에게 준 답변의 것이 아닙니다",
            message_en="Answer not found: the audit_id is not of an answer given to this caller",
        )


class FeedbackRecord(BaseModel):
    id: str = Field(..., description="피드백 ID / feedback id")
    audit_id: str = Field(..., description="답변의 감사 기록 ID / the answer's audit record id")
    subject: str = Field(..., description="피드백한 사용자 / who gave it (`key:<id>`, `gateway:<user>`)")
    agency: str | None = Field(None, description="답변을 받은 기관 / the agency the answer was given to")
    rating: Rating = Field(..., description="up: 좋음, down: 나쁨")
    reasons: list[Reason] = Field(default_factory=list, description="이유 / reasons: " + ", ".join(REASONS))
    comment: str = Field("", description="의견 (개인정보는 가려서 저장) / comment, personal data masked")
    conversation_id: str | None = None
    created_at: datetime
    updated_at: datetime


def pii_masker(pii: PiiSettings) -> Callable[[str], str]:
    """Personal data masking without an embedder: :meth:`Guardrails.mask` of a guard whose only
    check is the personal data one (on, whatever ``pii.enabled`` says: what it masks is kept)."""
    settings = GuardrailSettings.off().model_copy(update={"pii": pii.model_copy(update={"enabled": True})})
    return Guardrails(settings).mask


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def clean_reasons(reasons: Sequence[str]) -> builtins.list[str]:
    """``reasons`` in order, once each; ValueError for one outside :data:`REASONS`."""
    unknown = [r for r in reasons if r not in REASONS]
    if unknown:
        raise ValueError(f"알 수 없는 이유: {', '.join(unknown)} (가능: {', '.join(REASONS)})")
    return list(dict.fromkeys(reasons))


def _record(row: Row) -> FeedbackRecord:
    return FeedbackRecord(
        id=row.id, audit_id=row.audit_id, subject=row.subject, agency=row.agency, rating=row.rating,
        reasons=json.loads(row.reasons), comment=row.comment, conversation_id=row.conversation_id,
        created_at=datetime.fromisoformat(row.created_at), updated_at=datetime.fromisoformat(row.updated_at),
    )  # fmt: skip


class FeedbackStore:
    """Feedback on answers (see the module docstring). Thread-safe."""

    def __init__(
        self,
        url: str,
        audit: AuditStore | None = None,
        guard: Callable[[], Guardrails | None] | None = None,
        pii: PiiSettings | None = None,
        timeout_s: float = BUSY_TIMEOUT_S,
    ) -> None:
        """``audit``: where answers are looked up; ``guard``: the service's guardrails when there
        are (their :meth:`~Guardrails.mask` masks comments); ``pii``: the personal data settings
        masking falls back to without them."""
        self.url = url
        self.audit = audit
        self._guard = guard or (lambda: None)
        self._pii = pii or PiiSettings()
        self._fallback: Callable[[str], str] | None = None
        self.engine = open_tables(url, timeout_s, _meta, FeedbackStoreError, "피드백")

    @classmethod
    def from_settings(
        cls,
        settings: KeySettings,
        data_dir: Path,
        home: Path | None = None,
        audit: AuditStore | None = None,
        guard: Callable[[], Guardrails | None] | None = None,
        pii: PiiSettings | None = None,
    ) -> FeedbackStore:
        """On the key store's database (``keys.url``)."""
        return cls(database_url(settings.url, data_dir, home), audit, guard, pii, settings.timeout_s)

    def close(self) -> None:
        release_engine(self.engine)

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def mask(self, text: str) -> str:
        """``text`` with its personal data masked (the service's guard, else the PII check alone)."""
        if not text:
            return text
        guard = self._guard()
        if guard is not None:
            return guard.mask(text)
        if self._fallback is None:
            self._fallback = pii_masker(self._pii)
        return self._fallback(text)

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with write_transaction(self.engine) as conn:
                yield conn
        except SQLAlchemyError as e:
            raise FeedbackStoreError(f"피드백을 저장하지 못했습니다: {db_reason(e)}") from e

    def give(
        self,
        caller: Caller,
        audit_id: str,
        rating: str,
        reasons: Sequence[str] = (),
        comment: str = "",
        conversation_id: str | None = None,
    ) -> FeedbackRecord:
        """Record (or replace) ``caller``'s feedback on the answer ``audit_id``:
        :class:`AnswerNotFoundError` unless the audit trail recorded it as an answer given to
        ``caller``. ValueError for a rating other than up/down or an unknown reason."""
        if rating not in ("up", "down"):
            raise ValueError(f"rating은 up 또는 down입니다: {rating!r}")
        kept = clean_reasons(reasons)
        record = self.audit.record(audit_id) if self.audit is not None and audit_id else None
        if record is None or record.principal_id != caller.subject or record.endpoint not in ANSWER_ENDPOINTS:
            log.info("feedback refused: not an answer of this caller", extra={"subject": caller.subject})
            raise AnswerNotFoundError()
        masked = self.mask((comment or "").strip())[:MAX_COMMENT_CHARS]
        now = _iso(_now())
        fields = {"rating": rating, "reasons": json.dumps(kept), "comment": masked,
                  "conversation_id": conversation_id, "updated_at": now}  # fmt: skip
        new = {"audit_id": audit_id, "subject": caller.subject, "agency": record.agency or caller.principal.agency,
               "created_at": now}  # fmt: skip
        try:
            row = self._upsert(new, fields)
        except FeedbackStoreError as e:
            if not isinstance(e.__cause__, IntegrityError):
                raise
            row = self._upsert(new, fields)  # inserted by a second request at the same moment: replace it
        saved = _record(row)
        log.info("feedback recorded", extra={"feedback_id": saved.id, "audit_id": audit_id, "rating": rating,
                                             "reasons": kept, "subject": caller.subject})  # fmt: skip
        return saved

    def _upsert(self, new: dict[str, str | None], fields: dict[str, str | None]) -> Row:
        """Update the (audit_id, subject) row with ``fields``, or insert it with ``new`` too."""
        t = feedback_table
        where = (t.c.audit_id == new["audit_id"], t.c.subject == new["subject"])
        with self._write() as conn:
            found = conn.execute(select(t.c.id).where(*where).with_for_update()).first()
            if found is None:
                conn.execute(t.insert().values(id=uuid.uuid4().hex, **new, **fields))
            else:
                conn.execute(update(t).where(t.c.id == found.id).values(**fields))
            return conn.execute(select(t).where(*where)).one()

    def list(
        self,
        agency: str | None = None,
        rating: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[FeedbackRecord]:
        """Feedback with ``since <= created_at < until`` (either open), newest first: of one
        agency (None: every agency's), of one rating (None: both)."""
        t = feedback_table
        q = select(t)
        if agency is not None:
            q = q.where(t.c.agency == agency)
        if rating is not None:
            q = q.where(t.c.rating == rating)
        if since is not None:
            q = q.where(t.c.created_at >= _iso(since))
        if until is not None:
            q = q.where(t.c.created_at < _iso(until))
        q = q.order_by(t.c.created_at.desc(), t.c.id).offset(max(0, offset))
        if limit is not None:
            q = q.limit(max(1, limit))
        try:
            with read_transaction(self.engine) as conn:
                rows = conn.execute(q).all()
        except SQLAlchemyError as e:
            raise FeedbackStoreError(f"피드백을 읽지 못했습니다: {db_reason(e)}") from e
        return [_record(r) for r in rows]
