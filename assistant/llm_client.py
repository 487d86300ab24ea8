"""The client side of the generative model: the OpenAI-compatible API (what `vllm serve` exposes).

One ``LLMClient`` holds an ``openai.OpenAI`` client per configured endpoint. ``stream`` yields
text deltas from ``/v1/chat/completions`` (``mode: chat``) or ``/v1/completions``
(``mode: completion``, for base models prompted few-shot). Endpoints are tried in order until
one answers; once tokens flow, a failure is reported rather than silently restarted elsewhere.
Every failure becomes :class:`LLMUnavailableError` (no server answered) or
:class:`ModelResponseError` (a server refused the request) with a one-line Korean message.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import openai

from assistant.errors import LLMUnavailableError, ModelResponseError
from assistant.settings import LLMSettings

log = logging.getLogger("nuri.llm")


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


class LLMClient:
    def __init__(self, settings: LLMSettings, base_urls: list[str] | None = None) -> None:
        self.settings = settings
        urls = base_urls or settings.base_urls
        if not urls:
            raise LLMUnavailableError("모델 서버 주소(llm.base_urls)가 설정되지 않았습니다")
        timeout = httpx2.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
        self.endpoints = [
            (url, openai.OpenAI(base_url=url, api_key=settings.api_key, timeout=timeout,
                                max_retries=settings.max_retries))
            for url in urls
        ]  # fmt: skip

    @property
    def model(self) -> str:
        return self.settings.model

    def stream(self, prompt: ModelPrompt, max_tokens: int | None = None) -> Generator[str, None, None]:
        """Text deltas of the model's answer."""
        errors: list[str] = []
        for url, client in self.endpoints:
            try:
                chunks = self._open(client, prompt, max_tokens)
            except (openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError) as e:
                log.warning("model endpoint failed", extra={"url": url, "error": type(e).__name__})
                errors.append(f"{url}: {_describe(e)}")
                continue
            except openai.APIStatusError as e:
                raise ModelResponseError(
                    f"모델 서버가 요청을 거부했습니다 ({url}, HTTP {e.status_code}): {_body(e)}"
                ) from e
            yield from self._deltas(url, chunks)
            return
        raise LLMUnavailableError("모델 서버에 연결할 수 없습니다: " + "; ".join(errors))

    def complete(self, prompt: ModelPrompt, max_tokens: int | None = None) -> str:
        return "".join(self.stream(prompt, max_tokens))

    def list_models(self) -> list[str]:
        """Model ids served by the first endpoint that answers (readiness checks)."""
        errors: list[str] = []
        for url, client in self.endpoints:
            try:
                return [m.id for m in client.with_options(max_retries=0, timeout=5.0).models.list()]
            except openai.OpenAIError as e:
                errors.append(f"{url}: {_describe(e)}")
        raise LLMUnavailableError("모델 서버에 연결할 수 없습니다: " + "; ".join(errors))

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
            "extra_body": s.extra_body or None,
        }
        if prompt.messages is not None:
            kwargs["messages"] = [{"role": m.role, "content": m.content} for m in prompt.messages]
        else:
            kwargs["prompt"] = prompt.text or ""
        return kwargs

    def _open(self, client: openai.OpenAI, prompt: ModelPrompt, max_tokens: int | None) -> Iterable[Any]:
        kwargs = self.request(prompt, max_tokens)
        if "messages" in kwargs:
            return client.chat.completions.create(**kwargs)
        return client.completions.create(**kwargs)

    def _deltas(self, url: str, chunks: Iterable[Any]) -> Iterator[str]:
        try:
            for chunk in chunks:
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                text = choice.delta.content if hasattr(choice, "delta") else choice.text
                if text:
                    yield text
        except (openai.APIConnectionError, openai.APITimeoutError, httpx2.HTTPError) as e:
            raise LLMUnavailableError(f"답변 생성 중 모델 서버 연결이 끊겼습니다 ({url}): {_describe(e)}") from e
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


def _describe(e: Exception) -> str:
    if isinstance(e, openai.APITimeoutError):
        return "시간 초과"
    if isinstance(e, openai.APIConnectionError):
        return "연결 실패"
    if isinstance(e, openai.APIStatusError):
        return f"HTTP {e.status_code}"
    return type(e).__name__


def _body(e: openai.APIStatusError) -> str:
    try:
        data = e.response.json()
        err = data.get("error", data)
        return str(err.get("message", err) if isinstance(err, dict) else err)[:300]
    except ValueError:
        return e.response.text[:300]
