"""Errors of the answering stage, each with a Korean message first (shown to users)."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class; ``str(e)`` is a one-line Korean message."""


class ModelServerError(AssistantError):
    """The bundled model server could not be prepared, started or health-checked."""


class LLMUnavailableError(AssistantError):
    """No generative model to answer with: none configured, or no endpoint answered
    (connection refused, timeout, 5xx)."""


class ModelResponseError(AssistantError):
    """The model server answered, but with an error (bad model name, context too long...)."""


class InvalidQuestionError(AssistantError):
    """Empty, too long or otherwise unusable question."""


class InvalidHistoryError(InvalidQuestionError):
    """An earlier conversation turn is unusable (too long, wrong role)."""
