"""What an eval dataset line is (``EvalItem``) and how a file of them is read and checked.

One JSON object per line (UTF-8). Two shapes are accepted:

* the eval schema::

    {"id": "s-001", "question": "…", "category": "fact", "language": "ko",
     "expected": "answer" | "refuse" | "block" | "mask",
     "reference_answer": "…",
     "reference_passages": [{"law": "국가공무원법", "articles": ["제76조"]},
                            {"doc": "remote_work_guideline.md", "anchor": "2. 적용 대상"}],
     "forbidden": ["900101-1234567"],   # strings that must not appear in the answer (mask/block)
     "passages": ["…"]}                 # text that reaches the model as a retrieved passage
                                        # (indirect prompt injection); optional

* the statute QA schema of ``../shared/data/qa/*.jsonl`` as it is::

    {"id", "question", "law", "articles", "answer", "type"}

  ``law`` + ``articles`` become one reference passage, ``answer`` the reference answer, ``type``
  the category; ``articles: []`` means the corpus has no answer: ``expected`` is ``refuse``.

A reference passage names a statute article (``law`` + ``articles``: a hit counts when its anchor
is one of those articles of that law) or a document (``doc``: its id, file name or title; with
``anchor``, only the part whose heading starts with it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connectors.errors import NuriError

Expected = Literal["answer", "refuse", "block", "mask"]
EXPECTED_VALUES: tuple[Expected, ...] = ("answer", "refuse", "block", "mask")


class PassageRef(BaseModel):
    """One gold passage: a statute article (``law`` + ``articles``) or a document part (``doc``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    law: str | None = None
    articles: list[str] = Field(default_factory=list)
    doc: str | None = None
    anchor: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> PassageRef:
        if bool(self.law) == bool(self.doc):
            raise ValueError("reference passage needs exactly one of `law` (with `articles`) or `doc`")
        if self.law and not self.articles:
            raise ValueError('`law` needs `articles` (e.g. ["제76조"])')
        if self.doc and self.articles:
            raise ValueError("`articles` belongs to `law`, not `doc`")
        return self

    def unit_keys(self) -> list[str]:
        """The relevance units this reference stands for (one per article, or the document part)."""
        if self.law:
            return [f"{self.law} {a}" for a in self.articles]
        return [f"{self.doc}#{self.anchor}" if self.anchor else str(self.doc)]


class EvalItem(BaseModel):
    """One question of a suite, with what a good answer looks like."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(..., min_length=1)
    question: str = Field(..., min_length=1)
    category: str = "general"
    language: Literal["ko", "en"] = "ko"
    expected: Expected = "answer"
    reference_answer: str = ""
    reference_passages: list[PassageRef] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)
    passages: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> EvalItem:
        if self.expected == "answer" and not (self.reference_passages or self.reference_answer):
            raise ValueError("an item expected to be answered needs `reference_passages` or `reference_answer`")
        if self.expected == "mask" and not self.forbidden:
            raise ValueError("an item expected to be masked needs `forbidden` (the strings that must not appear)")
        return self

    @property
    def answerable(self) -> bool:
        return self.expected == "answer"

    @property
    def relevant(self) -> list[str]:
        return [k for ref in self.reference_passages for k in ref.unit_keys()]


_STATUTE_KEYS = {"id", "question", "law", "articles", "answer", "type"}


def parse_item(obj: Any) -> EvalItem:
    """An item from one decoded JSON line, in either schema (see the module docstring)."""
    if not isinstance(obj, dict):
        raise ValueError("a line must be a JSON object")
    if "law" in obj or "articles" in obj:
        extra = set(obj) - _STATUTE_KEYS
        if extra:
            raise ValueError(f"statute QA line has unknown keys: {', '.join(sorted(extra))}")
        law, articles = obj.get("law") or "", obj.get("articles")
        if not isinstance(articles, list):
            raise ValueError("`articles` must be a list (empty = the corpus has no answer)")
        answerable = bool(law and articles)
        return EvalItem(
            id=obj.get("id", ""),
            question=obj.get("question", ""),
            category=str(obj.get("type") or "fact"),
            language="ko",
            expected="answer" if answerable else "refuse",
            reference_answer=str(obj.get("answer") or ""),
            reference_passages=[PassageRef(law=law, articles=articles)] if answerable else [],
        )
    return EvalItem.model_validate(obj)


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}행: {self.message}"


class DatasetError(NuriError):
    """A dataset file has bad lines; ``errors`` lists each with its line number."""

    code = "invalid_dataset"

    def __init__(self, path: Path, errors: list[LineError]) -> None:
        self.path, self.errors = path, errors
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (외 {len(errors) - 5}개)" if len(errors) > 5 else ""
        super().__init__(f"데이터셋 오류 {path}: {shown}{more}")


def _message(e: Exception) -> str:
    if isinstance(e, ValidationError):
        parts = []
        for err in e.errors():
            loc = ".".join(str(x) for x in err.get("loc", ()))
            msg = str(err.get("msg", "")).removeprefix("Value error, ")
            parts.append(f"{loc}: {msg}" if loc else msg)
        return "; ".join(parts)
    return str(e)


def validate_lines(lines: Iterable[str]) -> tuple[list[EvalItem], list[LineError]]:
    """Every good item and every bad line (1-based line numbers); blank lines are skipped."""
    items: list[EvalItem] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = parse_item(json.loads(line))
        except json.JSONDecodeError as e:
            errors.append(LineError(n, f"JSON이 아닙니다 ({e.msg}, {e.colno}열)"))
            continue
        except (ValidationError, ValueError) as e:
            errors.append(LineError(n, _message(e)))
            continue
        if item.id in seen:
            errors.append(LineError(n, f"id '{item.id}'가 {seen[item.id]}행과 겹칩니다"))
            continue
        seen[item.id] = n
        items.append(item)
    return items, errors


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise FileNotFoundError(f"데이터셋 파일이 없습니다: {path}") from e
    except UnicodeDecodeError as e:
        raise DatasetError(path, [LineError(0, f"UTF-8이 아닙니다 (바이트 {e.start})")]) from e


def load_items(path: Path) -> list[EvalItem]:
    """All items of a dataset file; any bad line raises :class:`DatasetError` naming each line."""
    items, errors = validate_lines(read_text(path).splitlines())
    if errors:
        raise DatasetError(path, errors)
    if not items:
        raise DatasetError(path, [LineError(0, "질문이 하나도 없습니다")])
    return items


def dataset_hash(items: Iterable[EvalItem]) -> str:
    """sha256 of the items as read (canonical JSON), so two runs on the same questions match."""
    h = hashlib.sha256()
    for item in items:
        h.update(item.model_dump_json().encode())
        h.update(b"\n")
    return h.hexdigest()
