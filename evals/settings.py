"""Settings of the evaluation suite (the ``eval:`` block): where runs, indexes and history live,
how deep retrieval is scored, and the optional judge model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class JudgeSettings(BaseModel):
    """An LLM judge behind any OpenAI-compatible endpoint (a vLLM or llama.cpp server)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = Field(
        None, description="The judge's OpenAI-compatible endpoint (…/v1); empty = no judge (`judge_correctness` null)."
    )
    model: str = Field("judge", description="The judge model's served name.")
    api_key: str = Field("none", description="Bearer token of the judge endpoint.")
    max_tokens: int = Field(96, gt=0, description="Longest verdict, in tokens.")
    timeout_s: float = Field(120.0, gt=0, description="Seconds per verdict.")


class EvalSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    history_url: str = Field(
        "sqlite:///data/eval/history.db",
        description="Results store (SQLAlchemy URL): SQLite file (relative to `home`) or a database server URL.",
    )
    out_dir: str = Field("data/eval/runs", description="Where `nuri eval run` writes results.json and report.html.")
    index_root: str = Field(
        "data/eval/indexes", description="Where a suite's corpus is indexed when no `--index` is given."
    )
    shared_data: str | None = Field(
        None, description="The shared statute/QA data folder; empty = `../shared/data` beside the repository."
    )
    search_top_k: int = Field(10, gt=0, le=100, description="Search results scored per question (recall, MRR, nDCG).")
    support_min_overlap: float = Field(
        0.5,
        ge=0,
        le=1,
        description="An answer sentence is supported when this share of its content morphemes occurs in the "
        "passages it cites (groundedness).",
    )
    bootstrap_samples: int = Field(2000, gt=0, description="Resamples of `nuri eval compare`'s confidence interval.")
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence level of `nuri eval compare`.")
    judge: JudgeSettings = JudgeSettings()


class AssessSettings(BaseModel):
    """The ``assess:`` block: the impact-assessment evidence report (``nuri assess``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fields_file: str = Field(
        "assessment-fields.yaml",
        description="The operator's fields of the impact assessment (purpose, owner, human oversight, affected "
        "people, review date), relative to `home`; `nuri assess fields --init` writes a template.",
    )
    out_dir: str = Field(
        "data/assessment", description="Where `nuri assess report` writes assessment.html and .json without `--out`."
    )
    period_days: int = Field(90, gt=0, description="The report's period without `--since`: this many days back.")
