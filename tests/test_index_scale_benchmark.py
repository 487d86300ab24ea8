"""The index-size benchmark's quick mode end to end: a real Edge index of 2,000 synthetic
points, a serving-process probe in a subprocess, exact numpy search for recall."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_run_prints_the_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    # Gaussian-mixture seeds: the same run on every machine (real seeds need a cached index).
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.index_scale", "--quick", "--seeds", "synthetic", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    header = "| size | build s | disk MB | p50 ms | p95 ms | p99 ms | recall@5 dense | recall@5 hybrid | RSS MB"
    assert header in proc.stdout
    assert "| 2,000 |" in proc.stdout
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["machine"]["cpu_count"] >= 1
    (row,) = result["sizes"]
    assert row["points"] == 2000
    assert row["query_path_ms"]["n"] == 30
    assert 0 < row["query_path_ms"]["p50"] <= row["query_path_ms"]["p95"] <= row["query_path_ms"]["p99"]
    assert row["build_seconds"] > 0 and row["disk_mb"] > 0
    assert row["recall_at_5_dense"] > 0.8
    assert row["recall_at_5_hybrid"] > 0.8
    rss = row["rss_mb"]
    assert rss["after_queries"] >= rss["index_open"] > rss["encoder_app_kiwi_loaded"] > rss["process_start"] > 0
    assert "Gaussian-mixture" in result["config"]["seeds"]
