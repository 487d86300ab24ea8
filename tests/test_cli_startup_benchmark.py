"""The command-line start-up benchmark end to end on the bundled sample corpus: real ``nuri``
processes (``--help``, a full ingest, an unchanged re-sync), its table and JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_it_times_help_ingest_and_an_unchanged_resync(tmp_path: Path) -> None:
    out = tmp_path / "cli.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.cli_startup", "--corpus", str(ROOT / "samples" / "corpus"),
         "--rounds", "2", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| `nuri --help` (median of 2) |" in proc.stdout and "| re-sync speed-up |" in proc.stdout
    r = json.loads(out.read_text(encoding="utf-8"))
    assert len(r["help_seconds"]) == len(r["resync_seconds"]) == 2
    assert r["help_median_seconds"] > 0 and 0 < r["resync_median_seconds"] < r["ingest_seconds"]
    assert r["resync_speedup"] == round(r["ingest_seconds"] / r["resync_median_seconds"], 1)
