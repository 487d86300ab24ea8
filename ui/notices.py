"""What the chat tells a user above the conversation, in plain Korean: what happened and what to
do. No rule ids, probabilities, internal URLs, retry counts or raw server bodies: an error names
a request id to quote instead, and the cause goes to the log under the same id.

Notices are Markdown blockquotes (``> …``): an empty notice shows nothing at all."""

from __future__ import annotations

from assistant.answers import Answer

REFUSAL_NOTICE = (
    "> ⚠️ **근거 없음** — 색인된 자료에서 이 질문의 근거를 찾지 못해 답변하지 않았습니다. "
    "질문을 더 구체적으로 바꾸거나(법령명·조항·문서명 등) 담당 부서에 문의해 주세요."
)
REFUSAL_BADGE = "⚠️ **근거 없음**"
UNCITED_NOTICE = "> ℹ️ 이 답변에는 확인된 근거 표시가 없습니다. 중요한 내용은 원문에서 확인해 주세요."
EMPTY_QUESTION_NOTICE = "> ℹ️ 질문을 입력하세요."
SIGNED_OUT_NOTICE = (
    "> ⛔ **로그인이 필요합니다.** 다시 로그인해 주세요 (로그인이 만료되었거나 키가 폐기되었을 수 있습니다)."
)
NOT_READY_NOTICE = "> ⛔ **지금은 답변할 수 없습니다.** {reason}"
ERROR_NOTICE = "> ⛔ **답변하지 못했습니다.** {reason}\n>\n> 문의하실 때 요청 번호 `{request_id}`를 알려 주세요."
INTERNAL_ERROR = "처리 중 문제가 생겼습니다. 잠시 후 다시 시도하고, 계속되면 관리자에게 문의해 주세요."

#: What an error code means to a user and what they can do (the API's codes,
#: ``assistant.http.errors``). A code not listed here is shown as :data:`INTERNAL_ERROR`.
PLAIN_ERRORS: dict[str, str] = {
    "model_unavailable": "답변을 만드는 AI 모델에 지금 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
    "model_error": "AI 모델이 이 질문을 처리하지 못했습니다. 대화가 너무 길 수 있으니 새 대화에서 다시 물어봐 주세요.",
    "index_unavailable": "문서 검색을 지금 사용할 수 없습니다. 잠시 후 다시 시도해 주세요.",
    "encoder_unavailable": "문서 검색을 지금 사용할 수 없습니다. 잠시 후 다시 시도해 주세요.",
    "encoder_error": "문서 검색을 지금 사용할 수 없습니다. 잠시 후 다시 시도해 주세요.",
    "embedder_mismatch": "문서 검색 설정을 점검하고 있습니다. 관리자에게 문의해 주세요.",
    "audit_unavailable": "감사 기록을 남길 수 없어 답변을 드리지 않았습니다. 잠시 후 다시 시도해 주세요.",
    "state_unavailable": "로그인 정보를 확인할 수 없습니다. 잠시 후 다시 시도해 주세요.",
    "overloaded": "지금 질문이 많아 처리하지 못했습니다. 잠시 후 다시 시도해 주세요.",
    "rate_limited": "짧은 시간에 질문이 너무 많았습니다. 잠시 후 다시 시도해 주세요.",
    "shutting_down": "서버가 점검을 위해 다시 시작하는 중입니다. 잠시 후 다시 시도해 주세요.",
    "unfinished": "답변이 끝나지 않았습니다. 다시 시도해 주세요.",
}
#: Codes whose own message is about the user's input and safe to show as it is.
OWN_MESSAGE_CODES = {"invalid_question", "invalid_history"}

#: Why the service is not ready, for users (the reason itself, with addresses, goes to the log).
NOT_READY_PLAIN = {
    "index": "문서 색인이 아직 준비되지 않았습니다. 관리자가 문서를 색인하면 답변할 수 있습니다.",
    "embedder": "문서 검색 엔진이 아직 준비되지 않았습니다. 잠시 후 다시 시도해 주세요.",
    "model": "답변을 만드는 AI 모델에 지금 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
}


def plain_error(code: str, message: str) -> str:
    """A user's sentence for an error: the input's own message, or the code's plain text."""
    if code in OWN_MESSAGE_CODES and message.strip():
        return " ".join(message.split())
    return PLAIN_ERRORS.get(code, INTERNAL_ERROR)


def error_notice(code: str, message: str, request_id: str) -> str:
    return ERROR_NOTICE.format(reason=plain_error(code, message), request_id=request_id)


def not_ready_plain(missing: str | None) -> str:
    return NOT_READY_PLAIN.get(missing or "model", NOT_READY_PLAIN["model"])


def not_ready_notice(missing: str | None) -> str:
    return NOT_READY_NOTICE.format(reason=not_ready_plain(missing))


def guardrail_notice(answer: Answer) -> str:
    """What the guardrails did, one plain line each (their reasons say what happened and what
    to do; the rule and score behind them stay in the log)."""
    lines = [f"> 🛡️ {d.reason}" for d in answer.guardrails if d.action != "allow" and d.reason]
    return "\n>\n".join(dict.fromkeys(lines))


def answer_notice(answer: Answer) -> str:
    """The notice after an answer: the guardrails' notices, the 근거 없음 state of a refusal, or
    a reminder when nothing was cited."""
    notices = [n for n in (guardrail_notice(answer),) if n]
    if answer.refused:
        notices.append(REFUSAL_NOTICE)
    elif not answer.citations:
        notices.append(UNCITED_NOTICE)
    return "\n\n".join(notices)
