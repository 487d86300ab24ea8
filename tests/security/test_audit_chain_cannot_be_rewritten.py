"""Security review, issue 22 finding 6: the audit chain is verifiable without trusting the
database. With ``audit.chain_key`` each record's hash is an HMAC under a key that is not in the
database, so a writer who can change every row but lacks the key cannot rewrite the tail (and
the head) undetected, cannot turn the keyed part back into a plain SHA-256 chain, and cannot
insert a checkpoint to hide deleted records; ``verify`` without the key says it cannot check the
keyed records instead of passing. The PostgreSQL roles of ``deploy/postgres/audit_roles.sql``
keep the API's credentials from updating or deleting records at all. Store tests run on SQLite
and PostgreSQL (``store_db``); the roles test on the session's real PostgreSQL server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import PostgresServer, StoreDatabase, make_settings

from guardrails.audit import (
    CHAIN_HMAC,
    GENESIS,
    AuditEntry,
    AuditError,
    AuditIntegrityError,
    AuditRecord,
    AuditStore,
    record_hash,
)

KEY = "k" * 16 + "0123456789abcdef0123456789abcdef"  # 48 characters
OTHER_KEY = "x" * 48
ROLES_SQL = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "audit_roles.sql"


def entry(i: int, **changes) -> AuditEntry:
    fields = {
        "request_id": f"req-{i}",
        "principal_id": "a1b2c3d4e5f6",
        "agency": "누리행정청",
        "endpoint": "/v1/ask",
        "question": f"출장 여비는 언제까지 정산하나요? ({i})",
        "answer": "출장을 마친 날부터 5일 이내에 정산합니다 [1].",
        "refused": False,
        "latency_ms": 100.0 + i,
    }
    return AuditEntry.model_validate(fields | changes)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture()
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "audit.db"


def open_store(db: StoreDatabase, key: str | None = KEY, **kwargs) -> AuditStore:
    return AuditStore(db.url, chain_key=key, clock=kwargs.pop("clock", Clock(datetime(2026, 12, 1, tzinfo=UTC))),
                      **kwargs)  # fmt: skip


def fill(store: AuditStore, n: int, start: int = 1) -> list[AuditRecord]:
    return [store.append(entry(i)) for i in range(start, start + n)]


def issues(store: AuditStore) -> list[tuple[str, int | None]]:
    return [(i.kind, i.seq) for i in store.verify().issues]


def rewrite_tail_without_the_key(db: StoreDatabase, records: list[AuditRecord], from_seq: int,
                                 keep_marker: bool, move_head: bool = True) -> None:  # fmt: skip
    """What someone with write access to the database but not the key can do: change a record
    (the answer of ``from_seq``), then recompute every later hash and link as SHA-256 (keeping
    the records' ``chain`` marker, or dropping it to pass them off as plain ones), columns and
    head included: consistent, exactly what a plain chain cannot tell from the original."""
    prev = next(r for r in records if r.seq == from_seq - 1).hash if from_seq > 1 else GENESIS
    statements = []
    for r in (r for r in records if r.seq >= from_seq):
        changes: dict = {"prev_hash": prev}
        if r.seq == from_seq:
            changes["answer"] = "정산 기한은 없습니다."
        if not keep_marker:
            changes["chain"] = None
        forged = r.model_copy(update=changes)
        digest = record_hash(prev, forged.payload())  # SHA-256: the writer has no key
        statements.append(("UPDATE audit_records SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                           (forged.payload(), prev, digest, r.seq)))  # fmt: skip
        prev = digest
    if move_head:
        statements.append(("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (records[-1].seq, prev)))
    # each hash is unique: move them out of the way first, so that the UPDATEs never collide
    db.execute(("UPDATE audit_records SET hash = 'x' || seq WHERE seq >= ?", (from_seq,)), *statements)


# -- the tail rewritten without the key ---------------------------------------------------------


def test_a_plain_chain_cannot_see_a_consistent_tail_rewrite(store_db: StoreDatabase):
    """The weakness being fixed: without a key the same rewrite verifies."""
    with open_store(store_db, key=None) as store:
        records = fill(store, 8)
        rewrite_tail_without_the_key(store_db, records, 5, keep_marker=True)
        report = store.verify()
        assert report.ok and report.records == 8
        assert next(r for r in store.records() if r.seq == 5).answer == "정산 기한은 없습니다."


def test_a_tail_rewritten_consistently_without_the_key_is_reported_at_its_first_seq(store_db: StoreDatabase):
    with open_store(store_db) as store:
        records = fill(store, 8)
        assert all(r.chain == CHAIN_HMAC for r in records)
        assert store.verify().ok
        rewrite_tail_without_the_key(store_db, records, 5, keep_marker=True)
        report = store.verify()
        assert not report.ok
        assert [(i.kind, i.seq) for i in report.issues] == [("edited", s) for s in range(5, 9)]
        assert "HMAC" in report.issues[0].detail and report.issues[0].line().startswith("seq 5 (")


def test_a_tail_rewritten_as_plain_records_after_keyed_ones_is_a_downgrade(store_db: StoreDatabase):
    with open_store(store_db) as store:
        records = fill(store, 8)
        rewrite_tail_without_the_key(store_db, records, 6, keep_marker=False)
        report = store.verify()
        assert not report.ok
        assert [(i.kind, i.seq) for i in report.issues] == [("downgrade", 6), ("downgrade", 7), ("downgrade", 8)]
        assert "SHA-256" in report.issues[0].detail and report.issues[0].line().startswith("seq 6 (")
        with pytest.raises(AuditError, match="NURI_AUDIT__CHAIN_KEY|nuri audit seal"):
            store.append(entry(99))  # nothing is written on top of a downgraded head


def test_the_whole_keyed_chain_rewritten_as_plain_is_detected_and_not_extended(store_db: StoreDatabase):
    with open_store(store_db) as store:
        records = fill(store, 6)
        rewrite_tail_without_the_key(store_db, records, 1, keep_marker=False)
        report = store.verify()
        assert [(i.kind, i.seq) for i in report.issues] == [("downgrade", 6)]
        assert "nuri audit seal" in report.issues[0].detail
        with pytest.raises(AuditError) as refused:
            store.append(entry(7))
        assert refused.value.message_en and "plain SHA-256" in refused.value.message_en
        with pytest.raises(AuditError):
            store.check_chain()  # the server does not start on it


def test_a_record_signed_with_another_key_is_detected(store_db: StoreDatabase):
    with open_store(store_db) as store:
        fill(store, 3)
    with open_store(store_db, key=OTHER_KEY) as other:
        assert [k for k, _ in issues(other)] == ["edited", "edited", "edited"]


# -- checkpoints --------------------------------------------------------------------------------


def test_a_forged_checkpoint_with_the_records_before_it_deleted_is_detected(store_db: StoreDatabase):
    with open_store(store_db) as store:
        records = fill(store, 10)
        fifth = records[4]
        store_db.execute(
            ("INSERT INTO audit_checkpoints (seq, hash, ts, pruned_at, deleted) VALUES (?, ?, ?, ?, ?)",
             (5, fifth.hash, fifth.ts, fifth.ts, 5)),
            ("DELETE FROM audit_records WHERE seq <= 5", ()),
        )  # fmt: skip
        report = store.verify()
        assert not report.ok and report.checkpoint_seq == 5
        assert [(i.kind, i.seq) for i in report.issues] == [("checkpoint", 5)]
        assert "audit.prune" in report.issues[0].detail
        with pytest.raises(AuditIntegrityError) as e:  # a prune would launder it behind a real checkpoint
            store.prune(datetime(2030, 1, 1, tzinfo=UTC))
        assert [(i.kind, i.seq) for i in e.value.issues] == [("checkpoint", 5)]


def test_a_real_prune_leaves_a_checkpoint_its_keyed_prune_record_vouches_for(store_db: StoreDatabase):
    clock = Clock(datetime(2026, 10, 1, tzinfo=UTC))
    with open_store(store_db, clock=clock) as store:
        fill(store, 10)
        cutoff = clock.now - timedelta(minutes=3)  # record i is at 00:0i: 7-10 are kept
        report = store.prune(cutoff, actor="test")
        assert (report.first_seq, report.last_seq) == (1, 6)
        prune_record = list(store.records())[-1]
        assert prune_record.endpoint == "audit.prune" and prune_record.chain == CHAIN_HMAC
        verified = store.verify()
        assert verified.ok and verified.checkpoint_seq == 6, verified.issues
        fill(store, 3, start=12)  # seq 12-14; the prune record is seq 11
        second = store.prune(clock.now - timedelta(minutes=2))
        assert (second.first_seq, second.last_seq) == (7, 11)  # the first prune record goes too
        verified = store.verify()
        assert verified.ok and verified.checkpoint_seq == 11, verified.issues
        # the checkpoint changed in the database: no keyed prune record vouches for it any more
        store_db.execute(("UPDATE audit_checkpoints SET hash = ? WHERE seq = 11", ("f" * 64,)))
        assert {("checkpoint", 11), ("link", 12)} <= set(issues(store))


# -- without the key ----------------------------------------------------------------------------


def test_verify_without_the_key_says_it_cannot_verify_the_keyed_records(store_db: StoreDatabase):
    with open_store(store_db, key=None) as store:
        fill(store, 3)  # plain, written before the key
    with open_store(store_db) as keyed:
        keyed.seal(actor="test")
        fill(keyed, 4, start=4)
    with open_store(store_db, key=None) as store:
        report = store.verify()
        assert not report.ok and report.unverifiable == 5 and not report.keyed
        assert [(i.kind, i.seq, i.until_seq) for i in report.issues] == [("unverifiable", 4, 8)]
        assert "검사할 수 없습니다" in report.issues[0].detail and "cannot verify" in report.issues[0].detail
        with pytest.raises(AuditError, match="NURI_AUDIT__CHAIN_KEY"):
            store.append(entry(9))  # a plain record after keyed ones would be a downgrade
        # what it can check, it still checks: a deleted plain record is reported as well
        store_db.execute(("DELETE FROM audit_records WHERE seq = 2", ()))
        assert [k for k, _ in issues(store)] == ["missing", "unverifiable"]


def test_nuri_audit_verify_without_the_key_prints_cannot_verify_and_fails(
    store_db: StoreDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    import assistant.cli
    from assistant import admin_cli

    monkeypatch.setenv("NURI_HOME", str(tmp_path))
    monkeypatch.setenv("NURI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NURI_AUDIT__URL", store_db.url)
    monkeypatch.setattr(assistant.cli, "_plugins", admin_cli.register)
    with open_store(store_db) as store:
        fill(store, 2)
    monkeypatch.delenv("NURI_AUDIT__CHAIN_KEY", raising=False)
    assert assistant.cli.main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "감사 기록을 검사할 수 없습니다" in err and "NURI_AUDIT__CHAIN_KEY" in err and "seq 1–2" in err
    assert assistant.cli.main(["audit", "verify", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["unverifiable"] == 2
    monkeypatch.setenv("NURI_AUDIT__CHAIN_KEY", KEY)
    assert assistant.cli.main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("감사 기록 2건 무결성 확인 (키 서명 체인: seq 1부터)")
    assert assistant.cli.main(["audit", "seal"]) == 0  # keyed from genesis: nothing to seal
    assert "이미 키 서명 체인" in capsys.readouterr().out


def test_nuri_audit_seal_switches_a_plain_trail_to_the_keyed_chain(
    store_db: StoreDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    import assistant.cli
    from assistant import admin_cli

    monkeypatch.setenv("NURI_HOME", str(tmp_path))
    monkeypatch.setenv("NURI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NURI_AUDIT__URL", store_db.url)
    monkeypatch.setattr(assistant.cli, "_plugins", admin_cli.register)
    with open_store(store_db, key=None) as store:
        fill(store, 3)
    monkeypatch.setenv("NURI_AUDIT__CHAIN_KEY", KEY)
    assert assistant.cli.main(["audit", "verify"]) == 1  # key set, not sealed yet: said so
    assert "nuri audit seal" in capsys.readouterr().err
    assert assistant.cli.main(["audit", "seal"]) == 0
    assert "seq 4부터 HMAC-SHA256" in capsys.readouterr().out
    assert assistant.cli.main(["audit", "verify"]) == 0
    assert "키 서명 체인: seq 4부터" in capsys.readouterr().out


# -- a trail written before the key -------------------------------------------------------------


def test_a_plain_trail_verifies_once_the_key_is_configured_and_keyed_records_follow_the_seal(
    store_db: StoreDatabase,
):
    with open_store(store_db, key=None) as store:
        plain = fill(store, 5)
    with open_store(store_db) as store:
        assert store.verify().issues[-1].kind == "downgrade"  # configured, not sealed yet: said so
        with pytest.raises(AuditError, match="nuri audit seal"):
            store.append(entry(6))  # keyed records do not follow plain ones without the seal
        seal = store.seal(actor="test")
        assert seal is not None and seal.seq == 6 and seal.prev_hash == plain[-1].hash and seal.chain == CHAIN_HMAC
        assert store.seal() is None  # once
        fill(store, 3, start=7)
        report = store.verify()
        assert report.ok and report.keyed and report.keyed_from_seq == 6 and report.records == 9, report.issues
        # the plain part is covered by the keyed seal: rewriting it consistently breaks the seal's link
        rewrite_tail_without_the_key(store_db, plain, 3, keep_marker=True, move_head=False)
        assert ("link", 6) in issues(store)


def test_sealing_refuses_a_plain_trail_that_does_not_verify(store_db: StoreDatabase):
    with open_store(store_db, key=None) as store:
        fill(store, 4)
    store_db.execute(("DELETE FROM audit_records WHERE seq = 2", ()))
    with open_store(store_db) as store, pytest.raises(AuditIntegrityError) as e:
        store.seal()
    assert [(i.kind, i.seq) for i in e.value.issues] == [("missing", 2)]


def test_a_short_chain_key_is_refused(store_db: StoreDatabase):
    with pytest.raises(AuditError, match="32"):
        AuditStore(store_db.url, chain_key="short")


# -- production: the key is required ------------------------------------------------------------


def test_the_server_does_not_start_without_the_chain_key_when_it_is_required(tmp_path: Path):
    from assistant.service import NuriService

    settings = make_settings(tmp_path, audit={"require_chain_key": True})
    with pytest.raises(AuditError) as e:
        NuriService(settings, start_model=False)._open_state()
    assert "NURI_AUDIT__CHAIN_KEY" in str(e.value) and "감사 체인 키" in str(e.value)
    assert e.value.message_en and "NURI_AUDIT__CHAIN_KEY" in e.value.message_en
    keyed = make_settings(tmp_path, audit={"require_chain_key": True, "chain_key": KEY})
    service = NuriService(keyed, start_model=False)
    service._open_state()
    assert service.audit is not None and service.audit.keyed
    service.audit.close()
    if service.keys is not None:
        service.keys.close()


# -- PostgreSQL roles (deploy/postgres/audit_roles.sql) -----------------------------------------


def test_the_api_role_appends_but_cannot_update_or_delete_audit_records(postgres_server: PostgresServer):
    import psycopg

    owner_url = postgres_server.create_database()
    name = owner_url.rsplit("/", 1)[1]
    day_one = Clock(datetime(2026, 12, 1, tzinfo=UTC))
    with AuditStore(owner_url, chain_key=KEY, clock=day_one) as owner:  # the tables' owner creates them
        fill(owner, 3)
    with postgres_server.connect(name) as conn:
        conn.execute(ROLES_SQL.read_text(encoding="utf-8"))
        conn.execute(ROLES_SQL.read_text(encoding="utf-8"))  # idempotent
        conn.execute("ALTER ROLE nuri_audit_writer LOGIN")
        conn.execute("ALTER ROLE nuri_audit_maint LOGIN")
    writer_url = owner_url.replace("://nuri@", "://nuri_audit_writer@")
    with AuditStore(writer_url, chain_key=KEY, clock=Clock(datetime(2026, 12, 2, tzinfo=UTC))) as api:
        api.ensure_writable()
        fill(api, 2, start=4)  # appends work
        assert api.verify().ok
        with pytest.raises(AuditError):  # no DELETE, no checkpoint of its own: the API cannot prune
            api.prune(datetime(2030, 1, 1, tzinfo=UTC))
    as_writer = dict(host="127.0.0.1", port=postgres_server.port, user="nuri_audit_writer", dbname=name,
                     autocommit=True)  # fmt: skip
    refused = [
        "UPDATE audit_records SET payload = payload WHERE seq = 2",
        "DELETE FROM audit_records WHERE seq = 5",
        "TRUNCATE audit_records",
        "UPDATE audit_head SET seq = 3",
        "DELETE FROM audit_checkpoints",
        "INSERT INTO audit_checkpoints (seq, hash, ts, pruned_at, deleted) VALUES (3, 'h', 't', 't', 3)",
    ]
    with psycopg.connect(**as_writer) as conn:
        for sql in refused:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
    with postgres_server.connect(name) as conn:  # even the owner: triggers, not only grants
        for sql in ("UPDATE audit_records SET agency = '가짜청' WHERE seq = 2", "DELETE FROM audit_records WHERE seq = 5",
                    "UPDATE audit_head SET seq = 4", "INSERT INTO audit_records (seq, ts, request_id, endpoint, "
                    "refused, payload, prev_hash, hash) VALUES (9, 't', 'r', '/', FALSE, '{}', 'p', 'h')"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
    maint_url = owner_url.replace("://nuri@", "://nuri_audit_maint@")
    with AuditStore(maint_url, chain_key=KEY, clock=Clock(datetime(2026, 12, 3, tzinfo=UTC))) as maint:
        report = maint.prune(datetime(2026, 12, 2, tzinfo=UTC), actor="cron")  # records 1-3 (12-01)
        assert (report.first_seq, report.last_seq) == (1, 3)
        verified = maint.verify()
        assert verified.ok and verified.checkpoint_seq == 3 and verified.records == 3, verified.issues


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_an_export_of_a_keyed_chain_re_verifies_with_the_key_only(tmp_path: Path, fmt: str):
    import io

    from guardrails.audit import read_records

    with AuditStore(f"sqlite:///{tmp_path / 'audit.db'}", chain_key=KEY) as store:
        fill(store, 3)
        out = io.StringIO()
        assert store.export(None, None, fmt, out) == 3
    back = read_records(io.StringIO(out.getvalue()), fmt)
    assert [r.chain for r in back] == [CHAIN_HMAC] * 3
    assert all(record_hash(r.prev_hash, r.payload(), KEY.encode()) == r.hash for r in back)
    assert not any(record_hash(r.prev_hash, r.payload()) == r.hash for r in back)


# -- signed head checkpoints outside the database (audit.checkpoint_file) ------------------------


def delete_newest_and_move_the_head_back(db: StoreDatabase, records: list[AuditRecord], keep: int) -> None:
    """What someone who can write the database but lacks the key can still do consistently: delete
    the newest records and point the head at the last one kept (``keep`` = 0: empty the trail)."""
    head = (records[keep - 1].seq, records[keep - 1].hash) if keep else (0, GENESIS)
    db.execute(
        ("DELETE FROM audit_records WHERE seq > ?", (head[0],)),
        ("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", head),
    )


def checkpoint_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_a_checkpoint_line_is_the_head_signed_with_the_key_and_appended(store_db: StoreDatabase, tmp_path: Path):
    from guardrails.audit import HeadCheckpoint, checkpoint_mac

    sink = tmp_path / "worm" / "audit-head.jsonl"
    with open_store(store_db, checkpoint_file=sink) as store:
        fill(store, 3)
        first = store.write_checkpoint()
        before = sink.read_bytes()
        records = fill(store, 2, start=4)
        second = store.write_checkpoint()
    assert (first.seq, second.seq, second.hash) == (3, 5, records[-1].hash)
    assert sink.read_bytes().startswith(before), "a checkpoint never rewrites what the file holds"
    lines = checkpoint_lines(sink)
    assert [set(line) for line in lines] == [{"seq", "hash", "at", "scheme", "mac"}] * 2
    assert lines[1]["scheme"] == "hmac-sha256"
    assert lines[1]["mac"] == checkpoint_mac(HeadCheckpoint.model_validate(lines[1]), KEY.encode())
    assert lines[1]["mac"] != checkpoint_mac(HeadCheckpoint.model_validate(lines[1]), OTHER_KEY.encode())


def test_records_deleted_with_the_head_moved_back_pass_the_chain_but_the_checkpoints_say_truncated(
    store_db: StoreDatabase, tmp_path: Path
):
    sink = tmp_path / "audit-head.jsonl"
    with open_store(store_db, checkpoint_file=sink) as store:
        records = fill(store, 10)
        store.write_checkpoint()  # seq 10
        delete_newest_and_move_the_head_back(store_db, records, keep=6)
        assert store.verify(checkpoints=tmp_path / "none.jsonl").issues[0].kind == "checkpoint_file"
        plain = AuditStore(store_db.url, chain_key=KEY)
        assert plain.verify().ok, "the database alone cannot show it"
        plain.close()
        report = store.verify()
        assert not report.ok and report.head_seq == 6 and report.checkpoints == 1
        assert [(i.kind, i.seq, i.until_seq, i.line_no) for i in report.issues] == [("truncated", 7, 10, 1)]
        assert "체인 끝(seq 6)" in report.issues[0].detail and "head moved back" in report.issues[0].detail
        # the whole trail emptied: the same
        delete_newest_and_move_the_head_back(store_db, records, keep=0)
        assert [(i.kind, i.seq, i.until_seq) for i in store.verify().issues] == [("truncated", 1, 10)]


def test_a_checkpoint_after_the_head_moved_back_shows_when_it_moved(store_db: StoreDatabase, tmp_path: Path):
    sink = tmp_path / "audit-head.jsonl"
    with open_store(store_db, checkpoint_file=sink) as store:
        records = fill(store, 8)
        store.write_checkpoint()  # seq 8
        delete_newest_and_move_the_head_back(store_db, records, keep=5)
        store.write_checkpoint()  # seq 5: the head went back in between
        kinds = [(i.kind, i.seq, i.until_seq, i.line_no) for i in store.verify().issues]
        assert kinds == [("truncated", 6, 8, 1), ("truncated", 6, 8, 2)]


def test_records_deleted_and_replaced_at_a_checkpointed_seq_are_reported_rewritten(
    store_db: StoreDatabase, tmp_path: Path
):
    """The newest records deleted, the head moved back, then new records appended by the API (with
    the key): the chain is whole and keyed again, but the checkpointed record is another one."""
    sink = tmp_path / "audit-head.jsonl"
    with open_store(store_db, checkpoint_file=sink) as store:
        records = fill(store, 8)
        store.write_checkpoint()  # seq 8
        delete_newest_and_move_the_head_back(store_db, records, keep=5)
        fill(store, 5, start=100)  # seq 6-10, different records
        assert store.verify(checkpoints=tmp_path / "elsewhere.jsonl").issues[0].kind == "checkpoint_file"
        report = store.verify()
        assert [(i.kind, i.seq, i.line_no) for i in report.issues] == [("rewritten", 8, 1)]
        assert "체크포인트" in report.issues[0].detail and "rewritten or replaced" in report.issues[0].detail


def test_a_plain_tail_rewritten_consistently_is_caught_by_an_unsigned_checkpoint(
    store_db: StoreDatabase, tmp_path: Path
):
    """Without the key the lines are unsigned hints: still, a file out of the writer's reach shows
    the rewrite that the plain chain cannot (test_a_plain_chain_cannot_see_a_consistent_tail_rewrite)."""
    sink = tmp_path / "audit-head.jsonl"
    with open_store(store_db, key=None, checkpoint_file=sink) as store:
        records = fill(store, 8)
        line = store.write_checkpoint()
        assert (line.scheme, line.mac) == ("unsigned", None)
        assert checkpoint_lines(sink)[0]["mac"] is None
        rewrite_tail_without_the_key(store_db, records, 5, keep_marker=True)
        report = store.verify()
        assert [(i.kind, i.seq) for i in report.issues] == [("rewritten", 8)]
        assert "unsigned" in report.issues[0].detail


def test_a_forged_line_appended_to_the_checkpoint_file_is_reported(store_db: StoreDatabase, tmp_path: Path):
    from guardrails.audit import HeadCheckpoint, checkpoint_mac

    sink = tmp_path / "audit-head.jsonl"
    with open_store(store_db, checkpoint_file=sink) as store:
        fill(store, 4)
        store.write_checkpoint()
        assert store.verify().ok
        forged = HeadCheckpoint(seq=2, hash="e" * 64, at="2026-12-02T00:00:00.000000+00:00", scheme="hmac-sha256",
                                mac="0" * 64)  # fmt: skip
        with_other_key = forged.model_copy(update={"seq": 3, "mac": checkpoint_mac(forged, OTHER_KEY.encode())})
        unsigned = HeadCheckpoint(seq=1, hash="e" * 64, at=forged.at, scheme="unsigned", mac=None)
        with sink.open("a", encoding="utf-8") as f:
            f.write(forged.line() + with_other_key.line() + unsigned.line() + "{not json\n")
        report = store.verify()
        assert [(i.kind, i.line_no) for i in report.issues] == [
            ("forged", 2), ("forged", 3), ("forged", 4), ("checkpoint_file", 5),
        ]  # fmt: skip
        assert "위조" in report.issues[0].detail and "does not verify" in report.issues[0].detail
        assert "unsigned checkpoint line after signed" in report.issues[2].detail
        assert report.checkpoints_signed == 1  # a forged line says nothing: no truncated, no rewritten


def test_verify_without_the_key_says_it_cannot_check_the_checkpoint_signatures(store_db: StoreDatabase, tmp_path: Path):
    sink = tmp_path / "audit-head.jsonl"
    with open_store(store_db, checkpoint_file=sink) as store:
        fill(store, 2)
        store.write_checkpoint()
    with open_store(store_db, key=None, checkpoint_file=sink) as store:
        report = store.verify()
        assert [(i.kind, i.line_no) for i in report.issues] == [("unverifiable", None), ("unverifiable", 1)]
        assert "cannot verify the checkpoint lines' MACs" in report.issues[1].detail
        with pytest.raises(AuditError, match="NURI_AUDIT__CHAIN_KEY"):
            store.write_checkpoint()  # a keyed chain's checkpoints are signed, or not written
    assert len(checkpoint_lines(sink)) == 1


def test_a_head_that_does_not_verify_is_not_checkpointed(store_db: StoreDatabase, tmp_path: Path):
    sink = tmp_path / "audit-head.jsonl"
    with open_store(store_db, checkpoint_file=sink) as store:
        records = fill(store, 5)
        rewrite_tail_without_the_key(store_db, records, 5, keep_marker=True)
        with pytest.raises(AuditIntegrityError) as e:
            store.write_checkpoint()
        assert [(i.kind, i.seq) for i in e.value.issues] == [("edited", 5)]
    assert not sink.exists()


def test_append_checkpoint_append_checkpoint_prune_verifies_clean(store_db: StoreDatabase, tmp_path: Path):
    sink = tmp_path / "audit-head.jsonl"
    clock = Clock(datetime(2026, 10, 1, tzinfo=UTC))
    with open_store(store_db, clock=clock, checkpoint_file=sink) as store:
        fill(store, 5)
        store.write_checkpoint()  # seq 5
        fill(store, 5, start=6)
        store.write_checkpoint()  # seq 10
        report = store.prune(datetime(2026, 10, 1, 0, 9, tzinfo=UTC))  # records 1-7 (00:01-00:07)
        assert (report.first_seq, report.last_seq) == (1, 7)
        store.write_checkpoint()  # seq 11: the prune record
        verified = store.verify()
        assert verified.ok, verified.issues
        assert (verified.checkpoints, verified.checkpoints_signed, verified.last_checkpoint_seq) == (3, 3, 11)
        assert verified.checkpoint_seq == 7 and verified.checkpoint_file == str(sink)
        second = store.prune(clock.now + timedelta(hours=1))  # 8-11: the checkpoint is now seq 11
        assert second.last_seq == 11
        fill(store, 2, start=20)
        store.write_checkpoint()
        verified = store.verify()
        assert verified.ok and verified.checkpoint_seq == 11 and verified.checkpoints == 4, verified.issues
        # the pruned checkpoint's hash is still compared: a line that disagrees with it is reported
        with sink.open("a", encoding="utf-8") as f:
            from guardrails.audit import HeadCheckpoint, checkpoint_mac

            wrong = HeadCheckpoint(seq=11, hash="d" * 64, at=clock.now.isoformat(), scheme="hmac-sha256", mac="0" * 64)
            f.write(wrong.model_copy(update={"mac": checkpoint_mac(wrong, KEY.encode())}).line())
        found = [(i.kind, i.seq, i.until_seq) for i in store.verify().issues]
        assert found == [("truncated", 12, 14), ("rewritten", 11, None)]  # behind the line before it, too


def test_a_torn_last_line_is_reported_and_the_next_checkpoint_starts_a_line_of_its_own(
    store_db: StoreDatabase, tmp_path: Path
):
    sink = tmp_path / "audit-head.jsonl"
    with open_store(store_db, checkpoint_file=sink) as store:
        fill(store, 2)
        store.write_checkpoint()
        with sink.open("a", encoding="utf-8") as f:
            f.write('{"seq": 2, "ha')  # a write cut short
        store.write_checkpoint()
        report = store.verify()
        assert [(i.kind, i.line_no) for i in report.issues] == [("checkpoint_file", 2)]
        assert report.checkpoints == 2 and report.checkpoints_signed == 2


def test_nuri_audit_checkpoint_appends_a_signed_line_and_verify_checks_it(
    store_db: StoreDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    import assistant.cli
    from assistant import admin_cli

    monkeypatch.setenv("NURI_HOME", str(tmp_path))
    monkeypatch.setenv("NURI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NURI_AUDIT__URL", store_db.url)
    monkeypatch.setenv("NURI_AUDIT__CHAIN_KEY", KEY)
    monkeypatch.delenv("NURI_AUDIT__CHECKPOINT_FILE", raising=False)
    monkeypatch.setattr(assistant.cli, "_plugins", admin_cli.register)
    with open_store(store_db) as store:
        records = fill(store, 4)
    assert assistant.cli.main(["audit", "checkpoint"]) == 2  # no file: said so, in both languages
    err = capsys.readouterr().err
    assert "NURI_AUDIT__CHECKPOINT_FILE" in err and "--file" in err and "no checkpoint file" in err
    explicit = tmp_path / "sink" / "head.jsonl"
    assert assistant.cli.main(["audit", "checkpoint", "--file", str(explicit)]) == 0
    assert "seq 4" in capsys.readouterr().out
    assert [line["seq"] for line in checkpoint_lines(explicit)] == [4]
    monkeypatch.setenv("NURI_AUDIT__CHECKPOINT_FILE", "{data_dir}/audit-head.jsonl")
    assert assistant.cli.main(["audit", "checkpoint"]) == 0
    configured = tmp_path / "data" / "audit-head.jsonl"
    assert str(configured) in capsys.readouterr().out
    assert checkpoint_lines(configured)[0]["seq"] == 4 and checkpoint_lines(configured)[0]["mac"]
    assert assistant.cli.main(["audit", "verify"]) == 0
    assert "체크포인트 1줄 대조" in capsys.readouterr().out
    delete_newest_and_move_the_head_back(store_db, records, keep=2)
    assert assistant.cli.main(["audit", "verify", "--checkpoints", str(explicit)]) == 1
    err = capsys.readouterr().err
    assert "무결성 오류 1건" in err and "seq 3–4" in err and "체크포인트 1번째 줄" in err and "head moved back" in err
    assert assistant.cli.main(["audit", "verify", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["checkpoint_file"] == str(configured)
    assert [(i["kind"], i["seq"], i["until_seq"]) for i in report["issues"]] == [("truncated", 3, 4)]
