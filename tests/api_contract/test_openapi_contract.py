"""The HTTP API keeps the promises of its OpenAPI description (``/openapi.json``).

Schemathesis (the CLI, as a CI job would run it) generates requests from the description, valid
and invalid ones, sends them to the real app (``build_asgi`` behind uvicorn, over a socket, with
an admin's key) and runs every check it has: no server errors, only documented statuses, content
types and headers, bodies that match their schemas, invalid input refused and valid input taken,
deleted resources gone and created ones there, authentication enforced, 405 with ``Allow`` for
undeclared methods. Its phases: the coverage phase (boundary values of every parameter and
body field), fuzzing (``MAX_EXAMPLES`` per operation, deterministic: the same cases every run)
and the stateful phase (following the description's links: a new conversation, folder, document,
job, passage). Nothing is excluded: the app is this module's own, so deleting its documents and
uploading files is fine. ``schemathesis.toml`` beside this file says what is configured and why.

The description itself: every operation documents the errors the API can answer it with, the
streamed answers their event stream, ``/metrics`` its text format.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import bearer
from security.served_api import Served, served_api

from assistant.sync_log import record_cli_sync
from retrieval.sync import Syncer

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
#: Fuzzing examples per operation: with the coverage phase's own cases, about 2,000 requests
#: (about 80 s on two busy cores); a hundred passed as well when this was written.
MAX_EXAMPLES = 20


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder: Any, llamacpp_server: Any) -> Iterator[Served]:
    """The API over the two-document index, with a real model server behind readiness.

    The rate limit is off: it is a per-key budget (tested in tests/security), and with it on most
    generated requests would only meet 429. The corpus is recorded as a synced folder, as `nuri
    ingest` records it, so that its originals may be downloaded and re-indexed."""
    root = tmp_path_factory.mktemp("contract")
    overrides = {"ui": {"enabled": False}, "api": {"auth": {"rate_limit": {"enabled": False}}}}
    with served_api(root, embedder, model_url=llamacpp_server.base_url, **overrides) as served:
        assert served.service.index is not None
        corpus = root / "corpus"
        report = Syncer(served.service.index, served.settings.connectors, progress=False).sync([corpus])
        record_cli_sync(served.settings, [corpus], report)
        yield served


def test_a_wrong_method_is_405_with_the_allowed_methods(served: Served) -> None:
    auth = bearer(served.keys["user"])
    for method, path, allowed in (
        ("DELETE", "/v1/conversations", "GET, POST"),
        ("PUT", "/v1/conversations/abc", "GET, PATCH, DELETE"),
        ("GET", "/v1/ask", "POST"),
        ("POST", "/healthz", "GET"),
        ("PATCH", "/v1/documents/jobs", "GET"),  # not the methods of /v1/documents/{doc_id}
    ):
        resp = httpx.request(method, served.url + path, headers=auth)
        assert resp.status_code == 405, (method, path, resp.text)
        assert resp.json()["error"]["code"] == "method_not_allowed"
        assert resp.headers["Allow"] == allowed, (method, path)


def test_every_operation_documents_what_it_can_answer(served: Served) -> None:
    doc = httpx.get(served.url + "/openapi.json").json()
    operations = {(method.upper(), path): op for path, item in doc["paths"].items() for method, op in item.items()}
    assert len(operations) >= 30 and ("GET", "/metrics") in operations
    for (method, path), op in operations.items():
        statuses = set(op["responses"])
        if path.startswith("/v1/"):
            assert {"401", "408", "413", "422", "429", "503"} <= statuses, (method, path)
            assert op["security"] == [{"bearerKey": []}], (method, path)
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    for path in ("/v1/ask", "/v1/chat/completions", "/v1/conversations/{conversation_id}/messages"):
        answers = doc["paths"][path]["post"]["responses"]
        assert {"application/json", "text/event-stream"} <= set(answers["200"]["content"]), path
        assert {"400", "502", "503"} <= set(answers), path
    assert set(doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
    assert "503" in doc["paths"]["/readyz"]["get"]["responses"]
    detail = doc["components"]["schemas"]["ErrorDetail"]["properties"]
    assert {"code", "message", "message_en", "request_id", "details"} <= set(detail)


def test_schemathesis_finds_no_failure_of_any_check(served: Served, tmp_path: Path, capsys: Any) -> None:
    events = tmp_path / "events.ndjson"
    command = [
        str(SCHEMATHESIS), "--config-file", str(CONFIG), "--no-color",
        "run", served.url + "/openapi.json",
        "--checks", "all",
        "--header", f"Authorization: Bearer {served.keys['admin']}",
        "--max-examples", str(MAX_EXAMPLES),
        "--generation-deterministic",  # the same cases every run (no seed, no example database)
        "--workers", "1",
        "--request-timeout", "60",
        "--report", "ndjson", "--report-ndjson-path", str(events),
    ]  # fmt: skip
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    seconds = time.monotonic() - started
    output = run.stdout + run.stderr
    checks = _checks(events)
    summary = _summary(output, checks, seconds)
    with capsys.disabled():  # the test log carries the summary, passed or not
        print(f"\n{summary}")
    assert run.returncode == 0, output[-20000:]
    assert checks and not any(failed for _, failed in checks.values()), summary
    assert "not_a_server_error" in checks and "ignored_auth" in checks and "use_after_free" in checks


def _checks(events: Path) -> dict[str, tuple[int, int]]:
    """Per check: how often it passed and failed (skipped ones are neither), from the run's events."""
    passed: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for line in events.read_text(encoding="utf-8").splitlines() if events.exists() else ():
        for event in json.loads(line).values():
            recorder = event.get("recorder") if isinstance(event, dict) else None
            for results in (recorder or {}).get("checks", {}).values():
                for check in results:
                    if check["status"] == "success":
                        passed[check["name"]] += 1
                    elif check["status"] in ("failure", "error"):
                        failed[check["name"]] += 1
    return {name: (passed[name], failed[name]) for name in sorted(passed | failed)}


def _summary(output: str, checks: dict[str, tuple[int, int]], seconds: float) -> str:
    """``schemathesis: 32 operations, 2010 test cases, 0 failures (85 s)`` and each check's counts."""
    operations = re.search(r"Tested:\s*(\d+)", output)
    cases = re.search(r"(\d+) generated", output)
    failures = sum(failed for _, failed in checks.values())
    head = (
        f"schemathesis: {operations.group(1) if operations else '?'} operations, "
        f"{cases.group(1) if cases else '?'} test cases, {failures} failures ({seconds:.0f} s)"
    )
    lines = [f"  {name}: {ok} passed, {failed} failed" for name, (ok, failed) in checks.items()]
    return "\n".join([head, *lines])
