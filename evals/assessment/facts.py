"""Gathering the report: read-only, from the stores of this server's configuration, opened the way
``nuri usage`` and ``nuri eval items`` open them (``keys.url``: API keys, assistants, the sync
log; ``audit.url``: the audit trail; ``eval.history_url``: eval runs; the index).

One pass over the period's audit records (:class:`AuditTally`) counts usage (the rules of
:mod:`assistant.usage`), guardrail decisions by check and action, refused attacks by day, the
callers seen and each (model, prompt version) pair that answered. Eval runs come from the history:
each suite's latest run in the period with each metric's confidence interval and the change since
the suite's previous run, both the paired bootstrap of ``nuri eval compare`` (:func:`evals.compare.compare`;
a run's own interval is its comparison with a run that scored 0 on every question, which resamples
exactly its per-question scores). The index is read through its store alone, without loading the
embedder: the listing is :meth:`retrieval.index.NuriIndex.list_documents`' own query (operator
principal), and the embedder and dimension are those the index records.

A store that cannot be opened or read never stops the report: the section says why, and the
reason joins :attr:`~evals.assessment.model.AssessmentReport.missing`. With an assistant, usage,
decisions, incidents, eval runs and the change log are narrowed to it (audit records name it in
``assistant``; eval runs in ``assistant``).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.errors import NuriError
from evals.assessment import fields as operator_fields
from evals.assessment.masking import host_of, mask_tree
from evals.assessment.model import (
    SECTIONS,
    AccountabilitySection,
    AccuracySection,
    AssessmentReport,
    AssistantListing,
    AssistantView,
    ChangeEntry,
    CheckSetting,
    DataSection,
    DayCount,
    DecisionCount,
    IncidentSection,
    IndexFacts,
    KeyFacts,
    MetricChange,
    MetricResult,
    MissingItem,
    OperatorSection,
    OverviewSection,
    Period,
    PersonalData,
    PromptUse,
    SafeguardSection,
    SectionId,
    SettingsChangeEntry,
    SourceInfo,
    SuiteResult,
    TrailEvent,
    UsageTotals,
    VerifyFacts,
)
from evals.assessment.system import system_section

if TYPE_CHECKING:
    from assistant.assistants import Assistant
    from assistant.usage import UsageRow
    from configs.settings import Settings
    from evals.results import RunResult
    from guardrails.audit import AuditRecord, VerifyReport

log = logging.getLogger("nuri.assess")

#: Newest eval runs looked at (the period's are among them on any real history).
MAX_RUNS = 500
#: Failed files listed per source.
MAX_FAILURES = 20
PLATFORM_LABEL = "(플랫폼 기본)"
#: What the access levels mean (connectors.types.Clearance and the reading rule of retrieval.types.Principal).
ACCESS_LEVELS = {
    "public": "공개: 모든 사용자가 읽을 수 있음 (기관 없는 사용자 포함)",
    "internal": "내부: 같은 기관의 internal 이상 등급 사용자만",
    "restricted": "제한: 같은 기관의 restricted 등급 사용자만",
}
#: What the platform cannot know (shown under 사고·이상 징후).
LIMITS = [
    "감사 기록 쓰기에 실패한 요청은 기록에 없습니다 (그런 요청에는 답변하지 않지만, 시도 자체는 애플리케이션 로그에만 남습니다).",
    "인증 실패(401), 요청 한도 초과(429), 잘못된 입력, 감사 저장소 장애로 기록 전에 거절된 요청은 세지 않습니다.",
    "중간에 끊긴 답변은 보낸 데까지의 글로 기록되며 정상 답변과 구별되지 않습니다 (인용 없는 답변 수에 포함될 수 있음).",
    "질문은 가려진(마스킹된) 형태로만 저장되므로 원래 질문에 있던 개인정보의 내용은 알 수 없습니다.",
    "답변이 실제로 업무에 어떻게 쓰였는지, 사용자가 답을 확인했는지는 기록되지 않습니다 (운영자 기재 사항의 '사람의 관여').",
    "기간 밖이나 보존 기간(audit.retention_days)이 지나 삭제된 기록은 집계에 없습니다.",
]


def default_period(now: datetime, days: int) -> Period:
    return Period(since=now - timedelta(days=days), until=now)


def find_assistant(settings: Settings, assistant_id: str) -> Assistant | None:
    from assistant.assistants import AssistantStore

    with AssistantStore.from_settings(settings.keys, settings.resolve(settings.data_dir), settings.home) as store:
        return store.get(assistant_id)


# -- the audit trail, in one pass ------------------------------------------------------------------
@dataclass
class AuditTally:
    """Everything the report counts from the period's audit records."""

    assistant_id: str | None = None
    total: UsageRow | None = None
    by_assistant: dict[str, UsageRow] = field(default_factory=dict)
    decisions: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    days: dict[str, Counter[str]] = field(default_factory=dict)
    principals: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    prompt_uses: dict[tuple[str | None, str | None], list[Any]] = field(default_factory=dict)
    blocked_attacks: int = 0
    context_flags: int = 0
    uncited_answers: int = 0
    trail_events: list[TrailEvent] = field(default_factory=list)

    def feed(self, records: Iterable[AuditRecord]) -> None:
        from assistant.usage import UsageRow, is_search, is_usage

        self.total = self.total or UsageRow(group={})
        for r in records:
            if r.endpoint.startswith("audit."):
                reason = r.decisions[0].reason if r.decisions else ""
                self.trail_events.append(TrailEvent(seq=r.seq, at=r.ts, endpoint=r.endpoint, detail=reason))
                continue
            if not is_usage(r) or (self.assistant_id is not None and r.assistant != self.assistant_id):
                continue
            self.total.add(r)
            self.by_assistant.setdefault(r.assistant or PLATFORM_LABEL, UsageRow(group={})).add(r)
            kind = (r.principal_id or "없음").split(":", 1)[0]
            self.principals[kind].add(r.principal_id or "")
            day = self.days.setdefault(r.ts[:10], Counter())
            names = Counter((d.name, d.action) for d in r.decisions)
            for d in r.decisions:
                self.decisions[(d.name, d.action, d.stage)] += 1
            attack = {"injection_blocks": names[("injection", "block")], "policy_blocks": names[("policy", "block")]}
            context = sum(n for (name, _), n in names.items() if name == "context")
            searched = is_search(r)
            day["injection_blocks"] += min(attack["injection_blocks"], 1)
            day["policy_blocks"] += min(attack["policy_blocks"], 1)
            day["context_flags"] += context
            day["output_pii"] += min(sum(n for (name, _), n in names.items() if name == "output_pii"), 1)
            day["refusals"] += int(r.refused and not searched)
            self.blocked_attacks += int(any(attack.values()))
            self.context_flags += context
            if not searched:
                if not r.refused and not r.citations and r.answer:
                    self.uncited_answers += 1
                use = self.prompt_uses.get((r.model, r.prompt_version))
                if use is None:
                    self.prompt_uses[(r.model, r.prompt_version)] = [r.ts, r.ts, 1]
                else:
                    use[1], use[2] = r.ts, use[2] + 1


def _totals(row: UsageRow | None) -> UsageTotals:
    if row is None:
        return UsageTotals()
    return UsageTotals(**{k: getattr(row, k) for k in UsageTotals.model_fields})


# -- eval runs ------------------------------------------------------------------------------------
def _when(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _zero_baseline(run: RunResult) -> RunResult:
    """``run`` with every measured score and latency 0: compared against it, the paired bootstrap
    of :func:`evals.compare.compare` resamples ``run``'s own per-question values."""
    items = [
        it.model_copy(update={
            "scores": {k: 0.0 for k in it.scores},
            "latency_ms": None if it.latency_ms is None else 0.0,
            "first_token_ms": None if it.first_token_ms is None else 0.0,
        })
        for it in run.items
    ]  # fmt: skip
    metrics = {k: None if v is None else 0.0 for k, v in run.metrics.items()}
    return run.model_copy(update={"items": items, "metrics": metrics, "run_id": f"{run.run_id}-zero"})


def metric_results(run: RunResult, n_boot: int, confidence: float) -> list[MetricResult]:
    from evals.compare import compare
    from evals.results import METRIC_BY_NAME, METRICS

    intervals = {d.metric: d for d in compare(_zero_baseline(run), run, n_boot=n_boot, confidence=confidence).deltas}
    order = [m.name for m in METRICS if m.name in run.metrics] + sorted(set(run.metrics) - set(METRIC_BY_NAME))
    out = []
    for name in order:
        spec, d = METRIC_BY_NAME.get(name), intervals.get(name)
        measured = d is not None and d.ci_low is not None
        out.append(
            MetricResult(
                metric=name,
                value=run.metrics.get(name),
                ci_low=d.ci_low if measured and d else None,
                ci_high=d.ci_high if measured and d else None,
                n=d.n if d else 0,
                higher_is_better=spec.higher_is_better if spec else None,
                unit=spec.unit if spec else "",
                note=run.notes.get(name, ""),
            )
        )
    return out


def suite_result(run: RunResult, previous: RunResult | None, n_boot: int, confidence: float) -> SuiteResult:
    from evals.compare import compare

    changes: list[MetricChange] = []
    paired = None
    if previous is not None:
        comp = compare(previous, run, n_boot=n_boot, confidence=confidence)
        paired = comp.paired
        changes = [
            MetricChange(metric=d.metric, previous=d.a, latest=d.b, delta=d.delta, ci_low=d.ci_low,
                         ci_high=d.ci_high, verdict=d.verdict)
            for d in comp.deltas if d.a is not None or d.b is not None
        ]  # fmt: skip
    return SuiteResult(
        suite=run.suite,
        run_id=run.run_id,
        started_at=run.started_at,
        model=run.model,
        prompt_version=run.prompt_version,
        guardrails=run.guardrails,
        items=run.dataset.items,
        ran_by=run.ran_by,
        principal=run.principal.label(),
        assistant=run.assistant,
        metrics=metric_results(run, n_boot, confidence),
        previous_run_id=previous.run_id if previous else None,
        previous_started_at=previous.started_at if previous else None,
        paired=paired,
        changes=changes,
    )


def accuracy_section(settings: Settings, period: Period, assistant_id: str | None) -> AccuracySection:
    from evals.history import History

    cfg = settings.eval
    with History.from_settings(settings) as history:
        summaries = history.list_runs(limit=MAX_RUNS)
        loaded: dict[str, RunResult] = {}

        def load(run_id: str) -> RunResult:
            if run_id not in loaded:
                loaded[run_id] = history.get(run_id)
            return loaded[run_id]

        def matches(run: RunResult) -> bool:
            return assistant_id is None or run.assistant == assistant_id

        in_period = [s for s in summaries if (w := _when(s.started_at)) and period.since <= w < period.until]
        runs = [load(s.run_id) for s in in_period]
        runs = [r for r in runs if matches(r)]
        latest: dict[tuple[str, str | None], RunResult] = {}
        for run in runs:  # newest first
            latest.setdefault((run.suite, run.assistant), run)
        results = []
        position = {s.run_id: i for i, s in enumerate(summaries)}
        for (suite, who), run in sorted(latest.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            older = [s for s in summaries[position[run.run_id] + 1 :] if s.suite == suite]
            previous = next((r for r in (load(s.run_id) for s in older) if r.assistant == who), None)
            results.append(suite_result(run, previous, cfg.bootstrap_samples, cfg.confidence))
    return AccuracySection(
        confidence=cfg.confidence, bootstrap_samples=cfg.bootstrap_samples, runs_in_period=len(runs), suites=results
    )


# -- the other stores -----------------------------------------------------------------------------
def key_facts(settings: Settings, assistant: Assistant | None) -> KeyFacts:
    from assistant.callers import caller_from_record
    from guardrails.keys import KeyStore

    with KeyStore.from_settings(settings.keys, settings.resolve(settings.data_dir), settings.home) as store:
        keys = store.list(include_revoked=True)
    active = [k for k in keys if k.active]
    roles: Counter[str] = Counter(r for k in active for r in k.roles)
    return KeyFacts(
        active=len(active),
        revoked=len(keys) - len(active),
        by_agency=dict(sorted(Counter(k.agency for k in active).items())),
        by_role=dict(sorted(roles.items())),
        by_clearance=dict(sorted(Counter(str(k.clearance) for k in active).items())),
        may_use_assistant=sum(1 for k in active if assistant.usable_by(caller_from_record(k)))
        if assistant is not None
        else None,
    )


def _verify_facts(report: VerifyReport) -> VerifyFacts:
    return VerifyFacts(ok=report.ok, records=report.records, head_seq=report.head_seq, keyed=report.keyed,
                       unverifiable=report.unverifiable, checkpoint_file=report.checkpoint_file,
                       checkpoints=report.checkpoints, issues=[i.line() for i in report.issues])  # fmt: skip


def source_facts(settings: Settings) -> list[SourceInfo]:
    from assistant.sync_log import SyncLog

    with SyncLog.from_settings(settings.keys, settings.resolve(settings.data_dir), settings.home) as sync_log:
        sources = sync_log.sources()
    return [
        SourceInfo(root=s.root, kind=s.last_run.kind, last_run_at=s.last_run.finished_at, last_run_ok=s.last_run.ok,
                   added=s.last_run.added, updated=s.last_run.updated, removed=s.last_run.removed,
                   unchanged=s.last_run.unchanged, failed=s.last_run.failed,
                   failures=[f"{f.file}: {f.reason}" for f in s.last_run.failures[:MAX_FAILURES]],
                   last_success_at=s.last_success_at, runs=s.runs)
        for s in sources
    ]  # fmt: skip


def index_facts(settings: Settings, assistant: Assistant | None) -> tuple[IndexFacts, dict[str, object] | None]:
    """The index's documents (operator view) and its metadata; never raises: an index that
    cannot be opened is reported as such."""
    from retrieval.index import build_filter, open_store, summarize
    from retrieval.store import DOCUMENT_FIELDS
    from retrieval.types import Principal

    s = settings.index
    if s.backend == "qdrant":
        location = f"{host_of(s.url) if s.url else s.local_path or '-'} / {s.collection}"
    else:
        location = str(settings.resolve(settings.index_dir))
    try:
        store = open_store(settings.retrieval, settings.resolve(settings.index_dir), None, False)
    except (NuriError, OSError) as e:
        return IndexFacts(available=False, reason=str(e), backend=s.backend, location=location), None
    try:
        meta = store.read_meta()
        operator = Principal(operator=True)
        docs = summarize(store.scroll_points(build_filter(None, operator), DOCUMENT_FIELDS))
        in_scope: int | None = None
        in_scope_access: dict[str, int] = {}
        if assistant is not None:
            from assistant.assistants import resolve_scope

            scope = resolve_scope(assistant.scope, ((d.doc_id, d.source, d.title, d.doc_type) for d in docs))
            scoped = summarize(store.scroll_points(build_filter(None, operator.narrowed(scope)), DOCUMENT_FIELDS))
            in_scope, in_scope_access = len(scoped), dict(sorted(Counter(d.access for d in scoped).items()))
    except NuriError as e:
        return IndexFacts(available=False, reason=str(e), backend=s.backend, location=location), None
    finally:
        store.close()
    agencies: Counter[str] = Counter(a for d in docs for a in (d.agencies or [""]))
    return (
        IndexFacts(
            available=True, backend=s.backend, location=location, documents=len(docs),
            chunks=sum(d.chunks for d in docs),
            by_doc_type=dict(sorted(Counter(d.doc_type or "(없음)" for d in docs).items())),
            by_agency=dict(sorted((a or "(기관 없음)", n) for a, n in agencies.items())),
            by_access=dict(sorted(Counter(d.access for d in docs).items())),
            in_scope=in_scope, in_scope_by_access=in_scope_access,
        ),
        meta,
    )  # fmt: skip


def assistant_view(a: Assistant) -> AssistantView:
    import hashlib

    return AssistantView(
        id=a.id, name=a.name, agency=a.agency, description=a.description, default=a.default,
        users=a.users.model_dump(mode="json"), scope=a.scope.model_dump(mode="json"), model=a.model.model,
        endpoints=[host_of(u) for u in a.model.base_urls], mode=a.model.mode, generation=a.model.generation,
        guardrails=a.guardrails.model_dump(mode="json"), prompt=a.prompt,
        prompt_sha256=hashlib.sha256(a.prompt.encode("utf-8")).hexdigest()[:12] if a.prompt else None,
        created_at=a.created_at, updated_at=a.updated_at, created_by=a.created_by,
    )  # fmt: skip


def _masked_definition(definition: dict[str, object] | None) -> dict[str, object] | None:
    if definition is None:
        return None
    model = definition.get("model")
    if isinstance(model, dict) and isinstance(model.get("base_urls"), list):
        definition = {**definition, "model": {**model, "base_urls": [host_of(str(u)) for u in model["base_urls"]]}}
    masked: dict[str, object] = mask_tree(definition)
    return masked


def check_settings(settings: Settings) -> list[CheckSetting]:
    g, a = settings.guardrails, settings.answer
    topics = ", ".join(f"{t.id}({t.action})" for t in g.policy.topics)
    return [
        CheckSetting(check="pii", title="개인정보 탐지", enabled=g.pii.enabled, action=g.pii.action,
                     detail=f"유형: {', '.join(g.pii.types)}; 문맥 속 성명 탐지 {'켬' if g.pii.names else '끔'}"),
        CheckSetting(check="injection", title="프롬프트 주입·탈옥 차단", enabled=g.injection.enabled,
                     action=g.injection.action,
                     detail=f"규칙 {'켬' if g.injection.rules else '끔'}, 분류기 {'켬' if g.injection.classifier else '끔'}"),
        CheckSetting(check="policy", title="정책 위반 요청 거절", enabled=g.policy.enabled,
                     action="block/warn (주제별)", detail=f"주제: {topics}"),
        CheckSetting(check="context", title="검색 문서 속 지시문 검사", enabled=g.context.enabled,
                     action=g.context.action,
                     detail=f"규칙 {'켬' if g.context.rules else '끔'}, 모델 {'켬' if g.context.model else '끔'}"),
        CheckSetting(check="output_pii", title="출력 개인정보 가림", enabled=g.output.mask_pii, action="mask",
                     detail="답변·인용문·검색 결과의 개인정보를 가림"),
        CheckSetting(check="answerability", title="근거 부족 시 답변 거절", enabled=a.answerability.enabled,
                     action="refuse",
                     detail=f"최소 관련도 {a.min_relevance}, 답변 불가 확률 임계값 {a.answerability.threshold}"),
    ]  # fmt: skip


# -- the report -----------------------------------------------------------------------------------
def gather(
    settings: Settings,
    period: Period,
    assistant: Assistant | None = None,
    fields_file: Path | None = None,
    now: datetime | None = None,
) -> AssessmentReport:
    """The report for ``period`` (narrowed to ``assistant`` when given). ``fields_file``: the
    operator's fields (default ``assess.fields_file``); a malformed one raises
    :class:`~evals.assessment.fields.FieldsError`."""
    from guardrails.audit import AuditStore

    now = now or datetime.now(UTC)
    data_dir = settings.resolve(settings.data_dir)
    missing: list[MissingItem] = []

    def lack(section: SectionId, item: str, detail: str = "") -> None:
        missing.append(MissingItem(section=section, item=item, detail=detail))

    fields_path = fields_file or settings.resolve(settings.assess.fields_file)
    fields, found = operator_fields.load_fields(fields_path)
    blank = operator_fields.unfilled(fields)
    if not found:
        lack("operator", "운영자 기재 사항 파일이 없습니다",
             f"{fields_path} — `nuri assess fields --init {fields_path}`로 만들고 채우세요")  # fmt: skip
    for name in blank if found else []:
        lack("operator", f"미기재: {name}", str(fields_path))
    if fields.review_date is not None and fields.review_date < now.date():
        lack("operator", "다음 검토일이 지났습니다", fields.review_date.isoformat())

    aid = assistant.id if assistant is not None else None
    # audit trail: one pass over the period's records, then the chain check
    tally = AuditTally(assistant_id=aid)
    verify: VerifyFacts | None = None
    audit_error = verify_error = None
    if not settings.audit.enabled:
        lack(
            "accountability",
            "감사 기록이 꺼져 있습니다 (audit.enabled: false)",
            "사용·차단 집계와 무결성 검증이 없습니다",
        )
    try:
        with AuditStore.from_settings(settings.audit, data_dir, settings.home) as audit:
            tally.feed(audit.records(period.since, period.until))
            try:
                verify = _verify_facts(audit.verify())
            except NuriError as e:
                verify_error = str(e)
    except NuriError as e:
        audit_error = str(e)
        lack("safeguards", "감사 기록을 읽지 못했습니다", audit_error)
    if verify is None:
        lack("accountability", "감사 기록 무결성을 검증하지 못했습니다", verify_error or audit_error or "")
    elif not verify.ok:
        lack("accountability", "감사 기록 무결성 검증 실패", verify.issues[0] if verify.issues else "")
    if not settings.audit.chain_key:
        lack(
            "accountability",
            "감사 체인 키가 없습니다 (audit.chain_key)",
            "DB를 쓸 수 있는 사람이 기록을 고쳐 쓰면 알아낼 수 없습니다",
        )

    # data
    index, index_meta = index_facts(settings, assistant)
    if not index.available:
        lack("data", "색인을 열지 못했습니다", index.reason or "")
    sources: list[SourceInfo] = []
    sources_error = None
    try:
        sources = source_facts(settings)
    except NuriError as e:
        sources_error = str(e)
        lack("data", "동기화 기록을 읽지 못했습니다", sources_error)
    if not sources and sources_error is None:
        lack("data", "동기화 기록이 없습니다", "nuri ingest로 색인한 원천 폴더의 기록이 없습니다")

    # accuracy
    try:
        accuracy = accuracy_section(settings, period, aid)
    except NuriError as e:
        accuracy = AccuracySection(confidence=settings.eval.confidence, bootstrap_samples=settings.eval.bootstrap_samples,
                                   runs_in_period=0, suites=[], error=str(e))  # fmt: skip
        lack("accuracy", "평가 기록을 읽지 못했습니다", str(e))
    if accuracy.error is None and not accuracy.suites:
        lack("accuracy", "기간 중 평가 실행이 없습니다",
             "nuri eval run" + (f" --assistant {aid}" if aid else "") + " 으로 정확성·안전성을 측정하세요")  # fmt: skip
    if accuracy.suites and not any(s.suite == "safety" for s in accuracy.suites):
        lack("accuracy", "기간 중 안전성 평가(safety 묶음) 실행이 없습니다", "nuri eval run safety")

    # accountability
    keys = None
    keys_error = None
    try:
        keys = key_facts(settings, assistant)
    except NuriError as e:
        keys_error = str(e)
        lack("accountability", "API 키 목록을 읽지 못했습니다", keys_error)
    listings: list[AssistantListing] = []
    changes: list[ChangeEntry] = []
    changes_error = None
    try:
        from assistant.assistants import AssistantStore

        with AssistantStore.from_settings(settings.keys, data_dir, settings.home) as store:
            listings = [AssistantListing(id=a.id, name=a.name, agency=a.agency, updated_at=a.updated_at)
                        for a in (store.all() if assistant is None else [assistant])]  # fmt: skip
            changes = [
                ChangeEntry(seq=c.seq, at=c.at, assistant_id=c.assistant_id, action=c.action, subject=c.subject,
                            definition=_masked_definition(c.definition))
                for c in store.changes(period.since, period.until, aid)
            ]  # fmt: skip
    except NuriError as e:
        changes_error = str(e)
        lack("accountability", "도우미 변경 기록을 읽지 못했습니다", changes_error)
    baseline, settings_changes, settings_error = settings_history(settings, data_dir, period)
    if settings_error is not None:
        lack("accountability", "설정 변경 기록을 읽지 못했습니다", settings_error)
    elif baseline is None and not settings_changes:
        lack("accountability", "설정 기록이 없습니다", "서버(nuri serve)를 한 번 시작하면 그때의 설정이 기록됩니다")
    uses = [
        PromptUse(model=m, prompt_version=p, first_seen=datetime.fromisoformat(v[0]),
                  last_seen=datetime.fromisoformat(v[1]), answers=v[2])
        for (m, p), v in sorted(tally.prompt_uses.items(), key=lambda kv: kv[1][0])
    ]  # fmt: skip
    versions_seen = sorted({u.prompt_version for u in uses if u.prompt_version})
    principals = {kind: len(ids) for kind, ids in sorted(tally.principals.items())}
    accountability = AccountabilitySection(
        keys=keys, keys_error=keys_error,
        assistant_users=assistant.users.model_dump(mode="json") if assistant is not None else None,
        principals_seen=principals, audit_enabled=settings.audit.enabled,
        retention_days=settings.audit.retention_days, chain_keyed=settings.audit.chain_key is not None,
        checkpoint_file=settings.audit.checkpoint_file, verify=verify, verify_error=verify_error or audit_error,
        assistants=listings, changes=changes, changes_error=changes_error, model_prompt_uses=uses,
        settings_baseline=baseline, settings_changes=settings_changes, settings_error=settings_error,
    )  # fmt: skip
    if settings.audit.retention_days == 0:
        lack("accountability", "감사 기록 보존 기간이 정해져 있지 않습니다 (audit.retention_days: 0 = 영구 보존)",
             "기관의 기록물 보존 기준에 맞춰 정하세요")  # fmt: skip

    # safeguards
    g = settings.guardrails
    safeguards = SafeguardSection(
        checks=check_settings(settings),
        assistant_guardrails=assistant.guardrails.model_dump(mode="json") if assistant is not None else None,
        usage=_totals(tally.total) if audit_error is None else None,
        usage_by_assistant={k: _totals(v) for k, v in sorted(tally.by_assistant.items())},
        decisions=[DecisionCount(check=c, action=a, stage=s, count=n)
                   for (c, a, s), n in sorted(tally.decisions.items())],
        personal_data=PersonalData(
            pii_enabled=g.pii.enabled, pii_action=g.pii.action, pii_types=list(g.pii.types),
            pseudonymisation=g.pii.enabled and g.pii.action == "pseudonymise", output_masking=g.output.mask_pii,
            audit_stores_question=settings.audit.store_question, audit_stores_answer=settings.audit.store_answer,
            audit_stores_retrieved=settings.audit.store_retrieved,
        ),
        error=audit_error,
    )  # fmt: skip
    for check in safeguards.checks:
        if not check.enabled:
            lack("safeguards", f"보호조치가 꺼져 있습니다: {check.title} ({check.check})")

    incidents = IncidentSection(
        by_day=[DayCount(day=d, **tally.days[d]) for d in sorted(tally.days) if any(tally.days[d].values())],
        blocked_attacks=tally.blocked_attacks, context_flags=tally.context_flags,
        refusals=tally.total.refusals if tally.total else 0, uncited_answers=tally.uncited_answers,
        trail_events=tally.trail_events, sync_failures=sum(s.failed for s in sources),
        verify_issues=len(verify.issues) if verify else 0, limits=LIMITS,
    )  # fmt: skip

    system = system_section(settings, assistant, index_meta, versions_seen)
    for m in system.bundled_models:
        if m.selected and m.licence == "확인 필요":
            lack("system", f"내장 모델 {m.name}의 라이선스가 확인되지 않았습니다", "docs/MODELS.md")
    if system.prompt_version is None:
        lack("system", "프롬프트 템플릿을 읽지 못했습니다", settings.answer.prompt_dir or "")

    subject = (
        "누리 플랫폼 전체" if assistant is None else f"도우미 {assistant.name} ({assistant.id}, {assistant.agency})"
    )
    order = list(SECTIONS)
    return AssessmentReport(
        generated_at=now,
        period=period,
        assistant=assistant_view(assistant) if assistant is not None else None,
        overview=OverviewSection(subject=subject, purpose=fields.purpose, owner=fields.owner),
        system=system,
        data=DataSection(sources=sources, sources_error=sources_error, index=index, access_levels=ACCESS_LEVELS),
        accuracy=accuracy,
        safeguards=safeguards,
        accountability=accountability,
        incidents=incidents,
        operator=OperatorSection(file=str(fields_path), found=found, fields=fields, unfilled=blank),
        missing=sorted(missing, key=lambda m: order.index(m.section)),
    )


def settings_history(
    settings: Settings, data_dir: Path, period: Period
) -> tuple[SettingsChangeEntry | None, list[SettingsChangeEntry], str | None]:
    """(the configuration in force when the period began, each configuration a server started
    with in the period and what changed from the one before, an error) from
    :mod:`assistant.settings_log`."""
    from assistant.settings_log import SettingsLog, changed_settings

    try:
        with SettingsLog.from_settings(settings.keys, data_dir, settings.home) as log_:
            found = log_.snapshots(period.since, period.until)
    except NuriError as e:
        return None, [], str(e)
    baseline = None
    entries: list[SettingsChangeEntry] = []
    previous: dict[str, object] | None = None
    for snap in found:
        entry = SettingsChangeEntry(
            at=snap.at, subject=snap.subject, fingerprint=snap.fingerprint[:12],
            changed=[c.model_dump(mode="json") for c in changed_settings(previous, snap.settings)],
        )  # fmt: skip
        if snap.at < period.since:
            baseline = entry
        else:
            entries.append(entry)
        previous = snap.settings
    return baseline, entries, None
