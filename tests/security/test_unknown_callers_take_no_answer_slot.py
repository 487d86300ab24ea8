"""Finding 4 (medium): unauthenticated requests took admission slots.

The admission gate was taken before the caller was authenticated, and the body was read after
that: clients without a key, or sending their body slowly, could fill every answer slot. Now
``/v1/*`` callers are authenticated and rate-limited from their headers first, their body is read
within ``api.body_timeout_s`` (408 after), and only a known caller with a complete request
queues for a slot (:mod:`assistant.http.caller_gate`).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import bearer
from served_api import QUESTION, Served, served_api

BODY_TIMEOUT_S = 1.5


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder) -> Iterator[Served]:
    api = {
        "body_timeout_s": BODY_TIMEOUT_S,
        "admission": {"answer_concurrency": 1, "search_concurrency": 1, "queue": 0, "worker_threads": 8},
        "auth": {"rate_limit": {"burst": 3, "requests_per_minute": 1}},
    }
    with served_api(tmp_path_factory.mktemp("admission"), embedder, api=api, ui={"enabled": False}) as s:
        yield s


def _slow_client(url: str, headers: dict[str, str], declared: int = 200) -> socket.socket:
    """A connection that sends its headers and the first byte of a ``declared``-byte body, then stalls."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    lines = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json",
             f"Content-Length: {declared}", *(f"{k}: {v}" for k, v in headers.items())]  # fmt: skip
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n{").encode())
    return sock


def _status(sock: socket.socket, timeout: float) -> int | None:
    """The status line's code if an answer arrives within ``timeout`` seconds, else None."""
    sock.settimeout(timeout)
    try:
        head = sock.recv(200)
    except TimeoutError:
        return None
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1") else None


def _gate(s: Served) -> dict[str, int]:
    return dict(s.app.state.admission.gates["answer"].state())


def _ask(s: Served, key: str) -> httpx.Response:
    return httpx.post(f"{s.url}/v1/ask", json={"question": QUESTION}, headers=bearer(key), timeout=120)


def test_callers_without_a_key_are_refused_before_their_body_and_take_no_slot(served: Served):
    stalled = [_slow_client(f"{served.url}/v1/ask", {}) for _ in range(5)]
    try:
        assert [_status(s, 5) for s in stalled] == [401] * 5  # answered without waiting for the body
        assert _gate(served)["running"] == 0
        assert _ask(served, served.keys["admin"]).status_code == 200  # the one answer slot is free
    finally:
        for s in stalled:
            s.close()


def test_a_slow_body_holds_no_slot_and_times_out_with_408(served: Served):
    rejected_before = _gate(served)["rejected"]
    slow = _slow_client(f"{served.url}/v1/ask", bearer(served.keys["user"]))
    try:
        time.sleep(0.3)
        assert _gate(served)["running"] == 0  # a known caller, but its request is not complete yet
        assert _ask(served, served.keys["admin"]).status_code == 200
        t0 = time.monotonic()
        assert _status(slow, BODY_TIMEOUT_S + 5) == 408
        assert time.monotonic() - t0 < BODY_TIMEOUT_S + 3
    finally:
        slow.close()
    assert _gate(served)["rejected"] == rejected_before


def test_a_caller_over_its_rate_is_refused_before_admission(served: Served):
    from conftest import issue_key

    key = issue_key(served.service, agency="나부처", clearance="public")
    codes = [
        httpx.post(f"{served.url}/v1/search", json={"query": QUESTION}, headers=bearer(key), timeout=60).status_code
        for _ in range(5)
    ]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    assert served.app.state.admission.gates["search"].state()["rejected"] == 0  # never queued for a slot
