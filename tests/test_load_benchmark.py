"""The load benchmark (``benchmarks/load.py``) runs end to end in its quick mode: the sample
corpus indexed, the bundled model server and ``nuri serve`` (auth, guardrails and audit on)
started, search and streamed answers sent by concurrent clients; its JSON has every figure and
no request failed. Keeps the benchmark from rotting."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.load import markdown

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_load_benchmark_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.load", "--quick", "--json-out", str(out)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the benchmark then stops its servers
        stdout, stderr = proc.communicate(timeout=60)
        pytest.fail(f"the quick load benchmark took over 300 s\n{stderr[-3000:]}")
    assert proc.returncode == 0, f"exit {proc.returncode}\n{stdout[-2000:]}\n{stderr[-3000:]}"

    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["benchmark"] == "load"
    assert result["machine"]["cpu_count"] >= 1 and result["date"]
    assert result["rate_limit"]["requests_per_minute"] > 120
    assert result["key"]["roles"] == ["user"]
    assert result["configs"] == {"answer.generation=extractive": ["search", "ask"]}
    runs = result["runs"]
    assert [(r["scenario"], r["clients"]) for r in runs] == [("search", 2), ("search", 4), ("ask", 2), ("ask", 4)]
    for r in runs:
        assert r["errors"] == 0, r["errors_by_status"]
        assert r["shed"] == 0  # 4 clients never fill the default gates (api.admission)
        assert r["ok"] > 0 and r["throughput_rps"] > 0
        assert all(r["latency"][f"p{q}_ms"] > 0 for q in (50, 95, 99))
        assert r["healthz_during"]["ok"] > 0 and r["healthz_during"]["errors"] == 0
        assert {"cpu_nuri", "cpu_model", "cpu_loadgen", "drain_s", "unfinished"} <= r.keys()
        if r["scenario"] == "ask":
            assert r["ttft"]["p50_ms"] > 0 and r["ttft"]["p95_ms"] >= r["ttft"]["p50_ms"]
            assert r["answer_chars_p50"] > 0 and r["refused"] < r["ok"]
    assert result["probe"] is None

    # The printed report is the Markdown table of the same figures.
    assert stdout.strip() == markdown(result).strip()
    assert "| search `/v1/search` | 4 |" in stdout and "| ask stream, extractive | 2 |" in stdout
