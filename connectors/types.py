"""The types every connector produces: a :class:`Document` made of :class:`Section` s.

A connector turns one source (a file, a statute) into one Document. A Document keeps the
source's structure: each Section is a unit a citation can point at (a statute article, a
heading's body, a PDF page) and is made of Blocks (paragraphs, 항) that the chunker may
split between when a section is too long for one chunk.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Literal, get_args

from connectors.errors import NuriError


class AccessLevel(StrEnum):
    """Who may read a document.

    - public: every caller.
    - internal: callers from any government agency on the platform (an identified agency).
    - restricted: only callers from the owning agency or one of ``allowed_agencies``.
    """

    PUBLIC = "public"
    INTERNAL = "internal"
    RESTRICTED = "restricted"


#: What a caller may read, on the same scale as :class:`AccessLevel`.
Clearance = Literal["public", "internal", "restricted"]
CLEARANCES: tuple[str, ...] = get_args(Clearance)
#: What a caller may do (API keys, gateway identities). ``metrics``: read ``/metrics`` only (a scraper's key).
Role = Literal["user", "admin", "evaluator", "metrics"]
ROLES: tuple[str, ...] = get_args(Role)


class ParseError(NuriError):
    """A source could not be turned into a Document. The message is the user-facing reason."""

    code = "unreadable_document"


@dataclass(slots=True)
class Block:
    """A paragraph-level piece of a section.

    ``label`` names the block inside its section when citations may point at it
    (e.g. "제1항" for a statute paragraph); plain paragraphs have no label.
    """

    text: str
    label: str | None = None
    standalone: bool = False  # a chunk of its own, never packed with other blocks (a defined term)
    term: str | None = None  # the term this block defines (a statute's 정의 article)


@dataclass(slots=True)
class Section:
    """A citable unit of a document.

    ``anchor`` is what a citation shows: "개인정보 보호법 제15조", "3. 신청 절차", "p. 4".
    ``heading_path`` holds the enclosing headings (장/절, document headings) for context.
    """

    anchor: str
    blocks: list[Block]
    title: str | None = None
    heading_path: list[str] = field(default_factory=list)
    page: int | None = None
    refs: list[str] = field(default_factory=list)  # anchors of the sections it refers to (statutes)

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)


@dataclass(slots=True)
class Document:
    """One source document, with the metadata retrieval filters and citations need."""

    doc_id: str
    source: str
    title: str
    sections: list[Section]
    agency: str = ""
    doc_type: str = "document"
    access: AccessLevel = AccessLevel.PUBLIC
    allowed_agencies: list[str] = field(default_factory=list)
    effective_date: date | None = None
    source_url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    content_hash: str = ""

    def __post_init__(self) -> None:
        if not self.content_hash:
            self.content_hash = self.compute_hash()

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections)

    def compute_hash(self) -> str:
        """Hash of everything that ends up in the index: text, anchors and metadata."""
        h = hashlib.sha256()
        for part in (
            self.title,
            self.agency,
            self.doc_type,
            self.access.value,
            ",".join(sorted(self.allowed_agencies)),
            self.effective_date.isoformat() if self.effective_date else "",
            self.source_url or "",
            repr(sorted(self.extra.items())),
        ):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        for s in self.sections:
            h.update(s.anchor.encode("utf-8"))
            h.update(b"\x01")
            h.update("/".join(s.heading_path).encode("utf-8"))
            h.update(b"\x01")
            h.update((s.title or "").encode("utf-8"))
            h.update(str(s.page).encode())
            for b in s.blocks:
                h.update(b"\x02")
                h.update((b.label or "").encode("utf-8"))
                h.update(b"\x03")
                h.update(b.text.encode("utf-8"))
        return h.hexdigest()
