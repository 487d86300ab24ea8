"""Server/cluster backend: ``qdrant-client`` against a Qdrant URL (production).

The same collection layout, filters and hybrid query as the embedded backend, through
qdrant-client's Query API (prefetch + RRF). Tests drive it through qdrant-client's local mode
(``QdrantClient(":memory:")``), which speaks the same client API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from retrieval.errors import IndexUnavailableError
from retrieval.payload import KEYWORD_FIELDS, SCAN_FIELDS
from retrieval.settings import IndexSettings
from retrieval.store import (
    DEFINITIONS,
    DENSE,
    SCROLL_PAGE,
    SPARSE,
    Definitions,
    DocState,
    FieldMatch,
    FilterSpec,
    HybridQuery,
    IndexPoint,
    ScoredPayload,
    StoredPoint,
    scan_definitions,
    scan_documents,
    scroll_all,
    translate_filter,
)

log = logging.getLogger(__name__)


def _match(key: str, values: list[str]) -> models.FieldCondition:
    if len(values) == 1:
        return models.FieldCondition(key=key, match=models.MatchValue(value=values[0]))
    return models.FieldCondition(key=key, match=models.MatchAny(any=list(values)))


def to_client_filter(flt: FilterSpec, must_not: list[FieldMatch] | None = None) -> models.Filter | None:
    return translate_filter(flt, _match, models.Filter, must_not or ())


def connect(settings: IndexSettings) -> QdrantClient:
    """A client of the configured Qdrant server or cluster (any node's URL), or of qdrant-client's
    local mode on ``index.local_path`` (the stand-in for a server where none runs)."""
    if settings.local_path:
        try:
            return QdrantClient(path=settings.local_path)
        except (RuntimeError, OSError) as e:  # the folder is locked by another process
            raise IndexUnavailableError(f"Qdrant 로컬 모드 폴더를 열 수 없습니다: {settings.local_path} ({e})") from e
    if not settings.url:
        raise IndexUnavailableError("Qdrant 서버 주소가 없습니다 (index.url / NURI_INDEX__URL)")
    return QdrantClient(url=settings.url, api_key=settings.api_key, timeout=int(settings.timeout_s))


def collection_params(settings: IndexSettings, dim: int) -> dict[str, Any]:
    """The arguments of ``create_collection`` for Nuri's layout: a named dense vector (cosine) and
    a named sparse vector (IDF), the HNSW parameters and the cluster layout from ``index:``.
    Cluster settings left null are not sent, so the server's defaults apply."""
    params: dict[str, Any] = {
        "vectors_config": {DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
        "sparse_vectors_config": {SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        "hnsw_config": models.HnswConfigDiff(m=settings.hnsw_m, ef_construct=settings.hnsw_ef_construct),
    }
    for name in ("shard_number", "replication_factor", "write_consistency_factor", "on_disk_payload"):
        value = getattr(settings, name)
        if value is not None:
            params[name] = value
    return params


def create_collection(client: QdrantClient, settings: IndexSettings, dim: int) -> None:
    """Create the collection and the keyword payload indexes the filters use."""
    client.create_collection(settings.collection, **collection_params(settings, dim))
    for name in KEYWORD_FIELDS:
        client.create_payload_index(settings.collection, name, models.PayloadSchemaType.KEYWORD)
    log.info(
        "qdrant collection created",
        extra={
            "collection": settings.collection,
            "dim": dim,
            "shard_number": settings.shard_number,
            "replication_factor": settings.replication_factor,
            "write_consistency_factor": settings.write_consistency_factor,
        },
    )


def collection_dim(info: models.CollectionInfo) -> int | None:
    """The size of the collection's dense vector, or None when it has none under Nuri's name."""
    vectors = info.config.params.vectors
    if isinstance(vectors, dict) and DENSE in vectors:
        return int(vectors[DENSE].size)
    return None


def ensure_collection(client: QdrantClient, settings: IndexSettings, dim: int) -> bool:
    """Create the collection unless it exists; True when it was created. An existing collection
    must have Nuri's dense vector with ``dim`` dimensions, or :class:`IndexUnavailableError`."""
    name = settings.collection
    try:
        exists = client.collection_exists(name)
        if not exists:
            create_collection(client, settings, dim)
            return True
        info = client.get_collection(name)
    except (ResponseHandlingException, UnexpectedResponse, OSError) as e:
        raise IndexUnavailableError(
            f"Qdrant 서버에 연결할 수 없습니다: {settings.url or settings.local_path} ({e})"
        ) from e
    found = collection_dim(info)
    if found != dim:
        what = f"{found}차원" if found is not None else f"'{DENSE}' 벡터 없음"
        raise IndexUnavailableError(
            f"Qdrant 컬렉션 {name}이(가) 이미 있지만 임베딩 차원이 다릅니다 ({what}, 설정된 임베딩: {dim}차원). "
            "다른 index.collection을 쓰거나 컬렉션을 지우고 다시 만드세요"
        )
    return False


def describe_collection(client: QdrantClient, settings: IndexSettings) -> dict[str, Any]:
    """What ``nuri index info`` shows: status, points and the stored configuration."""
    name = settings.collection
    try:
        if not client.collection_exists(name):
            raise IndexUnavailableError(f"Qdrant 컬렉션이 없습니다: {name} (`nuri index create`로 만드세요)")
        info = client.get_collection(name)
    except (ResponseHandlingException, UnexpectedResponse, OSError) as e:
        raise IndexUnavailableError(
            f"Qdrant 서버에 연결할 수 없습니다: {settings.url or settings.local_path} ({e})"
        ) from e
    p = info.config.params
    return {
        "collection": name,
        "status": str(getattr(info.status, "value", info.status)),
        "points": info.points_count,
        "indexed_vectors": info.indexed_vectors_count,
        "segments": info.segments_count,
        "dim": collection_dim(info),
        "shard_number": p.shard_number,
        "replication_factor": p.replication_factor,
        "write_consistency_factor": p.write_consistency_factor,
        "on_disk_payload": p.on_disk_payload,
        "hnsw": {"m": info.config.hnsw_config.m, "ef_construct": info.config.hnsw_config.ef_construct},
        "payload_indexes": sorted(info.payload_schema),
        "metadata": dict(info.config.metadata or {}),
    }


class QdrantStore:
    """One collection on a Qdrant server (or a qdrant-client local-mode instance in tests)."""

    exclusive = False  # other processes (a sync, other replicas) may write the collection

    def __init__(
        self,
        settings: IndexSettings,
        dim: int | None,
        create: bool,
        client: QdrantClient | None = None,
    ) -> None:
        self._s = settings
        self._name = settings.collection
        self._client = client if client is not None else connect(settings)
        try:
            exists = self._client.collection_exists(self._name)
        except (ResponseHandlingException, UnexpectedResponse, OSError) as e:
            raise IndexUnavailableError(
                f"Qdrant 서버에 연결할 수 없습니다: {settings.url or settings.local_path} ({e})"
            ) from e
        if not exists:
            if not create:
                raise IndexUnavailableError(
                    f"Qdrant 컬렉션이 없습니다: {self._name} (먼저 `nuri index create` 또는 `nuri ingest` 실행)"
                )
            if dim is None:
                raise IndexUnavailableError("새 컬렉션을 만들려면 임베딩 차원이 필요합니다")
            self._create(dim)

    def _create(self, dim: int) -> None:
        try:
            create_collection(self._client, self._s, dim)
        except (UnexpectedResponse, ValueError):
            # Another ingest worker created it between our check and this call (a server answers
            # 409, local mode raises ValueError): use theirs; payload indexes are idempotent.
            if not self._client.collection_exists(self._name):
                raise
            log.info("collection created by another worker", extra={"collection": self._name})
            for name in KEYWORD_FIELDS:
                self._client.create_payload_index(self._name, name, models.PayloadSchemaType.KEYWORD)

    def upsert(self, points: list[IndexPoint]) -> None:
        if not points:
            return
        self._client.upsert(
            self._name,
            points=[
                models.PointStruct(
                    id=p.id,
                    vector={
                        DENSE: list(map(float, p.dense)),
                        SPARSE: models.SparseVector(indices=p.sparse.indices, values=p.sparse.values),
                    },
                    payload=p.payload,
                )
                for p in points
            ],
            wait=True,
        )

    def delete_doc(self, doc_id: str, keep_version: str | None = None, source: str | None = None) -> None:
        keep = [FieldMatch("version", [keep_version])] if keep_version else []
        must = [FieldMatch("doc_id", [doc_id])] + ([FieldMatch("source", [source])] if source is not None else [])
        flt = to_client_filter(FilterSpec(must=must), must_not=keep)
        assert flt is not None  # a doc_id condition is always present
        self._client.delete(self._name, points_selector=models.FilterSelector(filter=flt), wait=True)

    def finish_batch(self) -> None:
        """The server persists and indexes on its own; nothing to do."""

    def read_meta(self) -> dict[str, Any] | None:
        info = self._client.get_collection(self._name)
        meta = getattr(info.config, "metadata", None)
        return dict(meta) if meta else None

    def write_meta(self, meta: dict[str, Any]) -> None:
        self._client.update_collection(self._name, metadata=meta)

    def scan_docs(self) -> dict[str, DocState]:
        def page(offset: Any) -> tuple[list[dict[str, Any] | None], Any]:
            records, next_offset = self._client.scroll(
                self._name, limit=SCROLL_PAGE, offset=offset, with_payload=SCAN_FIELDS, with_vectors=False
            )
            return [r.payload for r in records], next_offset

        return scan_documents(page)

    def scan_definitions(self) -> Definitions:
        client_filter = to_client_filter(DEFINITIONS)

        def page(offset: Any) -> tuple[list[tuple[dict[str, Any] | None, Any]], Any]:
            records, next_offset = self._client.scroll(
                self._name,
                scroll_filter=client_filter,
                limit=SCROLL_PAGE,
                offset=offset,
                with_payload=["term"],
                with_vectors=[DENSE],
            )
            pairs = [(r.payload, r.vector.get(DENSE) if isinstance(r.vector, dict) else None) for r in records]
            return pairs, next_offset

        return scan_definitions(page)

    def hybrid_query(self, q: HybridQuery) -> list[ScoredPayload]:
        client_filter = to_client_filter(q.flt)
        prefetch = [
            models.Prefetch(
                query=list(map(float, q.dense)),
                using=DENSE,
                limit=q.dense_limit,
                filter=client_filter,
                params=models.SearchParams(hnsw_ef=q.hnsw_ef),
            )
        ]
        if q.sparse.indices:
            prefetch.append(
                models.Prefetch(
                    query=models.SparseVector(indices=q.sparse.indices, values=q.sparse.values),
                    using=SPARSE,
                    limit=q.sparse_limit,
                    filter=client_filter,
                )
            )
        weights = q.rrf_weights[: len(prefetch)] if q.rrf_weights else None
        try:
            res = self._client.query_points(
                self._name,
                prefetch=prefetch,
                query=models.RrfQuery(rrf=models.Rrf(k=q.rrf_k, weights=weights)),
                query_filter=client_filter,
                limit=q.limit,
                with_payload=True,
            )
        except (ResponseHandlingException, UnexpectedResponse) as e:
            raise IndexUnavailableError(f"Qdrant 검색 실패: {e}") from e
        return [ScoredPayload(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in res.points]

    def dense_query(
        self, dense: list[float], flt: FilterSpec, limit: int, hnsw_ef: int, with_payload: bool = False
    ) -> list[ScoredPayload]:
        try:
            res = self._client.query_points(
                self._name,
                query=list(map(float, dense)),
                using=DENSE,
                query_filter=to_client_filter(flt),
                limit=limit,
                search_params=models.SearchParams(hnsw_ef=hnsw_ef),
                with_payload=with_payload,
            )
        except (ResponseHandlingException, UnexpectedResponse) as e:
            raise IndexUnavailableError(f"Qdrant 검색 실패: {e}") from e
        return [ScoredPayload(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in res.points]

    def count(self) -> int:
        return int(self._client.count(self._name, exact=True).count)

    def retrieve(self, ids: list[str], flt: FilterSpec) -> list[StoredPoint]:
        if not ids:
            return []
        inner = to_client_filter(flt)
        # One scroll whose filter is the ids and the caller's filter: unreadable points never leave the server.
        conditions: list[Any] = [models.HasIdCondition(has_id=list(ids)), *([inner] if inner is not None else [])]
        try:
            records, _ = self._client.scroll(
                self._name,
                scroll_filter=models.Filter(must=conditions),
                limit=len(ids),
                with_payload=True,
                with_vectors=False,
            )
        except (ResponseHandlingException, UnexpectedResponse) as e:
            raise IndexUnavailableError(f"Qdrant 조회 실패: {e}") from e
        return [StoredPoint(str(r.id), dict(r.payload or {})) for r in records]

    def scroll_points(self, flt: FilterSpec, fields: list[str]) -> Iterator[StoredPoint]:
        client_filter = to_client_filter(flt)

        def page(offset: Any) -> tuple[list[StoredPoint], Any]:
            try:
                records, next_offset = self._client.scroll(
                    self._name,
                    scroll_filter=client_filter,
                    limit=SCROLL_PAGE,
                    offset=offset,
                    with_payload=list(fields),
                    with_vectors=False,
                )
            except (ResponseHandlingException, UnexpectedResponse) as e:
                raise IndexUnavailableError(f"Qdrant 조회 실패: {e}") from e
            return [StoredPoint(str(r.id), dict(r.payload or {})) for r in records], next_offset

        return scroll_all(page)

    def close(self) -> None:
        self._client.close()
