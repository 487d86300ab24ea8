"""``NuriIndex``: the encoder, the Korean sparse encoder and a Qdrant backend, opened together.

Writing (the only way points get in): :meth:`NuriIndex.chunk` cuts a document the way this
index is configured to, :meth:`NuriIndex.write` encodes chunks (dense and sparse), builds
their payloads from the one schema (``retrieval.payload``), upserts a document's new version
and only then deletes its other versions. What to write, and when, is the sync's decision
(``retrieval.sync``).

Searching: the query is embedded (dense) and analysed (sparse), both prefetches run inside
Qdrant with the metadata and permission filters, RRF fuses them, and an optional local
cross-encoder reranks the fused candidates.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from connectors.types import Document
from retrieval.chunking import chunk_document
from retrieval.embedders import Embedder, build_embedder
from retrieval.errors import IndexUnavailableError, QueryError
from retrieval.graph import GraphWeights, section_key, with_graph_signal, with_title_signal
from retrieval.payload import INDEX_FORMAT, ChunkPayload, point_id
from retrieval.rerank import Reranker, build_reranker
from retrieval.settings import RetrievalSettings
from retrieval.sparse import KoreanSparseEncoder, SparseVector
from retrieval.store import (
    CHUNK_FIELDS,
    DOCUMENT_FIELDS,
    AllOf,
    Definitions,
    DocState,
    FieldMatch,
    FilterSpec,
    HybridQuery,
    IndexPoint,
    ScoredPayload,
    StoredPoint,
    VectorStore,
    best_first,
)
from retrieval.types import NO_DOCUMENT, Chunk, Hit, Principal, SearchFilters

log = logging.getLogger(__name__)

# The in-memory preselection of definitions keeps every one within this much cosine of
# ``definitions.min_relevance`` (float32 rounding is ~1e-6): Qdrant's own scores decide.
PRESELECT_MARGIN = 0.01
# Rows per matrix-vector product: small enough that OpenBLAS stays on one thread (its worker
# threads made one 5k x 384 product take 5-15 ms instead of 0.1 ms on a loaded 2-core box).
PRESELECT_BLOCK = 512


def build_filter(filters: SearchFilters | None, principal: Principal) -> FilterSpec:
    """Metadata filters (all must hold), the scope of the assistant the caller reads through (all
    must hold) and the caller's permission (one must hold). Every part only narrows: a request's
    filters cannot escape the scope, and the scope cannot widen the permission."""
    spec = FilterSpec()
    if filters is not None:
        if filters.agency:
            spec.must.append(FieldMatch("agency", [filters.agency]))
        if filters.doc_type:
            spec.must.append(FieldMatch("doc_type", [filters.doc_type]))
        if filters.doc_ids:
            spec.must.append(FieldMatch("doc_id", list(filters.doc_ids)))
    scope = principal.scope  # an assistant's scope: more conditions, for operators too
    if scope is not None:
        if scope.agencies:
            spec.must.append(FieldMatch("agency", list(scope.agencies)))
        if scope.doc_types:
            spec.must.append(FieldMatch("doc_type", list(scope.doc_types)))
        if scope.doc_ids is not None:
            spec.must.append(FieldMatch("doc_id", list(scope.doc_ids) or [NO_DOCUMENT]))
    if not principal.operator:  # the reading rule of :class:`Principal`
        spec.should.append(FieldMatch("access", ["public"]))
        if principal.agency and principal.may_read("internal"):
            spec.should.append(FieldMatch("access", ["internal"]))
        if principal.agency and principal.may_read("restricted"):
            spec.should.append(
                AllOf([FieldMatch("access", ["restricted"]), FieldMatch("allowed_agencies", [principal.agency])])
            )
    return spec


def open_store(settings: RetrievalSettings, index_dir: Path, dim: int | None, create: bool) -> VectorStore:
    if settings.index.backend == "qdrant":
        from retrieval.qdrant_store import QdrantStore

        return QdrantStore(settings.index, dim=dim, create=create)
    from retrieval.edge_store import EdgeStore

    return EdgeStore(index_dir, dim=dim, settings=settings.index, create=create)


def preselect(defs: Definitions, dense: list[float], min_relevance: float) -> list[str]:
    """The terms of the definitions within :data:`PRESELECT_MARGIN` of ``min_relevance`` of the
    query (cosine, best first). No permission check: only candidates for a filtered query."""
    if not defs.terms:
        return []
    q = np.asarray(dense, dtype=np.float32)
    norm = float(np.linalg.norm(q))
    if norm == 0.0:
        return []
    q /= norm
    scores = np.empty(len(defs.terms), dtype=np.float32)
    for lo in range(0, len(scores), PRESELECT_BLOCK):
        np.matmul(defs.vectors[lo : lo + PRESELECT_BLOCK], q, out=scores[lo : lo + PRESELECT_BLOCK])
    rows = np.flatnonzero(scores >= min_relevance - PRESELECT_MARGIN)
    rows = rows[np.argsort(-scores[rows], kind="stable")]
    return list(dict.fromkeys(defs.terms[i] for i in rows))


def collapse_sections(scored: list[ScoredPayload]) -> list[ScoredPayload]:
    """Keep the best-ranked chunk of each section (document + section anchor), in rank order.

    A statute article split into 항 groups is one section: without this, its chunks can fill
    the top ranks and push the next relevant article out. Points indexed before the payload
    had ``section`` fall back to their own anchor; chunks without any anchor (a text file with
    no headings) are not collapsed, so a long unstructured document can still give several."""
    seen: set[tuple[str, str]] = set()
    out = []
    for sp in scored:
        key = (sp.payload.get("doc_id", ""), sp.payload.get("section") or sp.payload.get("anchor") or sp.id)
        if key not in seen:
            seen.add(key)
            out.append(sp)
    return out


@dataclass(slots=True)
class DocumentSummary:
    """One document as a caller may see it in a listing: its metadata and how many of its chunks
    the index holds (of its stored version). ``source`` is the server-side path or URL: the
    assistant shows users its name only. ``agency`` is the owning agency ("" when none)."""

    doc_id: str
    title: str
    source: str
    doc_type: str
    agency: str
    access: str
    chunks: int
    version: str
    agencies: list[str]


def summarize(points: Iterable[StoredPoint]) -> list[DocumentSummary]:
    """Per-document summaries of points read with :data:`~retrieval.store.DOCUMENT_FIELDS`, by
    title. A document caught between two versions (mid-write) is shown with the one holding more
    chunks."""
    counts: dict[tuple[str, str], int] = {}
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for point in points:
        key = (str(point.payload.get("doc_id", "")), str(point.payload.get("version", "")))
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, point.payload)
    best: dict[str, tuple[str, str]] = {}
    for key, n in counts.items():
        held = best.get(key[0])
        if held is None or n > counts[held]:
            best[key[0]] = key
    out = []
    for key in best.values():
        p = first[key]
        agencies = [str(a) for a in p.get("agency") or []]
        out.append(
            DocumentSummary(
                doc_id=key[0],
                title=str(p.get("title", "")),
                source=str(p.get("source", "")),
                doc_type=str(p.get("doc_type", "")),
                agency=agencies[0] if agencies else "",
                access=str(p.get("access", "")),
                chunks=counts[key],
                version=key[1],
                agencies=agencies,
            )
        )
    return sorted(out, key=lambda d: (d.title, d.doc_id))


@dataclass(slots=True)
class DocumentVersion:
    """One version of one document, chunked, ready to be written."""

    doc: Document
    version: str
    chunks: list[Chunk]

    @property
    def n_chunks(self) -> int:
        return len(self.chunks)


@dataclass(slots=True)
class EncodedBatch:
    """Document versions on their way into the index: sparse vectors first (``prepare``), then
    dense ones (``embed``), one row per chunk in document order."""

    versions: list[DocumentVersion]
    sparse: list[SparseVector]
    dense: np.ndarray | None = None

    @property
    def n_chunks(self) -> int:
        return len(self.sparse)


class NuriIndex:
    def __init__(
        self,
        settings: RetrievalSettings,
        store: VectorStore,
        embedder: Embedder,
        sparse: KoreanSparseEncoder,
        reranker: Reranker | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.sparse = sparse
        self.reranker = reranker
        self._definitions: Definitions | None = None  # read on first use, dropped on every write
        self._definitions_read_at = 0.0
        self._check_compatible()

    @classmethod
    def open(
        cls,
        settings: RetrievalSettings,
        index_dir: Path,
        create: bool = False,
        embedder: Embedder | None = None,
        store: VectorStore | None = None,
    ) -> NuriIndex:
        """Open (or with ``create``, create) the index; models are loaded from local files only."""
        embedder = embedder or build_embedder(settings.embedder)
        store = store or open_store(settings, index_dir, embedder.dim, create)
        try:
            return cls(
                settings,
                store,
                embedder,
                KoreanSparseEncoder(settings.sparse),
                build_reranker(settings.rerank),
            )
        except Exception:
            store.close()
            raise

    def _check_compatible(self) -> None:
        meta = self.store.read_meta()
        self._has_meta = meta is not None
        if meta is None:
            return
        if meta.get("embedder") != self.embedder.name or meta.get("dim") != self.embedder.dim:
            raise IndexUnavailableError(
                f"색인이 다른 임베딩 모델({meta.get('embedder')}, {meta.get('dim')}차원)로 "
                f"만들어졌습니다. 현재 모델: {self.embedder.name} — 다른 --index를 쓰거나 다시 색인하세요"
            )

    # -- the index format --------------------------------------------------------------------
    @property
    def format_salt(self) -> str:
        """What, besides its source, a document's stored version depends on: the index format,
        how this index chunks and how it encodes (BM25 parameters are baked into the sparse
        values). A change to any of them gives every document a new version: re-indexed."""
        r = self.settings
        return f"{INDEX_FORMAT}\x00{r.chunking.model_dump_json()}\x00{r.sparse.model_dump_json()}"

    # -- writing -----------------------------------------------------------------------------
    def chunk(self, doc: Document) -> list[Chunk]:
        return chunk_document(doc, self.embedder.count_tokens, self.settings.chunking)

    def documents(self) -> dict[str, DocState]:
        """Which versions of which documents the index holds (and whether they are complete)."""
        return self.store.scan_docs()

    def write(
        self, versions: list[DocumentVersion], on_written: Callable[[DocumentVersion], None] | None = None
    ) -> int:
        """Encode the chunks of ``versions`` together (one encoder batch), then for each document
        upsert its points and delete its other versions. Returns the number of chunks written.
        The three steps are also callable one by one (:meth:`prepare`, :meth:`embed`,
        :meth:`store_batch`): the sync runs them on three threads."""
        return self.store_batch(self.embed(self.prepare(versions)), on_written)

    def prepare(self, versions: list[DocumentVersion]) -> EncodedBatch:
        """The CPU-side work of a write that needs no encoder: the sparse (BM25) vectors."""
        texts = [c.embed_text for v in versions for c in v.chunks]
        return EncodedBatch(versions, self.sparse.encode_passages(texts))

    def embed(self, batch: EncodedBatch) -> EncodedBatch:
        """The dense vectors of a prepared batch (the encoder: the costly step of ingest)."""
        texts = [c.embed_text for v in batch.versions for c in v.chunks]
        batch.dense = self.embedder.embed_passages(texts)
        return batch

    def store_batch(self, batch: EncodedBatch, on_written: Callable[[DocumentVersion], None] | None = None) -> int:
        """Upsert each document's points of an encoded batch, then delete the document's other
        versions: a document is never missing, and never left with two versions once this returns."""
        if batch.dense is None:
            raise ValueError("store_batch needs an embedded batch (NuriIndex.embed)")
        self._definitions = None  # definitions are read again at the next lookup
        if not self._has_meta:  # read once when the index was opened
            self.store.write_meta({"embedder": self.embedder.name, "dim": self.embedder.dim})
            self._has_meta = True
        dense, sparse = batch.dense, batch.sparse
        size = self.settings.index.upsert_batch
        offset = 0
        for v in batch.versions:
            n = len(v.chunks)
            points = [
                IndexPoint(
                    id=point_id(v.doc.doc_id, v.version, c.index),
                    dense=dense[offset + i].tolist(),
                    sparse=sparse[offset + i],
                    payload=ChunkPayload.of(v.doc, c, v.version, n).as_dict(),
                )
                for i, c in enumerate(v.chunks)
            ]
            offset += n
            for i in range(0, n, size):
                self.store.upsert(points[i : i + size])
            self.store.delete_doc(v.doc.doc_id, keep_version=v.version)
            if on_written is not None:
                on_written(v)
        return offset

    def delete_document(self, doc_id: str, source: str | None = None) -> None:
        """Delete a document's chunks; with ``source``, only those that file wrote (what a sync
        prunes: another worker may just have written the same document from its new file)."""
        self._definitions = None
        self.store.delete_doc(doc_id, source=source)

    def commit(self) -> None:
        """Make everything written durable and searchable (flush, build indexes)."""
        self.store.finish_batch()
        self._definitions = None

    # -- searching ---------------------------------------------------------------------------
    def search(
        self,
        query: str,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        principal: Principal | None = None,
        with_relevance: bool = False,
    ) -> list[Hit]:
        s = self.settings.search
        query = (query or "").strip()
        if not query:
            raise QueryError("검색어가 비어 있습니다")
        if len(query) > s.max_query_chars:
            raise QueryError(f"검색어가 너무 깁니다 ({len(query)}자 > {s.max_query_chars}자)")
        top_k = top_k or s.top_k
        if not 0 < top_k <= s.max_top_k:
            raise QueryError(f"top_k는 1~{s.max_top_k} 사이여야 합니다")
        principal = principal or Principal()
        dense = self.embedder.embed_query(query).tolist()
        flt = build_filter(filters, principal)
        sparse_text = self.with_defined_terms(query, dense, flt)
        scored, limit = self.ranked(sparse_text, dense, self.sparse.encode_query(sparse_text), flt, top_k)
        cosine: dict[str, float] = {}
        if with_relevance and scored:
            nearest = self.store.dense_query(dense, flt, max(s.dense_limit, limit), s.hnsw_ef)
            cosine = {p.id: p.score for p in nearest}
            # Sections the reference graph brought in may lie outside the dense candidates.
            missing = list(dict.fromkeys(section_key(sp) for sp in scored[:top_k] if sp.id not in cosine))
            if missing:
                more = self.store.dense_query(
                    dense, flt.narrowed(must=[FieldMatch("section", missing)]), 8 * len(missing), s.hnsw_ef
                )
                cosine.update((p.id, p.score) for p in more if p.id not in cosine)
        return [
            Hit(
                rank=i + 1,
                score=round(float(sp.score), 6),
                chunk_id=str(sp.id),
                doc_id=sp.payload["doc_id"],
                title=sp.payload.get("title", ""),
                anchor=sp.payload.get("anchor", ""),
                source=sp.payload.get("source", ""),
                text=sp.payload.get("text", ""),
                metadata=sp.payload,
                relevance=cosine.get(sp.id),
            )
            for i, sp in enumerate(scored[:top_k])
        ]

    def defined_terms(self, dense: list[float], flt: FilterSpec) -> list[str]:
        """Terms whose statutory definition is close to the query (dense cosine at least
        ``search.definitions.min_relevance``), best first: "이름은 지우고 주민번호는 코드로
        바꾸는 것" -> 가명처리. Only definitions the caller may read are considered.

        Two steps, for speed: the definitions' vectors, kept in memory, give the candidate
        terms (every definition near the threshold, readable or not); then a dense query in
        Qdrant over the chunks defining those terms, with the caller's filter, scores them and
        picks the terms. Without candidates nothing can qualify and Qdrant is not asked. (One
        filtered query over all definitions, ~5% of the points, took 10-20 ms at 100k chunks:
        Qdrant scans the whole filtered subset; a handful of candidates takes well under 1 ms.)"""
        d = self.settings.search.definitions
        if not d.enabled or d.max_terms == 0:
            return []
        candidates = preselect(self.definitions(), dense, d.min_relevance)
        if not candidates:
            return []
        nearest = self.store.dense_query(
            dense,
            flt.narrowed(must=[FieldMatch("term", candidates)]),
            d.max_terms,
            self.settings.search.hnsw_ef,
            with_payload=True,
        )
        terms = [str(p.payload.get("term") or "") for p in nearest if p.score >= d.min_relevance]
        return list(dict.fromkeys(t for t in terms if t))

    def definitions(self) -> Definitions:
        """Every definition chunk's term and vector, read from the index on first use and again
        after this process writes; when other processes may write (``store.exclusive`` false),
        also once ``definitions.refresh_seconds`` have passed."""
        now = time.monotonic()
        stale = not self.store.exclusive and now - self._definitions_read_at > (
            self.settings.search.definitions.refresh_seconds
        )
        if self._definitions is None or stale:
            self._definitions = self.store.scan_definitions()
            self._definitions_read_at = now
            log.info("definitions read", extra={"definitions": len(self._definitions.terms)})
        return self._definitions

    def with_defined_terms(self, query: str, dense: list[float], flt: FilterSpec) -> str:
        """The text for the query's sparse (keyword) side: the query plus its defined terms."""
        terms = [t for t in self.defined_terms(dense, flt) if t not in query]
        return f"{query} {' '.join(terms)}" if terms else query

    def ranked(
        self, query: str, dense: list[float], sparse: SparseVector, flt: FilterSpec, top_k: int
    ) -> tuple[list[ScoredPayload], int]:
        """The ranking behind ``search`` from already-encoded query vectors: hybrid query in
        Qdrant, optional reranking, section collapsing, then the title and reference-graph
        signals (``retrieval.graph``). Returns the ranked points and the candidate limit
        finally used."""
        scored, limit = self._hybrid_ranked(query, dense, sparse, flt, top_k)
        if not self.settings.search.collapse_sections:
            return scored, limit
        return self._with_signals(query, dense, sparse, flt, scored), limit

    def _with_signals(
        self, query: str, dense: list[float], sparse: SparseVector, flt: FilterSpec, scored: list[ScoredPayload]
    ) -> list[ScoredPayload]:
        s = self.settings.search
        if s.title_weight > 0:
            scored = with_title_signal(set(self.sparse.terms(query)), scored, self.sparse, s.title_weight)
        g = s.graph
        if not (g.enabled and scored and (g.out_weight > 0 or g.in_weight > 0)):
            return scored

        def within(key: str, values: list[str]) -> list[ScoredPayload]:
            limit = g.limit * s.collapse_overfetch
            found = best_first(
                self.store.hybrid_query(
                    HybridQuery(
                        dense=dense,
                        sparse=sparse,
                        flt=flt.narrowed(must=[FieldMatch(key, values)]),
                        limit=limit,
                        dense_limit=limit,
                        sparse_limit=limit,
                        rrf_k=s.rrf_k,
                        rrf_weights=s.rrf_weights,
                        hnsw_ef=s.hnsw_ef,
                    )
                )
            )
            return collapse_sections(found)[: g.limit]

        weights = GraphWeights(g.out_weight, g.in_weight, g.decay, g.cross_law_only)
        return with_graph_signal(scored, scored[: g.seeds], within, weights)

    def _hybrid_ranked(
        self, query: str, dense: list[float], sparse: SparseVector, flt: FilterSpec, top_k: int
    ) -> tuple[list[ScoredPayload], int]:
        s = self.settings.search
        want = top_k * s.collapse_overfetch if s.collapse_sections else top_k
        limit = max(want, self.settings.rerank.candidates) if self.reranker else want
        while True:
            scored = best_first(
                self.store.hybrid_query(
                    HybridQuery(
                        dense=dense,
                        sparse=sparse,
                        flt=flt,
                        limit=limit,
                        dense_limit=max(s.dense_limit, limit),
                        sparse_limit=max(s.sparse_limit, limit),
                        rrf_k=s.rrf_k,
                        rrf_weights=s.rrf_weights,
                        hnsw_ef=s.hnsw_ef,
                    )
                )
            )
            if self.reranker and scored:
                scored = self.reranker.rerank(query, scored)
            if not s.collapse_sections:
                return scored, limit
            full = len(scored) >= limit
            scored = collapse_sections(scored)
            # A few long sections can fill every candidate slot: widen the net and ask again.
            if len(scored) >= top_k or not full or limit >= top_k * s.collapse_overfetch * 8:
                return scored, limit
            limit *= 2

    # -- reading points and documents (a citation's passage, the document library) ----------
    def passage(self, chunk_id: str, principal: Principal) -> dict[str, Any] | None:
        """The payload of the point ``chunk_id`` (a hit's ``chunk_id``), or None when there is no
        such point or the principal may not read it: the permission filter runs inside Qdrant,
        exactly as for a search, so both cases look the same."""
        try:
            uuid.UUID(chunk_id)
        except (ValueError, TypeError, AttributeError):
            return None  # not a point id of this index (ids are UUIDs): nothing to ask Qdrant
        found = self.store.retrieve([chunk_id], build_filter(None, principal))
        return found[0].payload if found else None

    def neighbours(
        self, doc_id: str, version: str, chunk_index: int, before: int, after: int, principal: Principal
    ) -> list[StoredPoint]:
        """The chunks just before and after chunk ``chunk_index`` of one version of one document
        (at most ``before`` and ``after`` of them; the chunk itself is not included), in document
        order, that the principal may read. Their ids are derived (:func:`retrieval.payload.point_id`),
        so this is one read by id, filtered in Qdrant like a search."""
        wanted = [i for i in range(max(0, chunk_index - before), chunk_index + after + 1) if i != chunk_index]
        if not wanted:
            return []
        ids = [point_id(doc_id, version, i) for i in wanted]
        found = self.store.retrieve(ids, build_filter(SearchFilters(doc_ids=[doc_id]), principal))
        return sorted(found, key=lambda p: int(p.payload.get("chunk_index", 0)))

    def document_chunks(self, doc_id: str, principal: Principal) -> list[StoredPoint]:
        """The chunks of one document the principal may read, in document order, without their
        texts (:data:`~retrieval.store.CHUNK_FIELDS`); of its stored version (the one with more
        chunks while a rewrite is under way). Empty when there is none."""
        flt = build_filter(SearchFilters(doc_ids=[doc_id]), principal)
        points = list(self.store.scroll_points(flt, CHUNK_FIELDS))
        if not points:
            return []
        version = summarize(points)[0].version
        kept = [p for p in points if p.payload.get("version") == version]
        return sorted(kept, key=lambda p: int(p.payload.get("chunk_index", 0)))

    def document(self, doc_id: str, principal: Principal) -> DocumentSummary | None:
        """One document's summary, or None when the principal may read none of its chunks."""
        flt = build_filter(SearchFilters(doc_ids=[doc_id]), principal)
        found = summarize(self.store.scroll_points(flt, DOCUMENT_FIELDS))
        return found[0] if found else None

    def list_documents(self, principal: Principal, filters: SearchFilters | None = None) -> list[DocumentSummary]:
        """Every document the principal may read (at least one readable chunk), by title: one
        scroll over the readable points with a few payload fields, never their texts (2-4 s for
        100k chunks on the Edge backend, 2 loaded vCPUs)."""
        return summarize(self.store.scroll_points(build_filter(filters, principal), DOCUMENT_FIELDS))

    def count(self) -> int:
        return self.store.count()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> NuriIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
