"""Structured logging: one JSON object per line on stderr (or plain text when configured).

Every stage logs through :mod:`logging` with ``extra={...}`` fields; :func:`setup_logging`
installs the formatter once per process (CLI, server, evals, benchmarks).
"""

from __future__ import annotations

import json
import logging
import sys
import time

from pydantic import BaseModel, ConfigDict, Field

_STD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class LoggingSettings(BaseModel):
    """The ``logging:`` block."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: str = Field("INFO", description="Log level of `nuri -v …` (without -v the command line logs errors only).")
    json_format: bool = Field(True, description="One JSON object per log line (false: plain text).")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STD_ATTRS})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_logging(level: str = "INFO", json_format: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_format else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
