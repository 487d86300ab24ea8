"""The id of the HTTP request being served, for everything that runs on its behalf.

:class:`assistant.http.request_id.RequestIds` sets it for each request (always a new one; a
caller's own ``X-Request-ID`` is echoed as ``X-Client-Request-ID``) and sends it back in the
response's header; the error bodies (:func:`assistant.http.errors.error_body`), the log records
(:class:`RequestIdLogFilter`) and the audit record of the exchange the request started
(:class:`assistant.exchange.Exchange`) quote the same id. It is a context variable: FastAPI's
worker threads and a streamed answer's generator steps run in copies of the request's context,
so they see it; code outside a request (the CLI, the eval suite) sees None.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

#: What a caller's own ``X-Request-ID`` may be to be kept (anything else is replaced).
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")

_request_id: ContextVar[str | None] = ContextVar("nuri_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request this code runs for, or None outside a request."""
    return _request_id.get()


def request_id_var() -> ContextVar[str | None]:
    """The context variable itself (set and reset by the HTTP middleware)."""
    return _request_id


def new_request_id() -> str:
    return uuid.uuid4().hex


def client_request_id(given: str | None) -> str | None:
    """The caller's own id when it is a safe token (letters, digits, ``.``, ``_``, ``-``; at most
    64), else None: nothing a caller sends reaches a log line or a header unchecked. It is
    echoed (``X-Client-Request-ID``) and logged beside the request's id, never used as it: the
    request's id is the audit record's id, which must be unique and not chosen by a caller."""
    if given and REQUEST_ID_PATTERN.fullmatch(given):
        return given
    return None


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` to every record logged while a request is served (a record that
    names one itself keeps its own). Installed on handlers (:func:`install_log_filter`): a
    logger's filter would not see the records its children pass up."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            rid = _request_id.get()
            if rid is not None:
                record.request_id = rid
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Put :class:`RequestIdLogFilter` on every handler of ``logger`` (the root logger: where
    :func:`configs.logs.setup_logging` puts its one handler), once."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RequestIdLogFilter) for f in handler.filters):
            handler.addFilter(RequestIdLogFilter())
