"""The eval results history (``nuri eval list|compare``, the UI's 평가 tab) on SQLite and on
PostgreSQL (``store_db``): runs added, listed newest first, read back by id, prefix or
``latest``; one table even when several processes open a new database at once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import StoreDatabase

from evals.history import History, HistoryError, RunNotFoundError
from evals.results import DatasetInfo, ItemResult, RunResult


@pytest.fixture()
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "eval" / "history.db"


def run(run_id: str, suite: str, started_at: str, f1: float = 0.5) -> RunResult:
    item = ItemResult(id="q-1", question="정보공개 청구 기한은?", category="fact", language="ko", expected="answer",
                      answer="10일 이내입니다 [1]", scores={"answer_f1": f1})  # fmt: skip
    return RunResult(
        run_id=run_id, suite=suite, started_at=started_at, wall_s=12.5, target="in-process", commit="c83d1aa",
        model="gemma-3-270m", embedder="e5", prompt_version="0123456789ab", guardrails="none",
        dataset=DatasetInfo(suite=suite, files=["sample.jsonl"], sha256="0" * 64, items=1),
        metrics={"answer_f1": f1, "judge": None}, notes={"judge": "no judge"}, items=[item],
    )  # fmt: skip


RUNS = [
    run("20261201-0900-sample-a1b2", "sample", "2026-12-01T09:00:00+00:00", 0.25),
    run("20261202-0900-sample-c3d4", "sample", "2026-12-02T09:00:00+00:00", 0.5),
    run("20261201-1200-statute-e5f6", "statute", "2026-12-01T12:00:00+00:00", 0.75),
    run("x_1", "sample", "2026-11-01T09:00:00+00:00"),
    run("xy1", "sample", "2026-11-01T09:00:00+00:00"),
]


@pytest.fixture()
def history(store_db: StoreDatabase):
    with History(store_db.url) as h:
        for r in RUNS:
            h.add(r)
        yield h


def test_runs_are_listed_newest_first(history: History):
    assert [s.run_id for s in history.list_runs()] == [
        "20261202-0900-sample-c3d4", "20261201-1200-statute-e5f6", "20261201-0900-sample-a1b2", "xy1", "x_1",
    ]  # fmt: skip
    sample = history.list_runs(suite="sample", limit=2)
    assert [s.run_id for s in sample] == ["20261202-0900-sample-c3d4", "20261201-0900-sample-a1b2"]
    assert sample[0].metrics == {"answer_f1": 0.5, "judge": None} and sample[0].items == 1
    assert sample[0].commit == "c83d1aa" and sample[0].started_at == "2026-12-02T09:00:00+00:00"


def test_a_run_reads_back_whole_by_id_prefix_or_latest(history: History):
    assert history.get("20261201-0900-sample-a1b2") == RUNS[0]
    assert history.get("20261201-12") == RUNS[2]
    assert history.get("latest") == RUNS[1]
    assert history.get("latest:statute") == RUNS[2]
    assert history.get("x_") == RUNS[3]  # "_" is a character of the prefix, not a LIKE wildcard
    with pytest.raises(RunNotFoundError, match="2개"):
        history.get("20261201")
    with pytest.raises(RunNotFoundError):
        history.get("x%")
    with pytest.raises(RunNotFoundError):
        history.get("latest:nosuch")


def test_a_run_id_is_stored_once(history: History):
    with pytest.raises(HistoryError):
        history.add(RUNS[0])
    assert len(history.list_runs()) == len(RUNS)


def test_histories_opened_at_once_on_a_new_database_share_one_table(store_db: StoreDatabase):
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_and_add(n: int) -> None:
        barrier.wait()
        try:
            with History(store_db.url) as h:
                h.add(run(f"run-{n}", "sample", f"2026-12-0{n + 1}T09:00:00+00:00"))
        except HistoryError as e:
            errors.append(e)

    threads = [threading.Thread(target=open_and_add, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with History(store_db.url) as h:
        assert [s.run_id for s in h.list_runs()] == [f"run-{n}" for n in reversed(range(6))]
