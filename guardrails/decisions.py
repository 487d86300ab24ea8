"""What a guardrail decided, in one shape everywhere: every check returns it (the input checks
``pii``, ``injection``, ``policy``; the ``context`` check on each retrieved passage; the output
checks ``output_pii`` and ``grounding``), and it reaches the API's ``guardrails`` field, the chat's
notices, the audit record and ``nuri guard scan`` as it is.

``score`` and ``rule`` are the evidence behind a decision (the classifier's probability or the
similarity, the rule that fired): kept for logs, ``nuri guard scan`` and the tests, never
serialised into an answer or an audit record (their shape is unchanged by them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Every action a decision can name. ``allow`` is "nothing to do"; a check that lets the text
#: through returns it and it is never reported.
Action = Literal["allow", "block", "mask", "pseudonymise", "warn", "drop", "quote", "withhold", "prune", "seal"]
Stage = Literal["input", "context", "output", "audit"]


class GuardrailDecision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(..., description="The check, e.g. `pii`, `injection`, `policy`, `context`, `output_pii`.")
    action: Action = Field(..., description="What it did: block, mask, pseudonymise, warn, drop, quote, withhold.")
    reason: str = Field("", description="Why, in plain Korean (shown to the caller).")
    reason_en: str = Field("", description="The same in English.")
    stage: Stage = Field("input", description="Where it was applied.")
    score: float | None = Field(None, exclude=True, description="Evidence: the classifier's probability or similarity.")
    rule: str | None = Field(None, exclude=True, description="Evidence: the rule or topic that decided.")

    @classmethod
    def allow(cls, name: str, stage: Stage = "input", score: float | None = None) -> GuardrailDecision:
        """The check found nothing to act on."""
        return cls(name=name, action="allow", stage=stage, score=score)

    @property
    def acted(self) -> bool:
        """Anything but ``allow``: the decision is reported."""
        return self.action != "allow"

    @property
    def blocked(self) -> bool:
        return self.action == "block"
