"""``POST /v1/ask``: a grounded answer with citations, exactly as ``nuri ask --json`` prints it."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from assistant.answers import Answer
from assistant.callers import Caller
from assistant.http import deps
from assistant.http.auth import caller
from assistant.http.schemas import AskRequest
from assistant.service import NuriService

router = APIRouter(tags=["answers"])


@router.post("/v1/ask", response_model=Answer)
def ask(
    body: AskRequest,
    who: Caller = Depends(caller),
    svc: NuriService = Depends(deps.service),
) -> Answer:
    return svc.ask(body.question, body.history, body.filters, caller=who, endpoint="/v1/ask")
