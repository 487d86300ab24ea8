"""``POST /v1/ask``: a grounded answer with citations, exactly as ``nuri ask --json`` prints it."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from assistant.answers import Answer
from assistant.http import deps
from assistant.http.identity import caller
from assistant.http.schemas import AskRequest
from assistant.service import NuriService
from retrieval.types import Principal

router = APIRouter(tags=["answers"])


@router.post("/v1/ask", response_model=Answer)
def ask(
    body: AskRequest,
    principal: Principal = Depends(caller),
    svc: NuriService = Depends(deps.service),
) -> Answer:
    return svc.ask(body.question, body.history, body.filters, principal)
