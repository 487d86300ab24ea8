"""The HTTP transport of the model client: every socket read waits at most until a deadline the
caller sets for the read at hand.

httpx applies one read timeout to every read of a response, fixed when the request is sent. A
model stream needs two: the time to the first chunk (queueing and prompt processing, seconds)
and the gap between later chunks, and both under the request's total deadline. ``LLMClient``
sets the deadline of the current thread's next reads with :func:`read_deadline`; this
transport's sockets then wait until that instant (whatever the httpx timeout says), so a replica
that accepts the connection and sends nothing is given up at the first-token deadline, not
after ``llm.timeout_s``. Without a deadline set, the httpx timeouts apply unchanged.

The deadline is per thread: the model client sets it right around each blocking call (sending
the request, reading the next chunk), so a stream resumed on another worker thread between
chunks (Starlette iterates a sync stream in its thread pool) is never read under a stale one.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore2
import httpx2

_local = threading.local()
_SHORTEST_S = 0.001  # a deadline already passed still reads what has arrived


@contextmanager
def read_deadline(deadline: float | None) -> Iterator[None]:
    """Reads (and connects) of this thread inside the block end by ``deadline`` (``time.monotonic``)."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = deadline
    try:
        yield
    finally:
        _local.deadline = previous


def _remaining() -> float | None:
    deadline = getattr(_local, "deadline", None)
    return None if deadline is None else max(deadline - time.monotonic(), _SHORTEST_S)


def _capped(timeout: float | None) -> float | None:
    left = _remaining()
    if left is None:
        return timeout
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        left = _remaining()  # the caller's deadline replaces the httpx read timeout
        return self._inner.read(max_bytes, timeout if left is None else left)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _capped(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _capped(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore2.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _capped(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, _capped(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx2.HTTPTransport):
    """``httpx2.HTTPTransport`` (direct connections, the openai client's pool limits) whose
    sockets honour :func:`read_deadline`."""

    def __init__(self, max_connections: int = 1000, max_keepalive: int = 100) -> None:
        super().__init__()
        self._pool.close()
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive,
            keepalive_expiry=4.0,  # below uvicorn's 5 s (vLLM, llama.cpp): no reuse of a connection it closes
            network_backend=_DeadlineBackend(),
        )


def http_client(timeout: httpx2.Timeout) -> httpx2.Client:
    """The HTTP client of the model endpoints (no proxy: they are on the agency's own network)."""
    return httpx2.Client(transport=DeadlineTransport(), timeout=timeout, trust_env=False)
