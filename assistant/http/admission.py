"""Bounded admission: how many searches and answers run at once, how many may wait, and the
503 + ``Retry-After`` a caller gets when the server is full (``api.admission``).

Without it every request that arrives is started: each takes a worker thread (searches and
answers are synchronous code), answers hold theirs for the whole stream, and once the thread
pool is spent even a search waits behind model streams it has nothing to do with. With it:

- searches and answers have their own gates (``search_concurrency``, ``answer_concurrency``),
  so a burst of slow answers never takes the searches' places;
- a request that finds its gate full waits in a bounded queue (``queue``) for at most
  ``queue_timeout_s``; a full queue or a wait that runs out answers 503 ``overloaded`` with
  ``Retry-After`` at once (a load balancer then tries another replica);
- the worker thread pool is sized (``worker_threads``) above both gates together, so health
  checks, key checks and the chat UI always find a thread.

A streamed answer holds its place until its last byte is sent. ``/healthz`` and ``/readyz`` are
never gated.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.http.errors import ApiError, error_response
from assistant.http.settings import AdmissionSettings

log = logging.getLogger("nuri.api")


#: Which gate a path goes through; paths not listed are not gated.
GATED_PATHS = {"/v1/search": "search", "/v1/ask": "answer", "/v1/chat/completions": "answer"}


@dataclass
class Gate:
    """At most ``limit`` holders; at most ``queue`` waiters, each for at most ``timeout_s``."""

    name: str
    limit: int
    queue: int
    timeout_s: float
    running: int = 0
    waiting: int = 0
    rejected: int = 0
    _slots: asyncio.Semaphore | None = field(default=None, repr=False)

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:  # made on the server's event loop, at the first request
            self._slots = asyncio.Semaphore(self.limit)
        return self._slots

    async def enter(self) -> bool:
        """True when the request may run (the caller must :meth:`leave`), False when refused."""
        slots = self._semaphore()
        if not slots.locked():
            await slots.acquire()
        else:
            if self.waiting >= self.queue:
                self.rejected += 1
                return False
            self.waiting += 1
            try:
                await asyncio.wait_for(slots.acquire(), self.timeout_s)
            except TimeoutError:
                self.rejected += 1
                return False
            finally:
                self.waiting -= 1
        self.running += 1
        return True

    def leave(self) -> None:
        self.running -= 1
        self._semaphore().release()

    def state(self) -> dict[str, int]:
        return {"limit": self.limit, "running": self.running, "waiting": self.waiting, "rejected": self.rejected}


class Admission:
    """ASGI middleware putting every gated request through its gate."""

    def __init__(self, app: ASGIApp, settings: AdmissionSettings) -> None:
        self.app, self.settings = app, settings
        s = settings
        self.gates = {
            "search": Gate("search", s.search_concurrency, s.queue, s.queue_timeout_s),
            "answer": Gate("answer", s.answer_concurrency, s.queue, s.queue_timeout_s),
        }
        self._threads_sized = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextmanager
    def slot_from_thread(self, gate_name: str, timeout_s: float | None = None) -> Iterator[None]:
        """Hold a place in ``gate_name`` from a worker thread (the chat's answers run in Gradio's
        threads, not through this middleware): waits like a request would, and raises the 503
        ``overloaded`` error when refused. No gating before the server's first request."""
        loop, gate = self._loop, self.gates[gate_name]
        if loop is None or not self.settings.enabled:
            yield
            return
        wait = (timeout_s or self.settings.queue_timeout_s) + 5.0
        if not asyncio.run_coroutine_threadsafe(gate.enter(), loop).result(timeout=wait):
            raise self._overloaded(gate_name)
        try:
            yield
        finally:
            loop.call_soon_threadsafe(gate.leave)

    def state(self) -> dict[str, dict[str, int]]:
        return {name: gate.state() for name, gate in self.gates.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        if not self._threads_sized and scope["type"] in ("http", "lifespan"):
            # the pool of the running event loop (AnyIO's default is 40 threads)
            anyio.to_thread.current_default_thread_limiter().total_tokens = self.settings.worker_threads
            self._threads_sized = True
        gate_name = GATED_PATHS.get(scope.get("path", "")) if scope["type"] == "http" else None
        if gate_name is None or not self.settings.enabled or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        gate = self.gates[gate_name]
        started = time.perf_counter()
        if not await gate.enter():
            waited = time.perf_counter() - started
            log.warning(
                "request refused: server full",
                extra={"gate": gate_name, "waited_s": round(waited, 3), **gate.state()},
            )
            await error_response(self._overloaded(gate_name))(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            gate.leave()

    def _overloaded(self, gate: str) -> ApiError:
        kind_ko = "검색" if gate == "search" else "답변"
        retry = self.settings.retry_after_s
        return ApiError(
            "overloaded",
            f"요청이 많아 지금은 {kind_ko}을 처리할 수 없습니다. {retry}초 후 다시 시도하세요",
            f"The server is at capacity for {gate} requests; retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )
