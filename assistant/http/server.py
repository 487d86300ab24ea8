"""Runs Nuri's server: the HTTP API and the Gradio chat, with the bundled model server when no
external model endpoint is configured. Everything is stopped together on exit."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import uvicorn

from assistant.errors import AssistantError
from assistant.http.app import build_asgi
from assistant.http.shutdown import Draining, drain_then
from assistant.modelserver.server import port_in_use
from assistant.service import NuriService
from configs.settings import Settings

DEMO_LABEL = "demo"
DEMO_AGENCY = "누리행정청"


def demo_key(service: NuriService) -> tuple[str, str]:
    """A fresh local demo key (누리행정청, internal clearance, user + evaluator): earlier demo keys
    are revoked first, since a key is shown only once. Returns (key id, key)."""
    assert service.keys is not None
    for old in service.keys.list(include_revoked=False):
        if old.label == DEMO_LABEL:
            service.keys.revoke(old.key_id)
    record, key = service.keys.create(DEMO_AGENCY, "internal", {"user", "evaluator"}, label=DEMO_LABEL)
    return record.key_id, key


def serve(settings: Settings, with_demo_key: bool = False) -> None:
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
        if with_demo_key:
            key_id, key = demo_key(service)
            print(
                f"데모 API 키 ({DEMO_AGENCY} · 내부 열람 · user, evaluator; 다시 실행하면 새 키로 바뀝니다):\n"
                f"  채팅 로그인: 사용자 이름 {key_id} / 비밀번호 {key}\n"
                f"  API: curl -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' "
                f'-d \'{{"question": "재택근무는 일주일에 며칠까지 할 수 있나요?"}}\' {base}/v1/ask\n'
                f"{key}",
                flush=True,
            )
        service.keep_connecting()  # recovers when the embedder, the index or the model appears later
        app = build_asgi(settings, service=service)
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
        assert app.draining is not None
        DrainingServer(config, app.draining, settings.api.shutdown_grace_s).run()


class DrainingServer(uvicorn.Server):
    """uvicorn, stopped gracefully (:mod:`assistant.http.shutdown`): the first SIGTERM/SIGINT
    drains (503 ``shutting_down`` for new requests, running ones get ``grace_s``), then stops;
    a second Ctrl-C stops at once. uvicorn's own wait afterwards is short: what is left then
    are the chat's heartbeat connections."""

    def __init__(self, config: uvicorn.Config, app: Draining, grace_s: float) -> None:
        super().__init__(config)
        self.app, self.grace_s = app, grace_s
        self._drainer: threading.Thread | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drainer is None:
            self._drainer = drain_then(self.app, self.grace_s, self._stop)
            return
        if sig == signal.SIGINT:  # a second Ctrl-C: now
            super().handle_exit(sig, frame)
            self.force_exit = True

    def _stop(self) -> None:
        self.should_exit = True
