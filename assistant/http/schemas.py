"""Request bodies of the HTTP API, and the OpenAI-compatible endpoints' answers (the others are
``retrieval.types.Hit``, ``assistant.answers.Answer`` and the stores' own models)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.answers import Citation, HistoryTurn
from guardrails.decisions import GuardrailDecision
from retrieval.types import SearchFilters

#: The model id of Nuri's OpenAI-compatible endpoint.
MODEL_ID = "nuri"
MAX_MESSAGES = 50
#: Not blank, as a JSON Schema pattern (patterns match anywhere): a character Python's
#: ``str.strip`` keeps (``\s`` of JSON Schema's regexes lacks U+001C–U+001F and U+0085).
NOT_BLANK = r"[^\s\u001c-\u001f\u0085]"


def stripped(value: str) -> str:
    """A text field's value without surrounding white space (its length was checked as sent)."""
    return value.strip()


def not_blank(value: str) -> str:
    """A required text without surrounding white space; blank is refused (422)."""
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


#: The largest ``offset`` a list route takes (a database's signed 32-bit integer; larger ones
#: would overflow SQLite's and PostgreSQL's integers, not merely skip everything).
MAX_OFFSET = 2**31 - 1


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., min_length=1, description="검색어 (질문)")
    top_k: int | None = Field(None, ge=1, description="돌려받을 결과 수")
    filters: SearchFilters | None = None
    assistant: str | None = Field(
        None,
        max_length=64,
        description="The agency assistant to ask through (`GET /v1/models` lists the caller's); its scope only "
        "narrows what the caller may read; unknown or not the caller's: 404 `assistant_not_found`",
    )


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        ..., min_length=1, description="질문 (최대 `answer.max_question_chars`자; 넘으면 400 `invalid_question`)"
    )
    history: list[HistoryTurn] = Field(default_factory=list, max_length=MAX_MESSAGES, description="이전 대화")
    filters: SearchFilters | None = None
    assistant: str | None = Field(
        None,
        max_length=64,
        description="The agency assistant to ask through (`GET /v1/models` lists the caller's); its scope only "
        "narrows what the caller may read; unknown or not the caller's: 404 `assistant_not_found`",
    )
    stream: bool = Field(
        False,
        strict=True,
        description='true: server-sent events as the answer is written — `{"type": "delta", "text"}` …, '
        'then `{"type": "done", "answer": {…}}` (the same object as without streaming) or '
        '`{"type": "error", "error": {…}}`, then `[DONE]`',
    )


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text: its string content, or its ``text`` parts (OpenAI's content parts)."""
        if isinstance(self.content, list):
            return "".join(
                p["text"] for p in self.content if p.get("type") == "text" and isinstance(p.get("text"), str)
            )
        return self.content or ""


#: What ``messages`` must contain (in the OpenAPI description; :func:`~assistant.http.routes.openai.split_messages`
#: checks it): a user message with text, the last of which is the question.
QUESTION_MESSAGE: dict[str, Any] = {
    "type": "object",
    "required": ["role", "content"],
    "properties": {
        "role": {"const": "user"},
        "content": {
            "anyOf": [
                {"type": "string", "pattern": NOT_BLANK},
                {
                    "type": "array",
                    "contains": {
                        "type": "object",
                        "required": ["type", "text"],
                        "properties": {"type": {"const": "text"}, "text": {"type": "string", "pattern": NOT_BLANK}},
                    },
                },
            ]
        },
    },
}


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; unknown OpenAI parameters are accepted and ignored (generation settings
    are Nuri's configuration). ``filters`` is Nuri's extension (``extra_body`` in the client)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(..., description='"nuri" (the platform) or an agency assistant\'s id (`GET /v1/models`)')
    messages: list[ChatMessageIn] = Field(
        ...,
        min_length=1,
        max_length=MAX_MESSAGES,
        description="The last user message with text is the question; the user and assistant messages before it "
        "are the conversation so far; system, developer and tool messages, and what follows the question (an "
        "assistant's prefill), are not used.",
        json_schema_extra={"contains": QUESTION_MESSAGE},
    )
    stream: bool = Field(False, strict=True)
    filters: SearchFilters | None = None


# -- answers of the OpenAI-compatible endpoints (documentation; the routes build them as dicts) -------


class ModelCard(BaseModel):
    """OpenAI's model object; Nuri adds what a user choosing an assistant needs."""

    id: str
    object: Literal["model"]
    created: int
    owned_by: str = Field(..., description="`nuri` (the platform) or the owning agency")
    name: str = Field("", description="The assistant's name")
    description: str = ""
    default: bool = Field(False, description="The caller's agency's default assistant")
    examples: list[str] = Field(default_factory=list, description="Example questions")


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelCard]


class ChatMessageOut(BaseModel):
    role: Literal["assistant"]
    content: str
    annotations: list[dict[str, Any]] = Field(..., description="A `url_citation` per `[n]` marker (OpenAI's format).")


class ChatChoice(BaseModel):
    index: int
    message: ChatMessageOut
    finish_reason: Literal["stop"]


class ChatCompletion(BaseModel):
    """OpenAI's chat completion, with Nuri's ``citations``, ``refused`` and ``guardrails``."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChatChoice]
    citations: list[Citation]
    refused: bool
    guardrails: list[GuardrailDecision]
