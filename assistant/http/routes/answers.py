"""``POST /v1/ask``: a grounded answer with citations, exactly as ``nuri ask --json`` prints it;
with ``"stream": true`` as server-sent events while it is written (``delta`` events, then
``done`` with the same answer object, or ``error``; then ``[DONE]``). How failures reach the
caller, streamed or not: :mod:`assistant.http.answer_stream`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from assistant.answers import Answer, AnswerEvent
from assistant.callers import Caller
from assistant.exchange import Endpoint
from assistant.http import deps
from assistant.http.answer_stream import respond
from assistant.http.auth import caller
from assistant.http.errors import ANSWERING, COMMON, ApiError, error_body, error_responses
from assistant.http.openapi import ASK_EVENTS, streamed
from assistant.http.schemas import AskRequest
from assistant.http.sse import sse
from assistant.service import NuriService

router = APIRouter(tags=["answers"])


class AskFormat:
    """``/v1/ask``'s answer: the :class:`Answer` object; streamed as ``{"type": …}`` events."""

    def whole(self, done: AnswerEvent) -> Any:
        return done.answer

    def opening(self) -> list[bytes]:
        return []

    def delta(self, text: str) -> bytes:
        return sse({"type": "delta", "text": text})

    def done(self, done: AnswerEvent) -> list[bytes]:
        assert done.answer is not None
        return [sse({"type": "done", "answer": done.answer.model_dump(mode="json")})]

    def error(self, err: ApiError) -> bytes:
        return sse({"type": "error", **error_body(err, with_status=True)})


@router.post(
    "/v1/ask",
    response_model=Answer,
    responses={
        **streamed('The answer; with `"stream": true` events: `{"type": "delta", "text"}` …, then '
                   '`{"type": "done", "answer"}` or `{"type": "error", "error"}`, then `[DONE]`', ASK_EVENTS),
        **error_responses(*COMMON, *ANSWERING, "assistant_not_found"),
    },
)  # fmt: skip
def ask(
    body: AskRequest,
    who: Caller = Depends(caller),
    svc: NuriService = Depends(deps.service),
) -> Answer | StreamingResponse:
    assistant = svc.assistant_for(who, body.assistant)
    events = svc.stream(
        body.question, body.history, body.filters, caller=who, endpoint=Endpoint.API_ASK, assistant=assistant
    )
    result: Answer | StreamingResponse = respond(events, body.stream, AskFormat())
    return result
