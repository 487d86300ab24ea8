"""Measure 3: search latency and recall@5, Nuri (Qdrant Edge hybrid) against plain LangChain.

The same points go into both systems. Nuri: ``EdgeStore.upsert`` in ``index.upsert_batch``
batches, then ``finish_batch()`` (flush + optimise: HNSW and sparse index built), searched with
``NuriIndex.search`` (dense + sparse prefetch, RRF, permission filter). LangChain:
``QdrantVectorStore`` (dense only, its default) over a ``QdrantClient(":memory:")`` local-mode
collection filled with ``client.upsert`` of the same pre-computed dense vectors and
``page_content``/``metadata`` payloads (the metadata carries the anchor).

End-to-end latency is ``NuriIndex.search(q)`` vs ``QdrantVectorStore.similarity_search(q)``
(both encode the query with the same embedder; Nuri also runs Kiwi for its sparse query).
Index-only latency is ``NuriIndex.ranked`` with pre-computed dense + sparse query vectors and
filter vs ``similarity_search_by_vector`` with the pre-computed dense vector.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.documents import Document as LCDocument
from langchain_core.embeddings import Embeddings
from langchain_qdrant import QdrantVectorStore
from qdrant_client import QdrantClient, models
from tqdm import tqdm

from benchmarks.corpus import PointSet
from benchmarks.timing import Latency, TimedRuns, stopwatch, time_calls
from configs.settings import Settings
from evals.datasets import QAItem
from evals.metrics import RetrievalScores, first_gold_rank
from retrieval.edge_store import EdgeStore
from retrieval.embedders import Embedder
from retrieval.index import NuriIndex, build_filter
from retrieval.sparse import SparseVector
from retrieval.store import FilterSpec, ScoredPayload
from retrieval.types import Hit, Principal

TOP_K = 5
PRINCIPAL = Principal()  # an anonymous caller: the access=public permission filter applies
LC_COLLECTION = "bench"
LC_UPSERT_BATCH = 1024


class NuriEmbeddings(Embeddings):
    """LangChain ``Embeddings`` over Nuri's embedder (same model, same prefixes, same vectors)."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._embedder.embed_query(text).tolist()


@dataclass(frozen=True)
class Query:
    text: str
    dense: list[float]
    sparse: SparseVector
    item: QAItem


@dataclass
class SystemResult:
    name: str
    load_seconds: float
    scores: RetrievalScores
    e2e: Latency
    index_only: Latency
    rounds: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "load_seconds": round(self.load_seconds, 2),
            "recall_at_1": round(self.scores.recall_at_1, 4),
            "recall_at_5": round(self.scores.recall_at_5, 4),
            "mrr_at_5": round(self.scores.mrr, 4),
            "questions": self.scores.n,
            "rounds": self.rounds,
            "e2e": self.e2e.as_dict(),
            "index_only": self.index_only.as_dict(),
        }


@dataclass
class ScaleResult:
    total: int
    n_real: int
    n_synthetic: int
    nuri: SystemResult
    edge_dense: SystemResult
    langchain: SystemResult

    def as_dict(self) -> dict[str, Any]:
        return {
            "points": self.total,
            "real_points": self.n_real,
            "synthetic_points": self.n_synthetic,
            "nuri": self.nuri.as_dict(),
            "edge_dense": self.edge_dense.as_dict(),
            "langchain": self.langchain.as_dict(),
        }


# -- loading the same points into both systems ------------------------------------------------
def load_edge(points: PointSet, settings: Settings, embedder: Embedder, index_dir: Path) -> tuple[NuriIndex, float]:
    """A fresh Edge index holding ``points``; returns it and the seconds to upsert + build."""
    store = EdgeStore(index_dir, dim=embedder.dim, settings=settings.index, create=True)
    store.write_meta({"embedder": embedder.name, "dim": embedder.dim})
    batch = settings.index.upsert_batch

    def fill() -> None:
        for lo in tqdm(range(0, len(points), batch), desc="edge load", unit="batch", file=sys.stderr, leave=False):
            store.upsert([points.index_point(i) for i in range(lo, min(lo + batch, len(points)))])
        store.finish_batch()

    _, seconds = stopwatch(fill)
    return NuriIndex.open(settings.retrieval, index_dir, embedder=embedder, store=store), seconds


def _lc_point(points: PointSet, i: int) -> models.PointStruct:
    payload = points.payloads[i]
    metadata = {k: v for k, v in payload.items() if k != "text"}
    return models.PointStruct(
        id=points.ids[i],
        vector=points.dense[i].tolist(),
        payload={QdrantVectorStore.CONTENT_KEY: payload.get("text", ""), QdrantVectorStore.METADATA_KEY: metadata},
    )


def load_langchain(points: PointSet, embedder: Embedder) -> tuple[QdrantVectorStore, float]:
    """A ``QdrantVectorStore`` over an in-memory local-mode client holding ``points``."""
    warnings.filterwarnings("ignore", message="Local mode is not recommended")
    client = QdrantClient(location=":memory:")
    client.create_collection(
        LC_COLLECTION, vectors_config=models.VectorParams(size=embedder.dim, distance=models.Distance.COSINE)
    )

    def fill() -> None:
        for lo in tqdm(
            range(0, len(points), LC_UPSERT_BATCH), desc="langchain load", unit="batch", file=sys.stderr, leave=False
        ):
            hi = min(lo + LC_UPSERT_BATCH, len(points))
            client.upsert(LC_COLLECTION, [_lc_point(points, i) for i in range(lo, hi)], wait=True)

    _, seconds = stopwatch(fill)
    store = QdrantVectorStore(client=client, collection_name=LC_COLLECTION, embedding=NuriEmbeddings(embedder))
    return store, seconds


# -- the query functions that are timed -------------------------------------------------------
def encode_queries(index: NuriIndex, items: list[QAItem]) -> list[Query]:
    return [
        Query(it.question, index.embedder.embed_query(it.question).tolist(), index.sparse.encode_query(it.question), it)
        for it in items
    ]


def nuri_index_query(index: NuriIndex, flt: FilterSpec) -> Callable[[Query], list[ScoredPayload]]:
    """``NuriIndex.ranked``: what ``NuriIndex.search`` runs once the query is encoded."""

    def call(q: Query) -> list[ScoredPayload]:
        return index.ranked(q.text, q.dense, q.sparse, flt, TOP_K)[0]

    return call


def _result(
    name: str,
    load_seconds: float,
    queries: list[Query],
    anchors: list[list[str]],
    e2e: TimedRuns,
    idx: TimedRuns,
    rounds: int,
) -> SystemResult:
    """One system's figures; ``anchors`` are the top hits' anchors of the first end-to-end round."""
    ranks = [first_gold_rank(a[:TOP_K], q.item.law, q.item.articles) for q, a in zip(queries, anchors, strict=True)]
    return SystemResult(
        name=name,
        load_seconds=load_seconds,
        scores=RetrievalScores.from_ranks(ranks, mrr_cutoff=TOP_K),
        e2e=e2e.latency,
        index_only=idx.latency,
        rounds=rounds,
    )


def bench_nuri(index: NuriIndex, queries: list[Query], rounds: int, load_seconds: float, label: str) -> SystemResult:
    e2e: TimedRuns = time_calls(
        lambda q: index.search(q.text, top_k=TOP_K, principal=PRINCIPAL), queries, rounds, 1, f"nuri e2e {label}"
    )
    idx = time_calls(nuri_index_query(index, build_filter(None, PRINCIPAL)), queries, rounds, 1, f"nuri index {label}")
    hits: list[list[Hit]] = e2e.first_round
    return _result(
        "Nuri (Qdrant Edge hybrid)", load_seconds, queries, [[h.anchor for h in hs] for hs in hits], e2e, idx, rounds
    )


def bench_edge_dense(
    index: NuriIndex, queries: list[Query], rounds: int, load_seconds: float, label: str
) -> SystemResult:
    """The LangChain baseline's query (dense only, no filter, top 5) on Nuri's engine (Qdrant
    Edge, same points): separates what the engine gives from what Nuri adds on top."""
    s = index.settings.search
    no_filter = FilterSpec()

    def e2e_call(q: Query) -> list[ScoredPayload]:
        dense = index.embedder.embed_query(q.text).tolist()
        return index.store.dense_query(dense, no_filter, TOP_K, s.hnsw_ef, with_payload=True)

    e2e = time_calls(e2e_call, queries, rounds, 1, f"edge dense e2e {label}")
    idx = time_calls(
        lambda q: index.store.dense_query(q.dense, no_filter, TOP_K, s.hnsw_ef, with_payload=True),
        queries, rounds, 1, f"edge dense index {label}",
    )  # fmt: skip
    found: list[list[ScoredPayload]] = e2e.first_round
    return _result(
        "Qdrant Edge, dense only (same query as LangChain)",
        load_seconds,
        queries,
        [[p.payload.get("anchor", "") for p in ps] for ps in found],
        e2e,
        idx,
        rounds,
    )


def bench_langchain(
    store: QdrantVectorStore, queries: list[Query], rounds: int, load_seconds: float, label: str
) -> SystemResult:
    e2e = time_calls(lambda q: store.similarity_search(q.text, k=TOP_K), queries, rounds, 1, f"langchain e2e {label}")
    idx = time_calls(
        lambda q: store.similarity_search_by_vector(q.dense, k=TOP_K), queries, rounds, 1, f"langchain index {label}"
    )
    docs: list[list[LCDocument]] = e2e.first_round
    return _result(
        "LangChain QdrantVectorStore (qdrant-client local mode)",
        load_seconds,
        queries,
        [[d.metadata.get("anchor", "") for d in ds] for ds in docs],
        e2e,
        idx,
        rounds,
    )


def run_scale(
    points: PointSet,
    n_real: int,
    items: list[QAItem],
    settings: Settings,
    embedder: Embedder,
    rounds: int,
    workdir: Path,
) -> ScaleResult:
    """Load ``points`` into both systems, time both query paths, score recall@5, clean up."""
    label = f"{len(points) // 1000}k" if len(points) >= 1000 else str(len(points))
    index, edge_seconds = load_edge(points, settings, embedder, workdir / f"edge-{len(points)}")
    try:
        queries = encode_queries(index, items)
        nuri = bench_nuri(index, queries, rounds, edge_seconds, label)
        edge_dense = bench_edge_dense(index, queries, rounds, edge_seconds, label)
    finally:
        index.close()
    store, lc_seconds = load_langchain(points, embedder)
    try:
        langchain = bench_langchain(store, queries, rounds, lc_seconds, label)
    finally:
        store.client.close()
    return ScaleResult(len(points), n_real, len(points) - n_real, nuri, edge_dense, langchain)
