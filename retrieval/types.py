"""Types at the retrieval boundary: chunks going into the index and hits coming out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from connectors.types import Clearance


@dataclass(slots=True)
class Chunk:
    """A token-bounded piece of one Section, ready to embed.

    ``text`` is what a user sees; ``header`` names the document, enclosing headings and
    article title, so that ``embed_text`` of a chunk deep inside a statute still says which
    law and which chapter it belongs to.
    """

    doc_id: str
    index: int
    anchor: str
    text: str
    header: str
    heading_path: list[str] = field(default_factory=list)
    page: int | None = None
    section: str = ""  # the whole section's anchor ("… 제15조") when ``anchor`` names part of it
    refs: list[str] = field(default_factory=list)  # section anchors its section cites (statutes)
    term: str | None = None  # the term it defines, when it is one item of a definition article

    @property
    def embed_text(self) -> str:
        return f"{self.header}\n{self.text}"


class SearchFilters(BaseModel):
    """Filters on document metadata, applied inside Qdrant."""

    model_config = ConfigDict(extra="forbid")

    agency: str | None = Field(None, description="Only documents of this agency (소관부처).")
    doc_type: str | None = Field(None, description="Only this document type, e.g. statute.")
    doc_ids: list[str] | None = Field(None, description="Only these documents.")


CLEARANCE_RANK: dict[str, int] = {"public": 0, "internal": 1, "restricted": 2}

#: A document id no document has: the ``doc_id`` condition of a scope that names no document.
NO_DOCUMENT = "\x00none"


class Scope(BaseModel):
    """What an agency assistant reads: conditions that only narrow the caller's own reading.

    Every non-empty field is one more condition every passage must meet, added inside the Qdrant
    filter beside the caller's permission (:func:`retrieval.index.build_filter`): an assistant can
    never widen what its caller may read. ``doc_ids`` is None for "any document"; an empty tuple
    means none (the assistant's sources and statutes matched no document)."""

    model_config = ConfigDict(frozen=True)

    agencies: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] | None = None


class Principal(BaseModel):
    """Who is asking, as far as what they may read goes (the API's authenticated caller).

    A chunk is readable when its ``access`` is ``public``; or ``internal`` and the principal
    belongs to an agency with clearance ``internal`` or higher; or ``restricted`` and the
    principal's agency is among the chunk's ``allowed_agencies`` (the owner is always listed)
    with clearance ``restricted``. Nobody else gets more than public chunks. Operators (the CLI
    on the server itself) read everything. The rule is a Qdrant filter
    (:func:`retrieval.index.build_filter`), never a filter over results in Python.
    """

    model_config = ConfigDict(frozen=True)

    agency: str | None = None
    clearance: Clearance = Field("public", description="Highest access level this principal may read.")
    operator: bool = Field(False, description="Operators (CLI on the server) see everything.")
    scope: Scope | None = Field(
        None, description="Reading through an agency assistant: its scope narrows (never widens) the above."
    )

    def may_read(self, level: str) -> bool:
        return CLEARANCE_RANK.get(level, 99) <= CLEARANCE_RANK[self.clearance]

    def narrowed(self, scope: Scope | None) -> Principal:
        """This principal reading through an assistant of ``scope`` (one scope at a time)."""
        return self if scope is None else self.model_copy(update={"scope": scope})


class Hit(BaseModel):
    """One ranked passage, as printed by ``nuri search --json`` and returned by the API."""

    rank: int
    score: float
    chunk_id: str = Field("", description="The passage's id in the index (`GET /v1/passages/{chunk_id}`).")
    doc_id: str
    title: str
    anchor: str
    source: str
    text: str
    metadata: dict[str, Any] = Field(default_factory=dict, exclude=True)
    relevance: float | None = Field(
        None,
        exclude=True,
        description="Cosine similarity of query and passage (dense encoder), when the passage is "
        "among the dense candidates; set by ``NuriIndex.search(with_relevance=True)``. Unlike the "
        "rank-based fusion score it is comparable across queries, so it can gate refusals.",
    )

    def citation_fields(self) -> dict[str, Any]:
        """Everything but the passage text: what framework adapters put in metadata."""
        return self.model_dump(exclude={"text"})
