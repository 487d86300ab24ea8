"""Errors of the answering stage, each with a Korean message first (shown to users); their
codes are the HTTP API's ``error.code`` (:mod:`assistant.http.errors`)."""

from __future__ import annotations

from connectors.errors import NuriError


class AssistantError(NuriError):
    """Base class; ``str(e)`` is a one-line Korean message."""


class UnfinishedAnswerError(AssistantError):
    """A stream of answer events ended without its ``done`` event (internal: 500)."""

    def __init__(self) -> None:
        super().__init__("답변이 끝나지 않았습니다", message_en="The answer did not finish")


class LLMUnavailableError(AssistantError):
    """No generative model to answer with: none configured, or no endpoint answered
    (connection refused, timeout, 5xx)."""

    code = "model_unavailable"


class ModelServerError(LLMUnavailableError):
    """The bundled model server could not be prepared, started or health-checked."""


class ModelResponseError(AssistantError):
    """The model server answered, but with an error (bad model name, context too long...)."""

    code = "model_error"


class InvalidQuestionError(AssistantError):
    """Empty, too long or otherwise unusable question."""

    code = "invalid_question"


class InvalidHistoryError(InvalidQuestionError):
    """An earlier conversation turn is unusable (too long, wrong role)."""

    code = "invalid_history"
