"""The OpenAI-compatible endpoints: ``GET /v1/models`` and ``POST /v1/chat/completions``
(plain, or ``stream: true`` as server-sent events).

The last ``user`` message is the question, earlier user/assistant messages the history;
system/developer/tool messages are ignored (Nuri's own prompts govern the model). The
citations ride in the extra top-level fields ``citations`` and ``refused`` (in the last chunk
when streaming) and, for standard OpenAI clients that drop those, in the message itself:
``annotations`` (a ``url_citation`` per ``[n]`` marker) and, with
``api.citations_in_content: footer``, a sources footer at the end of the content
(``assistant.sources``). A failure before the first event gets its mapped status; after the stream
has started it arrives as an ``error`` event, then ``[DONE]``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from assistant.answers import AnswerEvent, HistoryTurn, final_answer, with_first
from assistant.callers import Caller
from assistant.errors import AssistantError, InvalidHistoryError, InvalidQuestionError
from assistant.http import deps
from assistant.http.auth import caller
from assistant.http.errors import ApiError, api_error, error_body
from assistant.http.schemas import MODEL_ID, ChatCompletionRequest, ChatMessageIn
from assistant.http.sse import DONE, HEADERS, sse
from assistant.prompts import detect_language
from assistant.service import NuriService
from assistant.sources import sources_footer, strip_footer, url_annotations
from configs.settings import Settings
from retrieval.errors import RetrievalError

log = logging.getLogger("nuri.api")
router = APIRouter(tags=["openai"])


def split_messages(messages: list[ChatMessageIn]) -> tuple[str, list[HistoryTurn]]:
    """The last user message is the question; earlier user/assistant turns are the history."""
    if messages[-1].role != "user" or not messages[-1].text().strip():
        raise InvalidQuestionError("마지막 메시지는 내용이 있는 user 메시지여야 합니다")
    turns = [m for m in messages[:-1] if m.role in ("user", "assistant") and m.text().strip()]
    limit = HistoryTurn.model_fields["content"].metadata[0].max_length
    if any(len(m.text()) > limit for m in turns):
        raise InvalidHistoryError(f"이전 대화 메시지가 너무 깁니다 (메시지당 최대 {limit}자)")
    history = [
        HistoryTurn.model_validate(
            {"role": m.role, "content": strip_footer(m.text()) if m.role == "assistant" else m.text()}
        )
        for m in turns
    ]
    return messages[-1].text(), history


@router.get("/v1/models", dependencies=[Depends(caller)])
def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "nuri"}]}


@router.post("/v1/chat/completions")
def chat_completions(
    body: ChatCompletionRequest,
    who: Caller = Depends(caller),
    svc: NuriService = Depends(deps.service),
    settings: Settings = Depends(deps.settings),
) -> Any:
    if body.model not in (MODEL_ID, settings.llm.model):
        raise ApiError(
            "model_not_found",
            f"모델 '{body.model}'이(가) 없습니다. '{MODEL_ID}'를 쓰세요",
            f"The model '{body.model}' does not exist; use '{MODEL_ID}'",
        )
    question, history = split_messages(body.messages)
    cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    footer_lang = detect_language(question) if settings.api.citations_in_content == "footer" else None
    events = svc.stream(question, history, body.filters, caller=who, endpoint="/v1/chat/completions")
    first = next(events)  # retrieval + first model output: failures get a real status
    if not body.stream:
        final = final_answer(with_first(first, events))
        content = final.answer + (sources_footer(final.citations, footer_lang) if footer_lang else "")
        message = {"role": "assistant", "content": content, "annotations": url_annotations(content, final.citations)}
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "citations": [c.model_dump() for c in final.citations],
            "refused": final.refused,
            "guardrails": [g.model_dump() for g in final.guardrails],
        }
    return StreamingResponse(
        _chat_stream(cid, created, first, events, footer_lang),
        media_type="text/event-stream",
        headers=HEADERS,
    )


def _chat_stream(
    cid: str, created: int, first: AnswerEvent, events: Iterator[AnswerEvent], footer_lang: str | None
) -> Iterator[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                     "choices": [choice], **extra})  # fmt: skip

    yield chunk({"role": "assistant", "content": ""})
    try:
        for event in with_first(first, events):
            if event.kind == "delta" and event.text:
                yield chunk({"content": event.text})
            elif event.kind == "done" and event.answer is not None:
                answer = event.answer
                footer = sources_footer(answer.citations, footer_lang) if footer_lang else ""
                if footer:
                    yield chunk({"content": footer})
                content = answer.answer + footer
                citations = [c.model_dump() for c in answer.citations]
                yield chunk(
                    {"annotations": url_annotations(content, answer.citations)} if answer.citations else {},
                    "stop",
                    citations=citations,
                    refused=answer.refused,
                    guardrails=[g.model_dump() for g in answer.guardrails],
                )
    except (AssistantError, RetrievalError) as e:
        err = api_error(e)
        log.warning("stream failed", extra={"code": err.code, "error": err.message})
        yield sse(error_body(err, with_status=True))
    except Exception:
        log.exception("stream failed unexpectedly")
        yield sse(error_body(api_error(RuntimeError()), with_status=True))
    yield sse(DONE)
