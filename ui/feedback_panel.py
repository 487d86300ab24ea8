"""👍/👎 on an answer: a 👍 is stored at once; a 👎 opens the reasons (``assistant.feedback.REASONS``)
and an optional comment. Either is tied to the answer's audit record (its ``audit_id``), so an
evaluator can turn negative feedback into eval items (``nuri eval items from-feedback``)."""

from __future__ import annotations

from assistant.feedback import REASONS

FEEDBACK_THANKS = "> 🙏 의견을 보내 주셔서 고맙습니다. 답변 품질을 점검하는 데 쓰입니다."


def reason_choices() -> list[tuple[str, str]]:
    """(Korean label, reason code) for each reason a 👎 can name."""
    return [(label.ko, code) for code, label in REASONS.items()]
