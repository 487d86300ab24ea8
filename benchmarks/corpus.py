"""The search corpus: every real statute chunk (payload, dense and sparse vectors) plus distractors.

Real points come from an Edge index of all statutes: the eval's index
(``~/.cache/nuri/eval-statutes``) when it is complete and free, otherwise one ingested under
``<cache-dir>/statutes``. They are read back with Edge ``scroll(with_vector=True)`` and cached
as ``real-corpus.npz`` + ``real-corpus.payloads.jsonl.gz`` + ``real-corpus.json`` (a manifest of
the statute fingerprints, embedder and settings: the cache is rebuilt when any of them changes).

Distractors are derived from real points with a fixed seed: the dense vector is the normalised
Dirichlet-weighted mix of 2-3 random real chunk vectors plus N(0, sigma^2) noise per dimension;
the sparse vector is the union of a random half of each parent's terms (a term in two parents
keeps the larger weight); the payload is the first parent's, with a synthetic doc_id, title,
source and anchor ("합성 문서 N ...") that can never match a gold law.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import qdrant_edge as qe
from tqdm import tqdm

from configs.settings import Settings
from connectors.fingerprint import fingerprint
from evals.datasets import statute_files
from retrieval.edge_store import META_FILE, SHARD_DIR
from retrieval.embedders import Embedder
from retrieval.errors import IndexBusyError, IndexUnavailableError
from retrieval.index import NuriIndex
from retrieval.sparse import SparseVector
from retrieval.store import DENSE, SPARSE, IndexPoint, doc_ids_by_source, holds_current
from retrieval.sync import Syncer

EVAL_INDEX = Path.home() / ".cache" / "nuri" / "eval-statutes"
CACHE_STEM = "real-corpus"
NOISE_SIGMA = 0.01
SYNTHETIC_PREFIX = "합성 문서"
_SYNTH_NS = uuid.UUID("0b6a3f0e-6c1e-4a0c-9d56-3b1f5a0e7c21")


@dataclass
class PointSet:
    """Points in column form: ids, L2-normalised dense matrix, CSR sparse vectors, payloads."""

    ids: list[str]
    dense: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    payloads: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.ids)

    def sparse(self, i: int) -> SparseVector:
        lo, hi = int(self.indptr[i]), int(self.indptr[i + 1])
        return SparseVector(indices=self.indices[lo:hi].tolist(), values=self.values[lo:hi].tolist())

    def index_point(self, i: int) -> IndexPoint:
        return IndexPoint(id=self.ids[i], dense=self.dense[i].tolist(), sparse=self.sparse(i), payload=self.payloads[i])

    def head(self, n: int) -> PointSet:
        end = int(self.indptr[n])
        return PointSet(
            ids=self.ids[:n],
            dense=self.dense[:n],
            indptr=self.indptr[: n + 1],
            indices=self.indices[:end],
            values=self.values[:end],
            payloads=self.payloads[:n],
        )

    def take(self, rows: list[int]) -> PointSet:
        parts = [
            (self.indices[self.indptr[r] : self.indptr[r + 1]], self.values[self.indptr[r] : self.indptr[r + 1]])
            for r in rows
        ]
        return PointSet(
            ids=[self.ids[r] for r in rows],
            dense=self.dense[rows],
            indptr=np.concatenate([[0], np.cumsum([len(p[0]) for p in parts])]).astype(np.int64),
            indices=np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64),
            values=np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.float32),
            payloads=[self.payloads[r] for r in rows],
        )

    @staticmethod
    def concat(a: PointSet, b: PointSet) -> PointSet:
        return PointSet(
            ids=a.ids + b.ids,
            dense=np.vstack([a.dense, b.dense]),
            indptr=np.concatenate([a.indptr, b.indptr[1:] + a.indptr[-1]]),
            indices=np.concatenate([a.indices, b.indices]),
            values=np.concatenate([a.values, b.values]),
            payloads=a.payloads + b.payloads,
        )

    @staticmethod
    def from_rows(
        ids: list[str],
        dense: list[np.ndarray],
        sparse: list[tuple[np.ndarray, np.ndarray]],
        payloads: list[dict[str, Any]],
    ) -> PointSet:
        lengths = [len(ix) for ix, _ in sparse]
        return PointSet(
            ids=ids,
            dense=np.asarray(dense, dtype=np.float32).reshape(len(ids), -1),
            indptr=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            indices=np.concatenate([ix for ix, _ in sparse]).astype(np.int64) if sparse else np.zeros(0, np.int64),
            values=np.concatenate([v for _, v in sparse]).astype(np.float32) if sparse else np.zeros(0, np.float32),
            payloads=payloads,
        )


@dataclass
class RealCorpus:
    points: PointSet
    provenance: str


# -- manifest: what the cached points were built from ---------------------------------------
def settings_digest(settings: Settings) -> str:
    parts = [settings.connectors, settings.chunking, settings.sparse, settings.embedder]
    return hashlib.sha256("\n".join(p.model_dump_json() for p in parts).encode()).hexdigest()[:16]


def statute_versions(statutes_dir: Path, settings: Settings) -> dict[str, str]:
    return {str(p.resolve()): fingerprint(p, settings.connectors) for p in statute_files(statutes_dir)}


def expected_manifest(statutes_dir: Path, settings: Settings, embedder: Embedder) -> dict[str, Any]:
    return {
        "embedder": embedder.name,
        "dim": embedder.dim,
        "settings": settings_digest(settings),
        "sources": statute_versions(statutes_dir, settings),
    }


# -- the Edge index of all statutes ---------------------------------------------------------
def index_is_complete(index_dir: Path, statutes_dir: Path, settings: Settings, embedder: Embedder) -> bool:
    """The index holds exactly one complete, current version of every statute file (the
    versions the sync itself would give them)."""
    if not (index_dir / META_FILE).is_file():
        return False
    try:
        index = NuriIndex.open(settings.retrieval, index_dir, create=False, embedder=embedder)
    except (IndexBusyError, IndexUnavailableError):
        return False
    try:
        syncer = Syncer(index, settings.connectors, progress=False)
        sources = {str(p.resolve()): syncer.version_of(p) for p in statute_files(statutes_dir)}
        state = index.documents()
    finally:
        index.close()
    by_source = doc_ids_by_source(state)
    return set(by_source) == set(sources) and all(
        holds_current(state, ids, sources[src]) for src, ids in by_source.items()
    )


def build_index(index_dir: Path, statutes_dir: Path, settings: Settings, embedder: Embedder) -> None:
    """Ingest every statute into ``index_dir`` (incremental: an interrupted build resumes)."""
    with NuriIndex.open(settings.retrieval, index_dir, create=True, embedder=embedder) as index:
        report = Syncer(index, settings.connectors).sync([statutes_dir])
    if report.failed:
        raise RuntimeError(f"statute ingest failed for {len(report.failed)} files: {report.failed[:3]}")


def _scroll(shard: qe.EdgeShard) -> Iterator[qe.Record]:
    offset = None
    while True:
        records, offset = shard.scroll(qe.ScrollRequest(offset=offset, limit=1024, with_payload=True, with_vector=True))
        yield from records
        if offset is None:
            return


def read_points(index_dir: Path) -> PointSet:
    """Every point of an Edge index with payload and both vectors, ordered by (source, chunk)."""
    shard = qe.EdgeShard.load(str(index_dir / SHARD_DIR))
    try:
        total = int(shard.count(qe.CountRequest()))
        rows = []
        for rec in tqdm(_scroll(shard), total=total, desc="read back", unit="pt", file=sys.stderr, leave=False):
            vec = cast(dict[str, Any], rec.vector)
            sparse = vec[SPARSE]
            rows.append(
                (
                    str(rec.id),
                    np.asarray(vec[DENSE], dtype=np.float32),
                    (np.asarray(sparse.indices, dtype=np.int64), np.asarray(sparse.values, dtype=np.float32)),
                    dict(rec.payload or {}),
                )
            )
    finally:
        shard.close()
    rows.sort(key=lambda r: (r[3].get("source", ""), int(r[3].get("chunk_index", 0))))
    return PointSet.from_rows([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows])


# -- the cache ------------------------------------------------------------------------------
def _cache_paths(cache_dir: Path) -> tuple[Path, Path, Path]:
    return (
        cache_dir / f"{CACHE_STEM}.npz",
        cache_dir / f"{CACHE_STEM}.payloads.jsonl.gz",
        cache_dir / f"{CACHE_STEM}.json",
    )


def save_cache(points: PointSet, manifest: dict[str, Any], cache_dir: Path) -> None:
    npz, payloads, man = _cache_paths(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        npz,
        ids=np.asarray(points.ids),
        dense=points.dense,
        indptr=points.indptr,
        indices=points.indices,
        values=points.values,
    )
    with gzip.open(payloads, "wt", encoding="utf-8") as f:
        for p in points.payloads:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    man.write_text(json.dumps({**manifest, "n": len(points)}, ensure_ascii=False, indent=1), encoding="utf-8")


def load_cache(cache_dir: Path, manifest: dict[str, Any]) -> PointSet | None:
    """The cached points when they exist and were built from exactly ``manifest``; else None."""
    npz, payloads, man = _cache_paths(cache_dir)
    if not (npz.is_file() and payloads.is_file() and man.is_file()):
        return None
    stored = json.loads(man.read_text(encoding="utf-8"))
    if any(stored.get(k) != v for k, v in manifest.items()):
        return None
    arrays = np.load(npz)
    with gzip.open(payloads, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    points = PointSet(
        ids=[str(x) for x in arrays["ids"]],
        dense=arrays["dense"],
        indptr=arrays["indptr"],
        indices=arrays["indices"],
        values=arrays["values"],
        payloads=rows,
    )
    return points if len(points) == stored.get("n") == len(rows) else None


def real_corpus(
    statutes_dir: Path,
    cache_dir: Path,
    settings: Settings,
    embedder: Embedder,
    fallback_index: Path | None = None,
) -> RealCorpus:
    """The real chunks: from the cache, else from a complete index of all statutes (cached then).

    With ``fallback_index`` (``--quick``), a missing cache is not built: the points of that
    small index are used instead, uncached.
    """
    manifest = expected_manifest(statutes_dir, settings, embedder)
    cached = load_cache(cache_dir, manifest)
    if cached is not None:
        return RealCorpus(cached, f"cache {cache_dir / CACHE_STEM}.* ({len(cached)} real chunks, all statutes)")
    if fallback_index is not None:
        pts = read_points(fallback_index)
        return RealCorpus(pts, f"no cache yet; --quick uses the {len(pts)} chunks of its ingest subset")
    if index_is_complete(EVAL_INDEX, statutes_dir, settings, embedder):
        index_dir, how = EVAL_INDEX, "read back from the eval index"
    else:
        index_dir, how = cache_dir / "statutes", "ingested into the bench index"
        build_index(index_dir, statutes_dir, settings, embedder)
    pts = read_points(index_dir)
    save_cache(pts, manifest, cache_dir)
    return RealCorpus(pts, f"{how} {index_dir} ({len(pts)} real chunks, all statutes), cached under {cache_dir}")


# -- scaling to N points --------------------------------------------------------------------
def subset(real: PointSet, total: int, priority_titles: set[str]) -> PointSet:
    """``total`` real points, chunks of ``priority_titles`` (the QA set's laws) first."""
    first = [i for i, p in enumerate(real.payloads) if p.get("title") in priority_titles]
    rest = [i for i, p in enumerate(real.payloads) if p.get("title") not in priority_titles]
    return real.take((first + rest)[:total])


def _mix_dense(real: PointSet, parents: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((len(parents), real.dense.shape[1]), dtype=np.float32)
    block = 8192
    for lo in range(0, len(parents), block):
        hi = min(lo + block, len(parents))
        mixed = np.einsum("nk,nkd->nd", weights[lo:hi], real.dense[parents[lo:hi]])
        mixed += rng.normal(0.0, NOISE_SIGMA, size=mixed.shape)
        out[lo:hi] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return out


def _mix_sparse(real: PointSet, parents: list[int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    merged: dict[int, float] = {}
    for p in parents:
        lo, hi = int(real.indptr[p]), int(real.indptr[p + 1])
        keep = rng.random(hi - lo) < 0.5
        for term, value in zip(real.indices[lo:hi][keep].tolist(), real.values[lo:hi][keep].tolist(), strict=True):
            if value > merged.get(term, 0.0):
                merged[term] = value
    terms = sorted(merged)
    return np.asarray(terms, dtype=np.int64), np.asarray([merged[t] for t in terms], dtype=np.float32)


def _synthetic_payload(base: dict[str, Any], n: int) -> dict[str, Any]:
    name = f"{SYNTHETIC_PREFIX} {n}"
    article = int(base.get("chunk_index", 0)) + 1
    return {
        **base,
        "doc_id": f"synthetic:{n:06d}",
        "version": "synthetic",
        "content_hash": "",
        "n_chunks": 1,
        "chunk_index": 0,
        "source": f"synthetic://{n:06d}",
        "title": name,
        "anchor": f"{name} 제{article}조",
        "header": f"{name}\n{name} 제{article}조",
        "heading_path": [],
    }


def distractors(real: PointSet, count: int, seed: int) -> PointSet:
    """``count`` synthetic points derived from ``real`` (deterministic for a given seed)."""
    rng = np.random.default_rng(seed)
    n_real = len(real)
    parents = rng.integers(0, n_real, size=(count, 3))
    n_parents = rng.integers(2, 4, size=count)
    weights = rng.dirichlet(np.ones(3), size=count)
    weights[n_parents == 2, 2] = 0.0
    weights /= weights.sum(axis=1, keepdims=True)
    dense = _mix_dense(real, parents, weights, rng)
    sparse = [
        _mix_sparse(real, parents[i, : n_parents[i]].tolist(), rng)
        for i in tqdm(range(count), desc="distractors", unit="pt", file=sys.stderr, leave=False)
    ]
    return PointSet.from_rows(
        ids=[str(uuid.uuid5(_SYNTH_NS, f"{seed}:{i}")) for i in range(count)],
        dense=list(dense),
        sparse=sparse,
        payloads=[_synthetic_payload(real.payloads[int(parents[i, 0])], i) for i in range(count)],
    )


class ScaledCorpora:
    """Corpora of any size up to ``max_total``; the distractors of a smaller one are a prefix of a larger one's."""

    def __init__(self, real: PointSet, max_total: int, seed: int, priority_titles: set[str]) -> None:
        self.real = real
        self._priority = priority_titles
        extra = max(0, max_total - len(real))
        self._distractors = distractors(real, extra, seed) if extra else None

    def corpus(self, total: int) -> tuple[PointSet, int, int]:
        """(points, n_real, n_synthetic) for a corpus of exactly ``total`` points."""
        if total <= len(self.real):
            return subset(self.real, total, self._priority), total, 0
        extra = total - len(self.real)
        assert self._distractors is not None and extra <= len(self._distractors)
        return PointSet.concat(self.real, self._distractors.head(extra)), len(self.real), extra
