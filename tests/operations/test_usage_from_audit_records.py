"""Usage counted from the audit trail (``nuri usage``, ``GET /v1/usage``): per agency, key, model,
endpoint and day, from a trail of two agencies, on SQLite and PostgreSQL; the API shows an
agency's admin only that agency, and counts the API's own traffic (every endpoint is in the trail)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import StoreDatabase, issue_key
from security.served_api import QUESTION, served_api

from assistant.usage import usage, usage_from_store
from guardrails.audit import AuditEntry, AuditStore
from guardrails.decisions import GuardrailDecision

DAY1 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAY2 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
BLOCK = GuardrailDecision(name="injection", action="block", reason="지시 무시 요청")
MASK = GuardrailDecision(name="pii", action="mask", reason="주민등록번호")


def entry(agency: str | None, who: str, endpoint: str, model: str | None = None, **fields: Any) -> AuditEntry:
    return AuditEntry(
        request_id=f"r-{who}-{endpoint}-{fields.pop('n', 0)}", principal_id=who, agency=agency, endpoint=endpoint,
        question="질문", model=model, **fields,
    )  # fmt: skip


def write_trail(url: str) -> None:
    """나부처 (two keys, two models, two days) and 다른청 (a gateway user), and the trail's own kind."""
    clock: dict[str, datetime] = {"now": DAY1}
    with AuditStore(url, clock=lambda: clock["now"]) as store:
        store.append(entry("나부처", "key:a1", "/v1/ask", "gemma3-270m", tokens_in=100, tokens_out=20))
        store.append(
            entry("나부처", "key:a1", "/v1/ask", "gemma3-270m", n=1, tokens_in=50, tokens_out=10, decisions=[MASK])
        )
        store.append(entry("나부처", "key:a1", "/v1/ask", "gemma3-270m", n=2, refused=True, decisions=[BLOCK]))
        store.append(entry("나부처", "key:a2", "/v1/search"))
        clock["now"] = DAY2
        store.append(entry("나부처", "key:a2", "/v1/chat/completions", "qwen2.5-coder-1.5b", tokens_in=7, tokens_out=3))
        store.append(entry("다른청", "gateway:kim", "/v1/ask", "gemma3-270m"))  # its server reported no tokens
        store.append(entry("다른청", "gateway:kim", "/v1/search", n=1))
        store.append(entry("다른청", "gateway:kim", "/v1/search", n=2))
        store.append(entry(None, "cli:ops", "audit.prune", decisions=[]))  # the trail's own record: not usage


def counts(row: dict[str, Any]) -> tuple[int, ...]:
    keys = ("questions", "answers", "refusals", "guardrail_blocks", "searches", "tokens_in", "tokens_out")
    return tuple(row[k] for k in keys)


def test_usage_per_agency_key_and_model_from_a_trail_of_two_agencies(store_db: StoreDatabase) -> None:
    write_trail(store_db.url)
    with AuditStore(store_db.url) as store:
        by_agency = usage_from_store(store, None, None, ["agency"]).as_dict()
        assert [r["group"] for r in by_agency["rows"]] == [{"agency": "나부처"}, {"agency": "다른청"}]
        nabu, other = by_agency["rows"]
        assert counts(nabu) == (4, 3, 1, 1, 1, 157, 33)
        assert counts(other) == (1, 1, 0, 0, 2, 0, 0) and other["answers_with_tokens"] == 0
        assert counts(by_agency["total"]) == (5, 4, 1, 1, 3, 157, 33)

        detailed = usage_from_store(store, None, None, ["agency", "key", "model"]).as_dict()["rows"]
        groups = {tuple(r["group"].values()): counts(r) for r in detailed}
        assert groups == {
            ("나부처", "key:a1", "gemma3-270m"): (3, 2, 1, 1, 0, 150, 30),
            ("나부처", "key:a2", "qwen2.5-coder-1.5b"): (1, 1, 0, 0, 0, 7, 3),
            ("나부처", "key:a2", None): (0, 0, 0, 0, 1, 0, 0),
            ("다른청", "gateway:kim", "gemma3-270m"): (1, 1, 0, 0, 0, 0, 0),
            ("다른청", "gateway:kim", None): (0, 0, 0, 0, 2, 0, 0),
        }

        by_day = usage_from_store(store, None, None, ["day"]).as_dict()["rows"]
        assert {r["group"]["day"]: r["questions"] for r in by_day} == {"2026-12-01": 3, "2026-12-02": 2}
        second_day = usage_from_store(store, DAY2 - timedelta(hours=1), None, ["agency"]).as_dict()["rows"]
        assert [(r["group"]["agency"], r["questions"], r["searches"]) for r in second_day] == [
            ("나부처", 1, 0), ("다른청", 1, 2),
        ]  # fmt: skip

        only_theirs = usage(store.records(), ["endpoint"], agency="다른청").as_dict()["rows"]
        assert {r["group"]["endpoint"]: (r["questions"], r["searches"]) for r in only_theirs} == {
            "/v1/ask": (1, 0), "/v1/search": (0, 2),
        }  # fmt: skip


@pytest.fixture()
def nuri(
    tmp_path: Path, store_db: StoreDatabase, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """``nuri …`` in this process on the trail of ``store_db`` (the data folder's SQLite file, or
    its PostgreSQL database)."""
    import assistant.cli
    from assistant import admin_cli

    monkeypatch.setenv("NURI_HOME", str(tmp_path))
    monkeypatch.setenv("NURI_DATA_DIR", str(tmp_path / "data"))
    if store_db.backend != "sqlite":
        monkeypatch.setenv("NURI_AUDIT__URL", store_db.url)
    monkeypatch.setattr(assistant.cli, "_plugins", admin_cli.register)

    def run(*args: str) -> tuple[int, str, str]:
        code = assistant.cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture()
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "audit.db"  # the data folder's default audit trail, for `nuri usage`


def test_nuri_usage_prints_a_korean_table_and_the_same_rows_as_json(
    nuri: Callable[..., tuple[int, str, str]], store_db: StoreDatabase
) -> None:
    write_trail(store_db.url)
    code, out, err = nuri("usage", "--by", "agency,model")
    assert code == 0, err
    lines = out.splitlines()
    header = next(x for x in lines if x.startswith("| 기관"))
    assert header.startswith("| 기관 | 모델 | 질문 | 답변 | 거절 | 가드레일 차단 | 검색 | 입력 토큰 | 출력 토큰 |")
    assert "| 나부처 | gemma3-270m | 3 | 2 | 1 | 1 | 0 | 150 | 30 |" in lines
    assert "| 다른청 | - | 0 | 0 | 0 | 0 | 2 | 0 | 0 |" in lines
    assert lines[-1] == "| 합계 |  | 5 | 4 | 1 | 1 | 3 | 157 | 33 |"

    code, out, _ = nuri("usage", "--by", "agency", "--by", "key", "--json", "--since", "2026-12-02")
    assert code == 0
    report = json.loads(out)
    with AuditStore(store_db.url) as store:
        expected = usage_from_store(store, DAY2.replace(hour=0), None, ["agency", "key"]).as_dict()
    assert report == expected and report["by"] == ["agency", "key"]

    code, _, err = nuri("usage", "--by", "agency,weather")
    assert code == 2 and "weather" in err
    code, _, err = nuri("usage", "--since", "어제")
    assert code == 2 and "날짜" in err


def test_the_usage_route_counts_api_traffic_and_shows_an_agency_admin_only_its_agency(
    tmp_path: Path, embedder: Any
) -> None:
    with served_api(tmp_path, embedder, ui={"enabled": False}) as served:
        ours = {"Authorization": f"Bearer {served.keys['user']}"}
        theirs = {"Authorization": f"Bearer {issue_key(served.service, agency='다른청', clearance='internal')}"}
        admin = {"Authorization": f"Bearer {served.keys['admin']}"}
        for headers in (ours, theirs):
            assert httpx.post(served.url + "/v1/search", json={"query": "재택근무"}, headers=headers).status_code == 200
        assert (
            httpx.post(served.url + "/v1/ask", json={"question": QUESTION}, headers=ours, timeout=60).status_code == 200
        )
        chat = {"model": "nuri", "messages": [{"role": "user", "content": QUESTION}]}
        assert httpx.post(served.url + "/v1/chat/completions", json=chat, headers=theirs, timeout=60).status_code == 200

        r = httpx.get(served.url + "/v1/usage", params={"by": ["agency", "endpoint"]}, headers=admin)
        assert r.status_code == 200, r.text
        rows = r.json()["rows"]
        assert {(x["group"]["agency"], x["group"]["endpoint"]): (x["questions"], x["searches"]) for x in rows} == {
            ("나부처", "/v1/ask"): (1, 0),
            ("나부처", "/v1/search"): (0, 1),
        }  # fmt: skip (다른청's records are not shown to 나부처's admin)
        assert r.json()["agency"] == "나부처"
        assert served.service.audit is not None
        everyone = usage(served.service.audit.records(), ["agency"]).as_dict()["rows"]
        assert [x["group"]["agency"] for x in everyone] == ["나부처", "다른청"]  # the operator's view

        today = datetime.now(UTC).date().isoformat()
        windowed = httpx.get(served.url + f"/v1/usage?since={today}&until={today}&by=day", headers=admin).json()
        assert [x["group"]["day"] for x in windowed["rows"]] == [today] and windowed["total"]["questions"] == 1

        assert httpx.get(served.url + "/v1/usage", headers=ours).status_code == 403
        assert httpx.get(served.url + "/v1/usage").status_code == 401
        bad = httpx.get(served.url + "/v1/usage?by=weather", headers=admin)
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
