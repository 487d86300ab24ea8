"""The database under the key store and the audit trail (``guardrails.store``), on SQLite and on
PostgreSQL (``store_db``): stores opened at the same moment on a new database (several workers
starting) all open, and the tables are created once."""

from __future__ import annotations

import threading

from conftest import StoreDatabase
from sqlalchemy import inspect

from guardrails.audit import AuditStore
from guardrails.keys import KeyStore
from guardrails.store import open_engine


def test_stores_opened_at_once_on_a_new_database_all_open(store_db: StoreDatabase):
    stores = (AuditStore, KeyStore) * 4
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def open_store(cls: type[AuditStore] | type[KeyStore]) -> None:
        barrier.wait()
        try:
            cls(store_db.url).close()
        except Exception as e:  # noqa: BLE001 - collected, the test shows them
            errors.append(e)

    threads = [threading.Thread(target=open_store, args=(cls,)) for cls in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    engine = open_engine(store_db.url)
    try:
        assert {"api_keys", "audit_records", "audit_head", "audit_checkpoints"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
    with AuditStore(store_db.url) as audit:
        report = audit.verify()
        assert report.ok and report.head_seq == 0


def test_the_stores_on_the_key_store_database_share_one_connection_pool(store_db: StoreDatabase):
    from assistant.assistants import AssistantStore
    from assistant.conversations import ConversationStore
    from assistant.feedback import FeedbackStore
    from assistant.sync_log import SyncLog

    keys = KeyStore(store_db.url)
    others = [ConversationStore(store_db.url), FeedbackStore(store_db.url), SyncLog(store_db.url),
              AssistantStore(store_db.url)]  # fmt: skip
    assert {id(s.engine) for s in others} == {id(keys.engine)}  # one engine, one pool per process
    for store in others:
        store.close()
    keys.create("가부처", "public", {"user"})  # the others closing left the key store working
    assert len(keys.list()) == 1
    shared = keys.engine
    keys.close()
    reopened = KeyStore(store_db.url)  # the last store closed: a new engine next time
    try:
        assert reopened.engine is not shared and len(reopened.list()) == 1
    finally:
        reopened.close()
