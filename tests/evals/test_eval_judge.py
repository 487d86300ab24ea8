"""The LLM judge, through the OpenAI-compatible client, with the bundled instruction model
(Qwen2.5-Coder 1.5B on llama.cpp) as judge: clear-cut verdicts, and ``judge_correctness`` in a
run when ``eval.judge`` is configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import QWEN

from evals.judge import Judge
from evals.results import RunResult
from evals.settings import JudgeSettings

pytestmark = pytest.mark.slow


QUESTION = "재택근무는 일주일에 며칠까지 할 수 있나요?"
REFERENCE = "주 2일까지 할 수 있습니다."


@pytest.fixture(scope="module")
def judge(qwen_server) -> Judge:
    return Judge(JudgeSettings(base_url=qwen_server.base_url, model=QWEN))


def test_judge_accepts_a_right_answer_and_rejects_a_wrong_number(judge):
    right = judge.verdict(QUESTION, REFERENCE, "재택근무는 주 2일까지 가능합니다 [1].")
    wrong = judge.verdict(QUESTION, REFERENCE, "재택근무는 주 5일까지 가능합니다 [1].")
    assert right.correct, right.text
    assert not wrong.correct, wrong.text
    assert right.text and wrong.text


def test_a_run_with_a_judge_reports_judge_correctness(qwen_server, llamacpp_server, tmp_path):
    env = os.environ | {
        "NURI_LLM__BASE_URLS": json.dumps([llamacpp_server.base_url]),
        "NURI_EVAL__JUDGE__BASE_URL": qwen_server.base_url,
        "NURI_EVAL__JUDGE__MODEL": QWEN,
        "NURI_EVAL__HISTORY_URL": f"sqlite:///{tmp_path}/history.db",
        "HF_HUB_OFFLINE": "1",
    }
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "eval", "run", "sample", "--limit", "3", "--index",
         str(tmp_path / "idx"), "--as-operator", "--out", str(out), "--quiet"],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = RunResult.model_validate_json((out / "results.json").read_text(encoding="utf-8"))
    judged = [i for i in result.items if "judge_correctness" in i.scores]
    assert judged and result.metrics["judge_correctness"] is not None
    assert 0.0 <= result.metrics["judge_correctness"] <= 1.0
    assert all(i.judge for i in judged if not i.refused)
