"""Saved conversations and their folders, each caller's own (:mod:`assistant.conversations`).

    GET    /v1/conversations?folder_id=&q=&limit=&offset=   the caller's conversations, newest first
    POST   /v1/conversations                                 {title?, folder_id?} -> 201
    GET    /v1/conversations/{id}                            with its messages
    PATCH  /v1/conversations/{id}                            {title?, folder_id?} (null: out of its folder)
    DELETE /v1/conversations/{id}                            204
    GET    /v1/conversations/{id}/export                     Markdown (a download)
    POST   /v1/conversations/{id}/messages                   {question, stream?, filters?}: asked with the
                                                             earlier turns, the turn saved once answered
    GET|POST /v1/folders, PATCH|DELETE /v1/folders/{id}      (a deleted folder's conversations stay, unfiled)

A conversation or folder that is not the caller's is 404 ``conversation_not_found``, the same as
one that does not exist. A question in a conversation is answered exactly as ``POST /v1/ask``
answers (:func:`assistant.http.answer_stream.respond`, the same events), with the conversation's
earlier turns as its history, and takes a place in the answer gate (``api.admission``) like
``/v1/ask``; the turn is saved when the ``done`` event comes, so a failed answer saves nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from assistant.answers import Answer, AnswerEvent
from assistant.callers import Caller
from assistant.conversations import (
    ALL_FOLDERS,
    MAX_FOLDER_CHARS,
    MAX_TITLE_CHARS,
    Conversation,
    ConversationPage,
    ConversationStore,
    ConversationStoreError,
    ConversationSummary,
    Folder,
)
from assistant.exchange import Endpoint
from assistant.http import deps
from assistant.http.answer_stream import respond
from assistant.http.auth import caller
from assistant.http.errors import ANSWERING, COMMON, ApiError, error_responses
from assistant.http.openapi import ASK_EVENTS, link, streamed
from assistant.http.routes.answers import AskFormat
from assistant.http.schemas import MAX_OFFSET, NOT_BLANK, not_blank, stripped
from assistant.service import NuriService
from retrieval.types import SearchFilters

router = APIRouter(tags=["conversations"])


# -- request bodies ---------------------------------------------------------------------------------


#: Text fields are stripped after their length is checked as sent (as the description says).
Stripped = Annotated[str, AfterValidator(stripped)]
NotBlank = Annotated[str, AfterValidator(not_blank)]


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Stripped | None = Field(
        None, max_length=MAX_TITLE_CHARS,
        description=f"제목 (최대 {MAX_TITLE_CHARS}자; 없으면 첫 질문에서) / title (at most {MAX_TITLE_CHARS} "
        "characters; default: from the first question)",
    )  # fmt: skip
    folder_id: Stripped | None = Field(None, max_length=64, description="넣을 폴더 / the folder to put it in")


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: NotBlank | None = Field(
        None, min_length=1, max_length=MAX_TITLE_CHARS, json_schema_extra={"pattern": NOT_BLANK},
        description="새 제목 / new title",
    )  # fmt: skip
    folder_id: Stripped | None = Field(
        None, max_length=64,
        description="옮길 폴더; null이면 폴더에서 뺌 (생략하면 그대로) / the folder to move it to; null: out of "
        "its folder (left out: unchanged)",
    )  # fmt: skip


class ConversationQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        ..., min_length=1,
        description="질문 (최대 `answer.max_question_chars`자; 이 대화의 앞선 질문·답변과 함께 답함) / the question, "
        "answered with the conversation's earlier turns",
    )  # fmt: skip
    filters: SearchFilters | None = None
    assistant: str | None = Field(
        None, max_length=64, description="The agency assistant to ask through, as in `POST /v1/ask`"
    )
    stream: bool = Field(
        False,
        strict=True,
        description="true: server-sent events as in `POST /v1/ask` (`delta`…, `done` with the answer, or `error`; "
        "then `[DONE]`) / streamed like /v1/ask",
    )


class FolderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: NotBlank = Field(
        ..., min_length=1, max_length=MAX_FOLDER_CHARS, json_schema_extra={"pattern": NOT_BLANK},
        description=f"폴더 이름 (최대 {MAX_FOLDER_CHARS}자) / folder name (at most {MAX_FOLDER_CHARS} characters)",
    )  # fmt: skip


# -- helpers ----------------------------------------------------------------------------------------


def store(svc: NuriService = Depends(deps.service)) -> ConversationStore:
    """The service's conversation store (503 ``state_unavailable`` while it is not open)."""
    if svc.conversations is None:
        raise ConversationStoreError(
            "대화 저장소가 열려 있지 않습니다", message_en="The conversation store is not open"
        )
    return svc.conversations


def _folder_filter(raw: str | None) -> str | None:
    if raw is None or raw == ALL_FOLDERS:
        return ALL_FOLDERS
    return None if raw in ("", "none") else raw


def _known_folder(conversations: ConversationStore, owner: str, folder_id: str | None) -> str | None:
    """A body's ``folder_id`` (empty: none) when it names one of the owner's folders; else 409
    ``unknown_folder``, not a 404: the conversation the request is about exists."""
    if not folder_id:
        return None
    if folder_id not in {f.id for f in conversations.list_folders(owner)}:
        raise ApiError("unknown_folder", f"폴더를 찾을 수 없습니다: {folder_id}", f"No such folder: {folder_id}")
    return folder_id


def _download_name(conv: Conversation) -> str:
    """``Content-Disposition`` of an export: an ASCII name, and the title as an RFC 5987 UTF-8 name."""
    title = "".join("_" if ch in '\\/:*?"<>|' or ord(ch) < 32 else ch for ch in conv.title).strip(" .")[:100]
    day = conv.created_at.astimezone(UTC).strftime("%Y%m%d")
    ascii_name = f"conversation-{conv.id[:8]}-{day}.md"
    utf8_name = f"{title or '대화'}-{day}.md"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(utf8_name, safe='')}"


class _AnswerSlot:
    """A place in the answer gate (``api.admission``) held from this worker thread until
    :meth:`release` (idempotent): the middleware gates ``/v1/ask`` by its path, not this one."""

    def __init__(self, request: Request) -> None:
        self._stack = ExitStack()
        admission = getattr(request.app.state, "admission", None)
        if admission is not None:
            self._stack.enter_context(admission.slot_from_thread("answer"))

    def release(self) -> None:
        self._stack.close()


def _saving(
    events: Iterator[AnswerEvent],
    conversations: ConversationStore,
    owner: str,
    conversation_id: str,
    question: str,
    release: Callable[[], None],
) -> Iterator[AnswerEvent]:
    """The answer's events, the turn appended to the conversation when ``done`` comes (before it
    is passed on: an answer that could not be saved ends with an error, not ``done``)."""
    try:
        for event in events:
            if event.kind == "done" and event.answer is not None:
                conversations.append_turn(owner, conversation_id, question, event.answer)
            yield event
    finally:
        release()


# -- conversations ----------------------------------------------------------------------------------

_CONVERSATION = "/v1/conversations/{conversation_id}"
#: Where a new conversation's id is used (the OpenAPI description's links).
_CONVERSATION_LINKS = {
    name: link(path, method, conversation_id="$response.body#/id")
    for name, path, method in (
        ("GetConversation", _CONVERSATION, "get"),
        ("UpdateConversation", _CONVERSATION, "patch"),
        ("DeleteConversation", _CONVERSATION, "delete"),
        ("ExportConversation", _CONVERSATION + "/export", "get"),
        ("AskInConversation", _CONVERSATION + "/messages", "post"),
    )
}
#: Where a new folder's id is used.
_FOLDER_LINKS = {
    "RenameFolder": link("/v1/folders/{folder_id}", "patch", folder_id="$response.body#/id"),
    "DeleteFolder": link("/v1/folders/{folder_id}", "delete", folder_id="$response.body#/id"),
    "ListFolderConversations": link("/v1/conversations", "get", folder_id="$response.body#/id"),
}


@router.get("/v1/conversations", response_model=ConversationPage,
            responses=error_responses(*COMMON, "conversation_not_found"))  # fmt: skip
def list_conversations(
    folder_id: Annotated[
        str | None,
        Query(
            description="폴더 ID; `none`: 폴더 없는 대화; 생략·`all`: 전부 / a folder id; `none`: unfiled; left out "
            "or `all`: every conversation"
        ),
    ] = None,
    q: Annotated[str | None, Query(max_length=MAX_TITLE_CHARS, description="제목에 든 말 / text in the title")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="최대 개수 / at most")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="건너뛸 개수 / skip")] = 0,
    who: Caller = Depends(caller),
    conversations: ConversationStore = Depends(store),
) -> ConversationPage:
    return conversations.list(who.subject, _folder_filter(folder_id), q, limit, offset)


@router.post("/v1/conversations", status_code=201, response_model=ConversationSummary,
             responses={201: {"description": "만든 대화 / the new conversation", "links": _CONVERSATION_LINKS},
                        **error_responses(*COMMON, "unknown_folder")})  # fmt: skip
def create_conversation(
    body: ConversationCreate,
    who: Caller = Depends(caller),
    conversations: ConversationStore = Depends(store),
) -> ConversationSummary:
    folder_id = _known_folder(conversations, who.subject, body.folder_id)
    return conversations.create(who.subject, who.principal.agency, body.title or None, folder_id)


@router.get("/v1/conversations/{conversation_id}", response_model=Conversation,
            responses=error_responses(*COMMON, "conversation_not_found"))  # fmt: skip
def get_conversation(
    conversation_id: str, who: Caller = Depends(caller), conversations: ConversationStore = Depends(store)
) -> Conversation:
    return conversations.get(who.subject, conversation_id)


@router.patch("/v1/conversations/{conversation_id}", response_model=ConversationSummary,
              responses=error_responses(*COMMON, "conversation_not_found", "unknown_folder"))  # fmt: skip
def update_conversation(
    conversation_id: str,
    body: ConversationUpdate,
    who: Caller = Depends(caller),
    conversations: ConversationStore = Depends(store),
) -> ConversationSummary:
    result = conversations.summary(who.subject, conversation_id)
    folder_id = _known_folder(conversations, who.subject, body.folder_id)
    if body.title is not None:
        result = conversations.rename(who.subject, conversation_id, body.title)
    if "folder_id" in body.model_fields_set:
        result = conversations.move(who.subject, conversation_id, folder_id)
    return result


@router.delete("/v1/conversations/{conversation_id}", status_code=204,
               responses=error_responses(*COMMON, "conversation_not_found"))  # fmt: skip
def delete_conversation(
    conversation_id: str, who: Caller = Depends(caller), conversations: ConversationStore = Depends(store)
) -> Response:
    conversations.delete(who.subject, conversation_id)
    return Response(status_code=204)


@router.get(
    "/v1/conversations/{conversation_id}/export",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}}, "description": "대화 전체 (Markdown) / the conversation as "
                     "Markdown"}, **error_responses(*COMMON, "conversation_not_found")},
)  # fmt: skip
def export_conversation(
    conversation_id: str, who: Caller = Depends(caller), conversations: ConversationStore = Depends(store)
) -> Response:
    conv = conversations.get(who.subject, conversation_id)
    markdown = conversations.export_markdown(who.subject, conversation_id)
    return Response(
        content=markdown.encode("utf-8"),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": _download_name(conv)},
    )


@router.post(
    "/v1/conversations/{conversation_id}/messages",
    response_model=Answer,
    responses={
        **streamed('The answer; with `"stream": true` the events of `POST /v1/ask`; the turn is saved when '
                   "`done` is sent", ASK_EVENTS),
        **error_responses(*COMMON, *ANSWERING, "conversation_not_found", "assistant_not_found"),
    },
)  # fmt: skip
def ask_in_conversation(
    conversation_id: str,
    body: ConversationQuestion,
    request: Request,
    who: Caller = Depends(caller),
    svc: NuriService = Depends(deps.service),
    conversations: ConversationStore = Depends(store),
) -> Answer | StreamingResponse:
    history = conversations.history(who.subject, conversation_id, svc.settings.answer.max_history_turns)
    slot = _AnswerSlot(request)
    try:
        assistant = svc.assistant_for(who, body.assistant)
        events = svc.stream(
            body.question, history, body.filters, caller=who, endpoint=Endpoint.API_CONVERSATION, assistant=assistant
        )
        saving = _saving(events, conversations, who.subject, conversation_id, body.question, slot.release)
        result: Answer | StreamingResponse = respond(saving, body.stream, AskFormat())
    except BaseException:
        slot.release()
        raise
    if not body.stream:
        slot.release()
    return result


# -- folders ----------------------------------------------------------------------------------------


@router.get("/v1/folders", response_model=list[Folder], responses=error_responses(*COMMON))
def list_folders(who: Caller = Depends(caller), conversations: ConversationStore = Depends(store)) -> list[Folder]:
    return conversations.list_folders(who.subject)


@router.post("/v1/folders", status_code=201, response_model=Folder,
             responses={201: {"description": "만든 폴더 / the new folder", "links": _FOLDER_LINKS},
                        **error_responses(*COMMON)})  # fmt: skip
def create_folder(
    body: FolderBody, who: Caller = Depends(caller), conversations: ConversationStore = Depends(store)
) -> Folder:
    return conversations.create_folder(who.subject, body.name)


@router.patch("/v1/folders/{folder_id}", response_model=Folder,
              responses=error_responses(*COMMON, "conversation_not_found"))  # fmt: skip
def rename_folder(
    folder_id: str, body: FolderBody, who: Caller = Depends(caller), conversations: ConversationStore = Depends(store)
) -> Folder:
    return conversations.rename_folder(who.subject, folder_id, body.name)


@router.delete("/v1/folders/{folder_id}", status_code=204,
               responses=error_responses(*COMMON, "conversation_not_found"))  # fmt: skip
def delete_folder(
    folder_id: str, who: Caller = Depends(caller), conversations: ConversationStore = Depends(store)
) -> Response:
    conversations.delete_folder(who.subject, folder_id)
    return Response(status_code=204)
