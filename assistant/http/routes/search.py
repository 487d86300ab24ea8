"""``POST /v1/search``: hybrid search with the caller's permissions; the items of ``nuri search --json``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from assistant.callers import Caller
from assistant.exchange import Endpoint
from assistant.http import deps
from assistant.http.auth import caller
from assistant.http.errors import COMMON, SEARCHING, error_responses
from assistant.http.openapi import link
from assistant.http.schemas import SearchRequest
from assistant.service import NuriService
from retrieval.types import Hit

router = APIRouter(tags=["search"])


@router.post(
    "/v1/search",
    response_model=list[Hit],
    responses={
        200: {
            "description": "찾은 구절 / the passages found",
            "links": {"GetPassage": link("/v1/passages/{chunk_id}", "get", chunk_id="$response.body#/0/chunk_id")},
        },
        **error_responses(*COMMON, *SEARCHING, "assistant_not_found"),
    },
)
def search(
    body: SearchRequest,
    who: Caller = Depends(caller),
    svc: NuriService = Depends(deps.service),
) -> list[Hit]:
    assistant = svc.assistant_for(who, body.assistant)
    return svc.search(
        body.query, top_k=body.top_k, filters=body.filters, caller=who, endpoint=Endpoint.API_SEARCH,
        assistant=assistant,
    )  # fmt: skip
