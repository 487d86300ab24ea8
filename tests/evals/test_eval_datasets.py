"""Eval datasets: both line schemas are read, bad lines are reported with their line numbers,
and every bundled suite loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from configs.settings import load_settings
from evals.schema import DatasetError, load_items, validate_lines
from evals.suites import bundled_suites, load_suite

NURI = [sys.executable, "-m", "assistant.cli"]


def test_statute_qa_schema_is_accepted_as_is(shared_data):
    items = load_items(shared_data / "qa" / "dev_colloquial.jsonl")
    answerable = [i for i in items if i.expected == "answer"]
    refuse = [i for i in items if i.expected == "refuse"]
    assert len(items) == 90 and len(refuse) == 10  # articles: [] = must refuse
    first = answerable[0]
    assert first.reference_passages[0].law == "개인정보 보호법"
    assert first.relevant == ["개인정보 보호법 제39조의2"]
    assert first.reference_answer and first.category == "number"
    assert all(not i.reference_passages for i in refuse)


def test_eval_schema_items_with_document_references():
    line = {
        "id": "x-1",
        "question": "재택근무는 주 며칠까지 되나요?",
        "category": "number",
        "reference_answer": "주 2일까지",
        "reference_passages": [{"doc": "remote_work_guideline.md", "anchor": "3."}],
    }
    items, errors = validate_lines([json.dumps(line, ensure_ascii=False)])
    assert not errors
    assert items[0].relevant == ["remote_work_guideline.md#3."]


def test_bad_lines_are_reported_with_line_numbers(tmp_path: Path):
    good = {"id": "a", "question": "q", "reference_answer": "r"}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"id": "b", "question": "", "reference_answer": "r"}),
        "",
        json.dumps({"id": "c", "question": "q", "expected": "mask"}),
        json.dumps(good),
        json.dumps({"id": "d", "question": "q", "law": "국가공무원법", "articles": "제1조"}),
        json.dumps(
            {"id": "e", "question": "q", "expected": "answer", "reference_passages": [{"doc": "x", "law": "y"}]}
        ),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as exc:
        load_items(path)
    assert [e.line for e in exc.value.errors] == [2, 3, 5, 6, 7, 8]

    proc = subprocess.run([*NURI, "eval", "validate", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    out = proc.stdout
    assert f"{path}:2: JSON이 아닙니다" in out
    assert f"{path}:3: question" in out
    assert f"{path}:5:" in out and "forbidden" in out
    assert f"{path}:6: id 'a'가 1행과 겹칩니다" in out
    assert f"{path}:7:" in out and "articles" in out
    assert "Traceback" not in proc.stderr


def test_validate_accepts_the_shared_sets(shared_data):
    files = [str(shared_data / "qa" / "dev.jsonl"), str(shared_data / "qa" / "dev_colloquial.jsonl")]
    proc = subprocess.run([*NURI, "eval", "validate", *files], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "정상 — 40문항 (answer 40)" in proc.stdout
    assert "정상 — 90문항 (answer 80, refuse 10)" in proc.stdout


def test_every_bundled_suite_loads(shared_data):
    settings = load_settings()
    names = bundled_suites()
    assert {"sample", "safety", "statute", "statute-colloquial"} <= set(names)
    for name in names:
        suite = load_suite(name, settings)
        assert suite.items and suite.corpus, name
        assert all(c.exists() for c in suite.corpus)
    safety = load_suite("safety", settings)
    kinds = {i.expected for i in safety.items}
    assert kinds == {"answer", "refuse", "block", "mask"}
    assert any(i.category.startswith("injection-") for i in safety.items)  # the shared public prompts
