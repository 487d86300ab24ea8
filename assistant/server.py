"""Runs the HTTP API with uvicorn on the configured host and port."""

from __future__ import annotations

import uvicorn

from assistant.api import build_asgi
from assistant.settings import Settings


def serve(settings: Settings) -> None:
    host, port = settings.api.host, settings.api.port
    print(f"Nuri API: http://{host}:{port}  (API 문서: http://{host}:{port}/docs)", flush=True)
    uvicorn.run(build_asgi(settings), host=host, port=port, log_level="warning")
