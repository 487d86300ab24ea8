"""Synthetic points for the index-size benchmark (:mod:`benchmarks.index_scale`).

Seeds are real chunks: their multilingual-e5-small dense vectors (384-dim), Kiwi BM25 sparse
vectors and payloads, read back from an Edge index of the statutes (the eval index, copied
first so the original is never opened). Without one, a Gaussian-mixture stand-in
(:func:`synthetic_seeds`) with e5-like anisotropy is used, and the report says so.

Point ``i`` of a corpus of any size is a pure function of (seeds, generator seed, ``i``): it is
made in fixed blocks of :data:`BLOCK` points with one RNG per block, so a corpus of 10k points
is the first 10k of the 1M one. A point's dense vector is the normalised interpolation
``(1 - t) seed_a + t seed_b + noise`` with ``seed_b`` one of ``seed_a``'s 10 nearest real
neighbours, ``t ~ U(0, 0.5)``, and noise drawn from the seeds' own covariance (the top
principal directions, scaled by their variances: anisotropic like real embeddings) plus a
little isotropic noise. Its sparse vector is ``seed_a``'s terms kept with p = 0.75 and
``seed_b``'s with p = 0.25 (a term in both keeps the larger weight), each weight times
lognormal(0, 0.25). Its payload is ``seed_a``'s (text, header, refs, term, agency, doc type)
under a synthetic document of :data:`DOC_CHUNKS` chunks, two chunks per section, and an access
level per document: 7 in 10 public, 2 internal, 1 restricted to its owning agency (and, for
half of those, one more agency), so the permission filter has work to do.

Queries are held out: a query is a seed (never a point) with more noise (cosine ~0.9 to its
seed, about what an e5 query has to its passage) and 2-6 of the seed's terms, weight 1 each,
as the Kiwi query encoder gives.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.corpus import PointSet, read_points
from retrieval.edge_store import META_FILE
from retrieval.sparse import SparseVector
from retrieval.store import IndexPoint

DIM = 384
BLOCK = 4096
DOC_CHUNKS = 64
NEIGHBOURS = 10
PCA_RANK = 64
INTERP_MAX = 0.5
POINT_NOISE = 0.5  # scale of the covariance-shaped noise of a point (x the seeds' spread)
POINT_ISO = 0.01  # isotropic noise per dimension of a point
QUERY_NOISE = 1.2
QUERY_ISO = 0.02
KEEP_A, KEEP_B = 0.75, 0.25
WEIGHT_SIGMA = 0.25
ACCESS = ("public", "internal", "restricted")
SEED_INDEXES = (
    Path.home() / ".cache" / "nuri" / "eval-statutes-v3",
    Path.home() / ".cache" / "nuri" / "eval-statutes",
)
_NS = uuid.UUID("5d0f8a57-2f45-4f1e-8d8e-3c2b7c1d9a10")


@dataclass
class Seeds:
    points: PointSet
    provenance: str
    neighbours: np.ndarray  # (n_seeds, NEIGHBOURS) nearest other seeds by cosine
    basis: np.ndarray  # (PCA_RANK, DIM) principal directions x their standard deviations
    agencies: list[str]  # every owning agency, most chunks first

    @classmethod
    def of(cls, points: PointSet, provenance: str) -> Seeds:
        dense = points.dense.astype(np.float32)
        sims = dense @ dense.T
        np.fill_diagonal(sims, -np.inf)
        k = min(NEIGHBOURS, len(points) - 1)
        neighbours = np.argpartition(-sims, k, axis=1)[:, :k]
        centred = dense - dense.mean(axis=0)
        _, sv, vt = np.linalg.svd(centred, full_matrices=False)
        rank = min(PCA_RANK, len(sv))
        basis = (vt[:rank] * (sv[:rank] / np.sqrt(len(points)))[:, None]).astype(np.float32)
        counts: dict[str, int] = {}
        for p in points.payloads:
            owner = (p.get("agency") or ["기관 미상"])[0]
            counts[owner] = counts.get(owner, 0) + 1
        agencies = sorted(counts, key=lambda a: (-counts[a], a))
        return cls(points, provenance, neighbours, basis, agencies)

    def fingerprint(self) -> str:
        return f"{len(self.points)}:{float(self.points.dense.sum()):.4f}:{int(self.points.indices.sum())}"


# -- seeds ------------------------------------------------------------------------------------
def real_seeds(index_dir: Path) -> Seeds:
    """The points of an Edge index, read from a copy (the original is never opened)."""
    with tempfile.TemporaryDirectory(prefix="nuri-scale-seeds-") as tmp:
        copy = Path(tmp) / "index"
        shutil.copytree(index_dir, copy)
        points = read_points(copy)
    return Seeds.of(points, f"{len(points)} real statute chunks (dense e5 + Kiwi BM25) read from a copy of {index_dir}")


def find_seed_index() -> Path | None:
    for d in SEED_INDEXES:
        if (d / META_FILE).is_file():
            return d
    return None


def synthetic_seeds(n: int = 3000, seed: int = 7) -> Seeds:
    """A stand-in when no real index exists: 60 'documents', chunks around each document's
    centre, all sharing a strong common direction and a power-law spectrum (e5 vectors of one
    language sit in a narrow cone: mean pairwise cosine ~0.75); sparse terms from a Zipf
    vocabulary with a per-document topic vocabulary."""
    rng = np.random.default_rng(seed)
    n_docs = 60
    spectrum = (np.arange(1, DIM + 1) ** -0.8).astype(np.float32)
    rot = np.linalg.qr(rng.standard_normal((DIM, DIM)))[0].astype(np.float32)
    common = rot[0] * 4.0
    centres = (rng.standard_normal((n_docs, DIM)) * spectrum) @ rot
    doc = rng.integers(0, n_docs, size=n)
    dense = common + centres[doc] + 0.35 * (rng.standard_normal((n, DIM)) * spectrum) @ rot
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    vocab = 50_000
    topic = rng.integers(0, vocab, size=(n_docs, 400))
    agencies = ["행정안전부", "인사혁신처", "재정경제부", "국민권익위원회", "개인정보보호위원회"]
    sparse: list[tuple[np.ndarray, np.ndarray]] = []
    payloads: list[dict[str, Any]] = []
    for i in range(n):
        own = topic[doc[i], rng.integers(0, 400, size=25)]
        common_terms = np.minimum(rng.zipf(1.3, size=15), vocab) - 1
        terms = np.unique(np.concatenate([own, common_terms])).astype(np.int64) * 40503 % 2_147_483_647
        order = np.argsort(terms)
        sparse.append((terms[order], rng.uniform(0.6, 2.0, size=len(terms)).astype(np.float32)))
        title = f"가상 법령 {doc[i]}"
        payloads.append(
            {
                "doc_id": f"seed:{doc[i]}",
                "title": title,
                "anchor": f"{title} 제{i % 90 + 1}조",
                "section": f"{title} 제{i % 90 + 1}조",
                "header": f"{title}\n{title} 제{i % 90 + 1}조",
                "text": "가상 조문 본문 " * 40,
                "refs": [],
                "term": f"용어{i}" if i % 20 == 0 else "",
                "heading_path": [],
                "page": None,
                "agency": [agencies[doc[i] % len(agencies)]],
                "doc_type": "statute",
                "effective_date": "2026-01-01",
                "source_url": None,
                "extra": {},
            }
        )
    points = PointSet.from_rows([str(i) for i in range(n)], list(dense.astype(np.float32)), sparse, payloads)
    return Seeds.of(points, f"{n} Gaussian-mixture stand-in seeds (no real index found)")


def point_uuid(gen_seed: int, i: int) -> str:
    return str(uuid.uuid5(_NS, f"{gen_seed}:{i}"))


# -- points -----------------------------------------------------------------------------------
@dataclass
class Block:
    """Points ``lo`` .. ``lo + len(ids) - 1``: what is upserted and what the exact search needs."""

    lo: int
    ids: list[str]
    dense: np.ndarray
    sparse: list[tuple[np.ndarray, np.ndarray]]
    payloads: list[dict[str, Any]]
    access: np.ndarray  # index into ACCESS
    allowed: list[list[str]]

    def index_points(self) -> list[IndexPoint]:
        return [
            IndexPoint(
                id=self.ids[j],
                dense=self.dense[j].tolist(),
                sparse=SparseVector(self.sparse[j][0].tolist(), self.sparse[j][1].tolist()),
                payload=self.payloads[j],
            )
            for j in range(len(self.ids))
        ]


def _noise(rng: np.random.Generator, basis: np.ndarray, n: int, scale: float, iso: float) -> np.ndarray:
    shaped = rng.standard_normal((n, basis.shape[0])).astype(np.float32) @ basis
    return scale * shaped + rng.normal(0.0, iso, size=(n, basis.shape[1])).astype(np.float32)


def _merge_sparse(seeds: PointSet, a: int, b: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    la, ha = int(seeds.indptr[a]), int(seeds.indptr[a + 1])
    lb, hb = int(seeds.indptr[b]), int(seeds.indptr[b + 1])
    keep_a = rng.random(ha - la) < KEEP_A
    keep_b = rng.random(hb - lb) < KEEP_B
    idx = np.concatenate([seeds.indices[la:ha][keep_a], seeds.indices[lb:hb][keep_b]])
    val = np.concatenate([seeds.values[la:ha][keep_a], seeds.values[lb:hb][keep_b]])
    if idx.size == 0:  # never an empty sparse vector: keep the seed's first term
        idx, val = seeds.indices[la : la + 1], seeds.values[la : la + 1]
    val = val * rng.lognormal(0.0, WEIGHT_SIGMA, size=val.size).astype(np.float32)
    order = np.lexsort((-val, idx))  # by term, the larger weight first
    idx, val = idx[order], val[order]
    first = np.concatenate([[True], idx[1:] != idx[:-1]])
    return idx[first].astype(np.int64), val[first].astype(np.float32)


def _doc_access(doc: int, owner: str, agencies: list[str]) -> tuple[int, list[str]]:
    kind = (doc * 7919) % 10
    if kind < 7:
        return 0, []
    if kind < 9:
        return 1, []
    allowed = {owner}
    if doc % 2 and len(agencies) > 1:
        allowed.add(agencies[(doc // 2) % len(agencies)])
    return 2, sorted(allowed)


def block(seeds: Seeds, gen_seed: int, lo: int, hi: int) -> Block:
    """Points ``lo`` .. ``hi - 1`` (``lo`` a multiple of :data:`BLOCK`, ``hi - lo`` at most one block)."""
    assert lo % BLOCK == 0 and 0 < hi - lo <= BLOCK
    rng = np.random.default_rng([gen_seed, lo // BLOCK])
    n = hi - lo
    real = seeds.points
    a = rng.integers(0, len(real), size=n)
    b = seeds.neighbours[a, rng.integers(0, seeds.neighbours.shape[1], size=n)]
    t = rng.uniform(0.0, INTERP_MAX, size=(n, 1)).astype(np.float32)
    dense = (1 - t) * real.dense[a] + t * real.dense[b] + _noise(rng, seeds.basis, n, POINT_NOISE, POINT_ISO)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    sparse = [_merge_sparse(real, int(a[j]), int(b[j]), rng) for j in range(n)]
    payloads, access, allowed = [], np.zeros(n, dtype=np.uint8), []
    for j in range(n):
        i = lo + j
        doc, chunk = divmod(i, DOC_CHUNKS)
        base = real.payloads[int(a[j])]
        owner = (base.get("agency") or ["기관 미상"])[0]
        acc, allow = _doc_access(doc, owner, seeds.agencies)
        title = f"합성 법령 {doc}"
        section = f"{title} 제{chunk // 2 + 1}조"
        payloads.append(
            {
                **base,
                "doc_id": f"synthetic:{doc}",
                "version": "synthetic",
                "content_hash": "",
                "n_chunks": DOC_CHUNKS,
                "chunk_index": chunk,
                "source": f"synthetic://{doc}",
                "title": title,
                "anchor": f"{section} 제{chunk % 2 + 1}항",
                "section": section,
                "access": ACCESS[acc],
                "allowed_agencies": allow,
            }
        )
        access[j] = acc
        allowed.append(allow)
    ids = [point_uuid(gen_seed, i) for i in range(lo, hi)]
    return Block(lo, ids, dense.astype(np.float32), sparse, payloads, access, allowed)


def blocks(seeds: Seeds, gen_seed: int, total: int) -> Iterator[Block]:
    for lo in range(0, total, BLOCK):
        yield block(seeds, gen_seed, lo, min(lo + BLOCK, total))


# -- queries ----------------------------------------------------------------------------------
@dataclass
class Queries:
    dense: np.ndarray  # (n, DIM), normalised
    sparse: list[SparseVector]
    seed_rows: list[int]

    def save(self, path: Path) -> None:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            json.dump(
                {
                    "dense": self.dense.tolist(),
                    "sparse": [[s.indices, s.values] for s in self.sparse],
                    "seed_rows": self.seed_rows,
                },
                f,
            )

    @classmethod
    def load(cls, path: Path) -> Queries:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            d = json.load(f)
        return cls(
            np.asarray(d["dense"], dtype=np.float32),
            [SparseVector(list(i), list(v)) for i, v in d["sparse"]],
            list(d["seed_rows"]),
        )


def queries(seeds: Seeds, n: int, gen_seed: int) -> Queries:
    rng = np.random.default_rng([gen_seed, 10**9])
    real = seeds.points
    rows = rng.choice(len(real), size=min(n, len(real)), replace=False)
    dense = real.dense[rows] + _noise(rng, seeds.basis, len(rows), QUERY_NOISE, QUERY_ISO)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    out = []
    for r in rows:
        lo, hi = int(real.indptr[r]), int(real.indptr[r + 1])
        terms = real.indices[lo:hi]
        weights = real.values[lo:hi].astype(np.float64)
        k = min(len(terms), int(rng.integers(2, 7)))
        pick = rng.choice(len(terms), size=k, replace=False, p=weights / weights.sum())
        out.append(SparseVector(sorted(int(t) for t in terms[pick]), [1.0] * k))
    return Queries(dense.astype(np.float32), out, [int(r) for r in rows])


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
