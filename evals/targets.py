"""What an eval runs against: Nuri in this process (:class:`InProcessTarget`, the configured
index and model through :class:`~assistant.service.NuriService`) or a running Nuri server
(:class:`HttpTarget`: ``POST /v1/search`` and the streamed ``POST /v1/chat/completions``).

Both give the same two things per question: the ranked search results (scored for recall, MRR,
nDCG) and the answer as a user gets it, with its time to first token and total time.

A run's hits, answers and cited passages are what its principal may read, and its report shows
them: each target says who runs it (``ran_by``) and with whose reading rights (``principal``,
recorded in the run). The in-process target asks as the :class:`~assistant.callers.Caller` it is
given (``nuri eval run``: ``--as-agency``/``--as-clearance``, the public principal by default,
the operator only with ``--as-operator``; a signed-in evaluator: their own key's principal); the
index's permission filter then limits what is retrieved. A server reads with its API key's
principal, which this side does not know: the run records the key id.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from assistant.answers import Answer, Citation
from assistant.callers import Caller, cli_subject
from assistant.exchange import Endpoint
from assistant.service import NuriService
from connectors.errors import NuriError
from evals.results import RunPrincipal
from guardrails.keys import key_id_of
from retrieval.types import Hit, SearchFilters


class TargetError(NuriError):
    """The target could not answer one question (the message says why, in Korean)."""

    code = "eval_target_failed"


class QuestionRejectedError(TargetError):
    """The target turned the question away as invalid input (HTTP 400/413/422): no answer."""

    code = "question_rejected"


@dataclass(slots=True)
class AnswerOutcome:
    answer: Answer
    latency_ms: float
    first_token_ms: float | None = None
    guardrail_decisions: list[str] = field(default_factory=list)


class Target(Protocol):
    name: str
    #: Whether questions can be restricted to documents indexed for this run (indirect injection).
    local_index: bool
    #: Who runs it (``cli:<OS user>``, ``key:<key id>``) and whose reading rights it asks with.
    ran_by: str
    principal: RunPrincipal
    #: The agency assistant evaluated (None: the platform's own).
    assistant_id: str | None

    def describe(self, answers: bool = True) -> dict[str, str]:
        """``model`` and ``embedder`` as the target reports them; raises TargetError if it cannot
        search (or, with ``answers``, answer)."""
        ...

    def indexed_sources(self) -> dict[str, str]:
        """doc id -> source of every document in the target's index (local targets only)."""
        ...

    def search(self, question: str, top_k: int, filters: SearchFilters | None = None) -> list[Hit]: ...

    def answer(self, question: str, filters: SearchFilters | None = None) -> AnswerOutcome: ...


def run_principal(caller: Caller) -> RunPrincipal:
    """What a run asked as ``caller`` records as its principal."""
    p = caller.principal
    return RunPrincipal(agency=p.agency, clearance=p.clearance, operator=p.operator, via="in-process")


class InProcessTarget:
    """The configured Nuri in this process; questions are asked as ``caller`` (its principal is
    the index's permission filter). There is no default: the caller is always chosen."""

    name = "in-process"
    local_index = True

    def __init__(self, service: NuriService, caller: Caller, assistant: str | None = None) -> None:
        """``assistant``: the id of the agency assistant to evaluate (the caller must be allowed
        to use it: :class:`~assistant.assistants.AssistantNotFoundError` otherwise)."""
        self.service = service
        self.caller = caller
        self.ran_by = caller.subject
        self.principal = run_principal(caller)
        self.assistant = service.assistant_for(caller, assistant)
        self.assistant_id = self.assistant.id if self.assistant else None

    def describe(self, answers: bool = True) -> dict[str, str]:
        svc = self.service
        if svc.index is None:
            raise TargetError(f"평가할 수 없습니다: 색인을 사용할 수 없습니다 ({svc.index_error or '열리지 않음'})")
        reason = svc.not_ready_reason if answers else None
        if reason is not None or (answers and svc.llm is None):
            raise TargetError(f"평가할 수 없습니다: {reason}")
        if answers:
            model, prompts = svc.answering_with(self.assistant)
            return {"model": model, "embedder": svc.index.embedder.name, "prompt_version": prompts}
        model = svc.llm.model if svc.llm is not None else "(검색만)"
        return {"model": model, "embedder": svc.index.embedder.name}

    def indexed_sources(self) -> dict[str, str]:
        index = self.service.index
        return {} if index is None else {doc_id: state.source for doc_id, state in index.documents().items()}

    def search(self, question: str, top_k: int, filters: SearchFilters | None = None) -> list[Hit]:
        return self.service.search(
            question, top_k=top_k, filters=filters, caller=self.caller, endpoint=Endpoint.EVAL_SEARCH,
            assistant=self.assistant,
        )  # fmt: skip

    def answer(self, question: str, filters: SearchFilters | None = None) -> AnswerOutcome:
        t0 = time.perf_counter()
        first: float | None = None
        final: Answer | None = None
        events = self.service.stream(
            question, filters=filters, caller=self.caller, endpoint=Endpoint.EVAL_ASK, assistant=self.assistant
        )
        for event in events:
            if event.kind == "delta" and event.text and first is None:
                first = (time.perf_counter() - t0) * 1000
            elif event.kind == "done":
                final = event.answer
        if final is None:
            raise TargetError("답변이 끝나지 않았습니다")
        return AnswerOutcome(final, (time.perf_counter() - t0) * 1000, first)


class HttpTarget:
    """A running Nuri server. ``key`` is sent as ``Authorization: Bearer``; ``headers`` carry
    whatever the agency gateway would set (e.g. the caller's agency). The server reads with the
    key's principal: the run records the key id (never the key), its agency and clearance as
    unknown."""

    local_index = False

    def __init__(
        self,
        url: str,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float = 300.0,
        ran_by: str | None = None,
        assistant: str | None = None,
    ) -> None:
        """``assistant``: the agency assistant to evaluate (``assistant`` of /v1/search, ``model``
        of chat completions; the server checks the key may use it)."""
        self.assistant_id = assistant
        self.name = url.rstrip("/")
        self.ran_by = ran_by or cli_subject()
        via = f"server key {key_id_of(key) or '(형식이 다른 키)'}" if key else "server (키 없음)"
        self.principal = RunPrincipal(via=via)
        hdrs = dict(headers or {})
        if key:
            hdrs["Authorization"] = f"Bearer {key}"
        self.client = httpx.Client(base_url=self.name, headers=hdrs, timeout=httpx.Timeout(timeout_s, connect=5.0))

    def close(self) -> None:
        self.client.close()

    def _error(self, r: httpx.Response) -> TargetError:
        try:
            body = r.json()
            message = body.get("error", {}).get("message") or body.get("detail") or r.text
        except ValueError:
            message = r.text
        cls = QuestionRejectedError if r.status_code in (400, 413, 422) else TargetError
        return cls(f"서버 오류 {r.status_code}: {str(message)[:300]}")

    def describe(self, answers: bool = True) -> dict[str, str]:
        try:
            r = self.client.get("/readyz")
        except httpx.HTTPError as e:
            raise TargetError(f"서버에 연결할 수 없습니다 ({self.name}): {e}") from e
        if r.status_code != 200:
            raise self._error(r)
        body = r.json()
        return {"model": str(body.get("model", "unknown")), "embedder": str(body.get("embedder", "unknown"))}

    def indexed_sources(self) -> dict[str, str]:
        return {}  # a remote index is not listed: indirect-injection items are skipped

    def search(self, question: str, top_k: int, filters: SearchFilters | None = None) -> list[Hit]:
        body: dict[str, Any] = {"query": question, "top_k": top_k}
        if self.assistant_id:
            body["assistant"] = self.assistant_id
        if filters is not None:
            body["filters"] = filters.model_dump(exclude_none=True)
        try:
            r = self.client.post("/v1/search", json=body)
        except httpx.HTTPError as e:
            raise TargetError(f"서버에 연결할 수 없습니다 ({self.name}): {e}") from e
        if r.status_code != 200:
            raise self._error(r)
        return [Hit.model_validate(h) for h in r.json()]

    def answer(self, question: str, filters: SearchFilters | None = None) -> AnswerOutcome:
        body: dict[str, Any] = {"model": self.assistant_id or "nuri", "stream": True,
                                "messages": [{"role": "user", "content": question}]}  # fmt: skip
        if filters is not None:
            body["filters"] = filters.model_dump(exclude_none=True)
        t0 = time.perf_counter()
        first: float | None = None
        text: list[str] = []
        final: dict[str, Any] | None = None
        try:
            with self.client.stream("POST", "/v1/chat/completions", json=body) as r:
                if r.status_code != 200:
                    r.read()
                    raise self._error(r)
                for line in r.iter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[6:])
                    if "error" in chunk:
                        raise TargetError(f"답변 중 오류: {chunk['error'].get('message', chunk['error'])}")
                    choice = chunk["choices"][0]
                    delta = choice.get("delta", {}).get("content")
                    if delta:
                        if first is None:
                            first = (time.perf_counter() - t0) * 1000
                        text.append(delta)
                    if choice.get("finish_reason"):
                        final = chunk
        except httpx.HTTPError as e:
            raise TargetError(f"서버에 연결할 수 없습니다 ({self.name}): {e}") from e
        if final is None:
            raise TargetError("답변 스트림이 끝나지 않았습니다")
        answer = Answer(
            answer="".join(text),
            citations=[Citation.model_validate(c) for c in final.get("citations", [])],
            refused=bool(final.get("refused")),
        )
        return AnswerOutcome(answer, (time.perf_counter() - t0) * 1000, first)
