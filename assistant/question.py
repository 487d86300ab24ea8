"""The question, checked once: one value from the caller's text to what retrieval, the model, the
logs and the audit trail each see of it.

:meth:`Question.ask` applies the limits (blank or too long: 400 ``invalid_question``; an earlier
turn too long: 400 ``invalid_history``), keeps the earlier turns a follow-up uses, detects the
language and runs the input guardrails once (personal data masked or pseudonymised, attacks and
off-policy requests refused). Nothing downstream checks, detects or reshapes it again.

A follow-up's retrieval query is measured the way retrieval will see it
(:meth:`Question.retrieval_query`): the earlier question's words go before the question only as far
as the search's own limit (``search.max_query_chars``) allows, so a valid follow-up is never
turned away because its context made the query long.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from assistant.answers import HistoryTurn
from assistant.errors import InvalidHistoryError, InvalidQuestionError
from guardrails.decisions import GuardrailDecision
from guardrails.pipeline import Guardrails, InputScreen

Lang = Literal["ko", "en"]
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_LATIN = re.compile(r"[A-Za-z]")

#: Characters of the earlier question a follow-up's retrieval query starts with, at most.
FOLLOW_UP_CONTEXT_CHARS = 300


def detect_language(text: str) -> Lang:
    """Korean unless the text has Latin letters and (almost) no Hangul."""
    hangul, latin = len(_HANGUL.findall(text)), len(_LATIN.findall(text))
    return "en" if latin > 0 and hangul * 4 < latin else "ko"


@dataclass(frozen=True, slots=True)
class QuestionLimits:
    """The limits a question is held to (``answer.*`` and ``search.max_query_chars``)."""

    max_chars: int = 2000
    max_turn_chars: int = 8000
    max_history_turns: int = 6
    max_query_chars: int = 2000


@dataclass(frozen=True, slots=True)
class Question:
    """A question as every stage sees it. ``text`` (as typed) never leaves memory; ``screened`` goes
    to retrieval and the model (personal data masked or pseudonymised), ``masked`` to logs and the
    audit trail; ``history`` holds the earlier turns in use, screened the same way."""

    text: str
    language: Lang
    screen: InputScreen
    history: tuple[HistoryTurn, ...] = ()
    max_query_chars: int = 2000

    @classmethod
    def ask(
        cls, text: str | None, history: Sequence[HistoryTurn], limits: QuestionLimits, guard: Guardrails
    ) -> Question:
        """Check ``text`` and ``history`` against ``limits`` and screen them with ``guard``."""
        text = (text or "").strip()
        if not text:
            raise InvalidQuestionError("질문이 비어 있습니다", message_en="The question is empty")
        if len(text) > limits.max_chars:
            raise InvalidQuestionError(
                f"질문이 너무 깁니다 ({len(text)}자 > {limits.max_chars}자)",
                message_en=f"The question is too long ({len(text)} > {limits.max_chars} characters)",
            )
        for turn in history:
            if len(turn.content) > limits.max_turn_chars:
                raise InvalidHistoryError(
                    f"이전 대화 메시지가 너무 깁니다 (메시지당 최대 {limits.max_turn_chars}자)",
                    message_en=f"An earlier message is too long (at most {limits.max_turn_chars} characters each)",
                )
        turns = (
            [t for t in history if t.content.strip()][-2 * limits.max_history_turns :]
            if limits.max_history_turns
            else []
        )
        language = detect_language(text)
        screen = guard.screen_input(text, [t.content for t in turns], language)
        screened = tuple(HistoryTurn(role=t.role, content=c) for t, c in zip(turns, screen.history, strict=True))
        return cls(text, language, screen, screened, limits.max_query_chars)

    @property
    def screened(self) -> str:
        """What retrieval and the model see."""
        return self.screen.question

    @property
    def masked(self) -> str:
        """What logs and the audit trail keep."""
        return self.screen.masked_question

    @property
    def refusal(self) -> str | None:
        """The input guardrails' refusal, shown instead of an answer (None: answer it)."""
        return self.screen.refusal

    @property
    def decisions(self) -> list[GuardrailDecision]:
        return list(self.screen.decisions)

    @property
    def previous(self) -> str:
        """The last earlier question of the conversation ("" for a first question)."""
        return next((t.content for t in reversed(self.history) if t.role == "user"), "")

    def retrieval_query(self, context: str = "") -> str:
        """The search query: the screened question, after ``context`` (a follow-up's earlier
        question, its first :data:`FOLLOW_UP_CONTEXT_CHARS` characters) as far as
        ``max_query_chars`` allows. A question that grew past the limit when its personal data
        was masked is searched on its first ``max_query_chars`` characters."""
        question = self.screened[: self.max_query_chars]
        room = self.max_query_chars - len(question) - 1
        prefix = " ".join(context.split())[: min(FOLLOW_UP_CONTEXT_CHARS, max(room, 0))]
        return f"{prefix} {question}".strip()

    def fits(self, query: str) -> bool:
        """Whether retrieval accepts ``query`` (a rewrite of the question, say)."""
        return bool(query.strip()) and len(query) <= self.max_query_chars
