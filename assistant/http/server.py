"""Runs Nuri's server: the HTTP API and the Gradio chat, with the bundled model server when no
external model endpoint is configured. Everything is stopped together on exit."""

from __future__ import annotations

import sys

import uvicorn

from assistant.errors import AssistantError
from assistant.http.app import build_asgi
from assistant.modelserver.server import port_in_use
from assistant.service import NuriService
from configs.settings import Settings


def serve(settings: Settings) -> None:
    host, port = settings.api.host, settings.api.port
    if port_in_use(host, port):
        raise AssistantError(
            f"{host}:{port} 포트를 이미 다른 프로그램이 쓰고 있습니다 (--port 또는 NURI_API__PORT로 변경)"
        )
    with NuriService(settings) as service:
        reason = service.not_ready_reason
        if reason:
            print(f"경고: 아직 답변할 수 없습니다 — {reason}", file=sys.stderr, flush=True)
        base = f"http://{host}:{port}"
        print(f"Nuri API: {base}  (API 문서: {base}/docs)", flush=True)
        if settings.ui.enabled:
            print(f"Nuri 채팅: {base}{settings.ui.path}", flush=True)
        if service.model_server is not None:
            print(f"모델 서버({settings.model_server.engine}): {service.model_server.base_url}", flush=True)
        # The chat keeps a heartbeat connection per open browser tab: don't wait for them on exit.
        uvicorn.run(
            build_asgi(settings, service=service),
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
