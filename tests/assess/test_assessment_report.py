"""``nuri assess report``: the impact-assessment evidence report gathered from the real stores of a
server's configuration (API keys, assistants and their change log, the sync log, the audit trail,
the eval history, the index), written as a self-contained Korean HTML page and as JSON.

One module-wide state (keys, an assistant created and changed, audit records of three days with
guardrail decisions, two eval runs of the platform and one of the assistant, a small index of
three documents) is read by the report; the secrets of its configuration are known strings that
must appear in neither file."""

from __future__ import annotations

import json
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, write_md

from assistant.assistants import (
    Assistant,
    AssistantModel,
    AssistantScope,
    AssistantSpec,
    AssistantStore,
    AssistantUsers,
)
from configs.settings import Settings, load_settings
from evals.assessment.facts import gather
from evals.assessment.html import write_report
from evals.assessment.masking import masked_settings
from evals.assessment.model import SECTIONS, Period
from evals.history import History
from evals.results import DatasetInfo, ItemResult, RunResult
from guardrails.audit import AuditEntry, AuditStore
from guardrails.decisions import GuardrailDecision
from guardrails.keys import KeyStore
from guardrails.store import database_url

PEPPER = "pepper-7f3a9c1e5b2d4f6a8c0e2b4d6f8a0c2e"
CHAIN_KEY = "chainkey-1d3f5b7a9c2e4f6b8d0a1c3e5f7b9d2a"
LLM_KEY = "llm-apikey-5e8b2c4a7d9f1e3b"
URL_PASSWORD = "Urlpw-9c7e5a3b"
PG_PASSWORD = "Pgpw-4b6d8f0a2c"
SECRETS = (PEPPER, CHAIN_KEY, LLM_KEY, URL_PASSWORD, PG_PASSWORD)
BROWSER_SHOT = REPO_ROOT / "build" / "assessment-screenshot.png"


@dataclass
class State:
    root: Path
    env: dict[str, str]
    settings: Settings
    now: datetime


def load_with(env: dict[str, str]) -> Settings:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        return load_settings()


def answer(i: int, when: str, *, assistant: str | None = None, model: str = "gemma3-270m", pv: str = "p1",
           decisions: list[GuardrailDecision] | None = None, refused: bool = False, who: str = "key:k1",
           endpoint: str = "/v1/ask") -> AuditEntry:  # fmt: skip
    search = endpoint.endswith("search")
    return AuditEntry(
        request_id=f"req-{i}-{when}", principal_id=who, agency="누리행정청", endpoint=endpoint,
        question="출장 여비 정산 기한은?", model=None if search else model, prompt_version=None if search else pv,
        answer=None if search or refused else "5일 이내에 정산합니다 [1]",
        citations=[] if search or refused else [{"n": 1, "doc_id": "d1", "anchor": "정산 기한"}],
        decisions=decisions or [], refused=refused, assistant=assistant,
    )  # fmt: skip


def block(check: str) -> GuardrailDecision:
    return GuardrailDecision(name=check, action="block", stage="input", reason="차단")


def run(run_id: str, started: datetime, scores: list[float], assistant: str | None = None) -> RunResult:
    items = [
        ItemResult(id=f"q{i}", question=f"질문 {i}", category="fact", language="ko", expected="answer",
                   answer="답", scores={"answer_f1": s}, latency_ms=100.0 + 10 * i)
        for i, s in enumerate(scores)
    ]  # fmt: skip
    return RunResult(
        run_id=run_id, suite="sample", started_at=started.isoformat(), wall_s=3.0, target="in-process",
        commit="c0ffee", model="gemma3-270m", embedder="e5", prompt_version="p1", guardrails="default",
        dataset=DatasetInfo(suite="sample", files=["sample.jsonl"], sha256="0" * 64, items=len(items)),
        metrics={"answer_f1": sum(scores) / len(scores), "latency_p50_ms": 115.0, "judge_correctness": None},
        notes={"judge_correctness": "판정 모델 없음"}, items=items, assistant=assistant,
    )  # fmt: skip


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> State:
    from assistant.sync_log import record_cli_sync
    from retrieval.index import NuriIndex
    from retrieval.sync import Syncer

    root = tmp_path_factory.mktemp("assess")
    env = {
        "NURI_HOME": str(root), "NURI_DATA_DIR": str(root / "data"), "NURI_INDEX_DIR": str(root / "index"),
        "NURI_EVAL__HISTORY_URL": f"sqlite:///{root}/data/eval/history.db", "NURI_EVAL__BOOTSTRAP_SAMPLES": "500",
        "NURI_KEYS__PEPPER": PEPPER, "NURI_AUDIT__CHAIN_KEY": CHAIN_KEY, "NURI_LLM__API_KEY": LLM_KEY,
        "NURI_LLM__BASE_URLS": json.dumps([f"http://vllm:{URL_PASSWORD}@llm.internal.example:8001/v1"]),
    }  # fmt: skip
    settings = load_with(env)
    data_dir = settings.resolve(settings.data_dir)

    corpus = root / "corpus"
    write_md(corpus, "a.md", "출장 여비 안내", {"정산 기한": "출장을 마친 날부터 5일 이내에 여비를 정산한다."},
             meta="agency: 누리행정청\naccess: public\ndoc_type: guide\n")  # fmt: skip
    write_md(corpus, "b.md", "보안 점검 공지", {"점검 일정": "매월 첫째 주 수요일에 보안 점검을 실시한다."},
             meta="agency: 한빛데이터원\naccess: internal\ndoc_type: notice\n")  # fmt: skip
    write_md(corpus, "c.md", "보안 감사 결과", {"점검 결과": "보안 점검 결과 취약점 3건을 발견하였다."},
             meta="agency: 한빛데이터원\naccess: restricted\ndoc_type: report\n")  # fmt: skip
    with NuriIndex.open(settings.retrieval, settings.resolve(settings.index_dir), create=True, embedder=embedder) as ix:
        report = Syncer(ix, settings.connectors, progress=False).sync([corpus])
    record_cli_sync(settings, [corpus], report)

    with KeyStore.from_settings(settings.keys, data_dir, settings.home) as keys:
        keys.create("누리행정청", "internal", {"user"})
        keys.create("누리행정청", "public", {"user", "evaluator"})
        keys.create("한빛데이터원", "restricted", {"admin"})
        keys.revoke(keys.create("한빛데이터원", "public", {"user"})[0].key_id)

    spec = AssistantSpec(
        id="a1", name="민원 도우미", agency="누리행정청", description="<script>alert(1)</script> 민원 안내",
        users=AssistantUsers(min_clearance="internal"), scope=AssistantScope(agencies=["누리행정청"]),
        prompt="공손하게 답하세요.", model=AssistantModel(base_urls=[f"http://a1:{URL_PASSWORD}@a1-llm.example/v1"]),
    )  # fmt: skip
    with AssistantStore.from_settings(settings.keys, data_dir, settings.home) as assistants:
        assistants.create(spec, "cli:test")
        assistants.replace(spec.model_copy(update={"name": "민원 안내 도우미"}), "cli:test")

    now = datetime.now(UTC)
    clock = [now]
    url = database_url(settings.audit.url, data_dir, settings.home)
    with AuditStore(url, chain_key=CHAIN_KEY, clock=lambda: clock[0]) as audit:

        def at(days_ago: float, *entries: AuditEntry) -> None:
            clock[0] = now - timedelta(days=days_ago)
            for e in entries:
                audit.append(e)

        at(120, answer(0, "old", decisions=[block("injection")], refused=True))  # outside the default period
        at(3, answer(1, "d3"), answer(2, "d3", who="gateway:kim"),
           answer(3, "d3", decisions=[block("injection")], refused=True))  # fmt: skip
        at(2, answer(4, "d2", assistant="a1", decisions=[block("policy")], refused=True, who="key:k2"),
           answer(5, "d2", assistant="a1", model="qwen2.5-coder-1.5b", pv="p2"),
           answer(6, "d2", assistant="a1", model="qwen2.5-coder-1.5b", pv="p2",
                  decisions=[GuardrailDecision(name="context", action="drop", stage="context", reason="지시문")]),
           answer(7, "d2", assistant="a1", endpoint="/v1/search"))  # fmt: skip
        at(1, answer(8, "d1", assistant="a1", decisions=[block("injection")], refused=True),
           answer(9, "d1", decisions=[GuardrailDecision(name="pii", action="mask", stage="input", reason="가림")]))  # fmt: skip

    with History.from_settings(settings) as history:
        history.add(run("run-old", now - timedelta(days=10), [0.1, 0.2, 0.3, 0.4]))
        history.add(run("run-new", now - timedelta(days=2), [0.2, 0.4, 0.6, 0.8]))
        history.add(run("run-a1", now - timedelta(days=1), [0.5, 0.5, 0.7, 0.7], assistant="a1"))
    return State(root=root, env=env, settings=settings, now=now)


@pytest.fixture()
def nuri(state: State, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``nuri …`` in this process on the state's configuration (only the ``assess`` command)."""
    import assistant.cli
    from evals.assessment.cli import register

    for name, value in state.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(assistant.cli, "_plugins", register)

    def call(*args: str) -> tuple[int, str, str]:
        code = assistant.cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return call


def assistant_a1(settings: Settings) -> Assistant:
    with AssistantStore.from_settings(settings.keys, settings.resolve(settings.data_dir), settings.home) as store:
        found = store.get("a1")
    assert found is not None
    return found


def report_json(out: Path) -> dict[str, Any]:
    return json.loads((out / "assessment.json").read_text(encoding="utf-8"))


def decisions(report: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(d["check"], d["action"]): d["count"] for d in report["safeguards"]["decisions"]}


def test_the_report_holds_every_section_with_what_the_stores_hold(nuri, state: State, tmp_path: Path):
    code, out, err = nuri("assess", "report", "--out", str(tmp_path))
    assert code == 0, err
    assert "assessment.html" in out and "기간 중 평가 실행이 없습니다" not in err
    r = report_json(tmp_path)
    assert r["schema_version"] == "1"
    assert set(SECTIONS) <= set(r) and {"missing", "period", "assistant"} <= set(r)

    # the 120-day-old injection block is outside the period
    assert decisions(r) == {("injection", "block"): 2, ("policy", "block"): 1, ("context", "drop"): 1,
                            ("pii", "mask"): 1}  # fmt: skip
    usage = r["safeguards"]["usage"]
    assert (usage["questions"], usage["refusals"], usage["searches"]) == (8, 3, 1)
    assert r["safeguards"]["usage_by_assistant"]["a1"]["questions"] == 4
    incidents = r["incidents"]
    assert incidents["blocked_attacks"] == 3 and incidents["context_flags"] == 1
    assert [(d["injection_blocks"], d["policy_blocks"]) for d in incidents["by_day"]] == [(1, 0), (0, 1), (1, 0)]

    keys = r["accountability"]["keys"]
    assert keys["by_agency"] == {"누리행정청": 2, "한빛데이터원": 1} and (keys["active"], keys["revoked"]) == (3, 1)
    assert keys["by_role"] == {"admin": 1, "evaluator": 1, "user": 2}
    assert r["accountability"]["principals_seen"] == {"gateway": 1, "key": 2}
    assert r["accountability"]["verify"]["ok"] is True and r["accountability"]["verify"]["keyed"] is True
    changes = r["accountability"]["changes"]
    assert [(c["assistant_id"], c["action"], c["subject"]) for c in changes] == [
        ("a1", "create", "cli:test"), ("a1", "update", "cli:test")]  # fmt: skip
    assert changes[1]["definition"]["name"] == "민원 안내 도우미"
    uses = {(u["model"], u["prompt_version"]): u["answers"] for u in r["accountability"]["model_prompt_uses"]}
    assert uses == {("gemma3-270m", "p1"): 6, ("qwen2.5-coder-1.5b", "p2"): 2}
    assert r["system"]["prompt_versions_seen"] == ["p1", "p2"]

    index = r["data"]["index"]
    assert index["available"] and index["documents"] == 3
    assert index["by_access"] == {"internal": 1, "public": 1, "restricted": 1}
    assert index["by_agency"] == {"누리행정청": 1, "한빛데이터원": 2}
    assert r["system"]["embedder"]["dim"] == 384
    [source] = r["data"]["sources"]
    assert source["added"] == 3 and source["last_run_ok"] is True

    suites = {(s["suite"], s["assistant"]): s for s in r["accuracy"]["suites"]}
    assert set(suites) == {("sample", None), ("sample", "a1")} and r["accuracy"]["runs_in_period"] == 3
    platform = suites[("sample", None)]
    f1 = next(m for m in platform["metrics"] if m["metric"] == "answer_f1")
    assert f1["value"] == pytest.approx(0.5) and f1["n"] == 4
    assert 0.2 <= f1["ci_low"] < 0.5 < f1["ci_high"] <= 0.8
    assert next(m for m in platform["metrics"] if m["metric"] == "judge_correctness")["note"] == "판정 모델 없음"
    assert platform["previous_run_id"] == "run-old" and platform["paired"] == 4
    change = next(c for c in platform["changes"] if c["metric"] == "answer_f1")
    assert change["delta"] == pytest.approx(0.25) and change["ci_low"] > 0 and change["verdict"] == "better"
    assert suites[("sample", "a1")]["previous_run_id"] is None
    assert [m["item"] for m in r["missing"] if m["section"] == "operator"] == [
        "운영자 기재 사항 파일이 없습니다"]  # fmt: skip

    code, _, _ = nuri("assess", "report", "--since", "2000-01-01", "--out", str(tmp_path / "all"))
    assert code == 0 and decisions(report_json(tmp_path / "all"))[("injection", "block")] == 3


def test_an_assistant_narrows_usage_decisions_runs_and_changes(nuri, state: State, tmp_path: Path):
    code, _, err = nuri("assess", "report", "--assistant", "a1", "--out", str(tmp_path))
    assert code == 0, err
    r = report_json(tmp_path)
    assert r["assistant"]["id"] == "a1" and r["overview"]["subject"].startswith("도우미 민원 안내 도우미")
    assert r["assistant"]["endpoints"] == ["http://a1-llm.example"]
    assert decisions(r) == {("injection", "block"): 1, ("policy", "block"): 1, ("context", "drop"): 1}
    usage = r["safeguards"]["usage"]
    assert (usage["questions"], usage["refusals"], usage["searches"]) == (4, 2, 1)
    assert r["accountability"]["principals_seen"] == {"key": 2}
    assert [(s["suite"], s["assistant"], s["run_id"]) for s in r["accuracy"]["suites"]] == [("sample", "a1", "run-a1")]
    assert [c["action"] for c in r["accountability"]["changes"]] == ["create", "update"]
    assert r["accountability"]["keys"]["may_use_assistant"] == 1  # 누리행정청 at internal: only the user key
    assert r["data"]["index"]["in_scope"] == 1 and r["data"]["index"]["in_scope_by_access"] == {"public": 1}
    roles = [g["role"] for g in r["system"]["generative"]]
    assert roles == ["플랫폼", "도우미 a1"]


def test_an_unknown_assistant_or_a_bad_period_is_a_usage_error(nuri, tmp_path: Path):
    for args in (["--assistant", "nope"], ["--since", "어제"], ["--since", "2026-12-02", "--until", "2026-12-01"]):
        code, _, err = nuri("assess", "report", *args, "--out", str(tmp_path))
        assert code == 2 and err.startswith("nuri: 사용법 오류"), err
    assert not (tmp_path / "assessment.json").exists()


def test_secrets_never_reach_the_html_or_the_json(state: State, postgres_server: Any, tmp_path: Path):
    """The pepper, the chain key, the model's API key, a password in an endpoint URL and one in a
    PostgreSQL URL (the eval history on the session's server, which ignores it: trust auth)."""
    pg = postgres_server.create_database().replace("nuri@", f"nuri:{PG_PASSWORD}@")
    settings = state.settings.override(eval={"history_url": pg, "judge": {"api_key": LLM_KEY}})
    config = masked_settings(settings)
    assert config["llm"]["api_key"] == config["eval"]["judge"]["api_key"] == "***"
    assert config["keys"]["pepper"] == config["audit"]["chain_key"] == "***"
    assert config["eval"]["history_url"] == pg.replace(PG_PASSWORD, "***")
    assert config["llm"]["base_urls"] == ["http://vllm:***@llm.internal.example:8001/v1"]
    assert config["llm"]["max_tokens"] == settings.llm.max_tokens and config["audit"]["require_chain_key"] is False

    period = Period(since=state.now - timedelta(days=30), until=state.now + timedelta(minutes=1))
    for who in (None, assistant_a1(settings)):
        html, js = write_report(gather(settings, period, who), tmp_path / str(who and who.id))
        texts = {p.name: p.read_text(encoding="utf-8") for p in (html, js)}
        for name, text in texts.items():
            leaked = [s for s in SECRETS if s in text]
            assert not leaked, f"{name} holds {leaked}"
        assert "llm.internal.example" in texts["assessment.html"]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_the_html_is_one_self_contained_korean_page_with_a_section_per_concern(state: State, tmp_path: Path):
    period = Period(since=state.now - timedelta(days=30), until=state.now + timedelta(minutes=1))
    html_path, _ = write_report(gather(state.settings, period, assistant_a1(state.settings)), tmp_path)
    text = html_path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    tags = page.tags
    assert tags[0] == ("html", {"lang": "ko"})
    assert not [t for t, _ in tags if t in ("script", "link", "img", "iframe", "object", "embed")]
    assert not [
        a for _, attrs in tags for k, a in attrs.items() if k in ("src", "href") and not (a or "").startswith("#")
    ]
    assert "@import" not in text and "url(" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # the assistant's description, escaped
    sections = [attrs.get("id") for t, attrs in tags if t == "section"]
    assert sections == [*SECTIONS, "missing", "config"]  # the settings: an appendix
    for title in SECTIONS.values():
        assert f"<h2>{title}</h2>" in text
    assert "@media print" in text and "size: A4" in text and "break-before: page" in text


def test_a_tampered_audit_record_makes_the_verification_section_say_so(tmp_path: Path):
    settings = load_with({"NURI_HOME": str(tmp_path), "NURI_DATA_DIR": str(tmp_path / "data"),
                          "NURI_INDEX_DIR": str(tmp_path / "no-index")})  # fmt: skip
    data_dir = settings.resolve(settings.data_dir)
    with AuditStore.from_settings(settings.audit, data_dir, settings.home) as audit:
        for i in range(3):
            audit.append(answer(i, "t"))
    db = data_dir / "audit.db"
    with sqlite3.connect(db) as conn:
        payload = conn.execute("SELECT payload FROM audit_records WHERE seq = 2").fetchone()[0]
        conn.execute("UPDATE audit_records SET payload = ? WHERE seq = 2",
                     (payload.replace("5일 이내", "10일 이내"),))  # fmt: skip
    now = datetime.now(UTC)
    report = gather(settings, Period(since=now - timedelta(days=1), until=now + timedelta(minutes=1)))
    verify = report.accountability.verify
    assert verify is not None and not verify.ok and any("seq 2" in line for line in verify.issues)
    assert any(m.item == "감사 기록 무결성 검증 실패" for m in report.missing)
    assert not report.data.index.available and any(m.item == "색인을 열지 못했습니다" for m in report.missing)
    html, _ = write_report(report, tmp_path / "out")
    text = html.read_text(encoding="utf-8")
    assert "무결성 검증 실패" in text and "seq 2" in text and "색인을 열지 못했습니다" in text


def test_missing_operator_fields_are_listed_and_the_template_is_read_back(nuri, state: State, tmp_path: Path):
    fields = tmp_path / "fields.yaml"
    code, out, err = nuri("assess", "fields", "--init", str(fields))
    assert code == 0 and fields.is_file(), err
    assert nuri("assess", "fields", "--init", str(fields))[0] == 1  # never overwritten silently
    period = Period(since=state.now - timedelta(days=1), until=state.now + timedelta(minutes=1))

    empty = gather(state.settings, period, None, fields)
    assert empty.operator.found and empty.operator.unfilled == [
        "목적", "책임자 성명", "책임자 부서", "책임자 연락처", "사람의 관여", "영향받는 사람", "다음 검토일"]  # fmt: skip
    assert [m.item for m in empty.missing if m.section == "operator"] == [
        f"미기재: {n}" for n in empty.operator.unfilled
    ]

    filled = fields.read_text(encoding="utf-8")
    for key, value in {
        "purpose:": "purpose: 직원의 규정 질의응답 보조",
        "  name:": "  name: 홍길동",
        "  contact:": "  contact: 02-123-4567",
        "review_date:": "review_date: 2000-01-31",
    }.items():
        filled = filled.replace(key, value, 1)  # fmt: skip
    fields.write_text(filled, encoding="utf-8")
    report = gather(state.settings, period, None, fields)
    assert report.overview.purpose == "직원의 규정 질의응답 보조" and report.overview.owner.name == "홍길동"
    assert report.operator.unfilled == ["책임자 부서", "사람의 관여", "영향받는 사람"]
    assert any(m.item == "다음 검토일이 지났습니다" for m in report.missing)
    html, _ = write_report(report, tmp_path / "out")
    assert "직원의 규정 질의응답 보조" in html.read_text(encoding="utf-8")

    fields.write_text("purpose: 보조\nowner:\n  name: [홍길동\n", encoding="utf-8")
    code, _, err = nuri("assess", "report", "--fields", str(fields), "--out", str(tmp_path / "bad"))
    assert code == 1 and "번째 줄" in err, err
    fields.write_text("purpose: 보조\nownr:\n  name: 홍길동\n", encoding="utf-8")
    code, _, err = nuri("assess", "report", "--fields", str(fields), "--out", str(tmp_path / "bad"))
    assert code == 1 and "2번째 줄 'ownr'" in err, err


@pytest.fixture()
def browser() -> Iterator[Any]:
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Debian's chromium is missing: run `bash scripts/chromium_setup.sh` (make test does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def test_the_report_renders_in_a_real_browser_and_loads_nothing(state: State, browser: Any, tmp_path: Path):
    period = Period(since=state.now - timedelta(days=30), until=state.now + timedelta(minutes=1))
    html, _ = write_report(gather(state.settings, period), tmp_path)
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(html.as_uri())
    assert page.locator("h1").inner_text() == "공공 AI 영향평가 근거 자료"
    assert page.locator("section").count() == len(SECTIONS) + 2  # + missing items, the settings appendix
    BROWSER_SHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(BROWSER_SHOT), full_page=True)
    page.close()
    assert requests == [html.as_uri()]
    data = BROWSER_SHOT.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 1100 and 3000 < height < 60000 and 100_000 < len(data) < 30_000_000


def test_the_change_log_of_settings_shows_what_changed_when_servers_restarted(tmp_path: Path):
    """Each service opening records its configuration when it differs from the last (two
    openings with the same settings add one row); the report lists, for the period, what
    changed between them, secrets masked, and the configuration in force when it began."""
    from assistant.service import NuriService
    from assistant.settings_log import SettingsLog

    env = {"NURI_HOME": str(tmp_path), "NURI_DATA_DIR": str(tmp_path / "data"),
           "NURI_INDEX_DIR": str(tmp_path / "no-index"), "NURI_KEYS__PEPPER": PEPPER}  # fmt: skip
    first = load_with(env)
    before = datetime.now(UTC)
    for settings in (first, first, first.override(answer={"top_k": 5}, llm={"api_key": LLM_KEY})):
        NuriService(settings, start_model=False).open().close()  # no index: it opens its stores only
    data_dir = first.resolve(first.data_dir)
    with SettingsLog.from_settings(first.keys, data_dir, first.home) as log_:
        assert len(log_.snapshots()) == 2
        assert len(log_.snapshots(since=datetime.now(UTC) + timedelta(seconds=1))) == 1  # the one in force
    report = gather(first, Period(since=before, until=datetime.now(UTC) + timedelta(minutes=1)))
    acc = report.accountability
    assert acc.settings_error is None and acc.settings_baseline is None
    assert [c.changed for c in acc.settings_changes][0] == []  # the first one: the baseline of the period
    changed = {c["key"]: (c["before"], c["after"]) for c in acc.settings_changes[1].changed}
    assert changed == {"answer.top_k": (3, 5), "llm.api_key": ("none", "***")}
    html, js = write_report(report, tmp_path / "out")
    text = html.read_text(encoding="utf-8") + js.read_text(encoding="utf-8")
    assert "answer.top_k" in text and LLM_KEY not in text and PEPPER not in text
    later = gather(first, Period(since=datetime.now(UTC), until=datetime.now(UTC) + timedelta(minutes=1)))
    assert later.accountability.settings_baseline is not None and later.accountability.settings_changes == []


def test_the_settings_log_keeps_one_row_per_distinct_configuration(store_db: Any):
    from assistant.settings_log import SettingsLog, changed_settings

    with SettingsLog(store_db.url) as log_:
        assert log_.record({"a": {"b": 1}, "keys": {"pepper": PEPPER}}, "cli:x")
        assert not log_.record({"a": {"b": 1}, "keys": {"pepper": PEPPER}}, "cli:y")
        assert log_.record({"a": {"b": 2}, "keys": {"pepper": PEPPER}}, "cli:x")
        rows = log_.snapshots()
    assert [r.settings["a"]["b"] for r in rows] == [1, 2] and rows[0].settings["keys"]["pepper"] == "***"
    assert [c.model_dump() for c in changed_settings(rows[0].settings, rows[1].settings)] == [
        {"key": "a.b", "before": 1, "after": 2}]  # fmt: skip
