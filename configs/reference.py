"""The configuration reference, generated from the schema: every key, its ``NURI_...``
variable, its default and what it does. ``make docs`` writes it into ``docs/configuration.md``;
``make test`` fails when that page and the schema disagree."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from configs.settings import Settings


def _default(info: FieldInfo) -> Any:
    return info.get_default(call_default_factory=True)


def _is_block(info: FieldInfo) -> bool:
    return isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)


def rows(model: type[BaseModel] = Settings, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, str, str, str]]:
    """(variable, key, default, description) of every leaf setting, in schema order."""
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        if _is_block(info):
            assert isinstance(info.annotation, type)
            yield from rows(info.annotation, path)
            continue
        yield (
            "NURI_" + "__".join(p.upper() for p in path),
            ".".join(path),
            _show(_default(info)),
            info.description or "",
        )


def _show(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        return f"`{value}`"
    if isinstance(value, (list, dict)):
        return f"`{json.dumps(value, ensure_ascii=False)}`"
    return f"`{value}`"


def markdown_table() -> str:
    lines = ["| variable | key | default | what it does |", "|---|---|---|---|"]
    for var, key, default, description in rows():
        text = description.replace("|", "\\|")
        lines.append(f"| `{var}` | `{key}` | {default} | {text} |")
    return "\n".join(lines)
