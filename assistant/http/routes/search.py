"""``POST /v1/search``: hybrid search with the caller's permissions; the items of ``nuri search --json``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from assistant.http import deps
from assistant.http.identity import caller
from assistant.http.schemas import SearchRequest
from assistant.service import NuriService
from retrieval.types import Hit, Principal

router = APIRouter(tags=["search"])


@router.post("/v1/search", response_model=list[Hit])
def search(
    body: SearchRequest,
    principal: Principal = Depends(caller),
    svc: NuriService = Depends(deps.service),
) -> list[Hit]:
    return svc.search(body.query, top_k=body.top_k, filters=body.filters, principal=principal)
