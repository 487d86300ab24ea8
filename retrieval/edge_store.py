"""Embedded backend: Qdrant Edge (``qdrant-edge-py``), the Qdrant engine in-process, on disk.

HNSW for the dense vector, an inverted index with the IDF modifier for the sparse one, a
write-ahead log (a ``kill -9`` loses nothing that ``update`` returned from), keyword payload
indexes, and prefetch + RRF fusion inside the engine. One process at a time may open a shard;
a second gets :class:`IndexBusyError`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from retrieval.errors import IndexBusyError, IndexUnavailableError
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
META_FILE = "nuri-index.json"
SHARD_DIR = "shard"


def _match(key: str, values: list[str]) -> qe.FieldCondition:
    if len(values) == 1:
        return qe.FieldCondition(key=key, match=qe.MatchValue(values[0]))
    return qe.FieldCondition(key=key, match=qe.MatchAny(list(values)))


def to_edge_filter(flt: FilterSpec, must_not: list[FieldMatch] | None = None) -> qe.Filter | None:
    return translate_filter(flt, _match, qe.Filter, must_not or ())


class EdgeStore:
    """A Qdrant Edge shard under ``<index_dir>/shard`` plus ``nuri-index.json`` beside it."""

    exclusive = True  # the shard's lock: no other process writes while this one holds it

    def __init__(self, index_dir: Path, dim: int | None, settings: IndexSettings, create: bool) -> None:
        self._dir = Path(index_dir)
        self._settings = settings
        self._closed = False
        shard_path = self._dir / SHARD_DIR
        try:
            if (shard_path / "wal").exists() or (shard_path / "segments").exists():
                self._shard = qe.EdgeShard.load(str(shard_path))
            elif create:
                if dim is None:
                    raise IndexUnavailableError("새 색인을 만들려면 임베딩 차원이 필요합니다")
                shard_path.mkdir(parents=True, exist_ok=True)
                self._shard = qe.EdgeShard.create(str(shard_path), self._config(dim))
                for name in KEYWORD_FIELDS:
                    self._shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
            else:
                raise IndexUnavailableError(
                    f"색인이 없습니다: {self._dir} (먼저 `nuri ingest 경로 --index {self._dir}` 실행)"
                )
        except IndexUnavailableError:
            raise
        except Exception as e:
            msg = str(e)
            if "WouldBlock" in msg or "lock" in msg.lower():
                raise IndexBusyError(
                    f"다른 프로세스가 색인을 사용 중입니다: {self._dir} (실행 중인 nuri serve/ingest를 먼저 종료하세요)"
                ) from e
            raise IndexUnavailableError(f"색인을 열 수 없습니다 ({self._dir}): {msg}") from e

    def _config(self, dim: int) -> qe.EdgeConfig:
        s = self._settings
        return qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
            hnsw_config=qe.HnswIndexConfig(m=s.hnsw_m, ef_construct=s.hnsw_ef_construct, full_scan_threshold=10000),
        )

    # -- writes -------------------------------------------------------------------------
    def upsert(self, points: list[IndexPoint]) -> None:
        if not points:
            return
        self._shard.update(
            qe.UpdateOperation.upsert_points(
                [
                    qe.Point(
                        p.id,
                        {DENSE: p.dense, SPARSE: qe.SparseVector(p.sparse.indices, p.sparse.values)},
                        p.payload,
                    )
                    for p in points
                ]
            )
        )

    def delete_doc(self, doc_id: str, keep_version: str | None = None, source: str | None = None) -> None:
        keep = [FieldMatch("version", [keep_version])] if keep_version else []
        must = [FieldMatch("doc_id", [doc_id])] + ([FieldMatch("source", [source])] if source is not None else [])
        flt = to_edge_filter(FilterSpec(must=must), must_not=keep)
        assert flt is not None  # a doc_id condition is always present
        self._shard.update(qe.UpdateOperation.delete_points_by_filter(flt))

    def finish_batch(self) -> None:
        self._shard.flush()
        self._shard.optimize()

    def write_meta(self, meta: dict[str, Any]) -> None:
        path = self._dir / META_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, path)

    # -- reads --------------------------------------------------------------------------
    def read_meta(self) -> dict[str, Any] | None:
        path = self._dir / META_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def scan_docs(self) -> dict[str, DocState]:
        def page(offset: Any) -> tuple[list[dict[str, Any] | None], Any]:
            request = qe.ScrollRequest(offset=offset, limit=SCROLL_PAGE, with_payload=SCAN_FIELDS, with_vector=False)
            records, next_offset = self._shard.scroll(request)
            return [r.payload for r in records], next_offset

        return scan_documents(page)

    def scan_definitions(self) -> Definitions:
        edge_filter = to_edge_filter(DEFINITIONS)

        def page(offset: Any) -> tuple[list[tuple[dict[str, Any] | None, Any]], Any]:
            request = qe.ScrollRequest(
                offset=offset, limit=SCROLL_PAGE, filter=edge_filter, with_payload=["term"], with_vector=[DENSE]
            )
            records, next_offset = self._shard.scroll(request)
            pairs = [(r.payload, r.vector.get(DENSE) if isinstance(r.vector, dict) else None) for r in records]
            return pairs, next_offset

        return scan_definitions(page)

    def hybrid_query(self, q: HybridQuery) -> list[ScoredPayload]:
        edge_filter = to_edge_filter(q.flt)
        prefetches = [
            qe.Prefetch(
                limit=q.dense_limit,
                query=qe.Query.Nearest(list(map(float, q.dense)), using=DENSE),
                filter=edge_filter,
                params=qe.SearchParams(hnsw_ef=q.hnsw_ef),
            )
        ]
        if q.sparse.indices:
            prefetches.append(
                qe.Prefetch(
                    limit=q.sparse_limit,
                    query=qe.Query.Nearest(qe.SparseVector(q.sparse.indices, q.sparse.values), using=SPARSE),
                    filter=edge_filter,
                )
            )
        weights = q.rrf_weights[: len(prefetches)] if q.rrf_weights else None
        points = self._shard.query(
            qe.QueryRequest(
                limit=q.limit,
                prefetches=prefetches,
                # qdrant-edge-py 0.9's stubs leave Fusion.Rrf out of QueryRequest.query's union;
                # the engine takes it (every hybrid search test runs this line).
                query=qe.Fusion.Rrf(k=q.rrf_k, weights=weights),  # type: ignore[arg-type]
                filter=edge_filter,
                with_payload=True,
            )
        )
        return [ScoredPayload(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in points]

    def dense_query(
        self, dense: list[float], flt: FilterSpec, limit: int, hnsw_ef: int, with_payload: bool = False
    ) -> list[ScoredPayload]:
        points = self._shard.query(
            qe.QueryRequest(
                limit=limit,
                query=qe.Query.Nearest(list(map(float, dense)), using=DENSE),
                filter=to_edge_filter(flt),
                params=qe.SearchParams(hnsw_ef=hnsw_ef),
                with_payload=with_payload,
            )
        )
        return [ScoredPayload(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in points]

    def count(self) -> int:
        return int(self._shard.count(qe.CountRequest()))

    def retrieve(self, ids: list[str], flt: FilterSpec) -> list[StoredPoint]:
        if not ids:
            return []
        inner = to_edge_filter(flt)
        # One scroll whose filter is the ids and the caller's filter: unreadable points never leave the engine.
        edge_filter = qe.Filter(must=[qe.HasIdCondition(set(ids)), *([inner] if inner is not None else [])])
        request = qe.ScrollRequest(limit=len(ids), filter=edge_filter, with_payload=True, with_vector=False)
        records, _ = self._shard.scroll(request)
        return [StoredPoint(str(r.id), dict(r.payload or {})) for r in records]

    def scroll_points(self, flt: FilterSpec, fields: list[str]) -> Iterator[StoredPoint]:
        edge_filter = to_edge_filter(flt)

        def page(offset: Any) -> tuple[list[StoredPoint], Any]:
            request = qe.ScrollRequest(
                offset=offset, limit=SCROLL_PAGE, filter=edge_filter, with_payload=list(fields), with_vector=False
            )
            records, next_offset = self._shard.scroll(request)
            return [StoredPoint(str(r.id), dict(r.payload or {})) for r in records], next_offset

        return scroll_all(page)

    def close(self) -> None:
        if getattr(self, "_shard", None) is not None and not self._closed:
            self._closed = True
            self._shard.flush()
            self._shard.close()
