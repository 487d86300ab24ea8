"""The one way an answer leaves the HTTP API, for ``POST /v1/ask`` and ``POST /v1/chat/completions``
alike: :func:`respond` takes the service's events and an endpoint's :class:`AnswerFormat`.

- A failure before the first event (invalid input, the index, the model or the audit trail
  unavailable) gets its mapped status, streamed or not.
- Without streaming the whole answer is read first: an error at any point, the audit record's
  included, is the response's status, and no answer text reaches the caller.
- Streamed, the endpoint's events go out as server-sent events while the answer is written; a
  failure after the stream started (an audit record that could not be written included) ends it
  with the endpoint's error event and no ``done`` event, then ``[DONE]``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Protocol

from fastapi.responses import StreamingResponse

from assistant.answers import AnswerEvent, final_event, with_first
from assistant.http.errors import INTERNAL, ApiError, api_error
from assistant.http.sse import DONE, HEADERS, sse

log = logging.getLogger("nuri.api")


class AnswerFormat(Protocol):
    """How one endpoint writes an answer."""

    def whole(self, done: AnswerEvent) -> Any:
        """The response body of a non-streamed answer (its ``done`` event)."""
        ...

    def opening(self) -> list[bytes]:
        """Events sent before the answer's first text."""
        ...

    def delta(self, text: str) -> bytes: ...

    def done(self, done: AnswerEvent) -> list[bytes]:
        """The events that end a complete answer."""
        ...

    def error(self, err: ApiError) -> bytes: ...


def respond(events: Iterator[AnswerEvent], stream: bool, fmt: AnswerFormat) -> Any:
    """The response for an answer: ``fmt.whole`` of it, or a stream of ``fmt``'s events."""
    first = next(events)  # input checks, audit probe, retrieval, first text: failures get their status
    if not stream:
        return fmt.whole(final_event(with_first(first, events)))
    return StreamingResponse(_events(first, events, fmt), media_type="text/event-stream", headers=HEADERS)


def _events(first: AnswerEvent, events: Iterator[AnswerEvent], fmt: AnswerFormat) -> Iterator[bytes]:
    yield from fmt.opening()
    try:
        for event in with_first(first, events):
            if event.kind == "delta" and event.text:
                yield fmt.delta(event.text)
            elif event.kind == "done" and event.answer is not None:
                yield from fmt.done(event)
    except Exception as e:
        err = api_error(e)
        if err.code == INTERNAL.code:
            log.error("stream failed unexpectedly", exc_info=e)
        else:
            log.warning("stream failed", extra={"code": err.code, "error": err.message})
        yield fmt.error(err)
    yield sse(DONE)
