"""The command line's own errors (both :class:`~connectors.errors.NuriError`, so that ``nuri`` and
every plugged-in command print and exit the same way); kept apart from :mod:`assistant.cli` so
that the command modules import them without importing the command line itself."""

from __future__ import annotations

from connectors.errors import NuriError


class CliUsageError(NuriError):
    """Wrong command-line usage; exit status 2."""

    code = "usage"


class CommandError(NuriError):
    """A command failed for a reason the user can act on; printed as one line, exit status 1."""

    code = "command_failed"
