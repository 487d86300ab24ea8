"""The kinds of draft eval item, as lines of a drafts file: what every draft has
(:class:`ReviewDraft`: the eval schema's fields and a review status), a draft from users' negative
feedback (:class:`DraftItem`, :mod:`evals.feedback_items`) and one the instruction model wrote from
an agency's documents (:class:`GeneratedDraft`, :mod:`evals.generate`). Plain models, apart from the
code that makes or reviews them, so that reading a drafts file (:func:`parse_draft`) knows every
kind without importing what makes them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.feedback import REASONS
from evals.schema import EvalItem, Expected, PassageRef

Status = Literal["draft", "accepted", "dropped"]
#: The eval schema's fields (what an accepted item keeps).
EVAL_FIELDS = frozenset(EvalItem.model_fields)
#: The category of an item drafted from feedback, and of one drafted from documents.
FEEDBACK_CATEGORY = "feedback"
GENERATED_CATEGORY = "generated"


class ReviewDraft(BaseModel):
    """What every draft has: the eval schema's fields and a review status. A kind of draft adds
    the fields its reviewer needs and says how to show them (:meth:`details`)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1)
    question: str = Field(..., min_length=1)
    category: str = "general"
    language: Literal["ko", "en"] = "ko"
    expected: Expected = "answer"
    reference_answer: str = ""
    reference_passages: list[PassageRef] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)
    passages: list[str] = Field(default_factory=list)
    status: Status = "draft"

    def eval_item(self) -> EvalItem:
        """The item in the plain eval schema (pydantic's ValidationError while it is not valid)."""
        return EvalItem.model_validate(self.model_dump(include=set(EVAL_FIELDS)))

    def details(self) -> list[tuple[str, str]]:
        """(label, text) of what this kind of draft shows its reviewer besides the eval fields."""
        return []


class FeedbackNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: Literal["up", "down"]
    reasons: list[str] = Field(default_factory=list)
    comment: str = ""


class CitationGiven(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc: str
    anchor: str = ""


class DraftItem(ReviewDraft):
    """One line of a drafts file: the eval schema's fields, then the review's."""

    category: str = FEEDBACK_CATEGORY
    feedback: FeedbackNote
    answer_given: str = ""
    citations_given: list[CitationGiven] = Field(default_factory=list)
    audit_id: str
    assistant: str | None = Field(
        None, description="The agency assistant that gave the answer (its audit record's); evaluate with it."
    )

    def details(self) -> list[tuple[str, str]]:
        note = self.feedback
        reasons = ", ".join(REASONS[r].ko if r in REASONS else r for r in note.reasons) or "(이유 없음)"
        lines = [("준 답변", self.answer_given or "(없음)")]
        if self.assistant:
            lines.append(("도우미", self.assistant))
        if self.citations_given:
            cited = "; ".join(f"{c.doc} · {c.anchor}" if c.anchor else c.doc for c in self.citations_given)
            lines.append(("인용한 근거", cited))
        lines.append(("피드백", f"{'좋음' if note.rating == 'up' else '나쁨'} — {reasons}"))
        if note.comment:
            lines.append(("의견", note.comment))
        return lines


# -- generated drafts ------------------------------------------------------------
class SourceInfo(BaseModel):
    """Where a generated draft's passage is: document file name and title, section anchor, the
    chunk's own anchor (narrower when the section was split)."""

    model_config = ConfigDict(extra="forbid")

    doc: str
    title: str = ""
    anchor: str = ""
    chunk_anchor: str = ""


class GeneratorInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    prompt_version: str
    seed: int | None = None


class GeneratedDraft(ReviewDraft):
    """One line of a generated drafts file: the eval schema's fields, then the review's."""

    category: str = GENERATED_CATEGORY
    origin: Literal["generated"] = "generated"
    assistant: str | None = None
    source: SourceInfo
    source_passage: str
    note: str = Field("", description="The model's reason why the documents do not answer (refusal items).")
    generator: GeneratorInfo

    def details(self) -> list[tuple[str, str]]:
        src = self.source
        lines = [
            ("출처", f"「{src.title}」 {src.doc} · {src.anchor}" if src.title else f"{src.doc} · {src.anchor}"),
            ("근거 원문", self.source_passage),
        ]
        if self.note:
            lines.append(("답할 수 없는 이유 (모델)", self.note))
        if self.assistant:
            lines.append(("도우미", self.assistant))
        lines.append(("초안 작성", f"{self.generator.model} (프롬프트 {self.generator.prompt_version})"))
        return lines


def parse_draft(obj: Any) -> ReviewDraft:
    """A draft of either kind from one decoded JSON line (ValidationError / ValueError when not):
    a generated draft when it has ``origin``, a feedback draft otherwise."""
    if not isinstance(obj, dict):
        raise ValueError("a line must be a JSON object")
    return (GeneratedDraft if "origin" in obj else DraftItem).model_validate(obj)
