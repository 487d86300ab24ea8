"""The one root of the errors Nuri raises on purpose: :class:`NuriError`.

It lives at the bottom of the house (every stage may import connectors' types), so that every
stage's errors share it: connectors (``ParseError``), retrieval (``retrieval.errors``), guardrails
(the key store and the audit trail), the answering stage (``assistant.errors``), the HTTP layer
(``ApiError``), the command line and the eval suite.

Each error class carries a stable, machine-readable ``code`` (the HTTP API's ``error.code``);
``str(error)`` is one line in Korean that a user or operator can act on, ``message_en`` the same in
English when the raiser wrote one. The HTTP status of a code is looked up in the one table of
:mod:`assistant.http.errors`; the command line's exit status and message in :mod:`assistant.cli`.
Anything else that escapes (a bug) is an internal error: logged, never shown with its details.
"""

from __future__ import annotations


class NuriError(Exception):
    """Base of every deliberate error. Subclasses set :attr:`code`."""

    #: Stable error code (snake_case); ``internal_error`` for the bases that only group others.
    code: str = "internal_error"

    def __init__(self, message: str = "", *, message_en: str | None = None) -> None:
        super().__init__(message)
        self.message_en = message_en

    @property
    def message(self) -> str:
        return str(self)
