"""``POST /v1/ask``: a grounded answer with citations, exactly as ``nuri ask --json`` prints it;
with ``"stream": true`` as server-sent events while it is written (``delta`` events, then
``done`` with the same answer object, or ``error``; then ``[DONE]``). A failure before the first
event gets its mapped status, as without streaming."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from assistant.answers import Answer, AnswerEvent, final_answer, with_first
from assistant.callers import Caller
from assistant.errors import AssistantError
from assistant.http import deps
from assistant.http.auth import caller
from assistant.http.errors import api_error, error_body
from assistant.http.schemas import AskRequest
from assistant.http.sse import DONE, HEADERS, sse
from assistant.service import NuriService
from retrieval.errors import RetrievalError

log = logging.getLogger("nuri.api")
router = APIRouter(tags=["answers"])


@router.post("/v1/ask", response_model=Answer)
def ask(
    body: AskRequest,
    who: Caller = Depends(caller),
    svc: NuriService = Depends(deps.service),
) -> Answer | StreamingResponse:
    events = svc.stream(body.question, body.history, body.filters, caller=who, endpoint="/v1/ask")
    first = next(events)  # input checks, retrieval and the first output: failures get a real status
    if not body.stream:
        return final_answer(with_first(first, events))
    return StreamingResponse(_ask_stream(first, events), media_type="text/event-stream", headers=HEADERS)


def _ask_stream(first: AnswerEvent, events: Iterator[AnswerEvent]) -> Iterator[bytes]:
    try:
        for event in with_first(first, events):
            if event.kind == "delta" and event.text:
                yield sse({"type": "delta", "text": event.text})
            elif event.kind == "done" and event.answer is not None:
                yield sse({"type": "done", "answer": event.answer.model_dump(mode="json")})
    except (AssistantError, RetrievalError) as e:
        err = api_error(e)
        log.warning("stream failed", extra={"code": err.code, "error": err.message})
        yield sse({"type": "error", **error_body(err, with_status=True)})
    except Exception:
        log.exception("stream failed unexpectedly")
        yield sse({"type": "error", **error_body(api_error(RuntimeError()), with_status=True)})
    yield sse(DONE)
