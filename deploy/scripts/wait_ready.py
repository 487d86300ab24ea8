#!/usr/bin/env python3
"""Wait until every URL answers HTTP 200, or give up after a timeout (an initContainer's job).

    wait_ready.py [--timeout 900] [--interval 5] URL [URL ...]

The URLs are waited for in order, within one overall --timeout (seconds). Each GET has a
5-second timeout; any other answer (503 while Qdrant catches up, connection refused while a pod
starts, a DNS miss before a Service has endpoints) is retried every --interval seconds, with
one line of progress per URL and minute. Exit status: 0 all ready, 1 timed out (the pod then
fails and the Job's backoffLimit decides whether it is tried again), 2 wrong usage.

Standard library only: it runs in the Nuri image (/opt/nuri/scripts/).
"""

from __future__ import annotations

import argparse
import sys
import time
import urllib.error
import urllib.request


def probe(url: str) -> str | None:
    """None when ``url`` answers 200, else why not."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return None if resp.status == 200 else f"HTTP {resp.status}"
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code}"
    except (urllib.error.URLError, OSError) as e:
        return str(getattr(e, "reason", e))


def wait(urls: list[str], timeout: float, interval: float) -> bool:
    deadline = time.monotonic() + timeout
    for url in urls:
        last_report: float | None = None
        while (why := probe(url)) is not None:
            now = time.monotonic()
            if now >= deadline:
                print(f"not ready after {timeout:.0f} s: {url} ({why})", file=sys.stderr, flush=True)
                return False
            if last_report is None or now - last_report >= 60:
                print(f"waiting for {url} ({why})", flush=True)
                last_report = now
            time.sleep(min(interval, max(0.0, deadline - now)))
        print(f"ready: {url}", flush=True)
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="wait_ready.py", description=__doc__.splitlines()[0])
    p.add_argument("--timeout", type=float, default=900.0, help="seconds for all URLs together")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between tries")
    p.add_argument("urls", nargs="+", metavar="URL")
    args = p.parse_args(argv)
    return 0 if wait(args.urls, args.timeout, args.interval) else 1


if __name__ == "__main__":
    raise SystemExit(main())
