"""``GET /v1/sources`` tells an admin how each source stands: ``nuri ingest`` (a real subprocess)
records every run in the key store's database, and the API shows the last run's counts and failed
files and how long ago the last run without failures finished. The sync records on SQLite and
PostgreSQL (``store_db``); a database the command cannot reach never fails the sync."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from conftest import REPO_ROOT, StoreDatabase, bearer, write_md

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "security"))
from served_api import Served, served_api

from assistant import sync_log as sync_log_module
from assistant.sync_log import Failure, SyncLog, SyncRun, record_cli_sync
from retrieval.sync import SyncReport

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def ingest(folder: Path, index: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NURI_DATA_DIR=str(data_dir), NURI_INDEX_DIR=str(index), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", str(folder), "--quiet"], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("sources")
    with served_api(root, embedder, ui={"enabled": False}, documents={"upload_dir": str(root / "uploads")}) as s:
        yield s


def test_sources_show_the_last_syncs_failed_file_and_the_time_since_the_last_success(api: Served, tmp_path: Path):
    folder = tmp_path / "부서 문서"
    write_md(folder, "회의 규칙.md", "회의 규칙", {"시간": "회의는 한 시간을 넘기지 않는다."})
    data_dir = api.settings.resolve(api.settings.data_dir)
    first = ingest(folder, tmp_path / "cli-index", data_dir)
    assert first.returncode == 0, first.stderr
    clean_until = time.time()
    (folder / "고장난 보고서.pdf").write_bytes(b"%PDF-1.4\nbroken beyond repair\n")
    second = ingest(folder, tmp_path / "cli-index", data_dir)
    assert second.returncode == 1 and "고장난 보고서.pdf" in second.stdout
    admin = bearer(api.keys["admin"])
    listed = httpx.get(api.url + "/v1/sources", headers=admin, timeout=30)
    assert listed.status_code == 200, listed.text
    source = next(s for s in listed.json() if s["root"] == str(folder.resolve()))
    last = source["last_run"]
    assert (last["kind"], last["ok"], last["unchanged"], last["added"], last["failed"]) == ("sync", False, 1, 0, 1)
    assert [f["file"] for f in last["failures"]] == ["고장난 보고서.pdf"] and last["failures"][0]["reason"]
    assert last["subject"].startswith("cli:") and source["runs"] == 2
    assert datetime.fromisoformat(source["last_success_at"]).timestamp() <= clean_until
    assert source["seconds_since_success"] >= time.time() - clean_until - 1
    assert datetime.fromisoformat(source["last_success_at"]) < datetime.fromisoformat(last["finished_at"])
    user = httpx.get(api.url + "/v1/sources", headers=bearer(api.keys["user"]), timeout=30)
    assert user.status_code == 403 and user.json()["error"]["code"] == "forbidden"
    # the same age is what Prometheus reads: nuri_source_sync_age_seconds{source="<root>"}
    metrics = httpx.get(api.url + "/metrics", timeout=30).text.splitlines()
    line = next(x for x in metrics if x.startswith("nuri_source_sync_age_seconds{") and str(folder.resolve()) in x)
    assert float(line.rsplit(" ", 1)[1]) >= time.time() - clean_until - 1


def _run(root: str, minutes: int, ok: bool = True, kind: str = "sync") -> SyncRun:
    failures = [] if ok else [Failure(file="깨진.hwp", reason="문서를 읽을 수 없습니다")]
    at = T0 + timedelta(minutes=minutes)
    return SyncRun(kind=kind, root=root, subject="cli:ops", started_at=at, finished_at=at + timedelta(seconds=30),
                   ok=ok, added=2, unchanged=5, failed=len(failures), failures=failures)  # fmt: skip


def test_the_sync_records_report_each_roots_last_run_and_last_success(
    store_db: StoreDatabase, monkeypatch: pytest.MonkeyPatch
):
    with SyncLog(store_db.url) as log:
        for run in (_run("/srv/법령", 0), _run("/srv/법령", 10), _run("/srv/법령", 20, ok=False),
                    _run("/srv/uploads/나부처", 15, kind="upload")):  # fmt: skip
            log.record(run)
        sources = {s.root: s for s in log.sources(at=T0 + timedelta(hours=1))}
        statutes = sources["/srv/법령"]
        assert statutes.runs == 3 and not statutes.last_run.ok
        assert statutes.last_run.failures == [Failure(file="깨진.hwp", reason="문서를 읽을 수 없습니다")]
        assert statutes.last_success_at == T0 + timedelta(minutes=10, seconds=30)
        assert statutes.seconds_since_success == 3600 - 630
        assert sources["/srv/uploads/나부처"].last_run.kind == "upload"
        assert log.roots() == ["/srv/법령"]  # what originals may be served from, besides the upload folder
        assert log.roots(("sync", "upload")) == ["/srv/uploads/나부처", "/srv/법령"]
        monkeypatch.setattr(sync_log_module, "KEEP_RUNS", 2)
        log.record(_run("/srv/법령", 30))
        assert [r.started_at for r in log.runs("/srv/법령")] == [T0 + timedelta(minutes=m) for m in (30, 20)]
    with SyncLog(store_db.url) as reopened:  # kept in the database
        assert reopened.sources()[1].last_run.ok and reopened.sources()[1].root == "/srv/법령"


def test_a_sync_record_that_cannot_be_written_never_fails_the_sync(settings, tmp_path: Path, caplog):
    unreachable = settings.override(keys={"url": "postgresql+psycopg://nuri@127.0.0.1:9/none", "timeout_s": 1.0})
    report = SyncReport(added=1, seconds=0.5)
    with caplog.at_level("WARNING", logger="nuri.sync_log"):
        record_cli_sync(unreachable, [tmp_path], report)
    assert any(r.getMessage() == "sync run not recorded" for r in caplog.records)
