"""How fast the command line starts, as a user runs it: separate ``nuri`` processes, wall time.

    python -m benchmarks.cli_startup [--statutes 21] [--rounds 5] [--corpus DIR] [--json FILE]

1. ``nuri --help``: the median of ``--rounds`` runs (goal: under 0.3 s). Building the parser
   imports no model, database driver or configuration.
2. ``nuri ingest`` of the first ``--statutes`` statute files of ``../shared/data`` (or of
   ``--corpus``) into a new index, then ``nuri ingest`` of the same files again: every file
   unchanged, the median of ``--rounds`` re-syncs (goal: at least 50x faster than the full
   ingest). A re-sync that changes nothing loads neither the encoder nor Kiwi; what is left is
   the process start, opening the index and reading each file's fingerprint.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.machine import machine_info

ROOT = Path(__file__).resolve().parents[1]
HELP_GOAL_S = 0.3
RESYNC_GOAL = 50.0


def nuri(*args: str, env: dict[str, str]) -> float:
    """Wall time of one ``nuri`` command (it must succeed)."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=3600)  # fmt: skip
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"nuri {' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return seconds


def statute_corpus(n: int, into: Path) -> Path:
    """The first ``n`` statute files of ``../shared/data/statutes`` (sorted), copied into one folder."""
    source = ROOT.parent / "shared" / "data" / "statutes"
    files = sorted(source.rglob("*.md"))[:n]
    if len(files) < n:
        raise SystemExit(f"{source}: {len(files)} statute files, {n} asked for (../shared beside the repository)")
    into.mkdir(parents=True)
    for i, f in enumerate(files):
        shutil.copy2(f, into / f"{i:02d}_{f.name}")
    return into


def run(corpus: Path, rounds: int, work: Path) -> dict[str, Any]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NURI_INDEX_DIR": str(work / "index"),
           "NURI_DATA_DIR": str(work / "data")}  # fmt: skip
    env.pop("NURI_CONFIG", None)
    help_s = [nuri("--help", env=env) for _ in range(rounds)]
    files = len(list(corpus.iterdir()))
    ingest_s = nuri("ingest", str(corpus), "--quiet", env=env)
    resync_s = [nuri("ingest", str(corpus), "--quiet", env=env) for _ in range(rounds)]
    return {
        "machine": machine_info(),
        "files": files,
        "help_seconds": [round(s, 3) for s in help_s],
        "help_median_seconds": round(statistics.median(help_s), 3),
        "ingest_seconds": round(ingest_s, 2),
        "resync_seconds": [round(s, 3) for s in resync_s],
        "resync_median_seconds": round(statistics.median(resync_s), 3),
        "resync_speedup": round(ingest_s / statistics.median(resync_s), 1),
    }


def table(r: dict[str, Any]) -> str:
    help_ok = "met" if r["help_median_seconds"] < HELP_GOAL_S else "MISSED"
    sync_ok = "met" if r["resync_speedup"] >= RESYNC_GOAL else "MISSED"
    return "\n".join([
        "| measure | result | goal |",
        "|---|---|---|",
        f"| `nuri --help` (median of {len(r['help_seconds'])}) | {r['help_median_seconds']:.3f} s | < {HELP_GOAL_S} s ({help_ok}) |",
        f"| `nuri ingest` of {r['files']} files, new index | {r['ingest_seconds']:.1f} s | |",
        f"| `nuri ingest` again, all unchanged (median of {len(r['resync_seconds'])}) | {r['resync_median_seconds']:.2f} s | |",
        f"| re-sync speed-up | {r['resync_speedup']:.0f}x | >= {RESYNC_GOAL:.0f}x ({sync_ok}) |",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.cli_startup", description=__doc__.split("\n\n")[0])
    p.add_argument("--statutes", type=int, default=21, help="how many statute files to ingest (default 21)")
    p.add_argument("--corpus", type=Path, help="ingest this folder instead of the statutes")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="nuri-bench-cli-"))
    try:
        corpus = args.corpus or statute_corpus(args.statutes, work / "corpus")
        result = run(corpus, args.rounds, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
