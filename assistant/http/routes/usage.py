"""``GET /v1/usage?since=&until=&by=``: usage counted from the audit trail (:mod:`assistant.usage`),
what ``nuri usage --json`` prints. Admins only; an admin whose key belongs to an agency sees only
that agency's records (an admin without an agency, all)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, WithJsonSchema

from assistant.callers import Caller
from assistant.http import deps
from assistant.http.auth import require_role
from assistant.http.errors import COMMON, ApiError, error_responses
from assistant.service import NuriService
from assistant.usage import GROUPS, parse_by, parse_when, usage_from_store
from guardrails.audit import AuditError

router = APIRouter(tags=["ops"])
admin = cast(Callable[[Request], Caller], require_role("admin"))

#: ``since``/``until`` as :func:`~assistant.usage.parse_when` reads them: an ISO 8601 date or date-time.
When = Annotated[
    str, WithJsonSchema({"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]})
]
_GROUP = "(" + "|".join(GROUPS) + ")"
#: ``by`` as :func:`~assistant.usage.parse_by` reads it: groupings, comma-separated (empty ones skipped).
By = Annotated[str, WithJsonSchema({"type": "string", "pattern": f"^{_GROUP}?(,{_GROUP}?)*$"})]


class UsageRowOut(BaseModel):
    group: dict[str, str | None] = Field(..., description="The value of each grouping (`by`); null: none recorded.")
    questions: int = Field(..., description="Answer requests (refused or not).")
    answers: int = Field(..., description="Questions not refused.")
    refusals: int
    guardrail_blocks: int = Field(..., description="Guardrail decisions with action `block`.")
    searches: int
    tokens_in: int = Field(..., description="Model input tokens, as the model server reported them.")
    tokens_out: int
    answers_with_tokens: int = Field(..., description="Answers whose model server reported their tokens.")


class UsageOut(BaseModel):
    since: str | None
    until: str | None
    by: list[str]
    agency: str | None = Field(None, description="Only this agency's records (an agency's admin).")
    rows: list[UsageRowOut]
    total: UsageRowOut


@router.get("/v1/usage", response_model=UsageOut, responses=error_responses(*COMMON, "forbidden", "audit_unavailable"))
def usage(
    since: Annotated[When | None, Query(description="ISO 8601 date or date-time (UTC without a zone).")] = None,
    until: Annotated[When | None, Query(description="Before this time (a bare date includes that day).")] = None,
    by: Annotated[
        list[By] | None, Query(description=f"Group by {', '.join(GROUPS)} (repeated or comma-separated).")
    ] = None,
    who: Caller = Depends(admin),
    svc: NuriService = Depends(deps.service),
) -> dict[str, Any]:
    """Per group: ``questions``, ``answers``, ``refusals``, ``guardrail_blocks``, ``searches``,
    ``tokens_in``, ``tokens_out``, ``answers_with_tokens``; and the ``total`` (all zero when
    ``since`` is not before ``until``: nothing lies between them)."""
    try:
        start = parse_when(since).astimezone(UTC) if since is not None else None
        end = parse_when(until, end_of_day=True).astimezone(UTC) if until is not None else None
        groups = parse_by(by)
    except (ValueError, OverflowError) as e:  # OverflowError: a time zone that moves it out of years 1–9999
        raise ApiError("invalid_request", f"요청 형식이 올바르지 않습니다: {e}", f"Invalid request: {e}") from e
    if svc.audit is None:
        raise AuditError("감사 기록이 꺼져 있어 사용량을 집계할 수 없습니다 (audit.enabled)")
    agency = None if who.principal.operator else who.principal.agency
    return usage_from_store(svc.audit, start, end, groups, agency=agency or None).as_dict()
