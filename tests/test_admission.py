"""Bounded admission (``assistant.http.admission``): searches and answers have their own gates;
a full gate with a full queue, or a wait past ``queue_timeout_s``, answers 503 ``overloaded``
with ``Retry-After`` at once; health checks and other paths are never gated; a place is held
until the response's last byte. Driven through the real middleware over HTTP (httpx's ASGI
transport) in front of a small ASGI app that holds each request until the test releases it."""

from __future__ import annotations

import asyncio

import anyio.to_thread
import httpx
import pytest

from assistant.http.admission import Admission
from assistant.http.settings import AdmissionSettings


class HeldApp:
    """Answers each request only when the test sets its release event (counts what started)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        self.started.append(scope["path"])
        if scope["path"] != "/healthz":
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})


def _client(app: Admission) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://nuri")


async def _until(cond, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def test_full_gate_and_queue_answer_503_with_retry_after_while_other_gates_run() -> None:
    async def scenario() -> None:
        held = HeldApp()
        settings = AdmissionSettings(answer_concurrency=1, search_concurrency=1, queue=1, retry_after_s=3)
        gate = Admission(held, settings)
        async with _client(gate) as c:
            first = asyncio.create_task(c.post("/v1/ask", json={}))
            await _until(lambda: held.started == ["/v1/ask"])
            queued = asyncio.create_task(c.post("/v1/chat/completions", json={}))
            await _until(lambda: gate.gates["answer"].waiting == 1)
            refused = await c.post("/v1/ask", json={})  # gate full, queue full: refused at once
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "3"
            err = refused.json()["error"]
            assert err["code"] == "overloaded" and "3초 후" in err["message"] and err["message_en"]
            # searches have their own gate; health checks none
            search = asyncio.create_task(c.post("/v1/search", json={}))
            await _until(lambda: "/v1/search" in held.started)
            assert (await c.get("/healthz")).status_code == 200
            held.release.set()
            assert [r.status_code for r in await asyncio.gather(first, queued, search)] == [200, 200, 200]
            assert gate.state()["answer"] == {"limit": 1, "running": 0, "waiting": 0, "rejected": 1}
            assert held.started.count("/v1/chat/completions") == 1  # the queued one ran after the first

    asyncio.run(scenario())


def test_a_wait_past_the_queue_timeout_is_refused() -> None:
    async def scenario() -> None:
        held = HeldApp()
        gate = Admission(held, AdmissionSettings(search_concurrency=1, queue=5, queue_timeout_s=0.2))
        async with _client(gate) as c:
            first = asyncio.create_task(c.post("/v1/search", json={}))
            await _until(lambda: held.started == ["/v1/search"])
            late = await c.post("/v1/search", json={})
            assert late.status_code == 503 and late.json()["error"]["code"] == "overloaded"
            held.release.set()
            assert (await first).status_code == 200
            assert held.started == ["/v1/search"]  # the refused one never reached the app

    asyncio.run(scenario())


def test_disabled_admission_starts_everything_and_sizes_no_gate() -> None:
    async def scenario() -> None:
        held = HeldApp()
        gate = Admission(held, AdmissionSettings(enabled=False, search_concurrency=1, queue=0))
        async with _client(gate) as c:
            tasks = [asyncio.create_task(c.post("/v1/search", json={})) for _ in range(5)]
            await _until(lambda: len(held.started) == 5)
            held.release.set()
            assert [r.status_code for r in await asyncio.gather(*tasks)] == [200] * 5

    asyncio.run(scenario())


def test_worker_thread_pool_is_sized_above_the_gates() -> None:
    async def scenario() -> int:
        held = HeldApp()
        held.release.set()
        gate = Admission(held, AdmissionSettings(worker_threads=77))
        async with _client(gate) as c:
            await c.get("/healthz")
        return int(anyio.to_thread.current_default_thread_limiter().total_tokens)

    assert asyncio.run(scenario()) == 77
    with pytest.raises(ValueError, match="worker_threads must exceed"):
        AdmissionSettings(worker_threads=10, search_concurrency=8, answer_concurrency=8)
