"""Nothing is answered unaudited. The audit trail made unavailable (another process holding
SQLite's write lock past ``audit.timeout_s``; a stopped PostgreSQL server) during a non-streamed
``/v1/ask``, a non-streamed chat completion, a streamed answer and ``nuri ask``: no answer text
reaches the caller, 503 ``audit_unavailable`` (a stream that has already started ends with an
``error`` event and no ``done``), ``nuri ask`` exits 3; the next request after the store
recovers is answered and audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import REPO_ROOT, PostgresServer, bearer, issue_key, make_settings, postgres_bin_dir, write_md
from fastapi.testclient import TestClient
from test_api_answers import LiveServer

from assistant.http.app import build_asgi
from assistant.service import NuriService
from guardrails.audit import AuditError, AuditStore

QUESTION = "상반기 정보보안 점검 기간은 언제인가요?"
NOWHERE = "http://127.0.0.1:9/v1"  # discard port: extractive answers never call the model
#: Holds SQLite's write lock (as a long write transaction of another process would) until stdin closes.
LOCKER = (
    "import sqlite3, sys\n"
    "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "c.execute('BEGIN IMMEDIATE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
    "c.execute('ROLLBACK')\n"
)


@contextmanager
def sqlite_write_lock(path: Path) -> Iterator[None]:
    proc = subprocess.Popen([sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def audit_settings(root: Path, url: str | None = None, **overrides: Any):
    blocks: dict[str, Any] = {
        "llm": {"base_urls": [NOWHERE]},
        "answer": {"generation": "extractive"},
        "ui": {"enabled": False},
        "audit": {"timeout_s": 0.5, **({"url": url} if url else {})},
    }
    return make_settings(root, **{**blocks, **overrides})


def records(svc: NuriService) -> int:
    assert svc.audit is not None
    report = svc.audit.verify()
    assert report.ok, report.issues
    return report.records


def assert_refused_unaudited(resp: httpx.Response, answer_text: str | None = None) -> None:
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]["code"] == "audit_unavailable"
    assert "감사 기록" in resp.json()["error"]["message"] and resp.json()["error"]["message_en"]
    assert '"delta"' not in resp.text and "choices" not in resp.text
    if answer_text:
        assert answer_text not in resp.text


def ask_all_ways(client: TestClient, key: str) -> dict[str, httpx.Response]:
    chat = {"model": "nuri", "messages": [{"role": "user", "content": QUESTION}]}
    h = bearer(key)
    return {
        "ask": client.post("/v1/ask", json={"question": QUESTION}, headers=h),
        "ask stream": client.post("/v1/ask", json={"question": QUESTION, "stream": True}, headers=h),
        "chat": client.post("/v1/chat/completions", json=chat, headers=h),
        "chat stream": client.post("/v1/chat/completions", json={**chat, "stream": True}, headers=h),
    }


# -- SQLite: another process holds the write lock --------------------------------------------


@pytest.fixture()
def sqlite_service(tmp_path: Path, sample_index):
    settings = audit_settings(tmp_path)
    with NuriService(settings, index=sample_index) as svc:
        yield svc, settings.resolve(settings.data_dir) / "audit.db"


def test_no_answer_leaves_the_api_while_sqlite_is_locked_and_the_next_one_is_audited(sqlite_service):
    svc, audit_db = sqlite_service
    key = issue_key(svc)
    with TestClient(build_asgi(svc.settings, service=svc)) as client:
        answered = client.post("/v1/ask", json={"question": QUESTION}, headers=bearer(key))
        assert answered.status_code == 200 and not answered.json()["refused"], answered.text
        text = answered.json()["answer"]
        before = records(svc)
        with sqlite_write_lock(audit_db):
            for how, resp in ask_all_ways(client, key).items():
                assert_refused_unaudited(resp, text), how
        assert records(svc) == before  # nothing was written while locked, and the chain is intact
        for how, resp in ask_all_ways(client, key).items():
            assert resp.status_code == 200 and "audit_unavailable" not in resp.text, how
        assert records(svc) == before + 4


def test_a_stream_whose_audit_record_fails_ends_with_an_error_and_no_done(sqlite_service):
    """The trail goes away after the answer's text has been written (between the first event
    and the record): the events end with the error, never with ``done``."""
    svc, audit_db = sqlite_service
    events = svc.stream(QUESTION)
    first = next(events)
    assert first.kind == "delta" and first.text
    after: list = []
    with sqlite_write_lock(audit_db), pytest.raises(AuditError) as failed:
        after.extend(events)
    assert failed.value.code == "audit_unavailable"
    assert "done" not in [e.kind for e in after]  # the answer's text was sent; no done follows it
    before = records(svc)
    assert svc.ask(QUESTION).answer.startswith(first.text)  # the next answer, once the lock is gone, is audited
    assert records(svc) == before + 1


# -- a stream that already started: the HTTP error event -------------------------------------


class GatedModel(ThreadingHTTPServer):
    """An OpenAI-compatible completions server on 127.0.0.1 that streams a first sentence, then
    waits for :attr:`go` before the rest: the test decides what happens between the two."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _GatedHandler)
        self.go = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> GatedModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.go.set()
        self.shutdown()
        self.server_close()


class _GatedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GatedModel

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _event(self, payload: dict[str, Any] | str) -> None:
        data = f"data: {payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)}\n\n"
        raw = data.encode()
        self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "gemma3-270m", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def text(t: str, finish: str | None = None) -> dict[str, Any]:
            return {"id": "cmpl-gated", "object": "text_completion", "created": 0, "model": "gemma3-270m",
                    "choices": [{"index": 0, "text": t, "finish_reason": finish}]}  # fmt: skip

        self._event(text("상반기 정보보안 점검은 5월 13일부터 5월 24일까지입니다 [1].\n"))
        self.server.go.wait(timeout=60)
        self._event(text("점검 대상은 업무용 PC입니다 [1].\n", "stop"))
        self._event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")


@pytest.mark.parametrize("path", ["/v1/ask", "/v1/chat/completions"])
def test_a_started_stream_whose_record_fails_sends_an_error_event_and_no_done(tmp_path, sample_index, path):
    with GatedModel() as model:
        settings = audit_settings(tmp_path, answer={"generation": "model"}, llm={"base_urls": [model.url]})
        audit_db = settings.resolve(settings.data_dir) / "audit.db"
        with NuriService(settings, index=sample_index) as svc, LiveServer(build_asgi(settings, service=svc)) as live:
            body: dict[str, Any] = {"question": QUESTION, "stream": True}
            if path != "/v1/ask":
                body = {"model": "nuri", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
            lines: list[str] = []
            with httpx.stream("POST", live.url + path, json=body, headers=bearer(issue_key(svc)), timeout=60) as r:
                assert r.status_code == 200
                stream = r.iter_lines()
                for line in stream:  # up to the first text of the answer
                    lines.append(line)
                    if "5월 13일" in line:
                        break
                with sqlite_write_lock(audit_db):
                    model.go.set()
                    lines += list(stream)
    lines = [x for x in lines if x.strip()]
    events = [json.loads(x[6:]) for x in lines if x.startswith("data: ") and x != "data: [DONE]"]
    assert lines[-1] == "data: [DONE]"
    assert events[-1]["error"]["code"] == "audit_unavailable", events[-1]
    assert not any(e.get("type") == "done" or (e.get("choices") or [{}])[0].get("finish_reason") for e in events)


# -- PostgreSQL: the server is stopped --------------------------------------------------------


@pytest.fixture()
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test alone (it is stopped and started again)."""
    bin_dir = postgres_bin_dir()
    assert bin_dir is not None, "PostgreSQL server binaries missing (`make postgres`)"
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.stop()


def test_no_answer_while_postgresql_is_down_and_the_first_after_it_is_back_is_audited(
    tmp_path, sample_index, own_postgres
):
    settings = audit_settings(tmp_path, url=own_postgres.create_database())
    with NuriService(settings, index=sample_index) as svc:
        key = issue_key(svc)  # the key store stays on SQLite: callers still authenticate
        with TestClient(build_asgi(settings, service=svc)) as client:
            assert client.post("/v1/ask", json={"question": QUESTION}, headers=bearer(key)).status_code == 200
            own_postgres.pause()
            try:
                for how, resp in ask_all_ways(client, key).items():
                    assert_refused_unaudited(resp), how
            finally:
                own_postgres.resume()
            answered = client.post("/v1/ask", json={"question": QUESTION}, headers=bearer(key))
            assert answered.status_code == 200 and answered.json()["answer"], answered.text
        assert records(svc) == 2


# -- nuri ask ----------------------------------------------------------------------------------


def test_nuri_ask_prints_no_answer_and_exits_3_while_the_trail_is_locked(tmp_path, embedder):
    from retrieval.index import NuriIndex
    from retrieval.sync import Syncer

    corpus = write_md(tmp_path / "corpus", "inspection.md", "정보보안 점검 계획",
                      {"점검 기간": "상반기 정보보안 점검 기간은 5월 13일부터 5월 24일까지이다."})  # fmt: skip
    settings = audit_settings(tmp_path)
    with NuriIndex.open(settings.retrieval, settings.resolve(settings.index_dir), create=True, embedder=embedder) as ix:
        Syncer(ix, settings.connectors, progress=False).sync([corpus.parent])
    env = {
        **os.environ,
        "NURI_INDEX_DIR": str(settings.resolve(settings.index_dir)),
        "NURI_DATA_DIR": str(settings.resolve(settings.data_dir)),
        "NURI_LLM__BASE_URLS": json.dumps([NOWHERE]),
        "NURI_AUDIT__TIMEOUT_S": "0.5",
    }

    def ask() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "assistant.cli", "ask", QUESTION], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip

    first = ask()  # creates the trail
    assert first.returncode == 0 and "5월 13일" in first.stdout, first.stderr
    with sqlite_write_lock(settings.resolve(settings.data_dir) / "audit.db"):
        locked = ask()
    assert locked.returncode == 3 and locked.stdout == "", (locked.stdout, locked.stderr)
    lines = [x for x in locked.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("nuri: 오류: 감사 기록") and "Traceback" not in locked.stderr
    again = ask()
    assert again.returncode == 0 and "5월 13일" in again.stdout, again.stderr
    with AuditStore.from_settings(settings.audit, settings.resolve(settings.data_dir)) as trail:
        report = trail.verify()
    assert report.ok and report.records == 2  # the refused one left no record
