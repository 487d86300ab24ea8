"""The impact-assessment report as data: ``assessment.json`` is :class:`AssessmentReport` as JSON,
and ``assessment.html`` shows the same object (nothing on the page is computed apart from it).

Sections follow the concerns of a public-AI impact assessment: 개요 (purpose and who answers for
it: the operator's fields), 시스템 (transparency: models, licences, provenance, prompts,
configuration), 데이터 (sources, documents, access levels), 정확성 (evaluation runs), 안전성·보호조치
(guardrails and how often they acted), 책임성 (who may use it, the audit trail, changes), 사고·이상
징후 (refused attacks, anomalies, what cannot be known), 운영자 기재 사항 and the closing list of what
is missing. ``schema_version`` changes whenever a field is renamed or removed (adding one does not).

Every time is UTC. A value the report could not gather is ``None`` or an empty list, with the
reason in :attr:`AssessmentReport.missing`; it is never guessed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1"

SectionId = Literal["overview", "system", "data", "accuracy", "safeguards", "accountability", "incidents", "operator"]
#: Section ids and their Korean titles, in report order (the closing list of missing items follows).
SECTIONS: dict[str, str] = {
    "overview": "1. 개요",
    "system": "2. 시스템 (투명성)",
    "data": "3. 데이터",
    "accuracy": "4. 정확성",
    "safeguards": "5. 안전성·보호조치 (권리 침해 예방)",
    "accountability": "6. 책임성",
    "incidents": "7. 사고·이상 징후",
    "operator": "8. 운영자 기재 사항",
}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- operator fields ------------------------------------------------------------------------------
class Owner(_Model):
    name: str | None = Field(None, description="책임자 성명")
    department: str | None = Field(None, description="부서")
    contact: str | None = Field(None, description="연락처")


class OperatorFields(_Model):
    """What only the operator can say (``assessment-fields.yaml``; :mod:`evals.assessment.fields`)."""

    purpose: str | None = Field(None, description="목적: what the system is for and what it is not for.")
    owner: Owner = Owner()
    human_oversight: str | None = Field(None, description="사람의 관여: who checks answers, when, and how.")
    affected_people: str | None = Field(None, description="영향받는 사람: whom the answers affect.")
    review_date: date | None = Field(None, description="다음 검토일.")
    notes: str | None = Field(None, description="Free notes.")


class OverviewSection(_Model):
    subject: str = Field(..., description="What is assessed: the platform, or one agency assistant.")
    purpose: str | None = None
    owner: Owner = Owner()


class OperatorSection(_Model):
    file: str = Field(..., description="The fields file read (or looked for).")
    found: bool
    fields: OperatorFields
    unfilled: list[str] = Field(default_factory=list, description="Korean names of the fields left empty.")


# -- the report's frame -----------------------------------------------------------------------------
class Period(_Model):
    since: datetime
    until: datetime


class MissingItem(_Model):
    section: SectionId
    item: str = Field(..., description="What is missing, in Korean.")
    detail: str = Field("", description="Why, or what to do.")


class AssistantView(_Model):
    """The agency assistant the report is narrowed to (``--assistant``), endpoints shown by host."""

    id: str
    name: str
    agency: str
    description: str = ""
    default: bool = False
    users: dict[str, object]
    scope: dict[str, object]
    model: str | None = None
    endpoints: list[str] = Field(default_factory=list)
    mode: str | None = None
    generation: str | None = None
    guardrails: dict[str, object]
    prompt: str = Field("", description="Its instructions added to the platform's prompt.")
    prompt_sha256: str | None = Field(None, description="sha256 (12 hex) of its prompt; None: no prompt.")
    created_at: datetime
    updated_at: datetime
    created_by: str = ""


# -- 2 system -------------------------------------------------------------------------------------
class GenerativeModel(_Model):
    role: str = Field(..., description="Whose: `플랫폼` or `도우미 <id>`.")
    model: str
    mode: str = Field(..., description="`chat` or `completion`.")
    generation: str = Field(..., description="`model` (the model writes) or `extractive` (passages quoted).")
    endpoints: list[str] = Field(default_factory=list, description="scheme://host[:port] only; empty = bundled server.")
    engine: str | None = Field(None, description="The bundled model server's engine when no endpoint is set.")
    bundled: str | None = Field(None, description="The bundled model it serves when no endpoint is set.")


class PackageVersion(_Model):
    name: str
    version: str | None = Field(None, description="Installed version; None: not installed.")


class BundledModelInfo(_Model):
    name: str
    title: str
    file: str
    sha256: str
    size: int | None
    licence: str
    licence_source: str
    provenance: str
    packages: list[PackageVersion]
    selected: bool = Field(..., description="The bundled model this configuration serves.")
    verified: bool | None = Field(
        None, description="The assembled file matches its verification stamp (sha256, header); None: not assembled."
    )


class EmbedderInfo(_Model):
    backend: str
    model: str
    endpoint: str | None = Field(None, description="The embeddings server (host only), openai backend.")
    package: PackageVersion | None = None
    licence: str | None = None
    index_embedder: str | None = Field(None, description="The embedder the index was built with (its metadata).")
    dim: int | None = Field(None, description="Dimension the index was built with; None: no index.")


class ClassifierInfo(_Model):
    name: str
    purpose: str
    file: str
    sha256: str
    trained_at: str | None = None
    trainer: str | None = None
    threshold: float | None = None
    custom: bool = Field(False, description="A file configured instead of the bundled one.")


class PromptUse(_Model):
    """One (model, prompt version) pair as the audit trail saw it answer."""

    model: str | None
    prompt_version: str | None
    first_seen: datetime
    last_seen: datetime
    answers: int


class SystemSection(_Model):
    platform_version: str
    generative: list[GenerativeModel]
    bundled_models: list[BundledModelInfo]
    embedder: EmbedderInfo
    reranker: str | None = Field(None, description="The cross-encoder folder; None: reranking off.")
    classifiers: list[ClassifierInfo]
    prompt_dir: str = Field(..., description="`내장 (configs/prompts)` or the configured folder.")
    prompt_version: str | None = Field(None, description="sha256 (12 hex) of the configured templates.")
    prompt_versions_seen: list[str] = Field(default_factory=list, description="Distinct versions in the period.")
    config: dict[str, object] = Field(..., description="The settings, secrets and URL passwords masked.")


# -- 3 data -----------------------------------------------------------------------------------------
class SourceInfo(_Model):
    root: str
    kind: str
    last_run_at: datetime
    last_run_ok: bool
    added: int
    updated: int
    removed: int
    unchanged: int
    failed: int
    failures: list[str] = Field(default_factory=list, description="`file: reason`, the first 20.")
    last_success_at: datetime | None
    runs: int


class IndexFacts(_Model):
    available: bool
    reason: str | None = Field(None, description="Why it could not be read.")
    backend: str
    location: str
    documents: int = 0
    chunks: int = 0
    by_doc_type: dict[str, int] = Field(default_factory=dict)
    by_agency: dict[str, int] = Field(default_factory=dict)
    by_access: dict[str, int] = Field(default_factory=dict)
    in_scope: int | None = Field(None, description="Documents the assistant reads (--assistant), any clearance.")
    in_scope_by_access: dict[str, int] = Field(default_factory=dict)


class DataSection(_Model):
    sources: list[SourceInfo]
    sources_error: str | None = None
    index: IndexFacts
    access_levels: dict[str, str]


# -- 4 accuracy -------------------------------------------------------------------------------------
class MetricResult(_Model):
    metric: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = Field(0, description="Questions the interval resamples.")
    higher_is_better: bool | None = None
    unit: str = ""
    note: str = Field("", description="Why it is not measured.")


class MetricChange(_Model):
    metric: str
    previous: float | None
    latest: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    verdict: str = Field(..., description="better | worse | no significant change | not measured")


class SuiteResult(_Model):
    suite: str
    run_id: str
    started_at: str
    model: str
    prompt_version: str
    guardrails: str
    items: int
    ran_by: str
    principal: str
    assistant: str | None = None
    metrics: list[MetricResult]
    previous_run_id: str | None = None
    previous_started_at: str | None = None
    paired: int | None = Field(None, description="Questions both runs asked (the change's pairs).")
    changes: list[MetricChange] = Field(default_factory=list)


class AccuracySection(_Model):
    confidence: float
    bootstrap_samples: int
    runs_in_period: int
    suites: list[SuiteResult]
    error: str | None = None


# -- 5 safeguards -----------------------------------------------------------------------------------
class CheckSetting(_Model):
    check: str
    title: str
    enabled: bool
    action: str
    detail: str = ""


class DecisionCount(_Model):
    check: str
    action: str
    stage: str
    count: int


class UsageTotals(_Model):
    questions: int = 0
    answers: int = 0
    refusals: int = 0
    guardrail_blocks: int = 0
    searches: int = 0
    tokens_in: int = 0
    tokens_out: int = 0


class PersonalData(_Model):
    pii_enabled: bool
    pii_action: str
    pii_types: list[str]
    pseudonymisation: bool
    output_masking: bool
    audit_stores_question: bool
    audit_stores_answer: bool
    audit_stores_retrieved: bool


class SafeguardSection(_Model):
    checks: list[CheckSetting]
    assistant_guardrails: dict[str, object] | None = None
    usage: UsageTotals | None = None
    usage_by_assistant: dict[str, UsageTotals] = Field(default_factory=dict)
    decisions: list[DecisionCount] = Field(default_factory=list)
    personal_data: PersonalData
    error: str | None = None


# -- 6 accountability -------------------------------------------------------------------------------
class KeyFacts(_Model):
    active: int
    revoked: int
    by_agency: dict[str, int]
    by_role: dict[str, int]
    by_clearance: dict[str, int]
    may_use_assistant: int | None = Field(None, description="Active keys that may use the assistant (--assistant).")


class VerifyFacts(_Model):
    ok: bool
    records: int
    head_seq: int
    keyed: bool
    unverifiable: int
    checkpoint_file: str | None
    checkpoints: int
    issues: list[str]


class ChangeEntry(_Model):
    seq: int
    at: datetime
    assistant_id: str
    action: str
    subject: str
    definition: dict[str, object] | None = Field(None, description="After the change, endpoints masked.")


class SettingsChangeEntry(_Model):
    """A configuration a server started with in the period, and what changed from the one before."""

    at: datetime
    subject: str
    fingerprint: str
    changed: list[dict[str, object]] = Field(
        default_factory=list, description="{key, before, after} per changed setting (secrets masked)."
    )


class AssistantListing(_Model):
    id: str
    name: str
    agency: str
    updated_at: datetime


class AccountabilitySection(_Model):
    keys: KeyFacts | None = None
    keys_error: str | None = None
    assistant_users: dict[str, object] | None = None
    principals_seen: dict[str, int] = Field(default_factory=dict, description="Distinct callers by kind (key, …).")
    audit_enabled: bool
    retention_days: int
    chain_keyed: bool
    checkpoint_file: str | None
    verify: VerifyFacts | None = None
    verify_error: str | None = None
    assistants: list[AssistantListing] = Field(default_factory=list)
    changes: list[ChangeEntry] = Field(default_factory=list)
    changes_error: str | None = None
    model_prompt_uses: list[PromptUse] = Field(default_factory=list)
    settings_baseline: SettingsChangeEntry | None = Field(
        None, description="The configuration in force when the period began (the last recorded before it)."
    )
    settings_changes: list[SettingsChangeEntry] = Field(default_factory=list)
    settings_error: str | None = None


# -- 7 incidents ------------------------------------------------------------------------------------
class DayCount(_Model):
    day: str
    injection_blocks: int = 0
    policy_blocks: int = 0
    context_flags: int = 0
    output_pii: int = 0
    refusals: int = 0


class TrailEvent(_Model):
    seq: int
    at: str
    endpoint: str
    detail: str


class IncidentSection(_Model):
    by_day: list[DayCount] = Field(default_factory=list)
    blocked_attacks: int = 0
    context_flags: int = 0
    refusals: int = 0
    uncited_answers: int = Field(0, description="Answers not refused that cite nothing (cut-off answers among them).")
    trail_events: list[TrailEvent] = Field(default_factory=list, description="audit.seal / audit.prune records.")
    sync_failures: int = 0
    verify_issues: int = 0
    limits: list[str]


# -- the report -------------------------------------------------------------------------------------
class AssessmentReport(_Model):
    schema_version: str = SCHEMA_VERSION
    generated_at: datetime
    period: Period
    assistant: AssistantView | None = None
    overview: OverviewSection
    system: SystemSection
    data: DataSection
    accuracy: AccuracySection
    safeguards: SafeguardSection
    accountability: AccountabilitySection
    incidents: IncidentSection
    operator: OperatorSection
    missing: list[MissingItem]
