"""Feedback on answers (:mod:`assistant.feedback`).

    POST /v1/feedback   {audit_id, rating, reasons?, comment?, conversation_id?} -> 201 the feedback
    GET  /v1/feedback?rating=&since=&until=&agency=&limit=&offset=   (``evaluator`` role)

Feedback names the answer by its ``audit_id`` (every answer carries it): one given to someone
else, or unknown, is 404 ``answer_not_found``; given again, it replaces the caller's earlier
feedback on that answer. Evaluators read their own agency's feedback; admins every agency's (or
one, ``agency=``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from assistant.callers import Caller
from assistant.feedback import (
    MAX_COMMENT_CHARS,
    REASONS,
    FeedbackRecord,
    FeedbackStore,
    FeedbackStoreError,
    Rating,
    Reason,
)
from assistant.http import deps
from assistant.http.auth import caller, require_role
from assistant.http.errors import COMMON, ApiError, error_responses
from assistant.http.schemas import MAX_OFFSET
from assistant.service import NuriService

router = APIRouter(tags=["feedback"])
#: The caller, who must hold the ``evaluator`` role (admins hold every role).
evaluator = cast(Callable[[Request], Caller], require_role("evaluator"))

_REASONS_DOC = ", ".join(f"`{k}` {v.ko} ({v.en})" for k, v in REASONS.items())
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_8601(value: object) -> object:
    """Only ISO 8601 text is a date-time here (pydantic would also read ``0.5`` as a Unix time)."""
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("ISO 8601 date-time expected (YYYY-MM-DDTHH:MM:SS±HH:MM)")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601)]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audit_id: str = Field(
        ..., min_length=1, max_length=128,
        description="답변의 `audit_id` (이 사용자에게 준 답변) / the answer's `audit_id` (of an answer given to you)",
    )  # fmt: skip
    rating: Rating = Field(..., description="`up` 좋음 / good, `down` 나쁨 / bad")
    reasons: list[Reason] = Field(default_factory=list, max_length=len(REASONS), description=f"이유 / reasons: "
                                  f"{_REASONS_DOC}")  # fmt: skip
    comment: str | None = Field(
        None, max_length=MAX_COMMENT_CHARS,
        description=f"의견 (최대 {MAX_COMMENT_CHARS}자; 개인정보는 가려서 저장) / comment (at most "
        f"{MAX_COMMENT_CHARS} characters; personal data is masked before it is stored)",
    )  # fmt: skip
    conversation_id: str | None = Field(
        None, max_length=64, description="답변이 있는 대화 (본인의 것) / the conversation holding the answer (yours)"
    )


def feedback_store(svc: NuriService = Depends(deps.service)) -> FeedbackStore:
    if svc.feedback is None:
        raise FeedbackStoreError("피드백 저장소가 열려 있지 않습니다", message_en="The feedback store is not open")
    return svc.feedback


@router.post("/v1/feedback", status_code=201, response_model=FeedbackRecord,
             responses=error_responses(*COMMON, "answer_not_found", "conversation_not_found",
                                       "audit_unavailable"))  # fmt: skip
def give_feedback(
    body: FeedbackRequest,
    who: Caller = Depends(caller),
    svc: NuriService = Depends(deps.service),
    store: FeedbackStore = Depends(feedback_store),
) -> FeedbackRecord:
    if body.conversation_id is not None:
        if svc.conversations is None:
            raise FeedbackStoreError("대화 저장소가 열려 있지 않습니다")
        svc.conversations.summary(who.subject, body.conversation_id)  # 404 unless the caller's
    return store.give(who, body.audit_id, body.rating, body.reasons, body.comment or "", body.conversation_id)


@router.get("/v1/feedback", response_model=list[FeedbackRecord],
            responses=error_responses(*COMMON, "forbidden"))  # fmt: skip
def list_feedback(
    rating: Annotated[Rating | None, Query(description="`up` 또는 `down` / only this rating")] = None,
    since: Annotated[IsoDateTime | None, Query(description="이때부터 (ISO 8601) / from (inclusive)")] = None,
    until: Annotated[IsoDateTime | None, Query(description="이때 전까지 (ISO 8601) / until (exclusive)")] = None,
    agency: Annotated[
        str | None, Query(max_length=200, description="기관 (관리자만 다른 기관) / agency (another one: admins only)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="최대 개수 / at most")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="건너뛸 개수 / skip")] = 0,
    who: Caller = Depends(evaluator),
    store: FeedbackStore = Depends(feedback_store),
) -> list[FeedbackRecord]:
    if "admin" not in who.roles:
        own = who.principal.agency
        if own is None:
            raise ApiError("forbidden", "기관이 없는 평가자는 피드백을 볼 수 없습니다",
                           "An evaluator without an agency sees no feedback")  # fmt: skip
        if agency is not None and agency != own:
            raise ApiError("forbidden", "다른 기관의 피드백은 볼 수 없습니다", "Another agency's feedback is not shown")
        agency = own
    return store.list(agency=agency, rating=rating, since=since, until=until, limit=limit, offset=offset)
