"""One exchange and its audit record: where a request came from (:class:`Endpoint`, a closed set)
and the record written for it (:class:`Exchange`).

The record never holds the key or unmasked personal data: the question is the masked one and the
answer is the one the output checks passed *before* the caller's pseudonyms were put back, masked
again here (the values the caller typed, and a name only the question's context revealed, never
reach the trail). An answer's record is written *before* the answer is given
(:class:`~assistant.service.NuriService` sends ``done`` only after :meth:`Exchange.record`
returned); a caller who leaves early or a failure mid-answer is recorded with the text sent so far
(:meth:`Exchange.record_unfinished`, which logs rather than raises: the original error wins).

An exchange started by an API request is recorded under that request's id
(:func:`assistant.request_scope.current_request_id`: the ``X-Request-ID`` of the response and the
``request_id`` of its error body); anywhere else (the chat, the CLI, evals) under a new one.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from enum import StrEnum

from assistant.answers import Answer
from assistant.callers import Caller
from assistant.request_scope import current_request_id
from guardrails.audit import AuditEntry, AuditError, AuditStore, RetrievedChunk
from guardrails.decisions import GuardrailDecision
from guardrails.pipeline import Guardrails
from retrieval.types import Hit

log = logging.getLogger("nuri.audit")


class Endpoint(StrEnum):
    """Every place an exchange can come from, as the audit trail names it."""

    API_ASK = "/v1/ask"
    API_CHAT = "/v1/chat/completions"
    API_SEARCH = "/v1/search"
    API_CONVERSATION = "/v1/conversations/messages"
    UI_CHAT = "ui:chat"
    CLI_ASK = "cli:ask"
    CLI_SEARCH = "cli:search"
    EVAL_ASK = "eval:ask"
    EVAL_SEARCH = "eval:search"
    BENCH_ASK = "bench:ask"
    BENCH_SEARCH = "bench:search"

    @property
    def searches(self) -> bool:
        """A search (no model, no prompt) rather than an answer."""
        return self.value.endswith("search")

    @property
    def http(self) -> bool:
        """An API route: the exchange is the request (its id is the request's)."""
        return self.value.startswith("/")


class Exchange:
    """The audit record of one search or answer, written once by :meth:`record`."""

    def __init__(
        self,
        audit: AuditStore | None,
        guard: Guardrails,
        who: Caller,
        endpoint: Endpoint,
        masked_question: str,
        model: str | None = None,
        prompt_version: str | None = None,
        started: float | None = None,
        assistant: str | None = None,
    ) -> None:
        """``started``: when the request began (``time.perf_counter()``; default now), for its latency.
        ``assistant``: the id of the agency assistant asked through (None: the platform's own)."""
        self.audit, self.guard, self.who, self.endpoint = audit, guard, who, endpoint
        self.assistant = assistant
        self.masked_question = masked_question
        self.model = None if endpoint.searches else model
        self.prompt_version = None if endpoint.searches else prompt_version
        # The request's id only where the request is this exchange: an API route, or the chat,
        # which sets the id of each answer itself just before asking (its answers run in Gradio's
        # tasks, whose context may otherwise be that of whichever request started them).
        request_id = current_request_id() if endpoint.http or endpoint is Endpoint.UI_CHAT else None
        self.request_id = request_id or uuid.uuid4().hex
        self.started = time.perf_counter() if started is None else started

    def record(
        self,
        hits: list[Hit],
        answer: Answer | None = None,
        decisions: list[GuardrailDecision] | None = None,
        partial: str | None = None,
        audited: str | None = None,
        tokens: tuple[int | None, int | None] = (None, None),
    ) -> None:
        """Append the record; :class:`~guardrails.audit.AuditError` when the trail cannot take it
        (the caller then gives no answer). ``audited``: the answer as the output checks passed
        it, before the caller's pseudonyms were put back (:attr:`OutputGuard.audit_text`): kept
        in place of the answer given, so a value only the question's context revealed (a name
        after 성명:) is never in the trail. ``tokens``: the model's input and output tokens as its
        server reported them (None: not reported, or no model call)."""
        if self.audit is None:
            return
        text = answer.answer if answer is not None else partial
        if text is not None and audited is not None:
            text = audited
        entry = AuditEntry(
            request_id=self.request_id,
            principal_id=self.who.subject,
            agency=self.who.principal.agency,
            endpoint=self.endpoint.value,
            question=self.masked_question,
            retrieved=[RetrievedChunk(chunk_id=f"{h.doc_id}|{h.anchor}", score=round(h.score, 6)) for h in hits],
            model=self.model,
            prompt_version=self.prompt_version,
            answer=None if text is None else self.guard.mask(text),
            citations=[
                {"n": c.n, "doc_id": c.doc_id, "anchor": c.anchor} for c in (answer.citations if answer else [])
            ],
            decisions=decisions or [],
            refused=answer.refused if answer is not None else False,
            latency_ms=round((time.perf_counter() - self.started) * 1000, 1),
            tokens_in=tokens[0],
            tokens_out=tokens[1],
            assistant=self.assistant,
        )
        try:
            self.audit.append(entry)
        except AuditError:
            log.error("audit record not written", extra={"endpoint": self.endpoint.value, "subject": self.who.subject,
                                                         "request_id": self.request_id})  # fmt: skip
            raise

    def record_unfinished(
        self,
        hits: list[Hit],
        sent: str,
        decisions: list[GuardrailDecision],
        audited: str | None = None,
        tokens: tuple[int | None, int | None] = (None, None),
    ) -> bool:
        """The record of an answer that did not finish (the caller left, or it failed): the text
        sent so far (``audited``: the same before pseudonyms were restored). A trail that cannot
        take it is logged (False); the answer's own outcome stands."""
        with contextlib.suppress(AuditError):  # logged by record()
            self.record(hits, None, decisions, partial=sent, audited=audited, tokens=tokens)
            return True
        return False
