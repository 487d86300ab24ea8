"""Measures 1 and 2: full-ingest throughput against the raw encoder, and re-sync of an unchanged corpus.

Full ingest is ``Syncer.sync`` of the statute subset into a fresh Qdrant Edge index (parse,
chunk, dense + sparse encoding, upsert, HNSW build). The raw encoder baseline is
``Embedder.embed_passages`` over exactly the same chunk ``embed_text``\\ s, grouped the way the
syncer groups them (whole documents, flushed once ``index.encode_batch_chunks`` chunks are
pending; the embedder then batches each group by ``embedder.batch_size``). The re-sync runs
``Syncer.sync`` again over the same files from a reopened index: every file must come back
"unchanged".
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from configs.settings import Settings
from connectors.registry import discover, load_document
from connectors.types import ParseError
from retrieval.chunking import chunk_document
from retrieval.embedders import Embedder
from retrieval.index import NuriIndex
from retrieval.sync import Syncer

RESYNC_REPEATS = 5


@dataclass
class IngestResult:
    files: list[str]
    chunks: int
    ingest_seconds: float
    encoder_seconds: float
    resync_seconds: list[float] = field(default_factory=list)
    resync_unchanged: int = 0
    resync_chunks_written: int = 0

    @property
    def ingest_cps(self) -> float:
        return self.chunks / self.ingest_seconds

    @property
    def encoder_cps(self) -> float:
        return self.chunks / self.encoder_seconds

    @property
    def ratio(self) -> float:
        return self.ingest_cps / self.encoder_cps

    @property
    def resync_median(self) -> float:
        return statistics.median(self.resync_seconds)

    @property
    def resync_speedup(self) -> float:
        return self.ingest_seconds / self.resync_median

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "chunks": self.chunks,
            "ingest_seconds": round(self.ingest_seconds, 3),
            "ingest_chunks_per_s": round(self.ingest_cps, 3),
            "encoder_seconds": round(self.encoder_seconds, 3),
            "encoder_chunks_per_s": round(self.encoder_cps, 3),
            "ratio": round(self.ratio, 4),
            "resync_seconds": [round(s, 4) for s in self.resync_seconds],
            "resync_median_seconds": round(self.resync_median, 4),
            "resync_speedup": round(self.resync_speedup, 1),
            "resync_unchanged_files": self.resync_unchanged,
            "resync_chunks_written": self.resync_chunks_written,
        }


def chunk_groups(files: list[Path], settings: Settings, embedder: Embedder) -> list[list[str]]:
    """The chunk texts of ``files``, grouped exactly as ``Syncer`` hands them to the encoder."""
    found, _ = discover(files)
    flush_at = settings.index.encode_batch_chunks
    groups: list[list[str]] = []
    pending: list[str] = []
    for path in found:
        try:
            doc = load_document(path, settings.connectors)
        except ParseError:
            continue
        pending.extend(c.embed_text for c in chunk_document(doc, embedder.count_tokens, settings.chunking))
        if len(pending) >= flush_at:
            groups.append(pending)
            pending = []
    if pending:
        groups.append(pending)
    return groups


def time_raw_encoder(groups: list[list[str]], embedder: Embedder) -> float:
    """Seconds ``embed_passages`` takes over ``groups`` (one call per group, as during sync)."""
    total = 0.0
    for group in tqdm(groups, desc="raw encoder", unit="group", file=sys.stderr, leave=False):
        t0 = time.perf_counter()
        embedder.embed_passages(group)
        total += time.perf_counter() - t0
    return total


def warm_up(embedder: Embedder, texts: list[str]) -> None:
    """One small untimed encode so that neither measurement pays first-call costs."""
    embedder.embed_passages(texts[:4])
    embedder.embed_query("워밍업 질의")


def run_ingest(files: list[Path], settings: Settings, embedder: Embedder, index_dir: Path) -> IngestResult:
    """Raw encoder first, then the full sync into ``index_dir`` (must not exist), then re-syncs."""
    groups = chunk_groups(files, settings, embedder)
    n_chunks = sum(len(g) for g in groups)
    warm_up(embedder, groups[0])
    encoder_seconds = time_raw_encoder(groups, embedder)

    with NuriIndex.open(settings.retrieval, index_dir, create=True, embedder=embedder) as index:
        t0 = time.perf_counter()
        report = Syncer(index, settings.connectors).sync(files)
        ingest_seconds = time.perf_counter() - t0
    if report.failed or report.chunks_written != n_chunks:
        raise RuntimeError(f"ingest wrote {report.chunks_written} chunks, expected {n_chunks}; failed: {report.failed}")
    result = IngestResult(
        files=[str(f) for f in files],
        chunks=n_chunks,
        ingest_seconds=ingest_seconds,
        encoder_seconds=encoder_seconds,
    )
    run_resync(files, settings, embedder, index_dir, result)
    return result


def run_resync(
    files: list[Path], settings: Settings, embedder: Embedder, index_dir: Path, result: IngestResult
) -> None:
    """Reopen the index (as a later ``nuri ingest`` would) and time ``Syncer.sync`` repeatedly."""
    with NuriIndex.open(settings.retrieval, index_dir, embedder=embedder) as index:
        syncer = Syncer(index, settings.connectors, progress=False)
        for _ in range(RESYNC_REPEATS):
            t0 = time.perf_counter()
            report = syncer.sync(files)
            result.resync_seconds.append(time.perf_counter() - t0)
            result.resync_unchanged = report.unchanged
            result.resync_chunks_written += report.chunks_written
