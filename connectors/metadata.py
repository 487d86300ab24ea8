"""Document metadata for plain files, and the assembly helpers every file connector shares.

Metadata comes from YAML next to the file: a folder-wide ``_meta.yaml`` and a sidecar
``<file name>.meta.yaml`` (``guide.pdf.meta.yaml``); the sidecar wins key by key. Keys:
``title``, ``agency``, ``doc_type``, ``access`` (public|internal|restricted),
``allowed_agencies`` (list) and ``effective_date`` (YYYY-MM-DD).

:class:`SectionBuilder` turns a stream of headings and paragraphs into :class:`Section` s, and
:func:`build_document` applies the metadata and defaults and returns the :class:`Document`.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from connectors.settings import ConnectorSettings
from connectors.types import AccessLevel, Block, Document, ParseError, Section

FOLDER_META = "_meta.yaml"
SIDECAR_SUFFIX = ".meta.yaml"

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


class FileMeta(BaseModel):
    """The keys a meta file may set; every key is optional."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    agency: str | None = None
    doc_type: str | None = None
    access: AccessLevel | None = None
    allowed_agencies: list[str] | None = None
    effective_date: date | None = None


_KEYS = ", ".join(FileMeta.model_fields)
_ERROR_TEXT = {
    "extra_forbidden": f"알 수 없는 키입니다 (허용: {_KEYS})",
    "enum": "public, internal, restricted 중 하나여야 합니다",
    "string_type": "문자열이어야 합니다",
    "list_type": "문자열 목록이어야 합니다 (예: [누리행정청])",
    "date_type": "YYYY-MM-DD 형식의 날짜여야 합니다",
    "date_parsing": "YYYY-MM-DD 형식의 날짜여야 합니다",
    "date_from_datetime_parsing": "YYYY-MM-DD 형식의 날짜여야 합니다",
    "date_from_datetime_inexact": "YYYY-MM-DD 형식의 날짜여야 합니다 (시각 없이)",
}


def normalize(text: str) -> str:
    """Collapse all whitespace (incl. NBSP, ideographic space) to single spaces."""
    return " ".join(text.translate(_ZERO_WIDTH).split())


def doc_id_for(path: Path) -> str:
    """Stable id of a file document: derived from its resolved absolute path."""
    digest = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()
    return "file:" + digest[:24]


def _read_meta_file(meta_path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(meta_path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise ParseError(f"메타데이터 파일이 UTF-8이 아닙니다 ({meta_path.name})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" {mark.line + 1}행" if mark is not None else ""
        raise ParseError(f"메타데이터 파일의 YAML 구문 오류 ({meta_path.name}{where})") from None
    except OSError as exc:
        raise ParseError(f"메타데이터 파일을 읽을 수 없습니다 ({meta_path.name}): {exc.strerror}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ParseError(f"메타데이터 파일은 '키: 값' 형식이어야 합니다 ({meta_path.name})")
    try:
        return FileMeta.model_validate(raw).model_dump(exclude_unset=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "?"
        reason = _ERROR_TEXT.get(err["type"], err["msg"])
        raise ParseError(f"메타데이터 파일이 올바르지 않습니다 ({meta_path.name}): '{key}' {reason}") from None


def metadata_files(path: Path) -> list[Path]:
    """The metadata files that apply to ``path``, folder-wide first, sidecar last."""
    return [path.parent / FOLDER_META, path.parent / (path.name + SIDECAR_SUFFIX)]


def load_meta(path: Path) -> FileMeta:
    """Merged metadata of ``path``: the folder's ``_meta.yaml``, overridden by the sidecar."""
    merged: dict[str, Any] = {}
    for meta_path in metadata_files(path):
        if meta_path.is_file():
            merged.update(_read_meta_file(meta_path))
    return FileMeta(**merged)


class SectionBuilder:
    """Collects headings and paragraphs in reading order and cuts them into sections.

    Text before the first heading goes into a preamble section anchored with the document
    title (known only at :meth:`build`). A heading section left without paragraphs is dropped
    when the next section is nested inside it (its text survives in ``heading_path``);
    otherwise its heading text becomes its only block, so no text is lost.
    """

    def __init__(self) -> None:
        self._sections: list[tuple[int | None, Section, object]] = []
        self._stack: list[tuple[int, str]] = []
        self._first: Section | None = None

    @property
    def first_heading(self) -> str | None:
        """Text of the document's first heading (a title candidate)."""
        return self._first.anchor if self._first is not None else None

    def heading(self, level: int, text: str, merge_key: object = None) -> None:
        text = normalize(text)
        if not text:
            return
        if merge_key is not None and self._sections:
            last_level, last, last_key = self._sections[-1]
            # A heading typed over two paragraphs ("…한국형발사체," / "국민이 정한 …").
            if last_key == merge_key and last_level == level and not last.blocks:
                merged = f"{last.anchor} {text}"
                if len(merged) <= 120:
                    last.anchor = merged
                    self._stack[-1] = (level, merged)
                    return
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        section = Section(anchor=text, blocks=[], heading_path=[t for _, t in self._stack])
        self._stack.append((level, text))
        self._sections.append((level, section, merge_key))
        if self._first is None:
            self._first = section

    def block(self, text: str, label: str | None = None) -> None:
        text = normalize(text)
        if not text:
            return
        if not self._sections:
            self._sections.append((None, Section(anchor="", blocks=[]), None))
        self._sections[-1][1].blocks.append(Block(text=text, label=label))

    def build(self, title: str) -> list[Section]:
        out: list[Section] = []
        entries = self._sections
        for i, (level, section, _) in enumerate(entries):
            if level is None:
                section.anchor = title
                first_is_title = bool(section.blocks) and section.blocks[0].text == title
                if first_is_title and (len(section.blocks) > 1 or len(entries) > 1):
                    del section.blocks[0]  # the title line itself
            elif not section.blocks:
                nxt = entries[i + 1] if i + 1 < len(entries) else None
                if nxt is not None and nxt[0] is not None and nxt[0] > level:
                    continue
                section.blocks.append(Block(text=section.anchor))
            if section.blocks:
                out.append(section)
        return out


def build_document(
    path: Path,
    settings: ConnectorSettings,
    *,
    title: str | None,
    sections: SectionBuilder | list[Section],
) -> Document:
    """Apply the file's metadata and the defaults; returns the finished Document."""
    meta = load_meta(path)
    final_title = normalize(meta.title or title or "") or path.stem
    built = sections.build(final_title) if isinstance(sections, SectionBuilder) else sections
    agency = (meta.agency or "").strip()
    allowed = [a.strip() for a in (meta.allowed_agencies or []) if a.strip()]
    if agency and agency not in allowed:
        allowed.insert(0, agency)
    access = meta.access or AccessLevel(settings.default_access)
    resolved = path.resolve()
    return Document(
        doc_id=doc_id_for(resolved),
        source=str(resolved),
        title=final_title,
        sections=built,
        agency=agency,
        doc_type=(meta.doc_type or "").strip() or "document",
        access=access,
        allowed_agencies=allowed,
        effective_date=meta.effective_date,
    )
