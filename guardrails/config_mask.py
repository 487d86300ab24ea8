"""Secrets out of configuration that leaves the server: the impact-assessment report, the record
of the configuration each server ran with (:mod:`assistant.settings_log`).

:func:`mask_tree` masks, anywhere in a JSON-like tree (settings dumped in JSON mode, where a
``SecretStr`` already comes out as ``**********``), every value of a field whose name says it is
secret (``key``, ``secret``, ``password``, ``token``, ``pepper``, ``credential``: a text value; a
flag such as ``require_chain_key`` or a number such as ``max_tokens`` stays readable), the password
inside any URL (:func:`guardrails.store.safe_url` for database URLs, the same rule for every
``scheme://user:password@`` anywhere in a text) and secret-looking query parameters
(``?password=…``).
"""

from __future__ import annotations

import re
from typing import Any

from guardrails.store import safe_url

MASK = "***"
_SECRET_NAME = re.compile(r"key|secret|password|passwd|token|pepper|credential", re.I)
_URL_USERINFO = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^\s/@:]*):[^\s/@]*@")
_SECRET_QUERY = re.compile(r"([?&;](?:[\w.-]*(?:key|secret|password|passwd|token|pepper)[\w.-]*)=)[^&;\s#]*", re.I)
_DB_URL = re.compile(r"^[a-zA-Z][\w+.-]*://[^\s]*$")


def mask_text(text: str) -> str:
    """``text`` with every URL password and secret query parameter replaced by ``***``."""
    if _DB_URL.match(text) and "@" in text:
        shown = safe_url(text)
        text = shown if shown != "<url>" else text
    text = _URL_USERINFO.sub(rf"\1:{MASK}@", text)
    return _SECRET_QUERY.sub(rf"\1{MASK}", text)


def mask_tree(value: Any, name: str = "") -> Any:
    """A JSON-like tree with secrets masked (see the module docstring). ``name``: the field the
    value belongs to (list items inherit it)."""
    if isinstance(value, dict):
        return {k: mask_tree(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_tree(v, name) for v in value]
    if isinstance(value, str):
        if _SECRET_NAME.search(name) and value not in ("", "none", "EMPTY"):
            return MASK
        return mask_text(value)
    return value
