"""What an answer is, at the boundary: ``nuri ask --json`` and ``POST /v1/ask`` print exactly
``{"answer", "citations": [{"n", "doc_id", "title", "anchor", "source", "text", "url"}], "refused",
"guardrails": [{"name", "action", "reason", "reason_en", "stage"}]}``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.errors import UnfinishedAnswerError
from guardrails.decisions import GuardrailDecision
from retrieval.types import Hit


class Citation(BaseModel):
    n: int = Field(..., description="The number used as [n] in the answer.")
    doc_id: str
    title: str
    anchor: str = Field(..., description="Statute article or document heading/page.")
    source: str
    text: str = Field(..., description="The passage the answer cites.")
    url: str | None = Field(None, description="The source's web address, when it has one (statutes: law.go.kr).")

    @classmethod
    def from_hit(cls, n: int, hit: Hit) -> Citation:
        url = hit.metadata.get("source_url") or None
        return cls(
            n=n, doc_id=hit.doc_id, title=hit.title, anchor=hit.anchor, source=hit.source, text=hit.text, url=url
        )


class Answer(BaseModel):
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    refused: bool = False
    guardrails: list[GuardrailDecision] = Field(
        default_factory=list, description="What the guardrails decided (personal data masked, input refused, …)."
    )


class HistoryTurn(BaseModel):
    """An earlier message of the conversation (its length is checked with the question's:
    ``answer.max_turn_chars``, 400 ``invalid_history``)."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str


@dataclass(slots=True)
class AnswerTrace:
    """How the answer came about: logged (and shown to operators), not part of the answer JSON."""

    language: str = "ko"
    retrieval_query: str = ""
    best_relevance: float | None = None
    passages: int = 0
    retrieval_ms: float = 0.0
    first_token_ms: float | None = None
    total_ms: float = 0.0
    markers_dropped: int = 0
    markers_attributed: int = 0
    articles_removed: int = 0  # sentences withheld for naming an article no passage names
    unanswerable: float | None = None  # the answerability model's P(the passages do not answer)
    model: str = ""
    hits: list[Hit] = field(default_factory=list)
    decisions: list[GuardrailDecision] = field(default_factory=list)  # the context and grounding checks


@dataclass(slots=True)
class AnswerEvent:
    """One step of a streamed answer: a text ``delta``, or ``done`` with the final answer (and
    the question's language, for what an endpoint adds to it)."""

    kind: Literal["delta", "done"]
    text: str = ""
    answer: Answer | None = None
    trace: AnswerTrace | None = None
    language: Literal["ko", "en"] = "ko"


def final_event(events: Iterable[AnswerEvent]) -> AnswerEvent:
    """The ``done`` event of a stream of events (with its answer), consuming the stream up to it."""
    for event in events:
        if event.kind == "done" and event.answer is not None:
            return event
    raise UnfinishedAnswerError()


def final_answer(events: Iterable[AnswerEvent]) -> Answer:
    """The answer of a stream of events (its ``done`` event), consuming the stream."""
    answer = final_event(events).answer
    assert answer is not None
    return answer


def with_first(first: AnswerEvent, rest: Iterable[AnswerEvent]) -> Iterator[AnswerEvent]:
    """``first`` (taken early, so that failures before the stream get a real HTTP status), then ``rest``."""
    yield first
    yield from rest
