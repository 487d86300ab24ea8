"""The client side of the generative model: the OpenAI-compatible API (what `vllm serve` exposes).

``LLMClient`` talks to one or more replicas of the model (``llm.base_urls``). ``stream`` yields
text deltas from ``/v1/chat/completions`` (``mode: chat``) or ``/v1/completions``
(``mode: completion``, for base models prompted few-shot).

Replicas and failover:

* Requests are spread over the healthy endpoints in turn (round-robin starting point). An
  endpoint that fails (connection error, timeout, HTTP 408/429/5xx, a stream broken before any
  text) is passed over for ``llm.cooldown_s``, doubling with each further failure up to
  ``llm.cooldown_max_s``; endpoints in cooldown are still tried, soonest-available first, after
  the healthy ones failed. A completed answer clears the endpoint's record.
* After every endpoint failed once, ``llm.max_retries`` further rounds follow, with exponential
  backoff and jitter, all within ``llm.deadline_s`` for the whole request.
* Timeouts: ``connect_timeout_s`` to connect, ``first_token_timeout_s`` until the first streamed
  chunk (a replica that accepts the connection and sends nothing), ``timeout_s`` between chunks,
  ``deadline_s`` in all (:mod:`assistant.llm_transport` makes every socket read honour them).
* A stream that breaks before any text reached the caller is retried on another endpoint,
  transparently; after text was yielded it is not restarted (the caller would get the text
  twice): :class:`LLMUnavailableError` says the answer was cut off.
* HTTP 4xx other than 408/429 (a prompt too long for the context, an unknown model) would fail
  on every replica: :class:`ModelResponseError` at once, no failover.

Every failure becomes :class:`LLMUnavailableError` (no server answered: each endpoint's reason
is in the message) or :class:`ModelResponseError` (a server refused the request) with a
one-line Korean message. ``health`` probes every endpoint's ``/v1/models`` (``/readyz``).

Usage: every stream asks for the server's token counts (``stream_options.include_usage``; vLLM
and llama.cpp's ``llama-server`` send them in a last chunk, the bundled llama-cpp-python server
sends none, and then none are counted). Inside :func:`metering` each request
to an endpoint is noted as a :class:`ModelCall` (its tokens as the server reported them, None
when it reported none: nothing is guessed; the time to its first chunk; its duration; its
error), so that the service can put an answer's tokens in its audit record and metrics without
the code in between passing anything along.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx2
import openai

from assistant.errors import LLMUnavailableError, ModelResponseError
from assistant.llm_transport import http_client, read_deadline
from assistant.settings import LLMSettings

log = logging.getLogger("nuri.llm")

_RETRYABLE_STATUS = frozenset({408, 429})  # and every 5xx


@dataclass(slots=True)
class ChatMessage:
    role: str
    content: str


@dataclass(slots=True)
class ModelPrompt:
    """What is sent: chat messages (chat mode) or one prompt string (completion mode)."""

    messages: list[ChatMessage] | None = None
    text: str | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EndpointHealth:
    """One endpoint's answer to a health probe, with what requests have seen of it."""

    url: str
    up: bool  # answered GET /v1/models
    serves_model: bool  # ... and lists ``llm.model``
    models: list[str]
    latency_ms: float
    error: str | None
    failures: int  # consecutive failed requests
    cooling_s: float  # seconds it is still passed over

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class ModelCall:
    """One request to one model endpoint, as this client saw it (an attempt that failed over to
    another endpoint is a call of its own)."""

    model: str
    url: str
    operation: str  # the GenAI operation: ``chat`` or ``text_completion`` (llm.mode)
    started_ns: int  # wall clock (time.time_ns()), for trace spans
    duration_s: float = 0.0
    first_chunk_s: float | None = None  # from sending the request to the first streamed chunk
    tokens_in: int | None = None  # as the server reported them (None: it reported none)
    tokens_out: int | None = None
    error: str | None = None  # what it failed with (an HTTP status, ``timeout``, an exception's name)
    text: bool = False  # it streamed text


@dataclass(slots=True)
class UsageMeter:
    """The model calls made for one answer (:func:`metering`)."""

    calls: list[ModelCall] = field(default_factory=list)

    @property
    def tokens_in(self) -> int | None:
        """Input tokens of every call whose server reported them; None when none did."""
        counted = [c.tokens_in for c in self.calls if c.tokens_in is not None]
        return sum(counted) if counted else None

    @property
    def tokens_out(self) -> int | None:
        counted = [c.tokens_out for c in self.calls if c.tokens_out is not None]
        return sum(counted) if counted else None


_meter: ContextVar[UsageMeter | None] = ContextVar("nuri_llm_meter", default=None)


@contextmanager
def metering(meter: UsageMeter) -> Iterator[UsageMeter]:
    """Note the model calls made inside this block (in this thread's context) in ``meter``.
    Never hold it across a ``yield``: a generator's next step may run in another context."""
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


@dataclass(slots=True)
class _Endpoint:
    url: str
    client: openai.OpenAI
    failures: int = 0
    cooling_until: float = 0.0
    last_error: str | None = None


class _AttemptFailed(Exception):
    """One request to one endpoint failed in a way another endpoint may not (internal)."""

    def __init__(self, reason: str, text_sent: bool) -> None:
        super().__init__(reason)
        self.reason, self.text_sent = reason, text_sent


class LLMClient:
    def __init__(self, settings: LLMSettings, base_urls: list[str] | None = None) -> None:
        self.settings = settings
        urls = base_urls or settings.base_urls
        if not urls:
            raise LLMUnavailableError("모델 서버 주소(llm.base_urls)가 설정되지 않았습니다")
        # One connection pool for all endpoints; the openai client's own retries are off (ours govern).
        self._http = http_client(httpx2.Timeout(settings.timeout_s, connect=settings.connect_timeout_s))
        self._endpoints = [
            _Endpoint(url, openai.OpenAI(base_url=url, api_key=settings.api_key, http_client=self._http, max_retries=0))
            for url in urls
        ]
        self._lock = threading.Lock()
        self._turn = 0

    @property
    def model(self) -> str:
        return self.settings.model

    @property
    def urls(self) -> list[str]:
        return [e.url for e in self._endpoints]

    def close(self) -> None:
        self._http.close()

    # -- answering -------------------------------------------------------------------------
    def stream(self, prompt: ModelPrompt, max_tokens: int | None = None) -> Generator[str, None, None]:
        """Text deltas of the model's answer, from the first endpoint that gives one."""
        s = self.settings
        started = time.monotonic()
        deadline = started + s.deadline_s
        reasons: list[str] = []
        attempt = 0
        for round_ in range(s.max_retries + 1):
            if round_:
                pause = s.backoff_s * 2 ** (round_ - 1) * random.uniform(0.5, 1.5)
                if time.monotonic() + pause >= deadline:
                    break
                time.sleep(pause)
            for ep in self._order():
                if time.monotonic() >= deadline:
                    break
                attempt += 1
                try:
                    yield from self._attempt(ep, prompt, max_tokens, deadline)
                    return
                except _AttemptFailed as failed:
                    reasons.append(f"{ep.url}: {failed.reason}")
                    self._failed(ep, failed.reason, attempt, round_, started)
                    if failed.text_sent:
                        raise LLMUnavailableError(
                            f"답변 생성 중 모델 서버 연결이 끊겼습니다 ({ep.url}: {failed.reason}). "
                            "답변이 중간에 끊겼으니 다시 질문해 주세요"
                        ) from failed
        elapsed = time.monotonic() - started
        limit = f", 제한 시간 {s.deadline_s:g}초 초과" if elapsed >= s.deadline_s else ""
        raise LLMUnavailableError(
            f"모델 서버에 연결할 수 없습니다 (시도 {attempt}회, {elapsed:.1f}초{limit}): " + "; ".join(reasons)
        )

    def complete(self, prompt: ModelPrompt, max_tokens: int | None = None) -> str:
        return "".join(self.stream(prompt, max_tokens))

    def request(self, prompt: ModelPrompt, max_tokens: int | None = None) -> dict[str, Any]:
        """The keyword arguments of the streamed ``create`` call for ``prompt``: generation
        settings, stop sequences (the prompt's, then ``llm.stop``; the API allows 4) and the
        server-specific ``llm.extra_body``."""
        s = self.settings
        kwargs: dict[str, Any] = {
            "model": s.model,
            "max_tokens": max_tokens or s.max_tokens,
            "temperature": s.temperature,
            "frequency_penalty": s.frequency_penalty,
            "stop": list(dict.fromkeys([*prompt.stop, *s.stop]))[:4] or None,
            "stream": True,
            "stream_options": {"include_usage": True},  # the server's token counts, in a last chunk
            "extra_body": s.extra_body or None,
        }
        if prompt.messages is not None:
            kwargs["messages"] = [{"role": m.role, "content": m.content} for m in prompt.messages]
        else:
            kwargs["prompt"] = prompt.text or ""
        return kwargs

    def _attempt(self, ep: _Endpoint, prompt: ModelPrompt, max_tokens: int | None, deadline: float) -> Iterator[str]:
        """The answer from ``ep``; :class:`_AttemptFailed` when another endpoint may do better.
        Inside :func:`metering` the request is noted as a :class:`ModelCall`, failed or not."""
        meter = _meter.get()  # taken now: the stream may be closed later, from another context
        if meter is None:
            yield from self._stream_from(ep, prompt, max_tokens, deadline, None)
            return
        operation = "chat" if prompt.messages is not None else "text_completion"
        call = ModelCall(model=self.model, url=ep.url, operation=operation, started_ns=time.time_ns())
        started = time.monotonic()
        try:
            yield from self._stream_from(ep, prompt, max_tokens, deadline, call)
        except Exception as e:
            call.error = _error_type(e)
            raise
        finally:  # also when the caller stops reading (GeneratorExit): not an error of the call
            call.duration_s = time.monotonic() - started
            meter.calls.append(call)

    def _stream_from(
        self, ep: _Endpoint, prompt: ModelPrompt, max_tokens: int | None, deadline: float, call: ModelCall | None
    ) -> Iterator[str]:
        s = self.settings
        opened = time.monotonic()
        first_by = min(time.monotonic() + s.first_token_timeout_s, deadline)
        sent = started = finished = False
        chunks: Any = None
        try:
            with read_deadline(first_by):
                chunks = self._open(ep.client, prompt, max_tokens)
                _require_event_stream(chunks)
            by = first_by
            while True:
                with read_deadline(by):
                    chunk = next(chunks, None)
                if chunk is None:
                    break
                started = True
                if call is not None:
                    _note_chunk(call, chunk, time.monotonic() - opened)
                if chunk.choices:
                    choice = chunk.choices[0]
                    finished = finished or bool(choice.finish_reason)
                    delta = getattr(choice, "delta", None)
                    text = delta.content if delta is not None else getattr(choice, "text", None)
                    if text is None and not finished and delta is None:
                        raise _AttemptFailed("응답 형식이 잘못됨 (choices[0]에 text도 delta도 없음)", sent)
                    if text:
                        sent = True
                        if call is not None:
                            call.text = True
                        yield text
                now = time.monotonic()
                if now >= deadline:
                    raise _AttemptFailed(f"제한 시간 {s.deadline_s:g}초 초과", sent)
                by = min(now + s.timeout_s, deadline)
            if not finished:
                raise _AttemptFailed("스트림이 완료 표시 없이 끝남", sent)
        except openai.APIStatusError as e:
            if e.status_code in _RETRYABLE_STATUS or e.status_code >= 500:
                raise _AttemptFailed(f"HTTP {e.status_code}: {_body(e)[:120]}", sent) from e
            raise ModelResponseError(
                f"모델 서버가 요청을 거부했습니다 ({ep.url}, HTTP {e.status_code}): {_body(e)}"
            ) from e
        except (openai.APIError, httpx2.HTTPError, ValueError) as e:
            raise _AttemptFailed(self._reason(e, started, deadline), sent) from e
        finally:
            if chunks is not None:
                chunks.close()  # also when the caller stops early: the server stops generating
        self._succeeded(ep)

    def _open(self, client: openai.OpenAI, prompt: ModelPrompt, max_tokens: int | None) -> Any:
        kwargs = self.request(prompt, max_tokens)
        if "messages" in kwargs:
            return client.chat.completions.create(**kwargs)
        return client.completions.create(**kwargs)

    def _reason(self, e: Exception, started: bool, deadline: float) -> str:
        """Why an attempt failed, in Korean, for the error message and the log."""
        s = self.settings
        cause = e.__cause__ if isinstance(e, openai.APIConnectionError) and e.__cause__ is not None else e
        if isinstance(cause, httpx2.ConnectTimeout):
            return f"연결 시간 초과 ({s.connect_timeout_s:g}초)"
        if isinstance(e, openai.APITimeoutError) or isinstance(cause, httpx2.TimeoutException):
            if time.monotonic() >= deadline - 0.01:
                return f"제한 시간 {s.deadline_s:g}초 초과"
            if not started:
                return f"첫 응답 없음 ({s.first_token_timeout_s:g}초)"
            return f"응답 중단 ({s.timeout_s:g}초 동안 다음 토큰 없음)"
        if isinstance(cause, httpx2.ConnectError):
            return "연결 실패"
        if isinstance(e, openai.APIConnectionError | httpx2.HTTPError):
            return "응답 도중 연결 끊김" if started else "응답 전에 연결 끊김"
        if isinstance(e, openai.APIError):
            return f"스트림 오류: {e.message[:200]}"
        if isinstance(e, json.JSONDecodeError):
            return "잘못된 응답: 스트림의 data가 JSON이 아님"
        return f"잘못된 응답 ({type(e).__name__})"

    # -- endpoint state --------------------------------------------------------------------
    def _order(self) -> list[_Endpoint]:
        """This request's endpoints: the healthy ones in turn (each request starts one further),
        then those in cooldown, soonest available first."""
        with self._lock:
            now = time.monotonic()
            healthy = [e for e in self._endpoints if e.cooling_until <= now]
            cooling = sorted((e for e in self._endpoints if e.cooling_until > now), key=lambda e: e.cooling_until)
            k = self._turn % len(healthy) if healthy else 0
            self._turn += 1
        return healthy[k:] + healthy[:k] + cooling

    def _failed(self, ep: _Endpoint, reason: str, attempt: int, round_: int, started: float) -> None:
        s = self.settings
        with self._lock:
            now = time.monotonic()
            if ep.cooling_until <= now:  # failures of requests already in flight count once
                ep.failures += 1
                ep.cooling_until = now + min(s.cooldown_s * 2 ** (ep.failures - 1), s.cooldown_max_s)
            ep.last_error = reason
            failures, cooldown = ep.failures, ep.cooling_until - now
        log.warning(
            "model endpoint failed",
            extra={
                "url": ep.url,
                "reason": reason,
                "attempt": attempt,
                "round": round_,
                "failures": failures,
                "cooldown_s": round(cooldown, 1),
                "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )

    def _succeeded(self, ep: _Endpoint) -> None:
        with self._lock:
            recovered = ep.failures > 0
            ep.failures, ep.cooling_until, ep.last_error = 0, 0.0, None
        if recovered:
            log.info("model endpoint recovered", extra={"url": ep.url})

    # -- health ----------------------------------------------------------------------------
    def health(self, until_ready: bool = False) -> list[EndpointHealth]:
        """Probe ``GET /v1/models`` of every endpoint at once (each within ``llm.health_timeout_s``),
        or, with ``until_ready``, one after the other (healthy first) until one serves the model."""
        if until_ready:
            with self._lock:
                now = time.monotonic()
                order = sorted(self._endpoints, key=lambda e: max(e.cooling_until - now, 0.0))
            out = []
            for ep in order:
                out.append(self._probe(ep))
                if out[-1].serves_model:
                    break
            return out
        with ThreadPoolExecutor(max_workers=len(self._endpoints), thread_name_prefix="llm-probe") as pool:
            return list(pool.map(self._probe, self._endpoints))

    def list_models(self) -> list[str]:
        """Model ids served by the first endpoint that answers (healthy ones first)."""
        probes = self.health(until_ready=True)
        for probe in probes:
            if probe.up:
                return probe.models
        raise LLMUnavailableError("모델 서버에 연결할 수 없습니다: " + "; ".join(f"{p.url}: {p.error}" for p in probes))

    def _probe(self, ep: _Endpoint) -> EndpointHealth:
        s = self.settings
        timeout = httpx2.Timeout(s.health_timeout_s, connect=min(s.connect_timeout_s, s.health_timeout_s))
        t0 = time.monotonic()
        models: list[str] = []
        error = None
        try:
            models = [m.id for m in ep.client.with_options(timeout=timeout, max_retries=0).models.list()]
        except openai.APIStatusError as e:
            error = f"HTTP {e.status_code}"
        except openai.APIConnectionError as e:
            error = "시간 초과" if isinstance(e, openai.APITimeoutError) else "연결 실패"
        except (openai.OpenAIError, httpx2.HTTPError, ValueError) as e:
            error = type(e).__name__
        latency = (time.monotonic() - t0) * 1000
        with self._lock:
            failures, cooling = ep.failures, max(ep.cooling_until - time.monotonic(), 0.0)
        return EndpointHealth(
            url=ep.url,
            up=error is None,
            serves_model=self.model in models,
            models=models,
            latency_ms=round(latency, 1),
            error=error,
            failures=failures,
            cooling_s=round(cooling, 1),
        )


def _note_chunk(call: ModelCall, chunk: Any, elapsed_s: float) -> None:
    """The time to the first chunk, and the token counts of a chunk that carries the server's usage
    (the last one, with ``include_usage``; a server that repeats them per chunk sends running totals)."""
    if call.first_chunk_s is None:
        call.first_chunk_s = elapsed_s
    usage = getattr(chunk, "usage", None)
    if usage is None:
        return
    prompt_tokens, completion_tokens = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
    if isinstance(prompt_tokens, int):
        call.tokens_in = prompt_tokens
    if isinstance(completion_tokens, int):
        call.tokens_out = completion_tokens


def _error_type(e: BaseException) -> str:
    """A failed call's ``error.type`` (few values: an HTTP status, ``timeout``, an exception's name)."""
    cause: BaseException = e
    while isinstance(cause, _AttemptFailed | ModelResponseError) and cause.__cause__ is not None:
        cause = cause.__cause__
    if isinstance(cause, openai.APIStatusError):
        return str(cause.status_code)
    if isinstance(cause, openai.APITimeoutError | httpx2.TimeoutException):
        return "timeout"
    if isinstance(cause, openai.APIConnectionError | httpx2.ConnectError):
        return "connection"
    return type(cause).__name__


def _require_event_stream(chunks: Any) -> None:
    """A 200 that is not a server-sent event stream (a proxy's HTML page, a JSON body from a
    server that ignored ``stream``) fails with what it was, not as an empty answer."""
    response = getattr(chunks, "response", None)
    ctype = response.headers.get("content-type", "") if response is not None else "text/event-stream"
    if "text/event-stream" in ctype:
        return
    try:
        snippet = " ".join(response.read().decode("utf-8", "replace").split())[:120] if response is not None else ""
    except httpx2.HTTPError:
        snippet = ""
    kind = "HTML 페이지" if "html" in ctype or snippet.startswith("<") else "스트림이 아닌 응답"
    raise _AttemptFailed(f"{kind} ({ctype or '형식 없음'}): {snippet or '(빈 응답)'}", False)


def _body(e: openai.APIStatusError) -> str:
    try:
        data = e.response.json()
        err = data.get("error", data)
        return str(err.get("message", err) if isinstance(err, dict) else err)[:300]
    except ValueError:
        return e.response.text[:300]
