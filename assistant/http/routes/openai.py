"""The OpenAI-compatible endpoints: ``GET /v1/models`` and ``POST /v1/chat/completions``
(plain, or ``stream: true`` as server-sent events).

The last ``user`` message with text is the question, earlier user/assistant messages the
history; system/developer/tool messages, and whatever follows the question (an assistant's
prefill), are ignored (Nuri's own prompts govern the model). The
citations ride in the extra top-level fields ``citations`` and ``refused`` (in the last chunk
when streaming) and, for standard OpenAI clients that drop those, in the message itself:
``annotations`` (a ``url_citation`` per ``[n]`` marker) and, with
``api.citations_in_content: footer``, a sources footer at the end of the content
(``assistant.sources``). How failures reach the caller, streamed or not:
:mod:`assistant.http.answer_stream` (after the stream has started, an ``error`` event, then
``[DONE]``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Depends

from assistant.answers import AnswerEvent, HistoryTurn
from assistant.assistants import AssistantNotFoundError
from assistant.callers import Caller
from assistant.errors import InvalidQuestionError
from assistant.exchange import Endpoint
from assistant.http import deps
from assistant.http.answer_stream import respond
from assistant.http.auth import caller
from assistant.http.errors import ANSWERING, COMMON, ApiError, error_body, error_responses
from assistant.http.openapi import CHAT_EVENTS, streamed
from assistant.http.schemas import MODEL_ID, ChatCompletion, ChatCompletionRequest, ChatMessageIn, ModelList
from assistant.http.sse import sse
from assistant.service import NuriService
from assistant.sources import sources_footer, strip_footer, url_annotations
from configs.settings import Settings

router = APIRouter(tags=["openai"])


def split_messages(messages: list[ChatMessageIn]) -> tuple[str, list[HistoryTurn]]:
    """The last user message with text is the question; the user/assistant turns before it are the
    history (their lengths are checked with the question's, by the service); what follows it is
    not used. 400 ``invalid_question`` when no user message has text."""
    asked = next((i for i in reversed(range(len(messages))) if _is_question(messages[i])), None)
    if asked is None:
        raise InvalidQuestionError(
            "내용이 있는 user 메시지가 없습니다 (마지막 user 메시지가 질문입니다)",
            message_en="No user message with content (the last user message is the question)",
        )
    history = [
        HistoryTurn(role=m.role, content=strip_footer(m.text()) if m.role == "assistant" else m.text())
        for m in messages[:asked]
        if m.role in ("user", "assistant") and m.text().strip()
    ]
    return messages[asked].text(), history


def _is_question(message: ChatMessageIn) -> bool:
    return message.role == "user" and bool(message.text().strip())


@router.get("/v1/models", response_model=ModelList, responses=error_responses(*COMMON))
def models(who: Caller = Depends(caller), svc: NuriService = Depends(deps.service)) -> dict[str, Any]:
    """``nuri`` (the platform's own assistant), then the agency assistants the caller may use,
    the caller's agency's default first."""
    cards: list[dict[str, Any]] = [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "nuri",
                                    "name": "누리", "description": "플랫폼 기본 도우미"}]  # fmt: skip
    for a in svc.assistants_for(who):
        cards.append({"id": a.id, "object": "model", "created": int(a.created_at.timestamp()), "owned_by": a.agency,
                      "name": a.name, "description": a.description,
                      "default": a.default and a.agency == who.principal.agency, "examples": a.examples})  # fmt: skip
    return {"object": "list", "data": cards}


class ChatCompletionFormat:
    """An answer as an OpenAI chat completion, or as its ``chat.completion.chunk`` events."""

    def __init__(self, footer: bool, model: str = MODEL_ID) -> None:
        self.id, self.created, self.footer = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), footer
        self.model = model

    def _footer(self, done: AnswerEvent) -> str:
        assert done.answer is not None
        return sources_footer(done.answer.citations, done.language) if self.footer else ""

    def whole(self, done: AnswerEvent) -> Any:
        final = done.answer
        assert final is not None
        content = final.answer + self._footer(done)
        message = {"role": "assistant", "content": content, "annotations": url_annotations(content, final.citations)}
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "citations": [c.model_dump() for c in final.citations],
            "refused": final.refused,
            "guardrails": [g.model_dump() for g in final.guardrails],
        }

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return sse({"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                    "choices": [choice], **extra})  # fmt: skip

    def opening(self) -> list[bytes]:
        return [self._chunk({"role": "assistant", "content": ""})]

    def delta(self, text: str) -> bytes:
        return self._chunk({"content": text})

    def done(self, done: AnswerEvent) -> list[bytes]:
        answer = done.answer
        assert answer is not None
        footer = self._footer(done)
        content = answer.answer + footer
        return [
            *([self._chunk({"content": footer})] if footer else []),
            self._chunk(
                {"annotations": url_annotations(content, answer.citations)} if answer.citations else {},
                "stop",
                citations=[c.model_dump() for c in answer.citations],
                refused=answer.refused,
                guardrails=[g.model_dump() for g in answer.guardrails],
            ),
        ]

    def error(self, err: ApiError) -> bytes:
        return sse(error_body(err, with_status=True))


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    responses={
        **streamed('The answer; with `"stream": true` `chat.completion.chunk` events, the last with `citations`, '
                   "`refused` and `guardrails` (a failure after the stream started: an `error` event), then "
                   "`[DONE]`", CHAT_EVENTS),
        **error_responses(*COMMON, *ANSWERING, "model_not_found"),
    },
)  # fmt: skip
def chat_completions(
    body: ChatCompletionRequest,
    who: Caller = Depends(caller),
    svc: NuriService = Depends(deps.service),
    settings: Settings = Depends(deps.settings),
) -> Any:
    assistant = None
    if body.model not in (MODEL_ID, settings.llm.model):
        try:
            assistant = svc.assistant_for(who, body.model)
        except AssistantNotFoundError as e:
            raise ApiError(
                "model_not_found",
                f"모델 '{body.model}'이(가) 없습니다. '{MODEL_ID}' 또는 GET /v1/models가 보여 주는 도우미를 쓰세요",
                f"The model '{body.model}' does not exist; use '{MODEL_ID}' or an assistant GET /v1/models lists",
            ) from e
    question, history = split_messages(body.messages)
    events = svc.stream(question, history, body.filters, caller=who, endpoint=Endpoint.API_CHAT, assistant=assistant)
    footer = settings.api.citations_in_content == "footer"
    return respond(events, body.stream, ChatCompletionFormat(footer, body.model if assistant else MODEL_ID))
