"""Request bodies of the HTTP API (responses are ``retrieval.types.Hit`` and
``assistant.answers.Answer``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.answers import HistoryTurn
from retrieval.types import SearchFilters

#: The model id of Nuri's OpenAI-compatible endpoint.
MODEL_ID = "nuri"
MAX_MESSAGES = 50


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(..., min_length=1, description="검색어 (질문)")
    top_k: int | None = Field(None, ge=1, description="돌려받을 결과 수")
    filters: SearchFilters | None = None


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        ..., min_length=1, description="질문 (최대 `answer.max_question_chars`자; 넘으면 400 `invalid_question`)"
    )
    history: list[HistoryTurn] = Field(default_factory=list, max_length=MAX_MESSAGES, description="이전 대화")
    filters: SearchFilters | None = None
    stream: bool = Field(
        False,
        description='true: server-sent events as the answer is written — `{"type": "delta", "text"}` …, '
        'then `{"type": "done", "answer": {…}}` (the same object as without streaming) or '
        '`{"type": "error", "error": {…}}`, then `[DONE]`',
    )


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; unknown OpenAI parameters are accepted and ignored (generation settings
    are Nuri's configuration). ``filters`` is Nuri's extension (``extra_body`` in the client)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(..., description='"nuri"')
    messages: list[ChatMessageIn] = Field(..., min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    filters: SearchFilters | None = None
