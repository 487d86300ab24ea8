"""Finding 2 of the security review (issue 22): evaluation runs and their reports stay in the
agency whose reading rights they were asked with.

A run holds questions, answers and the passages it retrieved and cited. Here a real index holds
a restricted document of 누리행정청 (agency A), one of 한빛데이터원 (agency B) and a public one;
runs are made with the real runner, stored in a real history store and shown through the real
평가 tab (handlers with real ``gr.Request`` objects, and once through the mounted chat app driven
with ``gradio_client``), signed in with real API keys. ``nuri eval run`` is run as a user runs it,
in a subprocess.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pytest
from conftest import issue_key, make_settings
from fastapi import FastAPI
from starlette.requests import Request

from assistant.callers import cli_subject, operator_caller
from assistant.service import NuriService
from configs.settings import Settings
from evals.history import History, RunViewer
from evals.results import RunPrincipal, RunResult
from evals.runner import run_suite
from evals.suites import Suite, load_suite
from evals.targets import InProcessTarget
from guardrails.keys import key_id_of
from retrieval.index import NuriIndex
from retrieval.sync import Syncer
from ui.chat import key_roles, mount_chat, signed_in_caller
from ui.evals_tab import EVALUATOR_ONLY, EvalsView

# the chat app's test helpers (serve with uvicorn, sign in with gradio_client) live beside the UI tests
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ui"))
from test_chat_ui import chat_client, serve

A, B = "누리행정청", "한빛데이터원"
A_TITLE = "누리행정청 내부 감사 계획 청솔"
B_TITLE = "한빛데이터원 침해 사고 보고 은하수"
PUBLIC_TITLE = "청사 주차 안내"
A_SECRET = "청솔 감사단은 3월 4일 예산과 금고를 불시 점검한다"
B_SECRET = "은하수 서버에서 민원인 1,204명의 기록이 유출되었다"

DOCS = {
    "a_audit_plan.md": (
        f"# {A_TITLE}\n\n## 1. 감사 대상\n\n{A_SECRET}. 감사 결과는 기관장에게만 보고한다.\n",
        f"title: {A_TITLE}\nagency: {A}\naccess: restricted\nallowed_agencies: [{A}]\n",
    ),
    "b_breach_report.md": (
        f"# {B_TITLE}\n\n## 1. 사고 개요\n\n{B_SECRET}. 유출 경위는 조사 중이다.\n",
        f"title: {B_TITLE}\nagency: {B}\naccess: restricted\nallowed_agencies: [{B}]\n",
    ),
    "public_parking.md": (
        f"# {PUBLIC_TITLE}\n\n## 1. 주차 요금\n\n청사 방문 차량은 2시간까지 무료로 주차할 수 있다.\n",
        f"title: {PUBLIC_TITLE}\nagency: {A}\naccess: public\n",
    ),
}
QUESTIONS = [
    {"id": "q-a", "question": "청솔 감사단은 언제 무엇을 점검하나요?", "category": "fact",
     "reference_passages": [{"doc": "a_audit_plan.md", "anchor": "1. 감사 대상"}]},
    {"id": "q-b", "question": "은하수 서버에서 유출된 민원인 기록은 몇 명분인가요?", "category": "number",
     "reference_passages": [{"doc": "b_breach_report.md", "anchor": "1. 사고 개요"}]},
    {"id": "q-p", "question": "청사 방문 차량은 몇 시간까지 무료 주차인가요?", "category": "fact",
     "reference_passages": [{"doc": "public_parking.md", "anchor": "1. 주차 요금"}]},
]  # fmt: skip


@dataclass
class World:
    root: Path
    settings: Settings
    service: NuriService
    suite: Suite
    suite_file: Path
    history: History
    keys: dict[str, str]


def write_corpus(root: Path) -> Path:
    """The corpus (with metadata sidecars), its dataset and a suite file naming both; returns the suite file."""
    corpus = root / "corpus"
    corpus.mkdir()
    for name, (text, meta) in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
        (corpus / f"{name}.meta.yaml").write_text(meta, encoding="utf-8")
    dataset = root / "agencies.jsonl"
    rows = [q | {"language": "ko", "expected": "answer", "reference_answer": "참조"} for q in QUESTIONS]
    dataset.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    suite_file = root / "agencies.yaml"
    suite_file.write_text(
        f'description: 기관별 제한 문서\ncorpus: ["{corpus}"]\ndatasets:\n  - path: "{dataset}"\n', encoding="utf-8"
    )
    return suite_file


@pytest.fixture(scope="module")
def world(tmp_path_factory, embedder) -> Iterator[World]:
    root = tmp_path_factory.mktemp("eval-agencies")
    suite_file = write_corpus(root)
    settings = make_settings(root).override(eval={"history_url": f"sqlite:///{root}/history.db"}, ui={"examples": []})
    suite = load_suite(str(suite_file), settings)
    index = NuriIndex.open(settings.retrieval, settings.resolve(settings.index_dir), create=True, embedder=embedder)
    report = Syncer(index, settings.connectors, progress=False).sync(suite.corpus)
    assert report.added == len(DOCS) and not report.failed
    service = NuriService(settings, index=index, start_model=False).open()
    history = History.from_settings(settings)
    keys = {
        "a": issue_key(service, agency=A, clearance="restricted", roles=("evaluator",)),
        "a_internal": issue_key(service, agency=A, clearance="internal", roles=("evaluator",)),
        "b": issue_key(service, agency=B, clearance="restricted", roles=("evaluator",)),
        "admin": issue_key(service, agency=B, clearance="public", roles=("admin",)),
        "user_a": issue_key(service, agency=A, clearance="restricted", roles=("user",)),
    }
    try:
        yield World(root, settings, service, suite, suite_file, history, keys)
    finally:
        history.close()
        service.close()
        index.close()


def gr_request(key: str | None) -> gr.Request:
    """A real gr.Request of a chat session signed in with ``key`` (its user name is the key id)."""
    scope = {"type": "http", "method": "POST", "path": "/ui/gradio_api/queue/join", "headers": [], "query_string": b""}
    return gr.Request(request=Request(scope), username=key_id_of(key) if key else None)


def view_of(w: World) -> EvalsView:
    """The tab's handlers as the chat wires them: roles and principal of the signed-in key."""
    return EvalsView(
        w.settings, history=w.history, roles_of=key_roles(w.service), caller_of=lambda r: signed_in_caller(w.service, r)
    )


def downloaded(link: str) -> str:
    """The report a download link of the tab carries ("" for no link)."""
    m = re.search(r"base64,([A-Za-z0-9+/=]+)", link)
    return base64.b64decode(m[1]).decode("utf-8") if m else ""


def hit_titles(result: RunResult) -> set[str]:
    return {h.title for item in result.items for h in item.hits}


@pytest.fixture(scope="module")
def runs(world: World) -> dict[str, RunResult]:
    """One run started from the tab by the agency-A evaluator and one by the agency-B evaluator
    (retrieval only: no model), both recorded in the history store."""
    view = view_of(world)
    out = {}
    for who in ("a", "b"):
        caller = view.caller(gr_request(world.keys[who]))
        assert caller is not None
        result = run_suite(world.suite, InProcessTarget(world.service, caller), world.settings, progress=False,
                           answers=False)  # fmt: skip
        world.history.add(result)
        out[who] = result
    return out


# -- what a run reads ---------------------------------------------------------------------------
def test_a_run_started_by_an_agency_a_evaluator_retrieves_nothing_of_b_restricted_documents(world, runs):
    # the index does hold B's restricted document: the operator finds it
    everything = world.service.search("은하수 서버 유출 기록", top_k=10, caller=operator_caller())
    assert B_TITLE in {h.title for h in everything}

    a, b = runs["a"], runs["b"]
    assert hit_titles(a) == {A_TITLE, PUBLIC_TITLE}  # its own restricted document and the public one
    assert hit_titles(b) == {B_TITLE, PUBLIC_TITLE}
    assert B_SECRET not in a.model_dump_json() and B_TITLE not in a.model_dump_json()
    assert a.metrics["recall@5"] == pytest.approx(2 / 3)  # the question about B's document finds nothing
    # the run asked as the evaluator's key, never as the operator, and says so
    assert a.ran_by == f"key:{key_id_of(world.keys['a'])}"
    assert a.principal == RunPrincipal(agency=A, clearance="restricted", operator=False, via="in-process")
    assert world.history.get(a.run_id).principal == a.principal  # and the record keeps it


def test_a_signed_in_user_without_the_role_cannot_start_a_run(world):
    view = view_of(world)
    assert view.caller(gr_request(world.keys["user_a"])) is None
    assert view.caller(gr_request(None)) is None


# -- who sees a run -----------------------------------------------------------------------------
def test_an_agency_b_evaluator_cannot_list_open_compare_or_download_a_run_of_agency_a(world, runs):
    view, a, b = view_of(world), runs["a"], runs["b"]
    as_b = gr_request(world.keys["b"])

    notice, panel, table, run, run_a, run_b = view.runs(as_b)
    assert notice == "" and [row[0] for row in table] == [b.run_id]
    listed = str((table, run, run_a, run_b))
    assert a.run_id not in listed and A_TITLE not in listed

    # knowing A's run id (or a prefix of it, or `latest`) opens nothing of it
    for ref in (a.run_id, a.run_id[:-3], "latest", f"latest:{a.suite}"):
        notice, frame, download = view.report(ref, as_b)
        shown = frame + download + downloaded(download)  # (the notice may repeat what B typed)
        assert a.run_id not in shown and A_SECRET not in shown and A_TITLE not in shown, ref
        assert A_SECRET not in notice and A_TITLE not in notice
    notice, frame, download = view.report(a.run_id, as_b)
    assert "찾을 수 없습니다" in notice and frame == "" and download == ""
    notice, table_md = view.compare(b.run_id, a.run_id, as_b)
    assert "찾을 수 없습니다" in notice and table_md == ""

    # A's evaluator opens and downloads it: the download is the report itself, in the answer
    notice, frame, download = view.report(a.run_id, gr_request(world.keys["a"]))
    assert notice == "" and a.run_id in frame
    assert a.run_id in downloaded(download) and "/file=" not in download

    # an evaluator of A without the restricted clearance does not see A's restricted run either
    notice, _, table, *_ = view.runs(gr_request(world.keys["a_internal"]))
    assert a.run_id not in str(table)
    assert "찾을 수 없습니다" in view.report(a.run_id, gr_request(world.keys["a_internal"]))[0]
    # admins see every run
    assert {row[0] for row in view.runs(gr_request(world.keys["admin"]))[2]} >= {a.run_id, b.run_id}


def test_runs_of_the_operator_and_runs_recorded_before_principals_are_for_admins_only(world, runs, tmp_path):
    view = view_of(world)
    # a run asked as the operator sees everything: no evaluator of any agency gets it
    operator_run = run_suite(world.suite, InProcessTarget(world.service, operator_caller()), world.settings,
                             progress=False, answers=False)  # fmt: skip
    assert hit_titles(operator_run) == {A_TITLE, B_TITLE, PUBLIC_TITLE}
    world.history.add(operator_run)
    for who in ("a", "b"):
        assert operator_run.run_id not in str(view.runs(gr_request(world.keys[who]))[2])
        assert view.report(operator_run.run_id, gr_request(world.keys[who]))[1] == ""
    assert view.report(operator_run.run_id, gr_request(world.keys["admin"]))[0] == ""

    # a store written before runs recorded their principal: its runs still load, as operator
    # runs of unknown agency (admins only)
    old_db = tmp_path / "old-history.db"
    legacy = json.loads(runs["a"].model_dump_json())
    del legacy["ran_by"], legacy["principal"]
    legacy["run_id"] = "20261101-090000-agencies-old001"
    with sqlite3.connect(old_db) as conn:
        conn.execute(
            "CREATE TABLE eval_runs (run_id VARCHAR(128) PRIMARY KEY, suite VARCHAR(128) NOT NULL, "
            'started_at VARCHAR(40) NOT NULL, model VARCHAR(256) NOT NULL, "commit" VARCHAR(64) NOT NULL, '
            "n_items INTEGER NOT NULL, wall_s FLOAT NOT NULL, metrics TEXT NOT NULL, result TEXT NOT NULL)"
        )
        conn.execute(
            "INSERT INTO eval_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (legacy["run_id"], "agencies", "2026-11-01T09:00:00+00:00", "(검색만)", "c83d1aa", 3, 1.0,
             json.dumps(legacy["metrics"]), json.dumps(legacy, ensure_ascii=False)),
        )  # fmt: skip
    with History(f"sqlite:///{old_db}") as old:
        loaded = old.get(legacy["run_id"])  # the CLI on the server reads it
        assert loaded.principal.operator and loaded.principal.agency is None and loaded.ran_by == "unknown"
        assert old.list_runs()[0].principal.operator
        assert old.list_runs(viewer=RunViewer(agency=A, clearance="restricted")) == []
        assert [r.run_id for r in old.list_runs(viewer=RunViewer(agency=None, admin=True))] == [legacy["run_id"]]
        old_view = EvalsView(world.settings, history=old, roles_of=key_roles(world.service),
                             caller_of=lambda r: signed_in_caller(world.service, r))  # fmt: skip
        assert old_view.runs(gr_request(world.keys["a"]))[2] == []
        assert "찾을 수 없습니다" in old_view.report(legacy["run_id"], gr_request(world.keys["a"]))[0]
        assert old_view.report(legacy["run_id"], gr_request(world.keys["admin"]))[0] == ""


def test_through_the_mounted_app_b_gets_nothing_of_a_and_no_report_file_is_served(world, runs):
    a = runs["a"]
    app = FastAPI()
    mount_chat(app, world.service, world.settings)
    gradio_cache = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")
    with serve(app, world.settings) as base:
        url = base + world.settings.ui.path
        with chat_client(url, world.keys["b"]) as c:
            outputs = c.predict(api_name="/eval_runs")
            assert outputs[0] == "" and a.run_id not in str(outputs)
            notice, frame, download = c.predict(a.run_id, api_name="/eval_report")
            assert "찾을 수 없습니다" in notice and frame == "" and download == ""
        with chat_client(url, world.keys["user_a"]) as c:  # same agency, no evaluator role
            notice, frame, download = c.predict(a.run_id, api_name="/eval_report")
            assert EVALUATOR_ONLY in notice and frame == "" and download == ""
        with chat_client(url, world.keys["a"]) as c:
            notice, frame, download = c.predict(a.run_id, api_name="/eval_report")
            assert notice == "" and a.run_id in frame
            # the download is a data: link in the answer, not a file on Gradio's file route
            assert isinstance(download, str) and download.startswith('<a class="nuri-eval-download"')
            assert "data:text/html;charset=utf-8;base64," in download and "/file=" not in download
    cached = [p for p in gradio_cache.rglob("*.html") if a.run_id in p.read_text(encoding="utf-8", errors="ignore")]
    assert cached == []  # no copy of the report in Gradio's cache either


# -- nuri eval run ------------------------------------------------------------------------------
def nuri_eval_run(world: World, *flags: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "NURI_DATA_DIR": str(world.root / "cli-data"),
        "NURI_EVAL__HISTORY_URL": f"sqlite:///{world.root}/cli-history.db",
        "HF_HUB_OFFLINE": "1",
    }
    index = world.root / "cli-index"  # its own index: the module's is held open by the service
    args = ["eval", "run", str(world.suite_file), "--index", str(index), "--retrieval-only", "--out", str(out),
            "--quiet", *flags]  # fmt: skip
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)  # fmt: skip


def test_nuri_eval_run_without_as_operator_does_not_see_restricted_documents(world, tmp_path):
    default = nuri_eval_run(world, out=tmp_path / "default")
    assert default.returncode == 0, default.stdout + default.stderr
    result = RunResult.model_validate_json((tmp_path / "default" / "results.json").read_text(encoding="utf-8"))
    assert hit_titles(result) == {PUBLIC_TITLE}  # the public principal: public documents only
    assert result.principal == RunPrincipal(agency=None, clearance="public", operator=False, via="in-process")
    assert result.ran_by == cli_subject()
    assert "열람 권한: 기관 없음 / public" in default.stdout

    scoped = nuri_eval_run(world, "--as-agency", A, "--as-clearance", "restricted", out=tmp_path / "a")
    assert scoped.returncode == 0, scoped.stdout + scoped.stderr
    result = RunResult.model_validate_json((tmp_path / "a" / "results.json").read_text(encoding="utf-8"))
    assert hit_titles(result) == {A_TITLE, PUBLIC_TITLE}
    assert result.principal == RunPrincipal(agency=A, clearance="restricted", operator=False, via="in-process")

    everything = nuri_eval_run(world, "--as-operator", out=tmp_path / "op")
    assert everything.returncode == 0, everything.stdout + everything.stderr
    result = RunResult.model_validate_json((tmp_path / "op" / "results.json").read_text(encoding="utf-8"))
    assert hit_titles(result) == {A_TITLE, B_TITLE, PUBLIC_TITLE}  # only when asked for
    assert result.principal.operator and result.ran_by == cli_subject()

    # the history store records who ran each run and with which principal
    with History(f"sqlite:///{world.root}/cli-history.db") as h:
        recorded = {r.principal.label(): r.ran_by for r in h.list_runs()}
    assert recorded == {"기관 없음 / public": cli_subject(), f"{A} / restricted": cli_subject(),
                        "operator (전체 열람)": cli_subject()}  # fmt: skip


def test_nuri_eval_run_refuses_principals_it_cannot_honour(world, tmp_path):
    for flags, says in (
        (["--as-operator", "--as-agency", A, "--as-clearance", "internal"], "--as-operator"),
        (["--as-agency", A], "--as-clearance"),
        (["--as-clearance", "restricted"], "--as-agency"),
        (["--url", "http://127.0.0.1:9", "--as-operator"], "--url"),
    ):
        proc = nuri_eval_run(world, *flags, out=tmp_path / "x")
        assert proc.returncode == 2, (flags, proc.stdout, proc.stderr)
        assert says in proc.stderr and not (tmp_path / "x").exists()
