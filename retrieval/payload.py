"""The index format: what every point of the collection holds, in one typed schema.

A point is one chunk of one version of one document. Its id is derived from (document,
version, chunk number), so rewriting a version is idempotent; its payload is a
:class:`ChunkPayload`. ``KEYWORD_FIELDS`` get keyword payload indexes (filters and
permissions run on them inside Qdrant), ``SCAN_FIELDS`` are what an incremental sync reads
back to learn which versions the index holds. ``INDEX_FORMAT`` is part of every document's
stored version: bump it when chunking or this layout changes, so existing indexes re-ingest.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, fields
from typing import Any

from connectors.types import Document
from retrieval.types import Chunk

# 2: payload "section" (the whole section's anchor, for collapsing a section's chunks).
# 3: payload "refs" (the sections a statute article cites) and "term" (one chunk per defined
#    term of a definition article), keyword indexes on "section", "refs" and "term".
INDEX_FORMAT = "3"
_ID_NAMESPACE = uuid.UUID("6f1c1a52-4d0e-4a53-9a3e-8d3c8b1f9e01")


def point_id(doc_id: str, version: str, index: int) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{doc_id}\x00{version}\x00{index}"))


@dataclass(frozen=True, slots=True)
class ChunkPayload:
    doc_id: str
    version: str  # fingerprint of the document's inputs and of how this index chunks/encodes
    content_hash: str
    n_chunks: int  # chunks of this version: a version is complete when all are present
    chunk_index: int
    source: str
    title: str
    anchor: str  # what a citation shows ("개인정보 보호법 제15조 제2항")
    section: str  # the whole section's anchor ("… 제15조"): chunks of one section collapse
    header: str
    text: str
    refs: list[str]  # section anchors its section cites ("개인정보 보호법 제15조"): the reference graph
    term: str  # the term a definition chunk defines, "" for every other chunk
    heading_path: list[str]
    page: int | None
    agency: list[str]  # owning agency first, then co-agencies (소관부처)
    doc_type: str
    access: str
    allowed_agencies: list[str]
    effective_date: str | None
    source_url: str | None
    extra: dict[str, str]

    @classmethod
    def of(cls, doc: Document, chunk: Chunk, version: str, n_chunks: int) -> ChunkPayload:
        co = [a.strip() for a in doc.extra.get("co_agencies", "").split(",") if a.strip()]
        return cls(
            doc_id=doc.doc_id,
            version=version,
            content_hash=doc.content_hash,
            n_chunks=n_chunks,
            chunk_index=chunk.index,
            source=doc.source,
            title=doc.title,
            anchor=chunk.anchor,
            section=chunk.section or chunk.anchor,
            header=chunk.header,
            text=chunk.text,
            refs=list(chunk.refs),
            term=chunk.term or "",
            heading_path=list(chunk.heading_path),
            page=chunk.page,
            agency=[a for a in [doc.agency, *co] if a],
            doc_type=doc.doc_type,
            access=doc.access.value,
            allowed_agencies=sorted(set(doc.allowed_agencies)),
            effective_date=doc.effective_date.isoformat() if doc.effective_date else None,
            source_url=doc.source_url,
            extra=dict(doc.extra),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PAYLOAD_FIELDS = tuple(f.name for f in fields(ChunkPayload))
KEYWORD_FIELDS = (
    "doc_id",
    "version",
    "source",
    "agency",
    "doc_type",
    "access",
    "allowed_agencies",
    "section",
    "refs",
    "term",
)
SCAN_FIELDS = ["doc_id", "version", "n_chunks", "source"]
