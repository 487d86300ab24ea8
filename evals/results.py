"""What a run produces: ``results.json`` (:class:`RunResult`), one :class:`ItemResult` per question.

Every metric has a plain name (``recall@5``, ``citation_precision``, …; see :data:`METRICS` and
docs/evaluation.md for formulas). A metric that could not be measured in this run is ``null`` in
``metrics`` and its reason is in ``notes`` (e.g. the safety metrics before guardrails exist).
Per-question scores are kept in ``ItemResult.scores`` so that two runs can be compared question
by question (``nuri eval compare`` bootstraps over them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from evals.schema import Expected

#: Who started a run recorded before runs named it (see :class:`RunResult.ran_by`).
UNKNOWN_RUNNER = "unknown"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    higher_is_better: bool
    description: str
    unit: str = ""  # "" = a share in [0, 1]; "ms" = milliseconds


#: Every metric a run reports, in report order.
METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("recall@5", True, "Share of reference passages found in the first 5 search results (ranx)."),
    MetricSpec("mrr", True, "Mean reciprocal rank of the first reference passage in the first 10 (ranx mrr@10)."),
    MetricSpec("ndcg@5", True, "Normalised discounted cumulative gain of the first 5 results (ranx)."),
    MetricSpec("citation_precision", True, "Share of an answer's citations that are reference passages."),
    MetricSpec("citation_recall", True, "Share of reference passages an answer cites."),
    MetricSpec("gold_cited", True, "Share of answerable questions whose answer cites a reference passage."),
    MetricSpec(
        "uncited_article_rate", False, "Share of answers naming an article (제N조) that none of their citations names."
    ),
    MetricSpec("groundedness", True, "Share of answer sentences supported by the passages they cite."),
    MetricSpec("answer_f1", True, "Token F1 between answer and reference answer on Kiwi morphemes."),
    MetricSpec("judge_correctness", True, "Share of answers the judge model rates correct against the reference."),
    MetricSpec("refusal_rate", True, "Share of must-refuse questions that were refused."),
    MetricSpec("false_refusal_rate", False, "Share of answerable questions that were refused."),
    MetricSpec("pii_leak_rate", False, "Share of personal-data items whose forbidden strings reached the answer."),
    MetricSpec("injection_success_rate", False, "Share of injection items where the attack succeeded."),
    MetricSpec("error_rate", False, "Share of questions that ended in an error instead of an answer."),
    MetricSpec("latency_p50_ms", False, "Median time from question to complete answer.", "ms"),
    MetricSpec("latency_p95_ms", False, "95th percentile time from question to complete answer.", "ms"),
    MetricSpec("ttft_p50_ms", False, "Median time to the first answer token.", "ms"),
    MetricSpec("ttft_p95_ms", False, "95th percentile time to the first answer token.", "ms"),
)
METRIC_BY_NAME = {m.name: m for m in METRICS}
#: Metrics that are a mean of per-question scores (the others are percentiles of latencies).
MEAN_METRICS = tuple(m.name for m in METRICS if m.unit == "")


class HitRecord(BaseModel):
    rank: int
    doc_id: str
    title: str
    anchor: str
    source: str
    key: str = Field(..., description="The reference key it matched, else a key of its own (ranx run).")
    relevant: bool = False


class CitationRecord(BaseModel):
    n: int
    doc_id: str
    title: str
    anchor: str
    source: str
    text: str
    key: str | None = Field(None, description="The reference key it matched.")
    relevant: bool | None = None  # None: the item has no reference passages


class ItemResult(BaseModel):
    id: str
    question: str
    category: str
    language: str
    expected: Expected
    reference_answer: str = ""
    relevant: list[str] = Field(default_factory=list, description="Reference passage keys.")
    hits: list[HitRecord] = Field(default_factory=list)
    answer: str = ""
    refused: bool = False
    citations: list[CitationRecord] = Field(default_factory=list)
    guardrail_decisions: list[str] = Field(default_factory=list)
    judge: str | None = Field(None, description="The judge model's verdict and reason, when a judge ran.")
    latency_ms: float | None = None
    first_token_ms: float | None = None
    error: str | None = None
    scores: dict[str, float] = Field(default_factory=dict, description="This item's share metrics (0..1).")
    failures: list[str] = Field(default_factory=list, description="Which checks this item failed.")


class DatasetInfo(BaseModel):
    suite: str
    files: list[str]
    sha256: str
    items: int


class RunPrincipal(BaseModel):
    """Whose reading rights a run's questions were asked with: what its hits, answers and cited
    passages can hold (:class:`retrieval.types.Principal` at the time of the run).

    ``nuri eval run`` asks as ``--as-agency``/``--as-clearance`` (default: the public principal,
    no agency, clearance ``public``), or as the all-seeing operator only with ``--as-operator``;
    a run against a server (``--url``) reads with its API key's principal, which is not known
    here: ``via`` names the key and ``agency``/``clearance`` stay unknown (``None``). A run
    recorded before runs named their principal loads as an operator run of unknown agency.
    Only a principal with an ``agency`` and a ``clearance`` can be shown to an evaluator who is
    not an admin (:mod:`evals.history`)."""

    agency: str | None = None
    clearance: Literal["public", "internal", "restricted"] | None = Field(
        None, description="Highest access level read; None: not known (server key, old record)."
    )
    operator: bool = Field(False, description="Asked with operator rights: every document of the index.")
    via: str = Field("in-process", description="`in-process`, `server key <key id>` (--url) or `unrecorded`.")

    def label(self) -> str:
        """One line for listings and the report, e.g. ``누리행정청 / internal``."""
        if self.operator:
            return "operator (전체 열람)"
        if self.clearance is None:
            return f"알 수 없음 ({self.via})"
        return f"{self.agency or '기관 없음'} / {self.clearance}" + (
            "" if self.via == "in-process" else f" ({self.via})"
        )


#: What a run recorded before runs named their principal is taken for: it may hold anything.
LEGACY_PRINCIPAL = RunPrincipal(operator=True, via="unrecorded")


class RunResult(BaseModel):
    run_id: str
    suite: str
    started_at: str
    wall_s: float
    target: str = Field(..., description="`in-process` or the server URL.")
    ran_by: str = Field(
        UNKNOWN_RUNNER,
        description="Who started it: `cli:<OS user>` (nuri eval run) or `key:<key id>` (a signed-in caller).",
    )
    principal: RunPrincipal = Field(
        default_factory=lambda: LEGACY_PRINCIPAL.model_copy(),
        description="Whose reading rights it asked with (old records: an operator run of unknown agency).",
    )
    commit: str
    model: str
    embedder: str
    prompt_version: str = Field(..., description="sha256 (12 hex) of the prompt templates used.")
    assistant: str | None = Field(
        None,
        exclude_if=lambda v: v is None,
        description="The agency assistant evaluated (its id); absent: the platform's own.",
    )
    guardrails: str = Field(..., description="The guardrail policy in force, or `none`.")
    dataset: DatasetInfo
    config: dict[str, object] = Field(default_factory=dict, description="The settings, secrets masked.")
    metrics: dict[str, float | None]
    notes: dict[str, str] = Field(default_factory=dict, description="Why a metric is null.")
    by_category: dict[str, dict[str, float | None]] = Field(default_factory=dict)
    items: list[ItemResult]
