"""Liveness and readiness: ``GET /healthz`` (the process is up) and ``GET /readyz`` (index loaded
and at least one model endpoint serving the model; 503 ``not_ready`` otherwise). Both are open
to anyone; only an admin is told the reasons, endpoints and counts."""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from assistant.http import deps
from assistant.http.auth import caller
from assistant.http.errors import ApiError, error_responses
from assistant.service import NuriService
from configs.settings import Settings

router = APIRouter(tags=["ops"])


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    """Ready; the other fields only for an admin's key."""

    status: Literal["ready"]
    chunks: int | None = Field(None, description="Chunks in the index.")
    embedder: str | None = None
    embedder_dim: int | None = None
    model: str | None = Field(None, description="The model answers are written with.")
    model_endpoints: list[dict[str, Any]] | None = Field(None, description="Each model endpoint's probe.")
    calibration: dict[str, Any] | None = Field(
        None, description="The fitted values in use and what they were fitted for."
    )
    degraded: list[str] | None = Field(None, description="What runs in safe mode (values fitted for another embedder).")


@router.get("/healthz", response_model=Health)
async def healthz() -> dict[str, str]:
    """Answered on the event loop, never behind the worker threads busy with searches and answers
    (a liveness probe must not time out on a busy but healthy server)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={200: {"model": Readiness, "description": "준비됨 / ready"},
               **error_responses("not_ready", "state_unavailable", "shutting_down")},
)  # fmt: skip
def readyz(request: Request, svc: NuriService = Depends(deps.service)) -> dict[str, Any]:
    """200 when answers can be given, 503 ``not_ready`` otherwise (a load balancer needs no more).

    Only a caller with an ``admin`` key (or signed gateway identity) is told why and what runs:
    ``details.missing`` (``embedder``, ``index`` or ``model``), each model endpoint's probe, the
    chunk count, the embedder, and ``degraded`` (what runs in safe mode because values fitted on
    embedder vectors do not match the configured embedder, ``assistant.embedder_fit``). The
    result is reused for ``api.readiness_cache_s``. Once the server is stopping,
    :class:`~assistant.http.shutdown.Draining` answers 503 ``shutting_down`` before this runs."""
    settings: Settings = request.app.state.settings
    cached: tuple[float, dict[str, Any] | ApiError] | None = getattr(request.app.state, "readiness", None)
    now = time.monotonic()
    if cached is not None and now - cached[0] < settings.api.readiness_cache_s:
        result = cached[1]
    else:
        result = _readiness(svc)
        request.app.state.readiness = (now, result)
    admin = _is_admin(request)
    if isinstance(result, ApiError):
        if admin:
            raise result
        raise ApiError("not_ready", "준비되지 않았습니다", "Not ready")
    return result if admin else {"status": "ready"}


def _is_admin(request: Request) -> bool:
    """Whether the request carries an admin's credentials; anything else (none, wrong, a user's)
    only hides the details: readiness itself is open."""
    if "authorization" not in request.headers and not request.headers.get("x-nuri-signature"):
        return False
    try:
        who = caller(request)
    except ApiError:
        return False
    return who.has_role("admin")


def _readiness(svc: NuriService) -> dict[str, Any] | ApiError:
    reason, probes = svc.readiness(probe_all=True)
    missing = svc.missing if svc.index is None else ("model" if svc.llm is None or reason else None)
    points = 0
    if reason is None and svc.index is not None:
        try:
            points = svc.index.count()
        except Exception as e:  # noqa: BLE001 - any backend failure means "not ready", with its reason
            reason, missing = f"색인 확인 실패: {e}", "index"
    if reason is not None or svc.index is None or svc.llm is None:
        return ApiError(
            "not_ready",
            f"준비되지 않았습니다: {reason}",
            details={"missing": missing, "model_endpoints": [p.as_dict() for p in probes]},
        )
    fit = svc.fit
    return {
        "status": "ready",
        "chunks": points,
        "embedder": svc.index.embedder.name,
        "embedder_dim": svc.index.embedder.dim,
        "model": svc.llm.model,
        "model_endpoints": [p.as_dict() for p in probes],
        "calibration": fit.as_dict() if fit is not None else None,
        "degraded": fit.degraded if fit is not None else [],
    }
