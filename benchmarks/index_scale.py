"""Index size: hybrid query latency, recall@5 and resident memory at 10k / 100k / 1M chunks.

    python -m benchmarks.index_scale [--sizes 10000,100000,1000000] [--queries 200] [--rounds 3]
                                     [--quick] [--rebuild] [--json PATH]

Method, per size N:

1. **Points** (:mod:`benchmarks.scale_points`): N synthetic chunks derived from real statute
   chunks (their e5 dense and Kiwi sparse vectors, their payloads), all 384-dim; the index is
   built once with the product's writer (``EdgeStore.upsert`` in ``index.upsert_batch``
   batches, then ``finish_batch()``: flush + optimise, HNSW and sparse index) and cached under
   ``~/.cache/nuri/bench-scale-<N>-v<GEN_VERSION>`` with the vectors and access levels the exact
   search needs (``--rebuild`` forces a new build). Build seconds = upsert + optimise
   (generating the points is timed apart).
2. **Serving process**: a fresh subprocess per size loads what ``nuri serve`` holds for
   searching (settings, the bundled encoder, the HTTP app's modules, Kiwi), records its RSS,
   opens the index (``NuriIndex`` over ``EdgeStore``), records RSS again, runs the queries,
   records RSS a third time. The index's share of a serving process is the difference.
3. **Latency**: the query path of ``NuriIndex.search`` without query encoding, as an agency
   user with restricted clearance (the permission filter is a should of public / internal /
   restricted AND allowed_agencies, inside every stage): ``build_filter``, the definitions
   lookup (``defined_terms``: candidate terms from the definitions' vectors held in memory,
   then a filtered dense query over their chunks; the vectors are read during the untimed
   pass), then ``NuriIndex.ranked`` (hybrid query: dense + sparse prefetch, RRF, section
   collapsing). ``search`` re-encodes "query + defined
   terms" with Kiwi; here the terms' ids are added to the precomputed sparse query instead
   (the same vector Kiwi gives for a one-word term). One untimed pass, then ``--rounds`` timed.
4. **Recall@5** against exact search over the same points with the same filter (numpy):
   dense = ``EdgeStore.dense_query`` top 5 vs exact cosine top 5 (HNSW quality); hybrid =
   ``EdgeStore.hybrid_query`` top 5 (prefetch 50 + 50, RRF) vs exact dense top 50 + exact
   sparse top 50 (BM25 values x IDF over the whole index, Qdrant's formula) fused by the same
   RRF. A returned point scoring at least the exact 5th score counts (ties at the cut).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import machine_info
from benchmarks.scale_points import (
    ACCESS,
    BLOCK,
    DIM,
    Queries,
    Seeds,
    blocks,
    find_seed_index,
    log,
    point_uuid,
    queries,
    real_seeds,
    synthetic_seeds,
)
from configs.settings import Settings, load_settings

GEN_VERSION = 1
GEN_SEED = 20240601
TOP_K = 5
EXACT_DEPTH = 50  # prefetch depth of the exact hybrid (= search.dense_limit / sparse_limit defaults)
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZE, QUICK_QUERIES = 2_000, 30
DEFAULT_CACHE = Path.home() / ".cache" / "nuri"
PRINCIPAL_CLEARANCE = "restricted"
P50_GOAL_MS, GOAL_SIZE = 5.0, 100_000


def rss_kib() -> dict[str, int]:
    """VmRSS, RssAnon and RssFile of this process, in KiB (``/proc/self/status``)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":", 1)[0]
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[key] = int(line.split()[1])
    return out


def disk_bytes(path: Path) -> int:
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())


def pct(ms: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(ms), q)) if ms else float("nan")


# -- build -----------------------------------------------------------------------------------
@dataclass
class Built:
    """A cached index and what the exact search needs."""

    folder: Path
    manifest: dict[str, Any]

    @property
    def index_dir(self) -> Path:
        return self.folder / "index"

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            name: np.load(self.folder / f"{name}.npy", mmap_mode="r")
            for name in ("dense", "indptr", "indices", "values", "access", "allowed")
        }


def expected_manifest(
    n: int, seeds: Seeds, gen_seed: int, settings: Settings, principal_agency: str, embedder: str
) -> dict[str, Any]:
    ix = settings.retrieval.index
    return {
        "generator": GEN_VERSION,
        "embedder": embedder,
        "n": n,
        "gen_seed": gen_seed,
        "seeds": seeds.fingerprint(),
        "hnsw_m": ix.hnsw_m,
        "hnsw_ef_construct": ix.hnsw_ef_construct,
        "upsert_batch": ix.upsert_batch,
        "principal_agency": principal_agency,
    }


def build(folder: Path, n: int, seeds: Seeds, gen_seed: int, settings: Settings, manifest: dict[str, Any]) -> Built:
    """Write the N points into a fresh Edge index under ``folder/index`` plus the arrays."""
    from retrieval.edge_store import EdgeStore

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    store = EdgeStore(folder / "index", dim=DIM, settings=settings.retrieval.index, create=True)
    store.write_meta({"embedder": manifest["embedder"], "dim": DIM})
    dense = np.lib.format.open_memmap(folder / "dense.npy", mode="w+", dtype=np.float32, shape=(n, DIM))
    indptr = np.zeros(n + 1, dtype=np.int64)
    indices: list[np.ndarray] = []
    values: list[np.ndarray] = []
    access = np.zeros(n, dtype=np.uint8)
    allowed = np.zeros(n, dtype=bool)
    batch = settings.retrieval.index.upsert_batch
    agency = manifest["principal_agency"]
    gen_s = upsert_s = 0.0
    t = time.perf_counter()
    for blk in blocks(seeds, gen_seed, n):
        hi = blk.lo + len(blk.ids)
        dense[blk.lo : hi] = blk.dense
        indptr[blk.lo + 1 : hi + 1] = np.cumsum([len(i) for i, _ in blk.sparse]) + indptr[blk.lo]
        indices.extend(i for i, _ in blk.sparse)
        values.extend(v for _, v in blk.sparse)
        access[blk.lo : hi] = blk.access
        allowed[blk.lo : hi] = [agency in a for a in blk.allowed]
        pts = blk.index_points()
        t1 = time.perf_counter()
        gen_s += t1 - t
        for lo in range(0, len(pts), batch):
            store.upsert(pts[lo : lo + batch])
        t = time.perf_counter()
        upsert_s += t - t1
        if (blk.lo // BLOCK) % 25 == 0:
            log(f"  build {n:,}: {hi:,} points upserted ({gen_s:.0f} s generating, {upsert_s:.0f} s upserting)")
    log(f"  build {n:,}: optimising (HNSW + sparse index)")
    t = time.perf_counter()
    store.finish_batch()
    optimize_s = time.perf_counter() - t
    store.close()
    dense.flush()
    del dense
    np.save(folder / "indptr.npy", indptr)
    np.save(folder / "indices.npy", np.concatenate(indices))
    np.save(folder / "values.npy", np.concatenate(values))
    np.save(folder / "access.npy", access)
    np.save(folder / "allowed.npy", allowed)
    full = {
        **manifest,
        "generate_seconds": round(gen_s, 2),
        "upsert_seconds": round(upsert_s, 2),
        "optimize_seconds": round(optimize_s, 2),
        "build_seconds": round(upsert_s + optimize_s, 2),
        "disk_bytes": disk_bytes(folder / "index"),
        "seeds_provenance": seeds.provenance,
        "built_at": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (folder / "manifest.json").write_text(json.dumps(full, ensure_ascii=False, indent=1), encoding="utf-8")
    return Built(folder, full)


def cached_or_build(
    cache: Path, n: int, seeds: Seeds, settings: Settings, agency: str, embedder: str, rebuild: bool
) -> tuple[Built, bool]:
    folder = cache / f"bench-scale-{n}-v{GEN_VERSION}"
    want = expected_manifest(n, seeds, GEN_SEED, settings, agency, embedder)
    man = folder / "manifest.json"
    if not rebuild and man.is_file():
        have = json.loads(man.read_text(encoding="utf-8"))
        if all(have.get(k) == v for k, v in want.items()):
            return Built(folder, have), True
    log(f"building the {n:,}-point index under {folder}")
    return build(folder, n, seeds, GEN_SEED, settings, want), False


# -- exact search (numpy / scipy) --------------------------------------------------------------
@dataclass
class Exact:
    dense_top: list[np.ndarray]  # per query: exact dense top EXACT_DEPTH rows (filtered), best first
    dense_scores: list[np.ndarray]
    hybrid_scores: list[dict[int, float]]  # per query: exact RRF score of every fused row
    hybrid_top: list[list[int]]


def readable_mask(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """What an agency user with restricted clearance may read (``build_filter``'s rule)."""
    access = np.asarray(arrays["access"])
    return (
        (access == ACCESS.index("public"))
        | (access == ACCESS.index("internal"))
        | ((access == ACCESS.index("restricted")) & np.asarray(arrays["allowed"]))
    )


def exact_search(arrays: dict[str, np.ndarray], qs: Queries, rrf_k: int) -> Exact:
    n = len(arrays["access"])
    ok = readable_mask(arrays)
    depth = min(EXACT_DEPTH, int(ok.sum()))
    nq = len(qs.sparse)
    best_s = np.full((nq, depth), -np.inf, dtype=np.float32)
    best_i = np.zeros((nq, depth), dtype=np.int64)
    step = 65_536
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        s = qs.dense @ np.asarray(arrays["dense"][lo:hi]).T
        s[:, ~ok[lo:hi]] = -np.inf
        cand_s = np.concatenate([best_s, s], axis=1)
        cand_i = np.concatenate([best_i, np.broadcast_to(np.arange(lo, hi), s.shape)], axis=1)
        top = np.argpartition(-cand_s, depth - 1, axis=1)[:, :depth]
        best_s = np.take_along_axis(cand_s, top, axis=1)
        best_i = np.take_along_axis(cand_i, top, axis=1)
    order = np.argsort(-best_s, axis=1)
    best_s, best_i = np.take_along_axis(best_s, order, 1), np.take_along_axis(best_i, order, 1)

    indptr, indices, values = (np.asarray(arrays[k]) for k in ("indptr", "indices", "values"))
    # An inverted index in numpy: the nonzeros sorted by term, each with its point's row.
    rows_of_nnz = np.repeat(np.arange(n), np.diff(indptr))
    order = np.argsort(indices, kind="stable")
    terms, starts, counts = np.unique(indices[order], return_index=True, return_counts=True)
    idf = np.log(1.0 + (n - counts + 0.5) / (counts + 0.5))  # df = points holding the term
    hybrid_scores, hybrid_top = [], []
    for qi, q in enumerate(qs.sparse):
        scores = np.zeros(n)
        for term, weight in zip(q.indices, q.values, strict=True):
            pos = int(np.searchsorted(terms, term))
            if pos < len(terms) and terms[pos] == term:
                nnz = order[starts[pos] : starts[pos] + counts[pos]]
                scores += np.bincount(rows_of_nnz[nnz], weights=values[nnz] * weight * idf[pos], minlength=n)
        scores[~ok] = 0.0
        hit = np.flatnonzero(scores > 0)
        sparse_rows = hit[np.argsort(-scores[hit], kind="stable")][:EXACT_DEPTH]
        fused: dict[int, float] = {}
        for rank, row in enumerate(best_i[qi][np.isfinite(best_s[qi])]):
            fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (rrf_k + rank + 1)
        for rank, row in enumerate(sparse_rows):
            fused[int(row)] = fused.get(int(row), 0.0) + 1.0 / (rrf_k + rank + 1)
        hybrid_scores.append(fused)
        hybrid_top.append(sorted(fused, key=lambda r: -fused[r])[:TOP_K])
    return Exact(list(best_i), list(best_s), hybrid_scores, hybrid_top)


def recall_dense(found: list[list[int]], exact: Exact, qs_dense: np.ndarray, dense: np.ndarray) -> float:
    """Share of the exact top 5 found; a found point scoring >= the exact 5th counts (ties)."""
    total = 0.0
    for qi, rows in enumerate(found):
        cut = float(exact.dense_scores[qi][TOP_K - 1]) - 1e-5
        good = sum(1 for r in rows[:TOP_K] if float(qs_dense[qi] @ dense[r]) >= cut)
        total += min(good, TOP_K) / TOP_K
    return total / len(found)


def recall_hybrid(found: list[list[int]], exact: Exact) -> float:
    total = 0.0
    for qi, rows in enumerate(found):
        fused = exact.hybrid_scores[qi]
        cut = fused[exact.hybrid_top[qi][-1]] - 1e-9 if exact.hybrid_top[qi] else 0.0
        good = sum(1 for r in rows[:TOP_K] if fused.get(r, -1.0) >= cut)
        total += min(good, len(exact.hybrid_top[qi])) / max(1, len(exact.hybrid_top[qi]))
    return total / len(found)


# -- the serving-process probe (runs in a fresh subprocess) ------------------------------------
def probe(index_dir: Path, queries_path: Path, agency: str, rounds: int, out: Path) -> None:
    """What a serving process does for search, measured: RSS before/after opening the index,
    per-query latency of the query path, and the points each query returned (for recall)."""
    rss_start = rss_kib()
    import assistant.http.app  # noqa: F401  (the HTTP app's modules, as `nuri serve` imports them)
    from retrieval.edge_store import EdgeStore
    from retrieval.embedders import build_embedder
    from retrieval.index import NuriIndex, build_filter
    from retrieval.sparse import KoreanSparseEncoder
    from retrieval.store import HybridQuery
    from retrieval.types import Principal

    settings = load_settings()
    r = settings.retrieval
    embedder = build_embedder(r.embedder)
    embedder.embed_query("워밍업")
    kiwi = KoreanSparseEncoder(r.sparse)
    rss_base = rss_kib()
    t = time.perf_counter()
    store = EdgeStore(index_dir, dim=None, settings=r.index, create=False)
    index = NuriIndex(r, store, embedder, kiwi)
    open_s = time.perf_counter() - t
    rss_open = rss_kib()
    qs = Queries.load(queries_path)
    principal = Principal(agency=agency, clearance=PRINCIPAL_CLEARANCE)
    s = r.search

    def path(qi: int) -> list[Any]:
        """``NuriIndex.search`` after its two encoders."""
        dense = qs.dense[qi].tolist()
        flt = build_filter(None, principal)
        terms = index.defined_terms(dense, flt)
        sparse = with_terms(qs.sparse[qi], terms)
        return index.ranked("", dense, sparse, flt, TOP_K)[0]

    def hybrid(qi: int, limit: int) -> list[Any]:
        return store.hybrid_query(
            HybridQuery(
                dense=qs.dense[qi].tolist(),
                sparse=qs.sparse[qi],
                flt=build_filter(None, principal),
                limit=limit,
                dense_limit=s.dense_limit,
                sparse_limit=s.sparse_limit,
                rrf_k=s.rrf_k,
                rrf_weights=s.rrf_weights,
                hnsw_ef=s.hnsw_ef,
            )
        )

    nq = len(qs.sparse)
    for qi in range(nq):  # warm-up
        path(qi)
    path_ms, hybrid_ms, dense_ms = [], [], []
    for _ in range(rounds):
        for qi in range(nq):
            t = time.perf_counter()
            path(qi)
            path_ms.append((time.perf_counter() - t) * 1000)
    for qi in range(nq):
        t = time.perf_counter()
        hybrid(qi, TOP_K * s.collapse_overfetch)
        hybrid_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        store.dense_query(qs.dense[qi].tolist(), build_filter(None, principal), TOP_K, s.hnsw_ef)
        dense_ms.append((time.perf_counter() - t) * 1000)
    flt = build_filter(None, principal)
    found_dense = [[p.id for p in store.dense_query(qs.dense[qi].tolist(), flt, TOP_K, s.hnsw_ef)] for qi in range(nq)]
    found_hybrid = [[p.id for p in hybrid(qi, TOP_K)] for qi in range(nq)]
    rss_after = rss_kib()
    segments = store._shard.info().segments_count
    index.close()
    out.write_text(
        json.dumps(
            {
                "rss_start_kib": rss_start,
                "rss_base_kib": rss_base,
                "rss_open_kib": rss_open,
                "rss_after_kib": rss_after,
                "open_seconds": open_s,
                "path_ms": path_ms,
                "hybrid_ms": hybrid_ms,
                "dense_ms": dense_ms,
                "found_dense": found_dense,
                "found_hybrid": found_hybrid,
                "segments": segments,
            }
        ),
        encoding="utf-8",
    )


def with_terms(sparse: Any, terms: list[str]) -> Any:
    """The sparse query with the defined terms' ids added at weight 1 (what re-encoding
    "query + terms" with Kiwi adds for one-word terms)."""
    from retrieval.sparse import SparseVector, term_id

    if not terms:
        return sparse
    merged = dict(zip(sparse.indices, sparse.values, strict=True))
    for t in terms:
        merged.setdefault(term_id(t), 1.0)
    keys = sorted(merged)
    return SparseVector(keys, [merged[k] for k in keys])


def run_probe(index_dir: Path, queries_path: Path, agency: str, rounds: int, work: Path) -> dict[str, Any]:
    out = work / "probe.json"
    cmd = [
        sys.executable, "-m", "benchmarks.index_scale", "--probe", str(index_dir),
        "--probe-queries", str(queries_path), "--probe-agency", agency,
        "--rounds", str(rounds), "--probe-out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run(cmd, check=True, env=env, cwd=Path(__file__).resolve().parents[1])
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


# -- one size ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    sizes: list[int]
    n_queries: int
    rounds: int
    cache: Path
    rebuild: bool
    quick: bool


def measure(
    n: int, seeds: Seeds, qs: Queries, settings: Settings, plan: Plan, agency: str, embedder: str
) -> dict[str, Any]:
    built, was_cached = cached_or_build(plan.cache, n, seeds, settings, agency, embedder, plan.rebuild)
    m = built.manifest
    arrays = built.arrays()
    with tempfile.TemporaryDirectory(prefix="nuri-scale-") as tmp:
        qpath = Path(tmp) / "queries.json.gz"
        qs.save(qpath)
        log(f"  {n:,}: serving-process probe ({len(qs.sparse)} queries x {plan.rounds} rounds)")
        pr = run_probe(built.index_dir, qpath, agency, plan.rounds, Path(tmp))
    log(f"  {n:,}: exact search (numpy) for recall")
    t = time.perf_counter()
    exact = exact_search(arrays, qs, settings.retrieval.search.rrf_k)
    exact_s = time.perf_counter() - t
    row_of = {point_uuid(m["gen_seed"], i): i for i in range(n)}
    found_dense = [[row_of[i] for i in ids] for ids in pr["found_dense"]]
    found_hybrid = [[row_of[i] for i in ids] for ids in pr["found_hybrid"]]
    mib = 1e6 / 1024  # KiB per MB
    rss = {k: pr[f"rss_{k}_kib"] for k in ("start", "base", "open", "after")}
    return {
        "points": n,
        "cached_index": was_cached,
        "cache_dir": str(built.folder),
        "build_seconds": m["build_seconds"],
        "upsert_seconds": m["upsert_seconds"],
        "optimize_seconds": m["optimize_seconds"],
        "generate_seconds": m["generate_seconds"],
        "hnsw_m": m["hnsw_m"],
        "hnsw_ef_construct": m["hnsw_ef_construct"],
        "disk_mb": round(m["disk_bytes"] / 1e6, 1),
        "segments": pr["segments"],
        "open_seconds": round(pr["open_seconds"], 3),
        "query_path_ms": {
            "n": len(pr["path_ms"]),
            "p50": round(pct(pr["path_ms"], 50), 3),
            "p95": round(pct(pr["path_ms"], 95), 3),
            "p99": round(pct(pr["path_ms"], 99), 3),
            "mean": round(float(np.mean(pr["path_ms"])), 3),
        },
        "hybrid_query_only_ms": {"p50": round(pct(pr["hybrid_ms"], 50), 3), "p95": round(pct(pr["hybrid_ms"], 95), 3)},
        "dense_query_only_ms": {"p50": round(pct(pr["dense_ms"], 50), 3), "p95": round(pct(pr["dense_ms"], 95), 3)},
        "recall_at_5_dense": round(recall_dense(found_dense, exact, qs.dense, arrays["dense"]), 4),
        "recall_at_5_hybrid": round(recall_hybrid(found_hybrid, exact), 4),
        "exact_search_seconds": round(exact_s, 1),
        "rss_mb": {
            "process_start": round(rss["start"]["VmRSS"] / mib, 1),
            "encoder_app_kiwi_loaded": round(rss["base"]["VmRSS"] / mib, 1),
            "index_open": round(rss["open"]["VmRSS"] / mib, 1),
            "after_queries": round(rss["after"]["VmRSS"] / mib, 1),
            "after_queries_anon": round(rss["after"]["RssAnon"] / mib, 1),
            "after_queries_file": round(rss["after"]["RssFile"] / mib, 1),
            "index_share": round((rss["after"]["VmRSS"] - rss["base"]["VmRSS"]) / mib, 1),
        },
    }


# -- report ------------------------------------------------------------------------------------
def growth(rows: list[dict[str, Any]]) -> list[str]:
    """Scaling exponents of p50 and index RSS between consecutive sizes (1 = linear)."""
    out = []
    for a, b in zip(rows, rows[1:], strict=False):
        f = math.log(b["points"] / a["points"])
        lat = math.log(b["query_path_ms"]["p50"] / a["query_path_ms"]["p50"]) / f
        mem_a, mem_b = max(a["rss_mb"]["index_share"], 1.0), max(b["rss_mb"]["index_share"], 1.0)
        out.append(
            f"{a['points']:,} -> {b['points']:,} points ({b['points'] / a['points']:.0f}x): p50 x"
            f"{b['query_path_ms']['p50'] / a['query_path_ms']['p50']:.2f} (exponent {lat:.2f}), index RSS x"
            f"{mem_b / mem_a:.2f} (exponent {math.log(mem_b / mem_a) / f:.2f}); exponent < 1 = sub-linear"
        )
    return out


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| size | build s | disk MB | p50 ms | p95 ms | p99 ms | recall@5 dense | recall@5 hybrid | RSS MB (index share) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        q = r["query_path_ms"]
        lines.append(
            f"| {r['points']:,} | {r['build_seconds']:.1f} | {r['disk_mb']:.0f} | {q['p50']:.2f} "
            f"| {q['p95']:.2f} | {q['p99']:.2f} | {r['recall_at_5_dense']:.3f} | {r['recall_at_5_hybrid']:.3f} "
            f"| {r['rss_mb']['after_queries']:.0f} (+{r['rss_mb']['index_share']:.0f}) |"
        )
    return "\n".join(lines)


def notes(plan: Plan, seeds: Seeds, settings: Settings, agency: str) -> list[str]:
    s = settings.retrieval.search
    return [
        f"Seeds: {seeds.provenance}. Points are synthetic (benchmarks/scale_points.py): interpolation of a seed and "
        "one of its 10 nearest seeds plus noise shaped by the seeds' covariance; sparse = the seeds' Kiwi BM25 terms "
        "with dropout and perturbed weights; payloads = the seeds' (text included) under synthetic documents; "
        "access 70% public / 20% internal / 10% restricted per document.",
        f"Queries: {plan.n_queries} held-out seeds + noise (cosine ~0.88 to the seed), 2-6 seed terms at weight 1; "
        f"caller = agency '{agency}' with clearance '{PRINCIPAL_CLEARANCE}' (filter: public OR internal OR "
        "restricted AND allowed_agencies).",
        "Latency = NuriIndex.search minus its encoders (build_filter + defined_terms: in-memory preselection of "
        "candidate terms, then a filtered dense query over their definition chunks, skipped without candidates; "
        "the definitions' vectors are read in the untimed pass + NuriIndex.ranked: "
        f"hybrid prefetch dense {s.dense_limit} + sparse {s.sparse_limit}, RRF k={s.rrf_k}, hnsw_ef={s.hnsw_ef}, "
        "section collapsing), in a fresh process per size; one untimed pass then "
        f"{plan.rounds} timed passes. NuriIndex has no search method taking precomputed vectors for the whole path, "
        "so the probe calls defined_terms and ranked itself (what search does between encodings).",
        "Recall@5: dense = EdgeStore.dense_query vs exact cosine top 5; hybrid = EdgeStore.hybrid_query top 5 vs exact "
        f"dense top {EXACT_DEPTH} + exact sparse top {EXACT_DEPTH} (IDF over all points) fused with the same RRF; "
        "both filtered like the query; ties at the 5th score count as found.",
        "RSS: VmRSS of the probe process (/proc/self/status). 'index share' = after queries minus the same process "
        "with settings, the bundled encoder, the HTTP app's modules and Kiwi loaded (what `nuri serve` holds before "
        "any index); `nuri serve`'s RSS grows with the index by about that share.",
        "Build s = EdgeStore.upsert (batches of index.upsert_batch) + finish_batch (flush + optimise); generating "
        "the synthetic points is excluded (in the JSON as generate_seconds). Indexes are cached under "
        f"{plan.cache}/bench-scale-<N>-v{GEN_VERSION} (--rebuild to rebuild).",
        "Shared machine: other jobs ran on the same 2 cores, so latencies are indicative.",
    ]


def parse_args(argv: list[str] | None) -> tuple[Plan, Path | None, argparse.Namespace]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.index_scale", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=",".join(str(n) for n in DEFAULT_SIZES), help="comma-separated index sizes")
    p.add_argument("--queries", type=int, default=200, help="held-out queries per size")
    p.add_argument("--rounds", type=int, default=3, help="timed passes over the queries")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_SIZE:,} points, {QUICK_QUERIES} queries, temp cache")
    p.add_argument("--rebuild", action="store_true", help="rebuild cached indexes")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="where bench-scale-<N>-v* indexes live")
    p.add_argument("--seeds", choices=["auto", "synthetic"], default="auto", help="real chunks (auto) or stand-ins")
    p.add_argument("--seed-index", type=Path, default=None, help="Edge index whose points are the seeds")
    p.add_argument(
        "--json", type=Path, default=None, help="write the results here (default <cache-dir>/bench-scale.json)"
    )
    p.add_argument("--probe", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--probe-queries", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--probe-agency", default="", help=argparse.SUPPRESS)
    p.add_argument("--probe-out", type=Path, default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    sizes = [QUICK_SIZE] if a.quick else [int(x) for x in a.sizes.split(",") if x.strip()]
    plan = Plan(
        sizes=sizes,
        n_queries=QUICK_QUERIES if a.quick else a.queries,
        rounds=1 if a.quick else max(1, a.rounds),
        cache=a.cache_dir,
        rebuild=a.rebuild,
        quick=a.quick,
    )
    return plan, a.json, a


def load_seeds(a: argparse.Namespace) -> Seeds:
    if a.seeds == "synthetic":
        return synthetic_seeds()
    index = a.seed_index or find_seed_index()
    return real_seeds(index) if index is not None else synthetic_seeds()


def run(plan: Plan, seeds: Seeds, settings: Settings, embedder: str) -> dict[str, Any]:
    machine = machine_info()
    agency = seeds.agencies[0]
    qs = queries(seeds, plan.n_queries, GEN_SEED)
    rows = []
    for n in plan.sizes:
        log(f"size {n:,}")
        rows.append(measure(n, seeds, qs, settings, plan, agency, embedder))
    at_goal = [r for r in rows if r["points"] == GOAL_SIZE]
    return {
        "machine": machine,
        "config": {
            "sizes": plan.sizes,
            "queries": len(qs.sparse),
            "rounds": plan.rounds,
            "top_k": TOP_K,
            "quick": plan.quick,
            "principal": {"agency": agency, "clearance": PRINCIPAL_CLEARANCE},
            "generator_version": GEN_VERSION,
            "seeds": seeds.provenance,
        },
        "sizes": rows,
        "growth": growth(rows),
        "goal": {
            "p50_ms_at_100k": at_goal[0]["query_path_ms"]["p50"] if at_goal else None,
            "goal_ms": P50_GOAL_MS,
            "met": at_goal[0]["query_path_ms"]["p50"] <= P50_GOAL_MS if at_goal else None,
        },
        "notes": notes(plan, seeds, settings, agency),
    }


def markdown(result: dict[str, Any]) -> str:
    from benchmarks.report import machine_line

    parts = ["# Nuri index size benchmark", "", machine_line(result["machine"]), "", table(result["sizes"]), ""]
    parts += [f"- {g}" for g in result["growth"]]
    g = result["goal"]
    if g["p50_ms_at_100k"] is not None:
        parts.append(
            f"- Goal p50 <= {g['goal_ms']} ms at 100k (query path without encoding): "
            f"{g['p50_ms_at_100k']:.2f} ms, {'met' if g['met'] else 'NOT met'}"
        )
    parts += ["", "## Notes", "", *[f"- {n}" for n in result["notes"]]]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    plan, json_out, a = parse_args(argv)
    if a.probe is not None:
        probe(a.probe, a.probe_queries, a.probe_agency, plan.rounds, a.probe_out)
        return 0
    from configs.logs import setup_logging
    from retrieval.embedders import build_embedder

    setup_logging("WARNING")
    settings = load_settings()
    embedder = build_embedder(settings.retrieval.embedder).name
    seeds = load_seeds(a)
    if plan.quick:
        with tempfile.TemporaryDirectory(prefix="nuri-scale-quick-") as tmp:
            result = run(
                Plan(plan.sizes, plan.n_queries, plan.rounds, Path(tmp), True, True), seeds, settings, embedder
            )
    else:
        result = run(plan, seeds, settings, embedder)
    print(markdown(result))
    out = json_out or plan.cache / "bench-scale.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    log(f"JSON written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
