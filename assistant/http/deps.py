"""FastAPI dependencies shared by the routers: the app's service and settings."""

from __future__ import annotations

from fastapi import Request

from assistant.service import NuriService
from configs.settings import Settings


def service(request: Request) -> NuriService:
    svc: NuriService = request.app.state.nuri
    return svc


def settings(request: Request) -> Settings:
    s: Settings = request.app.state.settings
    return s
