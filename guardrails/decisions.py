"""What a guardrail decided, in one shape everywhere: the API's ``guardrails`` field, the chat's
notices, the audit record and ``nuri guard scan``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Action = Literal["allow", "block", "mask", "pseudonymise", "warn", "drop", "quote", "withhold"]


class GuardrailDecision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(..., description="The check, e.g. `pii`, `injection`, `policy`, `context`, `output_pii`.")
    action: str = Field(..., description="What it did: allow, block, mask, pseudonymise, warn, drop, quote, withhold.")
    reason: str = Field("", description="Why, in plain Korean (shown to the caller).")
    reason_en: str = Field("", description="The same in English.")
    stage: Literal["input", "context", "output", "audit"] = Field("input", description="Where it was applied.")
