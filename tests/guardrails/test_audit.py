"""The audit trail: a hash chain that stays whole under concurrent writers (threads and
processes), shows where a record was edited, deleted or inserted, survives retention pruning,
exports to JSONL/CSV and back; and ``nuri audit verify|export|prune``. Every test on a store
runs on SQLite and on PostgreSQL (``store_db``)."""

from __future__ import annotations

import io
import json
import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import StoreDatabase
from sqlalchemy.dialects import postgresql, sqlite

from guardrails.audit import (
    GENESIS,
    HEAD_FOR_UPDATE,
    AuditEntry,
    AuditIntegrityError,
    AuditRecord,
    AuditStore,
    canonical_json,
    read_records,
    record_hash,
)


def entry(i: int, **changes) -> AuditEntry:
    fields = {
        "request_id": f"req-{i}",
        "principal_id": "a1b2c3d4e5f6",
        "agency": "누리행정청",
        "endpoint": "/v1/ask",
        "question": f"출장 여비는 언제까지 정산하나요? ({i}) [전화번호]",
        "retrieved": [{"chunk_id": f"doc{i}#1", "score": 0.8125}, {"chunk_id": "doc9#3", "score": 0.25}],
        "model": "gemma-3-270m",
        "prompt_version": "answer-v3",
        "answer": "출장을 마친 날부터 5일 이내에 정산합니다 [1].",
        "citations": [{"n": 1, "doc_id": f"doc{i}", "anchor": "정산 기한"}],
        "decisions": [{"name": "pii", "action": "mask", "reason": "전화번호 1건"}],
        "refused": False,
        "latency_ms": 123.5 + i,
    }
    return AuditEntry.model_validate(fields | changes)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def sqlite_path(tmp_path: Path) -> Path:
    """The SQLite file of ``store_db``: the default audit store of the data folder."""
    return tmp_path / "data" / "audit.db"


@pytest.fixture()
def db(store_db: StoreDatabase) -> StoreDatabase:
    return store_db


def open_store(db: StoreDatabase, **kwargs) -> AuditStore:
    return AuditStore(db.url, **kwargs)


@pytest.fixture()
def filled(db: StoreDatabase):
    """A store with 10 records, one a minute from 2026-12-01 09:00 UTC."""
    clock = Clock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    with open_store(db, clock=clock) as store:
        for i in range(1, 11):
            store.append(entry(i))
            clock.now += timedelta(minutes=1)
        yield store


def raw(db: StoreDatabase, *statements: tuple[str, tuple]) -> None:
    """Tamper with the database directly, as someone with access to it could."""
    db.execute(*statements)


def ts_of(store: AuditStore, seq: int) -> str:
    return next(r.ts for r in store.records() if r.seq == seq)


def test_appended_records_form_a_verifiable_chain(filled: AuditStore):
    records = list(filled.records())
    assert [r.seq for r in records] == list(range(1, 11))
    assert records[0].prev_hash == GENESIS
    for before, after in zip(records, records[1:], strict=False):
        assert after.prev_hash == before.hash and after.ts > before.ts
    for r in records:
        assert r.hash == record_hash(r.prev_hash, canonical_json(r.model_dump(mode="json", exclude={"hash"})))
    assert records[2].question == entry(3).question and records[2].retrieved[0].chunk_id == "doc3#1"
    report = filled.verify()
    assert report.ok and report.records == 10 and report.head_seq == 10 and report.head_hash == records[-1].hash


def test_an_edited_record_is_detected_and_located(filled: AuditStore, db: StoreDatabase):
    payload = next(r for r in filled.records() if r.seq == 3).payload()
    raw(db, ("UPDATE audit_records SET payload = ? WHERE seq = 3", (payload.replace("5일", "50일"),)))
    report = filled.verify()
    assert not report.ok
    assert [(i.kind, i.seq, i.ts) for i in report.issues] == [("edited", 3, ts_of(filled, 3))]
    assert report.issues[0].line().startswith("seq 3 (2026-12-01T09:02:00")


def test_an_edited_column_is_detected(filled: AuditStore, db: StoreDatabase):
    raw(db, ("UPDATE audit_records SET agency = '한빛데이터원', refused = TRUE WHERE seq = 6", ()))
    issues = filled.verify().issues
    assert [(i.kind, i.seq) for i in issues] == [("edited", 6)] and "agency" in issues[0].detail


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(filled: AuditStore, db: StoreDatabase):
    record = next(r for r in filled.records() if r.seq == 4)
    forged = record.model_copy(update={"answer": "정산 기한은 없습니다."})
    raw(db, ("UPDATE audit_records SET payload = ?, hash = ? WHERE seq = 4",
             (forged.payload(), record_hash(forged.prev_hash, forged.payload()))))  # fmt: skip
    assert [(i.kind, i.seq) for i in filled.verify().issues] == [("link", 5)]


def test_a_deleted_record_is_detected_and_located(filled: AuditStore, db: StoreDatabase):
    before = ts_of(filled, 4)
    raw(db, ("DELETE FROM audit_records WHERE seq = 5", ()))
    issues = filled.verify().issues
    assert [(i.kind, i.seq, i.until_seq, i.ts) for i in issues] == [("missing", 5, 5, before)]
    assert "seq 4" in issues[0].detail and "seq 6" in issues[0].detail


def test_deleting_the_newest_records_is_detected(filled: AuditStore, db: StoreDatabase):
    raw(db, ("DELETE FROM audit_records WHERE seq >= 9", ()))
    assert [(i.kind, i.seq, i.until_seq) for i in filled.verify().issues] == [("missing", 9, 10)]


def test_an_inserted_record_is_detected(filled: AuditStore, db: StoreDatabase):
    """A forged record slipped in after seq 5, the later ones renumbered, every hash valid."""
    fifth = next(r for r in filled.records() if r.seq == 5)
    fake = AuditRecord.model_validate(
        entry(99, agency="가짜청").model_dump() | {"seq": 6, "ts": fifth.ts, "prev_hash": fifth.hash, "hash": ""}
    )
    raw(
        db,
        ("UPDATE audit_records SET seq = -seq WHERE seq >= 6", ()),
        ("UPDATE audit_records SET seq = 1 - seq WHERE seq < 0", ()),
        ("INSERT INTO audit_records (seq, ts, request_id, principal_id, agency, endpoint, model, prompt_version,"
         " refused, latency_ms, payload, prev_hash, hash) VALUES (6, ?, 'req-99', ?, '가짜청', '/v1/ask', ?, ?, FALSE, ?, ?, ?, ?)",
         (fake.ts, fake.principal_id, fake.model, fake.prompt_version, fake.latency_ms, fake.payload(), fake.prev_hash,
          record_hash(fake.prev_hash, fake.payload()))),
    )  # fmt: skip
    issues = filled.verify().issues
    assert ("link", 7) in [(i.kind, i.seq) for i in issues]  # the record after the forged one
    assert {i.kind for i in issues} >= {"link", "edited", "head"}


def test_a_record_added_outside_the_store_is_detected(filled: AuditStore, db: StoreDatabase):
    last = list(filled.records())[-1]
    extra = AuditRecord.model_validate(
        entry(11).model_dump() | {"seq": 11, "ts": last.ts, "prev_hash": last.hash, "hash": ""}
    )
    raw(db, ("INSERT INTO audit_records (seq, ts, request_id, endpoint, refused, payload, prev_hash, hash)"
             " VALUES (11, ?, 'req-11', '/v1/ask', FALSE, ?, ?, ?)",
             (extra.ts, extra.payload(), extra.prev_hash, record_hash(extra.prev_hash, extra.payload()))))  # fmt: skip
    issues = filled.verify().issues
    assert ("head", 11) in [(i.kind, i.seq) for i in issues]


def test_pruning_keeps_the_chain_verifiable_and_later_deletions_detectable(db: StoreDatabase):
    clock = Clock(datetime(2026, 10, 1, tzinfo=UTC))
    with open_store(db, clock=clock) as store:
        for i in range(1, 21):  # one record a day: 2026-10-01 .. 2026-10-20
            store.append(entry(i))
            clock.now += timedelta(days=1)
        clock.now = datetime(2026, 11, 10, 12, tzinfo=UTC)
        report = store.apply_retention(30, actor="test")  # keeps ts >= 2026-10-11 12:00
        assert report is not None and (report.deleted, report.first_seq, report.last_seq) == (11, 1, 11)
        remaining = list(store.records())
        assert [r.seq for r in remaining] == [*range(12, 21), 21]
        prune_record = remaining[-1]
        assert prune_record.endpoint == "audit.prune" and prune_record.principal_id == "test"
        assert report.checkpoint_hash in prune_record.decisions[0].reason
        verified = store.verify()
        assert verified.ok and verified.checkpoint_seq == 11 and verified.records == 10

        store.append(entry(22))
        assert store.verify().ok
        assert store.apply_retention(30) is not None and store.apply_retention(0) is None
        assert store.verify().ok

        raw(db, ("DELETE FROM audit_records WHERE seq = 15", ()))
        assert [(i.kind, i.seq) for i in store.verify().issues] == [("missing", 15)]
        raw(db, ("DELETE FROM audit_records WHERE seq = 12", ()))
        assert [(i.kind, i.seq) for i in store.verify().issues] == [("missing", 12), ("missing", 15)]


def test_prune_keeps_records_that_do_not_verify(filled: AuditStore, db: StoreDatabase):
    raw(db, ("DELETE FROM audit_records WHERE seq = 2", ()))
    with pytest.raises(AuditIntegrityError) as e:
        filled.prune(datetime(2026, 12, 2, tzinfo=UTC))
    assert [(i.kind, i.seq) for i in e.value.issues] == [("missing", 2)]
    assert len(list(filled.records())) == 9


def _append_many(url: str, n: int, tag: str) -> None:
    with AuditStore(url) as store:
        for i in range(n):
            store.append(entry(i, request_id=f"{tag}-{i}"))


def test_concurrent_threads_keep_the_chain_intact(db: StoreDatabase):
    url = db.url
    with AuditStore(url) as shared:
        threads = [threading.Thread(target=_append_many, args=(url, 40, f"t{n}")) for n in range(3)]
        threads += [
            threading.Thread(target=lambda n=n: [shared.append(entry(i, request_id=f"s{n}-{i}")) for i in range(40)])
            for n in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report = shared.verify()
        assert report.ok, report.issues
        assert report.records == 200 and len({r.request_id for r in shared.records()}) == 200


def test_concurrent_processes_keep_the_chain_intact(db: StoreDatabase):
    url = db.url
    with AuditStore(url) as store:
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_append_many, args=(url, 100, f"p{n}")) for n in range(3)]
        for p in procs:
            p.start()
        _append_many(url, 60, "main")
        for p in procs:
            p.join(timeout=120)
        assert [p.exitcode for p in procs] == [0, 0, 0]
        report = store.verify()
        assert report.ok, report.issues
        assert report.records == 360 and report.head_seq == 360


def test_head_is_locked_for_update_on_postgresql():
    assert str(HEAD_FOR_UPDATE.compile(dialect=postgresql.dialect())).rstrip().endswith("FOR UPDATE")
    assert "FOR UPDATE" not in str(HEAD_FOR_UPDATE.compile(dialect=sqlite.dialect()))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_round_trips_and_filters_by_time(filled: AuditStore, fmt):
    out = io.StringIO()
    since, until = datetime(2026, 12, 1, 9, 2, tzinfo=UTC), datetime(2026, 12, 1, 9, 7, tzinfo=UTC)
    assert filled.export(since, until, fmt, out) == 5
    back = read_records(io.StringIO(out.getvalue()), fmt)
    assert back == [r for r in filled.records() if 3 <= r.seq <= 7]
    for r in back:
        assert record_hash(r.prev_hash, r.payload()) == r.hash
    everything = io.StringIO()
    assert filled.export(None, None, fmt, everything) == 10
    assert read_records(io.StringIO(everything.getvalue()), fmt) == list(filled.records())
    if fmt == "jsonl":
        assert json.loads(everything.getvalue().splitlines()[0])["question"] == entry(1).question


def test_what_is_not_to_be_stored_is_left_out(db: StoreDatabase):
    with open_store(db, store_question=False, store_answer=False, store_retrieved=False) as store:
        record = store.append(entry(1))
        assert (record.question, record.answer, record.retrieved) == (None, None, [])
        assert record.citations and record.agency == "누리행정청"
        assert store.verify().ok
    assert "출장 여비" not in db.stored_bytes().decode("utf-8", "replace")


# -- nuri audit --------------------------------------------------------------------------


@pytest.fixture()
def nuri(tmp_path: Path, store_db: StoreDatabase, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``nuri …`` in this process (see test_keys), data folder under ``tmp_path``; the audit
    store is the data folder's default SQLite file, or ``store_db``'s PostgreSQL database."""
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
def cli_db(db: StoreDatabase) -> StoreDatabase:
    clock = Clock(datetime(2025, 11, 30, 12, tzinfo=UTC))
    with open_store(db, clock=clock) as store:
        for i in range(1, 5):  # 2025-11-30 12:00, 12-01 12:00, 12-02 12:00, 12-03 12:00
            store.append(entry(i))
            clock.now += timedelta(days=1)
    return db


def test_audit_verify_reports_intact_and_tampered_trails(nuri, cli_db: StoreDatabase):
    code, out, _ = nuri("audit", "verify")
    assert code == 0 and out.splitlines()[0] == "감사 기록 4건 무결성 확인"
    raw(cli_db, ("DELETE FROM audit_records WHERE seq = 2", ()))
    code, out, err = nuri("audit", "verify")
    assert code == 1 and "seq 2" in err and "2025-11-30T12:00" in err
    code, out, _ = nuri("audit", "verify", "--json")
    assert code == 1 and json.loads(out)["issues"][0]["seq"] == 2


def test_audit_export_writes_the_selected_days(nuri, cli_db: StoreDatabase, tmp_path: Path):
    target = tmp_path / "out" / "audit.csv"
    code, out, err = nuri("audit", "export", "--since", "2025-12-01", "--until", "2025-12-02", "--format", "csv",
                          "--output", str(target))  # fmt: skip
    assert code == 0, err
    assert [r.seq for r in read_records(target.open(encoding="utf-8", newline=""), "csv")] == [2, 3]
    code, out, err = nuri("audit", "export", "--since", "2025-12-02T00:00+09:00")  # 2025-12-01T15:00Z
    assert code == 0 and [r.seq for r in read_records(io.StringIO(out), "jsonl")] == [3, 4]
    assert "2건" in err
    code, _, err = nuri("audit", "export", "--since", "어제")
    assert code == 2 and "--since" in err


def test_audit_prune_applies_the_retention(nuri, cli_db: StoreDatabase):
    code, out, _ = nuri("audit", "prune")
    assert code == 0 and "영구 보관" in out
    code, out, err = nuri("audit", "prune", "--days", "1")
    assert code == 0 and "4건 삭제" in out, err
    code, out, _ = nuri("audit", "verify")
    assert code == 0 and out.startswith("감사 기록 1건 무결성 확인")
