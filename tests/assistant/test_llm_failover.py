"""The model client against real local servers that misbehave: replicas speaking the OpenAI
streaming protocol over real sockets on 127.0.0.1 (``/v1/chat/completions`` and
``/v1/completions`` as server-sent events, ``/v1/models``), one answering 503, one accepting the
connection and never answering, one sending headers and then nothing, one dying mid-stream, a
closed port. The caller gets the answer from a healthy replica or a clear error, in bounded
time, never a hung request."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assistant.errors import LLMUnavailableError, ModelResponseError
from assistant.llm_client import ChatMessage, LLMClient, ModelPrompt
from assistant.modelserver.server import free_port
from assistant.settings import LLMSettings

MODEL = "test-model"
FIRST_TOKEN_S = 1.0
PROMPT = ModelPrompt(messages=[ChatMessage("user", "질문")])

#: What a replica does with a generation request.
MODES = (
    "ok",  # streams its answer in three chunks, then [DONE]
    "503",  # HTTP 503 with an OpenAI error body
    "400",  # HTTP 400 (what vLLM answers to a prompt longer than its context)
    "fail_once",  # 503 to its first request, then "ok"
    "hang",  # reads the request, never sends the headers
    "headers_then_hang",  # sends the headers of the stream, then nothing
    "dies_before_text",  # the role chunk, then closes the socket (chunked body cut short)
    "dies_after_text",  # two text chunks, then closes the socket
    "eof_after_text",  # two text chunks, then closes a close-delimited body (no finish, no [DONE])
    "stalls_after_text",  # two text chunks, then nothing (the connection stays open)
)


class Replica(ThreadingHTTPServer):
    """A fake vLLM replica on a free port of 127.0.0.1 behaving as ``mode`` says."""

    daemon_threads = True

    def __init__(self, mode: str, answer: str = "건강한 서버의 답변입니다.") -> None:
        assert mode in MODES or mode in MALFORMED
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode, self.answer = mode, answer
        self.hits: Counter[str] = Counter()
        self.released = threading.Event()  # ends the hanging handlers at teardown
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def hit(self, path: str) -> int:
        with self._lock:
            self.hits[path] += 1
            return self.hits[path]

    @property
    def generations(self) -> int:
        return self.hits["/v1/chat/completions"] + self.hits["/v1/completions"]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up on a hanging replica resets the connection: expected here

    def __enter__(self) -> Replica:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Replica

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _chunk(self, payload: dict[str, Any] | str, chunked: bool = True) -> None:
        event = f"data: {payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)}\n\n"
        data = event.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
        self.wfile.flush()

    def do_GET(self) -> None:
        self.server.hit(self.path)
        if self.server.mode in ("hang", "headers_then_hang"):
            self.server.released.wait()
            self.close_connection = True
        elif self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "test"}]})
        else:
            self._json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        n = self.server.hit(self.path)
        mode = self.server.mode
        if mode == "fail_once":
            mode = "503" if n == 1 else "ok"
        if mode in ("503", "400"):
            message = "engine is dead" if mode == "503" else "This model's maximum context length is 4096 tokens"
            self._json(int(mode), {"error": {"message": message, "type": "error", "code": int(mode)}})
            return
        if mode == "hang":
            self.server.released.wait()
            self.close_connection = True
            return
        if mode in MALFORMED:  # what a proxy or a misconfigured server answers instead
            status, ctype, data = MALFORMED[mode]
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        chat = self.path.endswith("/chat/completions")
        assert body["stream"] is True and body["model"] == MODEL
        chunked = mode != "eof_after_text"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding" if chunked else "Connection", "chunked" if chunked else "close")
        self.end_headers()
        self.wfile.flush()
        if mode == "headers_then_hang":
            self.server.released.wait()
            self.close_connection = True
            return
        answer = self.server.answer
        third = len(answer) // 3
        pieces = [answer[:third], answer[third : 2 * third], answer[2 * third :]]
        events = [_event(chat, None, role=True), *(_event(chat, p) for p in pieces), _event(chat, "", finish="stop")]
        if mode == "dies_before_text":
            events = events[:1]
        elif mode in ("dies_after_text", "eof_after_text", "stalls_after_text"):
            events = events[:3]
        for event in events:
            self._chunk(event, chunked)
        if mode == "stalls_after_text":
            self.server.released.wait()
        if mode != "ok":
            self.close_connection = True  # the socket closes mid-body
            return
        self._chunk("[DONE]")
        self.wfile.write(b"0\r\n\r\n")


MALFORMED: dict[str, tuple[int, str, bytes]] = {
    "html": (200, "text/html", b"<html><body><h1>Welcome to nginx!</h1></body></html>"),
    "html502": (502, "text/html", b"<html><head><title>502 Bad Gateway</title></head></html>"),
    "json_not_stream": (200, "application/json", b'{"object": "chat.completion", "choices": []}'),
    "not_json_events": (200, "text/event-stream", b"data: {not json}\n\n"),
    "no_text": (
        200,
        "text/event-stream",
        b'data: {"id": "x", "object": "text_completion", "choices": [{"index": 0}]}\n\n',
    ),
}


def _event(chat: bool, text: str | None, role: bool = False, finish: str | None = None) -> dict[str, Any]:
    if chat:
        delta: dict[str, Any] = {"role": "assistant", "content": ""} if role else {"content": text}
        if finish:
            delta = {}
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": MODEL, "choices": [choice]}
    choice = {"index": 0, "text": text or "", "finish_reason": finish}
    return {"id": "c1", "object": "text_completion", "created": 0, "model": MODEL, "choices": [choice]}


def settings(*urls: str, **overrides: Any) -> LLMSettings:
    base: dict[str, Any] = {
        "base_urls": list(urls),
        "model": MODEL,
        "mode": "chat",
        "connect_timeout_s": 0.5,
        "first_token_timeout_s": FIRST_TOKEN_S,
        "timeout_s": 1.0,
        "deadline_s": 10.0,
        "max_retries": 1,
        "backoff_s": 0.05,
        "cooldown_s": 30.0,
        "health_timeout_s": 0.5,
    }
    return LLMSettings(**{**base, **overrides})


@pytest.fixture
def replicas() -> Iterator[Any]:
    """``replicas(mode, ...)`` starts replicas, each stopped after the test."""
    started: list[Replica] = []

    def start(*modes: str, answers: tuple[str, ...] = ()) -> list[Replica]:
        for i, mode in enumerate(modes):
            replica = Replica(mode, *(answers[i : i + 1] or ())).__enter__()
            started.append(replica)
        return started[-len(modes) :]

    yield start
    for replica in started:
        replica.__exit__()


def closed_port() -> str:
    return f"http://127.0.0.1:{free_port('127.0.0.1')}/v1"


def timed(client: LLMClient, prompt: ModelPrompt = PROMPT) -> tuple[str, float]:
    t0 = time.monotonic()
    text = client.complete(prompt)
    return text, time.monotonic() - t0


@pytest.mark.parametrize(
    ("mode", "says"),
    [
        ("html", "HTML 페이지 (text/html): <html><body><h1>Welcome to nginx!"),
        ("html502", "HTTP 502: <html><head><title>502 Bad Gateway"),
        ("json_not_stream", "스트림이 아닌 응답 (application/json)"),
        ("not_json_events", "잘못된 응답: 스트림의 data가 JSON이 아님"),
        ("no_text", "응답 형식이 잘못됨"),
    ],
)
def test_a_malformed_model_answer_names_the_server_and_what_was_wrong(replicas, mode: str, says: str) -> None:
    (bad,) = replicas(mode)
    client = LLMClient(settings(bad.url, mode="completion", max_retries=0))
    with pytest.raises(LLMUnavailableError) as caught:
        client.complete(PROMPT)
    assert f"{bad.url}: {says}" in str(caught.value)


def test_a_malformed_answer_fails_over_to_the_healthy_replica(replicas) -> None:
    bad, good = replicas("html", "ok")
    client = LLMClient(settings(bad.url, good.url))
    assert [client.complete(PROMPT) for _ in range(2)] == [good.answer] * 2


def test_503_fails_over_to_the_healthy_replica(replicas) -> None:
    bad, good = replicas("503", "ok")
    text, elapsed = timed(LLMClient(settings(bad.url, good.url)))
    assert text == good.answer
    assert (bad.generations, good.generations) == (1, 1)  # round-robin starts at the first
    assert elapsed < 1.0


@pytest.mark.parametrize("mode", ["hang", "headers_then_hang"])
def test_silent_replica_is_given_up_after_the_first_token_timeout(replicas, mode: str) -> None:
    silent, good = replicas(mode, "ok")
    text, elapsed = timed(LLMClient(settings(silent.url, good.url)))
    assert text == good.answer and silent.generations == 1
    assert FIRST_TOKEN_S * 0.9 <= elapsed < FIRST_TOKEN_S + 0.75, elapsed
    print(f"\nfailover from a {mode} replica: {elapsed * 1000:.0f} ms (first_token_timeout_s={FIRST_TOKEN_S})")


def test_silent_replica_never_hangs_a_request_alone(replicas) -> None:
    """One endpoint, hanging: the error comes after its tries, within the deadline."""
    (silent,) = replicas("hang")
    t0 = time.monotonic()
    with pytest.raises(LLMUnavailableError) as raised:
        LLMClient(settings(silent.url, max_retries=3, deadline_s=2.5)).complete(PROMPT)
    elapsed = time.monotonic() - t0
    assert elapsed < 2.5 + 0.5, elapsed
    assert "첫 응답 없음" in str(raised.value) and "제한 시간" in str(raised.value)


@pytest.mark.parametrize("mode", ["dies_before_text"])
def test_stream_dying_before_text_fails_over_transparently(replicas, mode: str) -> None:
    dying, good = replicas(mode, "ok")
    text, elapsed = timed(LLMClient(settings(dying.url, good.url)))
    assert text == good.answer  # the whole answer, once
    assert (dying.generations, good.generations) == (1, 1)
    assert elapsed < 1.0


@pytest.mark.parametrize("mode", ["dies_after_text", "eof_after_text"])
def test_stream_dying_after_text_is_a_clear_error_not_a_restart(replicas, mode: str) -> None:
    dying, good = replicas(mode, "ok")
    client = LLMClient(settings(dying.url, good.url))
    received: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(LLMUnavailableError) as raised:
        for delta in client.stream(PROMPT):
            received.append(delta)
    elapsed = time.monotonic() - t0
    assert "".join(received) == dying.answer[: 2 * (len(dying.answer) // 3)]  # what came, nothing twice
    message = str(raised.value)
    assert "답변 생성 중 모델 서버 연결이 끊겼습니다" in message and dying.url in message
    assert "다시 질문해 주세요" in message
    assert good.generations == 0 and elapsed < 1.0


def test_stalled_stream_is_cut_after_the_gap_timeout(replicas) -> None:
    (stalled,) = replicas("stalls_after_text")
    client = LLMClient(settings(stalled.url, timeout_s=0.5))
    received: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(LLMUnavailableError, match=r"응답 중단 \(0.5초 동안 다음 토큰 없음\)"):
        for delta in client.stream(PROMPT):
            received.append(delta)
    elapsed = time.monotonic() - t0
    assert received and 0.45 <= elapsed < 0.5 + 0.5, elapsed


def test_all_replicas_failing_is_one_error_naming_each(replicas) -> None:
    r503, hang, silent, dying = replicas("503", "hang", "headers_then_hang", "dies_before_text")
    refused = closed_port()
    urls = [r503.url, hang.url, silent.url, refused, dying.url]
    client = LLMClient(settings(*urls, max_retries=5, deadline_s=3.0))
    t0 = time.monotonic()
    with pytest.raises(LLMUnavailableError) as raised:
        client.complete(PROMPT)
    elapsed = time.monotonic() - t0
    message = str(raised.value)
    assert elapsed < 3.0 + 0.5, elapsed
    assert message.startswith("모델 서버에 연결할 수 없습니다")
    assert f"{r503.url}: HTTP 503" in message
    assert f"{hang.url}: 첫 응답 없음" in message and f"{silent.url}: 첫 응답 없음" in message
    assert f"{refused}: 연결 실패" in message
    assert f"{dying.url}: 응답 도중 연결 끊김" in message
    print(f"\nall five endpoints failing: LLMUnavailableError after {elapsed * 1000:.0f} ms (deadline_s=3)")


def test_closed_ports_fail_fast(replicas) -> None:
    t0 = time.monotonic()
    with pytest.raises(LLMUnavailableError, match="연결 실패"):
        LLMClient(settings(closed_port(), closed_port())).complete(PROMPT)
    assert time.monotonic() - t0 < 1.0  # two rounds and one short backoff


def test_round_robin_spreads_requests_over_healthy_replicas(replicas) -> None:
    a, b = replicas("ok", "ok", answers=("A의 답변", "B의 답변"))
    client = LLMClient(settings(a.url, b.url))
    answers = [client.complete(PROMPT) for _ in range(4)]
    assert answers == ["A의 답변", "B의 답변", "A의 답변", "B의 답변"]
    assert (a.generations, b.generations) == (2, 2)


def test_failed_replica_is_skipped_during_its_cooldown(replicas) -> None:
    bad, good = replicas("503", "ok")
    client = LLMClient(settings(bad.url, good.url))
    for _ in range(4):
        assert client.complete(PROMPT) == good.answer
    assert (bad.generations, good.generations) == (1, 4)
    cooling = {h.url: h for h in client.health()}
    assert cooling[bad.url].failures == 1 and cooling[bad.url].cooling_s > 25


def test_cooldown_expires_and_a_success_clears_it(replicas) -> None:
    flaky, good = replicas("fail_once", "ok")
    client = LLMClient(settings(flaky.url, good.url, cooldown_s=0.3))
    assert client.complete(PROMPT) == good.answer  # flaky fails, cools down
    assert client.complete(PROMPT) == good.answer  # flaky skipped
    time.sleep(0.35)
    answers = {client.complete(PROMPT) for _ in range(2)}  # both in turn again
    assert flaky.generations == 2 and good.generations == 3 and answers == {good.answer}
    assert [h.failures for h in client.health()] == [0, 0]


def test_retry_round_with_backoff_recovers_a_single_replica(replicas) -> None:
    """Every endpoint in cooldown is still tried: a lone replica that failed once answers the retry."""
    (flaky,) = replicas("fail_once")
    text, elapsed = timed(LLMClient(settings(flaky.url, backoff_s=0.2)))
    assert text == flaky.answer and flaky.generations == 2
    assert 0.1 <= elapsed < 1.0  # the backoff (0.2 s ±50%) came between the two tries


def test_client_error_is_not_retried_elsewhere(replicas) -> None:
    bad, good = replicas("400", "ok")
    with pytest.raises(ModelResponseError, match="HTTP 400.*maximum context length"):
        LLMClient(settings(bad.url, good.url)).complete(PROMPT)
    assert (bad.generations, good.generations) == (1, 0)


def test_completion_mode_fails_over_too(replicas) -> None:
    dying, good = replicas("dies_before_text", "ok")
    client = LLMClient(settings(dying.url, good.url, mode="completion"))
    assert client.complete(ModelPrompt(text="질문:")) == good.answer
    assert dying.hits["/v1/completions"] == 1 and good.hits["/v1/completions"] == 1


def test_concurrent_requests_all_answered(replicas) -> None:
    a, b, bad = replicas("ok", "ok", "503", answers=("A", "B"))
    client = LLMClient(settings(a.url, b.url, bad.url))
    results: list[str] = []
    lock = threading.Lock()

    def ask() -> None:
        for _ in range(5):
            text = client.complete(PROMPT)
            with lock:
                results.append(text)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(set(results)) == ["A", "B"] and len(results) == 30
    assert abs(a.generations - b.generations) <= 6 and bad.generations <= 6


def test_health_probes_every_endpoint_at_once(replicas) -> None:
    good, hang = replicas("ok", "hang")
    refused = closed_port()
    client = LLMClient(settings(good.url, hang.url, refused))
    t0 = time.monotonic()
    probes = client.health()
    elapsed = time.monotonic() - t0
    assert [(p.url, p.up, p.serves_model) for p in probes] == [
        (good.url, True, True),
        (hang.url, False, False),
        (refused, False, False),
    ]
    assert [p.error for p in probes] == [None, "시간 초과", "연결 실패"]
    assert elapsed < 0.5 + 0.5  # in parallel: one health_timeout_s, not three
    assert client.list_models() == [MODEL]


# -- through the HTTP API ------------------------------------------------------------------
QUESTION = "상반기 정보보안 점검 기간은 언제인가요?"
ANSWER = (  # the stream dying after two thirds has sent whole sentences (what the API sends on)
    "상반기 정보보안 점검은 5월에 합니다 [1]. 하반기 점검은 11월에 합니다 [1]. 점검 결과는 보고합니다 [1]. "
    "미흡한 부서는 다시 점검합니다 [1]. 점검표는 보안 담당관이 관리합니다 [1]."
)


@pytest.fixture(scope="module")
def api(sample_index) -> Iterator[Any]:
    """The real app (auth, guardrails, orchestrator) on the sample corpus, its model on two
    replicas whose behaviour each test sets: (TestClient with an API key, replica 1, replica 2)."""
    from conftest import answer_settings, bearer, issue_key
    from fastapi.testclient import TestClient

    from assistant.http.app import build_asgi
    from assistant.service import NuriService

    with Replica("ok", ANSWER) as r1, Replica("ok", ANSWER) as r2:
        llm = settings(r1.url, r2.url).model_dump(exclude={"api_key"})
        s = answer_settings(r1.url, llm=llm, ui={"enabled": False})
        with NuriService(s, index=sample_index) as service, TestClient(build_asgi(s, service)) as client:
            client.headers.update(bearer(issue_key(service)))
            client.admin_headers = bearer(issue_key(service, roles=("admin",)))  # type: ignore[attr-defined]
            yield client, r1, r2


@pytest.mark.slow  # the service (guardrails, encoder) on the sample index: ~30 s on 2 CPU cores
def test_api_answers_from_the_healthy_replica_and_readyz_reports_each(api) -> None:
    client, r1, r2 = api
    for _ in range(2):  # warm-up, one answer from each replica: the next request starts at r1 again
        assert client.post("/v1/ask", json={"question": QUESTION}).status_code == 200
    r1.mode = "hang"
    t0 = time.monotonic()
    resp = client.post("/v1/ask", json={"question": QUESTION})
    elapsed = time.monotonic() - t0
    assert resp.status_code == 200, resp.text
    assert "5월" in resp.json()["answer"] and (r1.generations, r2.generations) == (2, 2)
    assert elapsed < FIRST_TOKEN_S + 2.0, elapsed
    print(f"\n/v1/ask, first replica hanging: {elapsed * 1000:.0f} ms (first_token_timeout_s={FIRST_TOKEN_S})")
    ready = client.get("/readyz", headers=client.admin_headers)
    assert ready.status_code == 200, ready.text
    assert [(e["url"], e["up"]) for e in ready.json()["model_endpoints"]] == [(r1.url, False), (r2.url, True)]


@pytest.mark.slow
def test_api_stream_cut_after_text_ends_with_an_error_event(api) -> None:
    client, r1, r2 = api
    r1.mode = r2.mode = "dies_after_text"
    body = {"model": "nuri", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    t0 = time.monotonic()
    with client.stream("POST", "/v1/chat/completions", json=body) as resp:
        assert resp.status_code == 200, resp.read()
        events = [line.removeprefix("data: ") for line in resp.iter_lines() if line.startswith("data: ")]
    assert time.monotonic() - t0 < 5
    assert "5월" in json.loads(events[1])["choices"][0]["delta"]["content"]  # the text that came
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])["error"]
    assert error["code"] == "model_unavailable" and error["status"] == 503
    assert "답변 생성 중 모델 서버 연결이 끊겼습니다" in error["message"]
    resp = client.post("/v1/ask", json={"question": QUESTION})  # not streamed: a 503 JSON error
    assert resp.status_code == 503 and "다시 질문해 주세요" in resp.json()["error"]["message"]
