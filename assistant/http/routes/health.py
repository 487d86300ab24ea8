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
    reason, probes = svc.readiness(probe_all=True)
    points = 0
    if reason is None and svc.index is not None:
        try:
            points = svc.index.count()
        except Exception as e:  # noqa: BLE001 - any backend failure means "not ready", with its reason
            reason = f"색인 확인 실패: {e}"
    if reason is not None or svc.index is None or svc.llm is None:
        raise ApiError("not_ready", f"준비되지 않았습니다: {reason}")
    return {
        "status": "ready",
        "chunks": points,
        "embedder": svc.index.embedder.name,
        "model": svc.llm.model,
        "model_endpoints": [p.as_dict() for p in probes],
    }
