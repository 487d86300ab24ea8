"""API keys: issued bound to a principal, stored only as a hash, checked in constant time,
revoked; and ``nuri keys create|list|revoke``. The store's tests run on SQLite and on
PostgreSQL (``store_db``)."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path

import pytest
from conftest import StoreDatabase

from guardrails.keys import KeyNotFoundError, KeyStore
from guardrails.settings import KeySettings
from guardrails.store import database_url


@pytest.fixture()
def db(store_db: StoreDatabase) -> str:
    return store_db.url


@pytest.fixture()
def store(db: str):
    with KeyStore(db) as s:
        yield s


def test_a_created_key_authenticates_as_its_principal(store: KeyStore):
    record, key = store.create("누리행정청", "internal", {"user", "evaluator"}, label="평가 서버")
    assert key.startswith(f"nuri_{record.key_id}_")
    found = store.authenticate(key)
    assert found is not None
    assert (found.key_id, found.agency, found.clearance, found.roles, found.label) == (
        record.key_id, "누리행정청", "internal", frozenset({"user", "evaluator"}), "평가 서버",
    )  # fmt: skip
    assert found.active and found.last_used_at is not None
    other_record, other_key = store.create("한빛데이터원", "public", ["user"])
    assert other_key != key
    assert store.authenticate(other_key).key_id == other_record.key_id


def _flip(ch: str) -> str:
    return "A" if ch != "A" else "B"


def test_wrong_unknown_and_malformed_keys_are_rejected(store: KeyStore):
    record, key = store.create("누리행정청", "public", {"user"})
    secret = key.split("_", 2)[2]
    rejected = [
        key[:-1] + _flip(key[-1]),  # wrong secret
        f"nuri_{'0' * 12}_{secret}",  # unknown key id
        "",
        "nuri",
        key + "x",
        key[:-1],
        " " + key,
        f"Bearer {key}",
        key.upper(),
        f"nuri_{record.key_id}",
        f"nuri_{record.key_id}_",
        f"other_{record.key_id}_{secret}",
        key + "\n",
        "nuri_" + "a" * 10_000,
    ]
    for presented in rejected:
        assert store.authenticate(presented) is None, presented
    assert store.authenticate(key) is not None


def test_a_revoked_key_no_longer_authenticates(store: KeyStore):
    record, key = store.create("누리행정청", "restricted", {"admin"})
    revoked = store.revoke(record.key_id)
    assert not revoked.active and revoked.revoked_at is not None
    assert store.authenticate(key) is None
    assert store.revoke(record.key_id).revoked_at == revoked.revoked_at  # idempotent
    with pytest.raises(KeyNotFoundError):
        store.revoke("0123456789ab")


def test_list_shows_every_key_without_secret_or_hash(store: KeyStore):
    a, key_a = store.create("누리행정청", "public", {"user"}, "a")
    b, _ = store.create("한빛데이터원", "internal", {"admin", "user"}, "b")
    store.revoke(a.key_id)
    listed = store.list()
    assert [r.key_id for r in listed] == [a.key_id, b.key_id]
    assert [r.key_id for r in store.list(include_revoked=False)] == [b.key_id]
    dumped = json.dumps([r.model_dump(mode="json") for r in listed], ensure_ascii=False)
    assert key_a.split("_", 2)[2] not in dumped and "hash" not in dumped
    assert json.loads(dumped)[1]["roles"] == ["admin", "user"]


def test_only_a_hash_of_the_key_is_stored_or_logged(store_db: StoreDatabase, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG, logger="nuri.guardrails.keys")
    with KeyStore(store_db.url) as store:
        record, key = store.create("누리행정청", "internal", {"user"})
        assert store.authenticate(key) is not None
        assert store.authenticate(key[:-1] + _flip(key[-1])) is None
    secret = key.split("_", 2)[2]
    stored = store_db.stored_bytes()
    assert record.key_id.encode() in stored
    assert secret.encode() not in stored and key.encode() not in stored
    assert hashlib.sha256(f"{record.key_id}:{secret}".encode()).hexdigest().encode() in stored
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert record.key_id in logged and secret not in logged


def test_a_peppered_key_needs_the_same_pepper(store_db: StoreDatabase):
    url = store_db.url
    with KeyStore(url, pepper="server-secret") as peppered:
        record, key = peppered.create("누리행정청", "public", {"user"})
        assert peppered.authenticate(key) is not None
    secret = key.split("_", 2)[2]
    assert hashlib.sha256(f"{record.key_id}:{secret}".encode()).hexdigest().encode() not in store_db.stored_bytes()
    with KeyStore(url) as plain, KeyStore(url, pepper="another") as wrong:
        assert plain.authenticate(key) is None
        assert wrong.authenticate(key) is None


@pytest.mark.parametrize(
    ("agency", "clearance", "roles"),
    [
        ("누리행정청", "secret", {"user"}),
        ("누리행정청", "public", {"root"}),
        ("  ", "public", {"user"}),
        ("누리행정청", "public", set()),
    ],  # fmt: skip
)
def test_an_invalid_principal_is_refused(store: KeyStore, agency: str, clearance: str, roles: set[str]):
    with pytest.raises(ValueError):
        store.create(agency, clearance, roles)
    assert store.list() == []


def test_last_use_is_recorded_at_most_once_per_interval(db: str):
    with KeyStore(db, last_used_resolution_s=3600) as store:
        record, key = store.create("누리행정청", "public", {"user"})
        first = store.authenticate(key)
        second = store.authenticate(key)
        assert first is not None and second is not None
        assert first.last_used_at == second.last_used_at == store.get(record.key_id).last_used_at


def test_threads_and_two_stores_on_one_database_share_the_keys(db: str):
    with KeyStore(db) as one, KeyStore(db, last_used_resolution_s=0) as two:
        made: list[tuple[str, str]] = []
        lock = threading.Lock()

        def work(n: int) -> None:
            for i in range(10):
                rec, key = one.create(f"기관{n}", "public", {"user"}, f"{n}-{i}")
                assert two.authenticate(key) is not None
                with lock:
                    made.append((rec.key_id, key))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len({k for k, _ in made}) == 40
        assert all(one.authenticate(key).key_id == key_id for key_id, key in made)


def test_the_default_url_is_a_sqlite_file_in_the_data_folder(tmp_path: Path):
    url = KeySettings().url
    assert database_url(url, tmp_path / "data") == f"sqlite:///{tmp_path}/data/nuri.db"
    assert database_url(url, Path("data"), home=tmp_path) == f"sqlite:///{tmp_path}/data/nuri.db"
    relative = database_url("sqlite:///var/keys.db", Path("data"), home=tmp_path)
    assert relative == f"sqlite:///{tmp_path}/var/keys.db"
    server = "postgresql+psycopg://nuri:pw@db.internal/nuri"
    assert database_url(server, Path("data"), home=tmp_path) == server


# -- nuri keys ---------------------------------------------------------------------------


@pytest.fixture()
def nuri(tmp_path: Path, store_db: StoreDatabase, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``nuri …`` in this process, with ``nuri keys``/``nuri audit`` plugged in and the data
    folder under ``tmp_path``: returns (exit status, stdout, stderr). The key store is the
    default SQLite file of the data folder (``store_db``'s), or ``store_db``'s PostgreSQL
    database through ``NURI_KEYS__URL``."""
    import assistant.cli
    from assistant import admin_cli

    monkeypatch.setenv("NURI_HOME", str(tmp_path))
    monkeypatch.setenv("NURI_DATA_DIR", str(tmp_path / "data"))
    if store_db.backend != "sqlite":
        monkeypatch.setenv("NURI_KEYS__URL", store_db.url)
    monkeypatch.setattr(assistant.cli, "_plugins", admin_cli.register)

    def run(*args: str) -> tuple[int, str, str]:
        code = assistant.cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_keys_create_prints_the_key_last_and_it_authenticates(nuri, store_db: StoreDatabase):
    code, out, err = nuri("keys", "create", "--agency", "누리행정청", "--clearance", "internal",
                          "--role", "user", "--role", "evaluator", "--label", "평가")  # fmt: skip
    assert code == 0, err
    lines = out.strip().splitlines()
    key = lines[-1]
    assert len(lines) > 1 and key.startswith("nuri_")
    with KeyStore(store_db.url) as store:
        record = store.authenticate(key)
    assert record is not None and record.roles == frozenset({"user", "evaluator"}) and record.label == "평가"
    assert record.key_id in lines[0]


def test_keys_list_and_revoke(nuri):
    key = (
        nuri("keys", "create", "--agency", "누리행정청", "--clearance", "public", "--role", "user")[1]
        .strip()
        .splitlines()[-1]
    )
    key_id = key.split("_")[1]
    code, out, _ = nuri("keys", "list", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [k["key_id"] for k in listed] == [key_id] and listed[0]["revoked_at"] is None
    assert key.split("_", 2)[2] not in out
    assert key_id in nuri("keys", "list")[1]

    code, out, _ = nuri("keys", "revoke", key_id)
    assert code == 0 and key_id in out
    assert json.loads(nuri("keys", "list", "--json")[1])[0]["revoked_at"] is not None
    assert "이미 폐기" in nuri("keys", "revoke", key_id)[1]
    assert nuri("keys", "list", "--active")[1].startswith("API 키가 없습니다")


def test_keys_errors_are_one_line_and_never_echo_a_key(nuri):
    key = (
        nuri("keys", "create", "--agency", "누리행정청", "--clearance", "public", "--role", "user")[1]
        .strip()
        .splitlines()[-1]
    )
    code, out, err = nuri("keys", "revoke", key)
    assert code == 2 and key.split("_", 2)[2] not in out + err and len(err.strip().splitlines()) == 1
    code, _, err = nuri("keys", "revoke", "0123456789ab")
    assert code == 1 and err.startswith("nuri: 오류:")
    code, _, err = nuri("keys", "create", "--agency", "누리행정청", "--clearance", "secret", "--role", "user")
    assert code == 2 and "Traceback" not in err
    code, _, err = nuri("keys", "create", "--agency", " ", "--clearance", "public", "--role", "user")
    assert code == 2 and "agency" in err
