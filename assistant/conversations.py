"""Saved conversations (``/v1/conversations``, ``/v1/folders``): each user's questions and answers
kept with their citations, in folders, so that a follow-up is answered with the earlier turns and a
conversation can be read again or exported as Markdown.

Stored per owner — the caller's ``subject`` (``key:<id>``, ``gateway:<user>``, ``oidc:<sub>``) — in
the key store's database (``keys.url``: SQLite by default, PostgreSQL in production), three tables
beside the keys: ``conversation_folders``, ``conversation_threads`` and ``conversation_messages``.
Every method takes the owner and reads or writes only that owner's rows: a conversation or folder
of someone else is :class:`ConversationNotFoundError` (404), exactly like one that does not exist,
so an id never tells whether it belongs to anyone.

The question and the answer are kept with personal data masked (``mask``: the service's
guardrails, as the audit trail keeps them), the citations as they were given; the audit trail
keeps its own record, linked by each answer's ``audit_id``.
Titles are cut to :data:`MAX_TITLE_CHARS` and folder names to :data:`MAX_FOLDER_CHARS` here; the
HTTP layer refuses longer ones (422) before they reach the store.
"""

from __future__ import annotations

import builtins
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table, Text, delete, func, select, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import SQLAlchemyError

from assistant.answers import Answer, Citation, HistoryTurn
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

log = logging.getLogger("nuri.conversations")

MAX_TITLE_CHARS = 200
MAX_FOLDER_CHARS = 100
#: A conversation's title taken from its first question: about this many characters, on a word boundary.
AUTO_TITLE_CHARS = 40
#: ``list(folder_id=ALL_FOLDERS)``: conversations of every folder and of none.
ALL_FOLDERS = "all"
#: What an answer that ended in an error shows in the chat (such turns are not history).
ERROR_MARK = "⛔"
DEFAULT_FOLDER_NAME = "새 폴더"
UNTITLED = "제목 없는 대화"

_meta = MetaData()
folders_table = Table(
    "conversation_folders",
    _meta,
    Column("id", String(32), primary_key=True),
    Column("owner", String(300), nullable=False, index=True),
    Column("name", String(MAX_FOLDER_CHARS), nullable=False),
    Column("created_at", String(40), nullable=False),
)
threads_table = Table(
    "conversation_threads",
    _meta,
    Column("id", String(32), primary_key=True),
    Column("owner", String(300), nullable=False),
    Column("agency", String(200), nullable=True),
    Column("folder_id", String(32), nullable=True),
    Column("title", String(MAX_TITLE_CHARS), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index("ix_conversation_threads_owner_updated", "owner", "updated_at"),
)
messages_table = Table(
    "conversation_messages",
    _meta,
    Column("conversation_id", String(32), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("citations", Text, nullable=False),  # JSON list of Citation
    Column("audit_id", String(128), nullable=True),
    Column("refused", Boolean, nullable=False),
    Column("created_at", String(40), nullable=False),
)


class ConversationStoreError(NuriError):
    """The conversation store cannot be opened, read or written (503)."""

    code = "state_unavailable"


class ConversationNotFoundError(NuriError):
    """No conversation (or folder) of that id belongs to the caller (404; the same for one that
    belongs to someone else)."""

    code = "conversation_not_found"

    def __init__(self, message: str | None = None, *, what: Literal["conversation", "folder"] = "conversation") -> None:
        if message is not None:
            super().__init__(message)
        elif what == "folder":
            super().__init__("폴더를 찾을 수 없습니다", message_en="Folder not found")
        else:
            super().__init__("대화를 찾을 수 없습니다", message_en="Conversation not found")


class Folder(BaseModel):
    id: str = Field(..., description="폴더 ID / folder id")
    name: str = Field(..., description="폴더 이름 / folder name")
    created_at: datetime


class ConversationSummary(BaseModel):
    """A conversation without its messages (the list's items)."""

    id: str = Field(..., description="대화 ID / conversation id")
    title: str = Field(
        ..., description="제목 (비어 있으면 첫 질문에서 만듦) / title (from the first question when empty)"
    )
    agency: str | None = Field(None, description="대화를 만든 사용자의 기관 / the owner's agency when it was created")
    folder_id: str | None = Field(None, description="폴더 (없으면 null) / folder, or null")
    created_at: datetime
    updated_at: datetime


class Message(BaseModel):
    seq: int = Field(..., description="대화 안의 순번 (1부터) / position in the conversation, from 1")
    role: Literal["user", "assistant"]
    content: str
    citations: list[Citation] = Field(default_factory=list, description="답변의 근거 / the answer's citations")
    audit_id: str | None = Field(None, description="답변의 감사 기록 ID / the answer's audit record id")
    refused: bool = False
    created_at: datetime


class Conversation(ConversationSummary):
    messages: list[Message] = Field(default_factory=list)


class ConversationPage(BaseModel):
    items: list[ConversationSummary]
    total: int = Field(..., description="조건에 맞는 대화 수 / conversations matching")
    limit: int
    offset: int


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def _clean(text: str | None, limit: int) -> str:
    """One line, whitespace collapsed, at most ``limit`` characters."""
    return " ".join((text or "").split())[:limit]


def title_from_question(question: str, limit: int = AUTO_TITLE_CHARS) -> str:
    """A title from a first question: its first ``limit`` characters, cut on a word boundary."""
    text = " ".join(question.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rfind(" ")
    head = text[:cut] if cut >= limit // 2 else text[:limit]
    return head.rstrip(" ,.?!·") + "…"


def _summary(row: Row) -> ConversationSummary:
    return ConversationSummary(
        id=row.id, title=row.title, agency=row.agency, folder_id=row.folder_id,
        created_at=datetime.fromisoformat(row.created_at), updated_at=datetime.fromisoformat(row.updated_at),
    )  # fmt: skip


def _message(row: Row) -> Message:
    return Message(
        seq=row.seq, role=row.role, content=row.content, audit_id=row.audit_id, refused=bool(row.refused),
        citations=[Citation.model_validate(c) for c in json.loads(row.citations or "[]")],
        created_at=datetime.fromisoformat(row.created_at),
    )  # fmt: skip


class ConversationStore:
    """Saved conversations and folders (see the module docstring). Thread-safe; several
    processes may share the database."""

    def __init__(
        self,
        url: str,
        max_turn_chars: int = 8000,
        timeout_s: float = BUSY_TIMEOUT_S,
        mask: Callable[[str], str] | None = None,
    ) -> None:
        """``max_turn_chars``: each earlier turn given for a follow-up is cut to this
        (``answer.max_turn_chars``). ``mask``: personal data masked in each question and answer
        before it is kept (the service's guardrails, as the audit trail keeps them): a resident
        registration number typed into a question is not stored in the conversation."""
        self.url = url
        self.max_turn_chars = max_turn_chars
        self._mask = mask or (lambda text: text)
        self.engine = open_tables(url, timeout_s, _meta, ConversationStoreError, "대화")

    @classmethod
    def from_settings(
        cls,
        settings: KeySettings,
        data_dir: Path,
        home: Path | None = None,
        max_turn_chars: int = 8000,
        mask: Callable[[str], str] | None = None,
    ) -> ConversationStore:
        """On the key store's database (``keys.url``)."""
        return cls(database_url(settings.url, data_dir, home), max_turn_chars, settings.timeout_s, mask)

    def close(self) -> None:
        release_engine(self.engine)

    def __enter__(self) -> ConversationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with write_transaction(self.engine) as conn:
                yield conn
        except SQLAlchemyError as e:
            raise ConversationStoreError(f"대화를 저장하지 못했습니다: {db_reason(e)}") from e

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with read_transaction(self.engine) as conn:
                yield conn
        except SQLAlchemyError as e:
            raise ConversationStoreError(f"대화를 읽지 못했습니다: {db_reason(e)}") from e

    # -- ownership -------------------------------------------------------------------------

    @staticmethod
    def _thread(conn: Connection, owner: str, conversation_id: str, lock: bool = False) -> Row:
        q = select(threads_table).where(threads_table.c.id == conversation_id, threads_table.c.owner == owner)
        row = conn.execute(q.with_for_update() if lock else q).first()
        if row is None:
            raise ConversationNotFoundError()
        return row

    @staticmethod
    def _check_folder(conn: Connection, owner: str, folder_id: str | None) -> None:
        if folder_id is None:
            return
        q = select(folders_table.c.id).where(folders_table.c.id == folder_id, folders_table.c.owner == owner)
        if conn.execute(q).first() is None:
            raise ConversationNotFoundError(what="folder")

    # -- conversations ---------------------------------------------------------------------

    def create(
        self, owner: str, agency: str | None, title: str | None = None, folder_id: str | None = None
    ) -> ConversationSummary:
        """A new, empty conversation of ``owner`` (in ``folder_id``, one of the owner's folders)."""
        now = _iso(_now())
        row = {
            "id": uuid.uuid4().hex, "owner": owner, "agency": agency, "folder_id": folder_id,
            "title": _clean(title, MAX_TITLE_CHARS), "created_at": now, "updated_at": now,
        }  # fmt: skip
        with self._write() as conn:
            self._check_folder(conn, owner, folder_id)
            conn.execute(threads_table.insert().values(**row))
        log.info("conversation created", extra={"conversation_id": row["id"], "subject": owner})
        return ConversationSummary.model_validate(row)

    def list(
        self,
        owner: str,
        folder_id: str | None = ALL_FOLDERS,
        query: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> ConversationPage:
        """``owner``'s conversations, the most recently updated first: of every folder
        (:data:`ALL_FOLDERS`), of none (None) or of one folder; ``query``: the title contains it
        (any case)."""
        t = threads_table
        where = [t.c.owner == owner]
        if folder_id != ALL_FOLDERS:
            where.append(t.c.folder_id.is_(None) if folder_id is None else t.c.folder_id == folder_id)
        if query and query.strip():
            where.append(func.lower(t.c.title).contains(query.strip().lower(), autoescape=True))
        limit, offset = max(1, min(limit, 200)), max(0, offset)
        with self._read() as conn:
            if folder_id not in (None, ALL_FOLDERS):
                self._check_folder(conn, owner, folder_id)
            total = int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar() or 0)
            rows = conn.execute(
                select(t).where(*where).order_by(t.c.updated_at.desc(), t.c.id.desc()).limit(limit).offset(offset)
            ).all()
        return ConversationPage(items=[_summary(r) for r in rows], total=total, limit=limit, offset=offset)

    def summary(self, owner: str, conversation_id: str) -> ConversationSummary:
        """The conversation without its messages (:class:`ConversationNotFoundError` if not ``owner``'s)."""
        with self._read() as conn:
            return _summary(self._thread(conn, owner, conversation_id))

    def get(self, owner: str, conversation_id: str) -> Conversation:
        """The conversation with its messages, in order."""
        with self._read() as conn:
            row = self._thread(conn, owner, conversation_id)
            messages = conn.execute(
                select(messages_table)
                .where(messages_table.c.conversation_id == conversation_id)
                .order_by(messages_table.c.seq)
            ).all()
        return Conversation(**_summary(row).model_dump(), messages=[_message(m) for m in messages])

    def rename(self, owner: str, conversation_id: str, title: str) -> ConversationSummary:
        with self._write() as conn:
            self._thread(conn, owner, conversation_id, lock=True)
            conn.execute(
                update(threads_table)
                .where(threads_table.c.id == conversation_id)
                .values(title=_clean(title, MAX_TITLE_CHARS), updated_at=_iso(_now()))
            )
            return _summary(self._thread(conn, owner, conversation_id))

    def move(self, owner: str, conversation_id: str, folder_id: str | None) -> ConversationSummary:
        """Into one of ``owner``'s folders, or out of any (None)."""
        with self._write() as conn:
            self._thread(conn, owner, conversation_id, lock=True)
            self._check_folder(conn, owner, folder_id)
            conn.execute(update(threads_table).where(threads_table.c.id == conversation_id).values(folder_id=folder_id))
            return _summary(self._thread(conn, owner, conversation_id))

    def delete(self, owner: str, conversation_id: str) -> None:
        """The conversation and its messages (the audit trail keeps its own records)."""
        with self._write() as conn:
            self._thread(conn, owner, conversation_id, lock=True)
            conn.execute(delete(messages_table).where(messages_table.c.conversation_id == conversation_id))
            conn.execute(delete(threads_table).where(threads_table.c.id == conversation_id))
        log.info("conversation deleted", extra={"conversation_id": conversation_id, "subject": owner})

    def append_turn(self, owner: str, conversation_id: str, question: str, answer: Answer) -> Conversation:
        """The question and its answer (with its citations and ``audit_id``) added at the end; a
        conversation without a title takes its first question's first words."""
        now = _iso(_now())
        question = self._mask(question.strip())
        answer = answer.model_copy(update={"answer": self._mask(answer.answer)})
        with self._write() as conn:
            row = self._thread(conn, owner, conversation_id, lock=True)  # appends to one conversation in turn
            last = conn.execute(
                select(func.max(messages_table.c.seq)).where(messages_table.c.conversation_id == conversation_id)
            ).scalar()
            seq = int(last or 0)
            conn.execute(
                messages_table.insert(),
                [
                    {"conversation_id": conversation_id, "seq": seq + 1, "role": "user", "content": question,
                     "citations": "[]", "audit_id": None, "refused": False, "created_at": now},
                    {"conversation_id": conversation_id, "seq": seq + 2, "role": "assistant",
                     "content": answer.answer,
                     "citations": json.dumps([c.model_dump(mode="json") for c in answer.citations],
                                             ensure_ascii=False),
                     "audit_id": answer.audit_id, "refused": answer.refused, "created_at": now},
                ],
            )  # fmt: skip
            values = {"updated_at": now}
            if not row.title and seq == 0:
                values["title"] = _clean(title_from_question(question), MAX_TITLE_CHARS)
            conn.execute(update(threads_table).where(threads_table.c.id == conversation_id).values(**values))
        return self.get(owner, conversation_id)

    def history(self, owner: str, conversation_id: str, max_turns: int) -> builtins.list[HistoryTurn]:
        """The earlier turns for a follow-up: the last ``max_turns`` question/answer pairs, an
        answer that ended in an error (empty, or the chat's ⛔ mark) left out with its question,
        each message cut to ``max_turn_chars``."""
        if max_turns <= 0:
            self.summary(owner, conversation_id)  # still only the owner's
            return []
        messages = self.get(owner, conversation_id).messages
        pairs: builtins.list[tuple[Message, Message]] = []
        for asked, answered in zip(messages, messages[1:], strict=False):
            if asked.role != "user" or answered.role != "assistant":
                continue
            if not answered.content.strip() or ERROR_MARK in answered.content or not asked.content.strip():
                continue
            if answered.refused:  # a refused question (a blocked attempt included) is not carried on
                continue
            pairs.append((asked, answered))
        turns: builtins.list[HistoryTurn] = []
        for asked, answered in pairs[-max_turns:]:
            turns += [
                HistoryTurn(role="user", content=asked.content[: self.max_turn_chars]),
                HistoryTurn(role="assistant", content=answered.content[: self.max_turn_chars]),
            ]
        return turns

    def export_markdown(self, owner: str, conversation_id: str) -> str:
        """The conversation as Markdown: title, dates, each question and answer, each answer's
        citations as ``[n] title · location`` with the passage quoted."""
        conv = self.get(owner, conversation_id)
        lines = [f"# {_one_line(conv.title) or UNTITLED}", ""]
        lines.append(f"- 만든 날짜: {conv.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
        lines.append(f"- 마지막 수정: {conv.updated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
        if conv.agency:
            lines.append(f"- 기관: {conv.agency}")
        lines.append("")
        n = 0
        for m in conv.messages:
            if m.role == "user":
                n += 1
                lines += [f"## 질문 {n}", "", m.content.strip(), ""]
                continue
            lines += ["### 답변", "", m.content.strip() or "(빈 답변)", ""]
            if m.refused:
                lines += ["> 근거 자료에서 답을 찾지 못했거나 답할 수 없는 질문이었습니다.", ""]
            if m.citations:
                lines += ["#### 근거 자료", ""]
                for c in sorted(m.citations, key=lambda c: c.n):
                    where = _one_line(c.location or c.anchor)
                    head = f"[{c.n}] {_one_line(c.title)}" + (f" · {where}" if where else "")
                    lines += [head, "", _quote(c.text), ""]
                    if c.source_url:
                        lines += [f"출처: <{c.source_url}>", ""]
                    elif c.source:
                        lines += [f"출처: {_one_line(c.source)}", ""]
            if m.audit_id:
                lines += [f"<sub>감사 기록 ID: {m.audit_id}</sub>", ""]
        return "\n".join(lines).rstrip() + "\n"

    # -- folders ---------------------------------------------------------------------------

    def create_folder(self, owner: str, name: str) -> Folder:
        row = {"id": uuid.uuid4().hex, "owner": owner, "name": _folder_name(name), "created_at": _iso(_now())}
        with self._write() as conn:
            conn.execute(folders_table.insert().values(**row))
        return Folder.model_validate(row)

    def list_folders(self, owner: str) -> builtins.list[Folder]:
        with self._read() as conn:
            rows = conn.execute(
                select(folders_table).where(folders_table.c.owner == owner).order_by(folders_table.c.name)
            ).all()
        return [Folder(id=r.id, name=r.name, created_at=datetime.fromisoformat(r.created_at)) for r in rows]

    def rename_folder(self, owner: str, folder_id: str, name: str) -> Folder:
        with self._write() as conn:
            self._check_folder(conn, owner, folder_id)
            conn.execute(update(folders_table).where(folders_table.c.id == folder_id).values(name=_folder_name(name)))
            r = conn.execute(select(folders_table).where(folders_table.c.id == folder_id)).one()
        return Folder(id=r.id, name=r.name, created_at=datetime.fromisoformat(r.created_at))

    def delete_folder(self, owner: str, folder_id: str) -> None:
        """The folder; its conversations are kept, in no folder."""
        with self._write() as conn:
            self._check_folder(conn, owner, folder_id)
            conn.execute(
                update(threads_table)
                .where(threads_table.c.owner == owner, threads_table.c.folder_id == folder_id)
                .values(folder_id=None)
            )
            conn.execute(delete(folders_table).where(folders_table.c.id == folder_id))


def _folder_name(name: str) -> str:
    return _clean(name, MAX_FOLDER_CHARS) or DEFAULT_FOLDER_NAME


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _quote(text: str) -> str:
    lines = [line.rstrip() for line in str(text).strip().splitlines()] or [""]
    return "\n".join(f"> {line}" if line else ">" for line in lines)
