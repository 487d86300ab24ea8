"""Liveness and readiness: ``GET /healthz`` (the process is up) and ``GET /readyz`` (index loaded
and at least one model endpoint serving the model, each endpoint's probe reported; 503
``not_ready`` with the reason otherwise)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from assistant.http import deps
from assistant.http.errors import ApiError
from assistant.service import NuriService

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Answered on the event loop, never behind the worker threads busy with searches and answers
    (a liveness probe must not time out on a busy but healthy server)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(svc: NuriService = Depends(deps.service)) -> dict[str, Any]:
    """200 when answers can be given; ``degraded`` lists what runs in safe mode because values
    fitted on embedder vectors do not match the configured embedder (``assistant.embedder_fit``).
    503 ``not_ready`` otherwise, with ``details.missing`` (``embedder``, ``index`` or ``model``);
    Once the server is stopping, :class:`~assistant.http.shutdown.Draining` answers 503
    ``shutting_down`` before this route runs (the load balancer takes the replica out)."""
    reason, probes = svc.readiness(probe_all=True)
    missing = svc.missing if svc.index is None else ("model" if svc.llm is None or reason else None)
    points = 0
    if reason is None and svc.index is not None:
        try:
            points = svc.index.count()
        except Exception as e:  # noqa: BLE001 - any backend failure means "not ready", with its reason
            reason, missing = f"색인 확인 실패: {e}", "index"
    if reason is not None or svc.index is None or svc.llm is None:
        raise ApiError(
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
