"""Errors of the answering stage, each with a Korean message first (shown to users)."""

from __future__ import annotations


class AssistantError(Exception):
    """Base class; ``str(e)`` is a one-line Korean message."""


class ModelServerError(AssistantError):
    """The bundled model server could not be prepared, started or health-checked."""


class ModelUnavailableError(AssistantError):
    """No configured model endpoint answered (connection refused, timeout, 5xx)."""


class ModelResponseError(AssistantError):
    """The model server answered, but with an error (bad model name, context too long...)."""


class InvalidQuestionError(AssistantError):
    """Empty, too long or otherwise unusable question/history."""
