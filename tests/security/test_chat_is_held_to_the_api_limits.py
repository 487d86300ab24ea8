"""Finding 9 (low): the chat bypassed the rate limiter and the admission gates, its sign-in
looked the key up on the event loop, and ``keys.pepper`` was optional in production.

Now a chat answer takes the caller's rate (the same bucket as its API requests) and a place in
the answer gate; the sign-in check runs in a worker thread; the production profile refuses to
open the key store without a pepper (``keys.require_pepper``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from conftest import bearer, issue_key
from gradio_client import Client
from served_api import QUESTION, Served, served_api

from configs.settings import load_settings
from guardrails.keys import KeyStore, KeyStoreError, key_id_of


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder, llamacpp_server) -> Iterator[Served]:
    api = {
        "auth": {"rate_limit": {"burst": 3, "requests_per_minute": 1}},
        "admission": {"answer_concurrency": 1, "queue": 0, "queue_timeout_s": 1.0, "worker_threads": 16},
    }
    root = tmp_path_factory.mktemp("chat-limits")
    with served_api(root, embedder, llamacpp_server.base_url, api=api, keys={"timeout_s": 3.0}) as s:
        yield s


def _chat(url: str, key: str) -> Client:
    return Client(f"{url}/ui", verbose=False, auth=(key_id_of(key) or "", key), download_files=False)


def _ask(client: Client) -> str:
    _, chat, _, notice = client.predict(QUESTION, api_name="/ask")
    return f"{chat[-1]['content']}\n{notice}"


def test_chat_answers_spend_the_callers_rate_with_its_api_requests(served: Served):
    key = issue_key(served.service, agency="나부처", clearance="internal")
    assert httpx.post(f"{served.url}/v1/search", json={"query": QUESTION}, headers=bearer(key), timeout=60).is_success
    client = _chat(served.url, key)
    try:
        first, second, third = (_ask(client) for _ in range(3))
    finally:
        client.close()
    assert "재택근무" in first and "재택근무" in second
    assert "질문이 너무 많았습니다" in third and "재택근무는 주 2일" not in third


def test_a_chat_answer_waits_for_a_place_in_the_answer_gate(served: Served):
    key = issue_key(served.service, agency="나부처", clearance="internal")
    client = _chat(served.url, key)
    try:
        with served.app.state.admission.slot_from_thread("answer"):  # an API answer holds the one place
            busy = _ask(client)
        assert "질문이 많아" in busy and "재택근무는 주 2일" not in busy
        assert "재택근무" in _ask(client)  # the place is free again
    finally:
        client.close()


def test_a_slow_key_store_during_sign_in_does_not_stall_the_server(served: Served):
    key = issue_key(served.service, agency="나부처", clearance="internal")  # never used: its first
    db = served.settings.resolve(served.settings.data_dir) / "nuri.db"  # sign-in writes last_used_at
    lock = sqlite3.connect(db, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # another writer holds the database for 2.5 s
    signing_in = threading.Thread(
        target=lambda: httpx.post(
            f"{served.url}/ui/login", data={"username": key_id_of(key), "password": key}, timeout=30
        ),
        daemon=True,
    )
    try:
        signing_in.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        assert httpx.get(f"{served.url}/healthz", timeout=30).status_code == 200
        assert time.monotonic() - t0 < 1.0  # the event loop is not waiting on the sign-in's lookup
        time.sleep(2.2)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    signing_in.join(timeout=30)


def test_the_production_profile_refuses_a_key_store_without_a_pepper(tmp_path, monkeypatch):
    monkeypatch.setenv("NURI_PROFILE", "production")
    monkeypatch.delenv("NURI_CONFIG", raising=False)
    monkeypatch.delenv("NURI_KEYS__PEPPER", raising=False)
    monkeypatch.setenv("NURI_KEYS__URL", f"sqlite:///{tmp_path}/keys.db")
    settings = load_settings()
    assert settings.keys.require_pepper
    with pytest.raises(KeyStoreError, match="NURI_KEYS__PEPPER"):
        KeyStore.from_settings(settings.keys, tmp_path)
    monkeypatch.setenv("NURI_KEYS__PEPPER", "a-random-pepper-of-32-characters-xx")
    store = KeyStore.from_settings(load_settings().keys, tmp_path)
    store.close()
