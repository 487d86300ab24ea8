"""What an answer is, at the boundary: ``nuri ask --json`` and ``POST /v1/ask`` print exactly
``{"answer", "audit_id", "citations": [{"n", "chunk_id", "doc_id", "title", "anchor", "location", "source",
"text", "url", "source_url"}], "refused",
"guardrails": [{"name", "action", "reason", "reason_en", "stage"}]}``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.errors import UnfinishedAnswerError
from assistant.locations import location_of, passage_path, source_name
from guardrails.decisions import GuardrailDecision
from retrieval.types import Hit


class Citation(BaseModel):
    n: int = Field(..., description="The number used as [n] in the answer.")
    chunk_id: str = Field("", description="The passage's id in the index.")
    doc_id: str
    title: str
    anchor: str = Field(..., description="Statute article or document heading/page.")
    location: str = Field(
        "", description="Where the passage is, readable: 법령명 제N조 제M항, a PDF's page, a document's section."
    )
    source: str = Field(..., description="The source's name: a file's name (never its folder on the server) or URL.")
    text: str = Field(..., description="The passage the answer cites.")
    url: str | None = Field(
        None,
        description="The API route that returns the passage with its surrounding text and document "
        "(`/v1/passages/{chunk_id}`, relative to the API's base; same permissions as search).",
    )
    source_url: str | None = Field(None, description="The source's own web address, when it has one (law.go.kr).")

    @classmethod
    def from_hit(cls, n: int, hit: Hit) -> Citation:
        return cls(
            n=n,
            chunk_id=hit.chunk_id,
            doc_id=hit.doc_id,
            title=hit.title,
            anchor=hit.anchor,
            location=location_of(hit.metadata) if hit.metadata else hit.anchor,
            source=source_name(hit.source),
            text=hit.text,
            url=passage_path(hit.chunk_id) or None,
            source_url=hit.metadata.get("source_url") or None,
        )


class Answer(BaseModel):
    answer: str
    audit_id: str | None = Field(
        None,
        description="The id of this exchange's audit record (`request_id`): quote it when reporting a "
        "problem, and send it with feedback (`POST /v1/feedback`).",
    )
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
    tokens_in: int | None = None  # the model's tokens as its server reported them (None: not reported)
    tokens_out: int | None = None
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
