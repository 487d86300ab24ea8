"""The small index interface both Qdrant backends implement.

One collection holds every chunk: a named dense vector ``dense`` (cosine), a named sparse
vector ``sparse`` (IDF modifier) and a payload with the document metadata; keyword payload
indexes cover the filter fields. Filters are expressed here once, backend-neutral, and each
backend translates them to its own Qdrant filter objects.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from retrieval.sparse import SparseVector

DENSE = "dense"
SPARSE = "sparse"
KEYWORD_FIELDS = ("doc_id", "version", "source", "agency", "doc_type", "access", "allowed_agencies")
SCAN_FIELDS = ["doc_id", "version", "n_chunks", "source"]


@dataclass(slots=True)
class FieldMatch:
    """The payload field ``key`` holds (or, for a list, contains) one of ``values``."""

    key: str
    values: list[str]


@dataclass(slots=True)
class FilterSpec:
    """All of ``must``; and, when ``should`` is non-empty, at least one of ``should``."""

    must: list[FieldMatch] = field(default_factory=list)
    should: list[FieldMatch] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.must and not self.should


@dataclass(slots=True)
class IndexPoint:
    id: str
    dense: list[float]
    sparse: SparseVector
    payload: dict[str, Any]


@dataclass(slots=True)
class ScoredPayload:
    id: str
    score: float
    payload: dict[str, Any]


@dataclass(slots=True)
class DocState:
    """What the index holds of one document: chunk counts per stored version.

    ``version`` is the fingerprint of the document's inputs (file bytes, metadata files,
    connector options); a document is complete when exactly one version is stored and none
    of its ``n_chunks`` chunks is missing.
    """

    source: str
    n_chunks: int
    versions: Counter = field(default_factory=Counter)

    def is_complete(self, version: str) -> bool:
        return set(self.versions) == {version} and self.versions[version] == self.n_chunks


def collect_doc_state(docs: dict[str, DocState], payload: dict[str, Any]) -> None:
    """Fold one scanned point's payload into the per-document states."""
    st = docs.setdefault(
        payload["doc_id"],
        DocState(source=payload.get("source", ""), n_chunks=int(payload.get("n_chunks", 0))),
    )
    st.versions[payload["version"]] += 1


class VectorStore(Protocol):
    def upsert(self, points: list[IndexPoint]) -> None: ...

    def delete_doc(self, doc_id: str, keep_version: str | None = None) -> None:
        """Delete a document's chunks; with ``keep_version``, only those of other versions."""

    def scan_docs(self) -> dict[str, DocState]: ...

    def hybrid_query(
        self,
        dense: list[float],
        sparse: SparseVector,
        flt: FilterSpec,
        limit: int,
        dense_limit: int,
        sparse_limit: int,
        rrf_k: int,
        rrf_weights: list[float] | None,
        hnsw_ef: int,
    ) -> list[ScoredPayload]: ...

    def dense_scores(
        self, dense: list[float], flt: FilterSpec, limit: int, hnsw_ef: int
    ) -> dict[str, float]:
        """Cosine similarity of the ``limit`` nearest points (id -> score), no payload."""

    def count(self) -> int: ...

    def read_meta(self) -> dict[str, Any] | None: ...

    def write_meta(self, meta: dict[str, Any]) -> None: ...

    def finish_batch(self) -> None:
        """Make everything written so far durable and searchable (flush, build indexes)."""

    def close(self) -> None: ...
