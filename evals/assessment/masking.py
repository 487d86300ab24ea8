"""What of the configuration may appear in the report: secrets never (the rules of
:mod:`guardrails.config_mask`), endpoints by host (:func:`host_of`: ``scheme://host:port``, no
user, path or query).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from guardrails.config_mask import MASK, mask_text, mask_tree

if TYPE_CHECKING:
    from configs.settings import Settings

__all__ = ["MASK", "host_of", "mask_text", "mask_tree", "masked_settings"]

_URL_ANY_USERINFO = re.compile(r"(\b[a-zA-Z][\w+.-]*://)[^\s/@]+@")


def masked_settings(settings: Settings) -> dict[str, Any]:
    """The whole configuration, secrets masked."""
    masked: dict[str, Any] = mask_tree(settings.model_dump(mode="json"))
    return masked


def host_of(url: str) -> str:
    """``scheme://host[:port]`` of an endpoint (no user, password, path or query); a value that
    is not a URL is masked as a text."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return _URL_ANY_USERINFO.sub(r"\1", mask_text(url))
    if not parts.scheme or not host:
        return _URL_ANY_USERINFO.sub(r"\1", mask_text(url))
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}" + (f":{port}" if port else "")
