"""The small index interface both Qdrant backends implement, and what they share.

One collection holds every chunk: a named dense vector ``dense`` (cosine), a named sparse
vector ``sparse`` (IDF modifier) and a payload (``retrieval.payload.ChunkPayload``); keyword
payload indexes cover the filter fields. Filters are expressed here once, backend-neutral
(:class:`FilterSpec`), and :func:`translate_filter` builds each backend's own Qdrant filter
objects from it; :func:`scan_documents` is the scroll loop both use to read back which
versions of which documents the index holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from retrieval.sparse import SparseVector

DENSE = "dense"
SPARSE = "sparse"
SCROLL_PAGE = 2048


@dataclass(slots=True)
class FieldMatch:
    """The payload field ``key`` holds (or, for a list, contains) one of ``values``."""

    key: str
    values: list[str]


@dataclass(slots=True)
class AllOf:
    """Every one of ``conditions`` holds: one alternative of a ``should``."""

    conditions: list[FieldMatch]


@dataclass(slots=True)
class FilterSpec:
    """All of ``must``; when ``should`` is non-empty, at least one of ``should``; none of
    ``must_not``."""

    must: list[FieldMatch] = field(default_factory=list)
    should: list[FieldMatch | AllOf] = field(default_factory=list)
    must_not: list[FieldMatch] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.must and not self.should and not self.must_not

    def narrowed(self, must: Iterable[FieldMatch] = (), must_not: Iterable[FieldMatch] = ()) -> FilterSpec:
        """This filter with more conditions (the caller's permissions stay as they are)."""
        return FilterSpec([*self.must, *must], list(self.should), [*self.must_not, *must_not])


Cond = TypeVar("Cond")
Flt = TypeVar("Flt")


def translate_filter(
    flt: FilterSpec,
    match: Callable[[str, list[str]], Cond],
    make: Callable[..., Flt],
    must_not: Iterable[FieldMatch] = (),
) -> Flt | None:
    """A backend's filter object from a :class:`FilterSpec`: ``match(key, values)`` builds one
    condition, ``make(must=..., should=..., must_not=...)`` a filter (qdrant-client's
    ``models.Filter`` or Qdrant Edge's ``Filter``, which take the same keywords)."""
    excluded = [match(m.key, m.values) for m in [*flt.must_not, *must_not]]
    if flt.empty and not excluded:
        return None
    must: list[Any] = [match(m.key, m.values) for m in flt.must]
    if flt.should:
        alternatives = [
            make(must=[match(c.key, c.values) for c in m.conditions])
            if isinstance(m, AllOf)
            else match(m.key, m.values)
            for m in flt.should
        ]
        must.append(make(should=alternatives))
    return make(must=must or None, must_not=excluded or None)


@dataclass(slots=True)
class HybridQuery:
    """One hybrid search: dense and sparse prefetches (each with the filter), fused by RRF."""

    dense: list[float]
    sparse: SparseVector
    flt: FilterSpec
    limit: int
    dense_limit: int
    sparse_limit: int
    rrf_k: int
    rrf_weights: list[float] | None
    hnsw_ef: int


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


def best_first(points: list[ScoredPayload]) -> list[ScoredPayload]:
    """``points`` by score, highest first, equal scores by point id: reciprocal-rank fusion gives
    many exact ties (rank i in one list and j in the other scores as j and i), which the engine
    returns in no fixed order, so without this two runs of one query could swap ranks."""
    return sorted(points, key=lambda sp: (-sp.score, sp.id))


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


def doc_ids_by_source(state: dict[str, DocState]) -> dict[str, list[str]]:
    """The document ids the index holds for each source file."""
    out: dict[str, list[str]] = {}
    for doc_id, st in state.items():
        out.setdefault(st.source, []).append(doc_id)
    return out


def holds_current(state: dict[str, DocState], doc_ids: list[str], version: str) -> bool:
    """A source is up to date: it gave exactly one document, stored complete at ``version``."""
    return len(doc_ids) == 1 and state[doc_ids[0]].is_complete(version)


def scan_documents(
    scroll: Callable[[Any], tuple[Iterable[dict[str, Any] | None], Any]],
) -> dict[str, DocState]:
    """Per-document states from every point, read page by page: ``scroll(offset)`` returns one
    page's payloads (``SCAN_FIELDS`` only) and the next offset (None after the last page)."""
    docs: dict[str, DocState] = {}
    offset = None
    while True:
        payloads, offset = scroll(offset)
        for payload in payloads:
            payload = payload or {}
            st = docs.setdefault(
                payload["doc_id"],
                DocState(source=payload.get("source", ""), n_chunks=int(payload.get("n_chunks", 0))),
            )
            st.versions[payload["version"]] += 1
        if offset is None:
            return docs


#: What a document listing reads of each point (:meth:`VectorStore.scroll_points`): never the texts.
DOCUMENT_FIELDS = ["doc_id", "version", "n_chunks", "source", "title", "doc_type", "agency", "access"]
#: What a document's chunk list reads of each point: enough for a readable location, no texts.
CHUNK_FIELDS = [*DOCUMENT_FIELDS, "chunk_index", "anchor", "section", "page", "heading_path"]


@dataclass(slots=True)
class StoredPoint:
    """One point read back by id or by a scroll (no score): its id and (part of) its payload."""

    id: str
    payload: dict[str, Any]


def scroll_all(page: Callable[[Any], tuple[list[StoredPoint], Any]]) -> Iterator[StoredPoint]:
    """Every point of a scroll, page by page: ``page(offset)`` returns one page and the next offset
    (None after the last page). Only one page is held at a time."""
    offset = None
    while True:
        points, offset = page(offset)
        yield from points
        if offset is None:
            return


# Every definition chunk (``term`` set): what :func:`scan_definitions` reads back.
DEFINITIONS = FilterSpec(must_not=[FieldMatch("term", [""])])


@dataclass(slots=True)
class Definitions:
    """The term and unit dense vector of every definition chunk (``vectors[i]`` defines
    ``terms[i]``), kept in memory to preselect the candidate terms of a query."""

    terms: list[str]
    vectors: np.ndarray  # (len(terms), dim) float32, rows of norm 1


def scan_definitions(
    scroll: Callable[[Any], tuple[Iterable[tuple[dict[str, Any] | None, Any]], Any]],
) -> Definitions:
    """:class:`Definitions` read page by page: ``scroll(offset)`` returns one page of
    (payload with ``term``, dense vector) pairs of the points :data:`DEFINITIONS` selects and
    the next offset (None after the last page)."""
    terms: list[str] = []
    pages: list[np.ndarray] = []
    offset = None
    while True:
        records, offset = scroll(offset)
        rows = []
        for payload, vector in records:
            term = (payload or {}).get("term")
            if isinstance(term, str) and term and vector is not None:
                terms.append(term)
                rows.append(vector)
        if rows:
            pages.append(np.asarray(rows, dtype=np.float32))
        if offset is None:
            break
    if not pages:
        return Definitions([], np.zeros((0, 0), dtype=np.float32))
    vectors = np.concatenate(pages)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors /= np.where(norms > 0, norms, 1.0)
    return Definitions(terms, vectors)


class VectorStore(Protocol):
    exclusive: bool
    """Only this process writes the index (an Edge shard is locked by the process that opened
    it); otherwise other processes may change it at any time (a Qdrant server)."""

    def upsert(self, points: list[IndexPoint]) -> None: ...

    def delete_doc(self, doc_id: str, keep_version: str | None = None, source: str | None = None) -> None:
        """Delete a document's chunks; with ``keep_version``, only those of other versions; with
        ``source``, only those written from that file."""

    def scan_docs(self) -> dict[str, DocState]: ...

    def scan_definitions(self) -> Definitions:
        """The term and dense vector of every definition chunk (a scroll, not a search)."""
        ...

    def hybrid_query(self, query: HybridQuery) -> list[ScoredPayload]: ...

    def dense_query(
        self, dense: list[float], flt: FilterSpec, limit: int, hnsw_ef: int, with_payload: bool = False
    ) -> list[ScoredPayload]:
        """The ``limit`` nearest points by cosine similarity (dense vector only)."""
        ...

    def count(self) -> int: ...

    def retrieve(self, ids: list[str], flt: FilterSpec) -> list[StoredPoint]:
        """The points of ``ids`` that ``flt`` lets through, with their whole payloads. The filter
        (the caller's permissions) runs inside Qdrant, with the ids as one more condition: a point
        the caller may not read is never read back."""
        ...

    def scroll_points(self, flt: FilterSpec, fields: list[str]) -> Iterator[StoredPoint]:
        """Every point ``flt`` lets through, with only the payload ``fields`` (page by page)."""
        ...

    def read_meta(self) -> dict[str, Any] | None: ...

    def write_meta(self, meta: dict[str, Any]) -> None: ...

    def finish_batch(self) -> None:
        """Make everything written so far durable and searchable (flush, build indexes)."""

    def close(self) -> None: ...
