"""Graceful shutdown: finish what is running, take nothing new.

On SIGTERM (Kubernetes stopping a pod, ``docker stop``) or Ctrl-C, :class:`Draining` starts
answering every new HTTP request with 503 ``shutting_down`` (``Connection: close``, so a load
balancer or nginx goes to another replica) — ``/healthz`` stays 200 so that the pod is not
killed as dead meanwhile, ``/readyz`` turns 503 — and the server waits until the requests
already running are done (a streamed answer finishes and is audited), at most
``api.shutdown_grace_s``; then uvicorn stops. The chat's per-tab heartbeat connections are not
waited for (they never end on their own). A second Ctrl-C stops at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.http.errors import ApiError, error_response

log = logging.getLogger("nuri.api")

#: Long-lived connections that are not work to finish: the chat's heartbeat per open tab.
_NOT_WORK = ("/heartbeat/",)
_ALWAYS = ("/healthz",)


class Draining:
    """ASGI wrapper that counts the requests in flight and refuses new ones once draining."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.draining = threading.Event()
        self._inflight = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)

    @property
    def inflight(self) -> int:
        return self._inflight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if self.draining.is_set() and not path.endswith(_ALWAYS):
            err = ApiError(
                "shutting_down",
                "서버가 종료 중입니다: 잠시 후 다시 시도하세요",
                "The server is shutting down: retry (another replica will answer)",
                headers={"Connection": "close", "Retry-After": "1"},
            )
            await error_response(err)(scope, receive, send)
            return
        counted = not any(part in path for part in _NOT_WORK)
        if counted:
            with self._lock:
                self._inflight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            if counted:
                with self._lock:
                    self._inflight -= 1
                    self._idle.notify_all()

    def drain(self, grace_s: float) -> bool:
        """Refuse new requests and wait until none is running, at most ``grace_s``. True when
        everything finished in time."""
        self.draining.set()
        deadline = time.monotonic() + grace_s
        with self._lock:
            while self._inflight > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(timeout=min(left, 0.5))
        return True


def drain_then(draining: Draining, grace_s: float, stop: Callable[[], None]) -> threading.Thread:
    """Drain in a thread (signal handlers must return at once), then call ``stop``."""

    def run() -> None:
        started = time.monotonic()
        log.info("shutting down: draining", extra={"inflight": draining.inflight, "grace_s": grace_s})
        finished = draining.drain(grace_s)
        log.info(
            "drained" if finished else "grace period over: stopping with requests still running",
            extra={"inflight": draining.inflight, "waited_s": round(time.monotonic() - started, 2)},
        )
        stop()

    thread = threading.Thread(target=run, name="nuri-drain", daemon=True)
    thread.start()
    return thread
