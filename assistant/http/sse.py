"""Server-sent events: one ``data:`` line per JSON event (the framing both streamed endpoints use)."""

from __future__ import annotations

import json
from typing import Any

DONE = "[DONE]"


def sse(data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {payload}\n\n".encode()


HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
