"""Eval items from users' negative feedback: drafted from the feedback and its audit record
(``nuri eval items from-feedback``), then reviewed one by one in the terminal (``nuri eval items
review``) into a suite file of the plain eval schema (:mod:`evals.schema`).

A draft is one JSON line: the eval schema's fields (``id`` ``fb-<first 8 of the audit id>``, the
question as the audit trail kept it, ``expected`` ``answer`` — ``refuse`` when the reasons say
``should_refuse`` —, an empty reference answer) and, beside them, what the reviewer needs:
``status`` (``draft``, ``accepted``, ``dropped``), ``feedback`` (rating, reasons, comment),
``answer_given``, ``citations_given`` (``doc``/``anchor``) and ``audit_id``. Every free text is
masked again for personal data (:func:`assistant.feedback.pii_masker`: the guardrails' masking
without an embedder) before it is written: the file goes to evaluators.

A draft is not yet a valid eval item (an item expected to be answered needs a reference answer
or passages): the review edits it until it is; only then can it be accepted. The review is the
one every kind of draft shares (:mod:`evals.draft_review`, re-exported here: ``review``,
``read_drafts``, ``write_drafts``, ``parse_ref``): accepted items are appended to the suite without
the review fields, and the statuses are written back to the drafts file after every decision, so a
review can stop (``q``) and go on later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from pydantic import BaseModel, Field

from assistant.feedback import FeedbackRecord
from assistant.question import detect_language
from evals.draft_models import EVAL_FIELDS, FEEDBACK_CATEGORY, CitationGiven, DraftItem, FeedbackNote, Status
from evals.draft_review import (
    ReviewSummary,
    parse_ref,
    read_drafts,
    review,
    write_drafts,
)
from guardrails.audit import AuditRecord

__all__ = [
    "CATEGORY", "EVAL_FIELDS", "CitationGiven", "DraftItem", "DraftReport", "FeedbackNote", "ReviewSummary", "Status",
    "draft_items", "parse_ref", "parse_when", "read_drafts", "review", "write_drafts",
]  # fmt: skip

#: The category of an item drafted from feedback.
CATEGORY = FEEDBACK_CATEGORY


class DraftReport(BaseModel):
    drafted: int
    skipped: list[str] = Field(default_factory=list, description="Why each negative feedback was not drafted.")


def draft_items(
    feedback: Iterable[FeedbackRecord],
    audit_record: Callable[[str], AuditRecord | None],
    mask: Callable[[str], str],
) -> tuple[list[DraftItem], list[str]]:
    """A draft for each negative (``down``) feedback, oldest first, and why any was left out
    (its audit record pruned, or kept without the question)."""
    drafts: list[DraftItem] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for fb in sorted(feedback, key=lambda f: f.created_at):
        if fb.rating != "down":
            continue
        item_id = f"fb-{fb.audit_id[:8]}"
        if item_id in seen:
            skipped.append(f"{fb.audit_id}: 같은 답변의 피드백이 이미 있습니다")
            continue
        record = audit_record(fb.audit_id)
        if record is None:
            skipped.append(f"{fb.audit_id}: 감사 기록이 없습니다 (보존 기간으로 삭제?)")
            continue
        question = mask(record.question or "").strip()
        if not question:
            skipped.append(f"{fb.audit_id}: 감사 기록에 질문이 없습니다 (audit.store_question: false?)")
            continue
        seen.add(item_id)
        drafts.append(
            DraftItem(
                id=item_id,
                question=question,
                language=detect_language(question),
                expected="refuse" if "should_refuse" in fb.reasons else "answer",
                feedback=FeedbackNote(rating=fb.rating, reasons=list(fb.reasons), comment=mask(fb.comment)),
                answer_given=mask(record.answer or ""),
                citations_given=[
                    CitationGiven(doc=mask(str(c.get("doc_id") or "")), anchor=mask(str(c.get("anchor") or "")))
                    for c in record.citations
                ],
                audit_id=fb.audit_id,
                assistant=record.assistant,
            )
        )
    return drafts, skipped


def parse_when(raw: str | None) -> datetime | None:
    """``--since``/``--until``: an ISO 8601 date or time (no zone: UTC). ValueError otherwise."""
    if not raw:
        return None
    return datetime.fromisoformat(raw.strip())
