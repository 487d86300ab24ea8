"""Feedback on answers: taken only for an answer the audit trail recorded as given to the same
caller (anyone else's ``audit_id``, a search's, an unknown one: 404 ``answer_not_found``), one per
answer and caller (given again, replaced), the comment masked before it is stored; evaluators see
their own agency's feedback only. The store on SQLite and PostgreSQL (``store_db``), the API
through the real middleware."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import StoreDatabase, bearer, issue_key

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "security"))
from served_api import QUESTION, Served, served_api

from assistant.callers import Caller
from assistant.feedback import REASONS, AnswerNotFoundError, FeedbackStore
from guardrails.audit import AuditEntry, AuditStore
from retrieval.types import Principal

RRN = "850315-2345671"
ALICE = Caller(Principal(agency="나부처", clearance="internal"), frozenset({"user"}), "key:a11ce0000000")
BOB = Caller(Principal(agency="다른청", clearance="internal"), frozenset({"user"}), "gateway:bob")


def _answered(audit: AuditStore, who: Caller, request_id: str, endpoint: str = "/v1/ask") -> str:
    audit.append(
        AuditEntry(
            request_id=request_id, principal_id=who.subject, agency=who.principal.agency, endpoint=endpoint,
            question="재택근무는 며칠?", answer="주 2일까지입니다 [1].",
            citations=[{"n": 1, "doc_id": "remote.md", "anchor": "재택근무 일수"}],
        )
    )  # fmt: skip
    return request_id


@pytest.fixture()
def stores(store_db: StoreDatabase) -> Iterator[tuple[AuditStore, FeedbackStore]]:
    with AuditStore(store_db.url) as audit, FeedbackStore(store_db.url, audit=audit) as feedback:
        yield audit, feedback


def test_feedback_is_taken_only_for_the_callers_own_answers(stores: tuple[AuditStore, FeedbackStore]):
    audit, feedback = stores
    alices = _answered(audit, ALICE, "1" * 32)
    searched = _answered(audit, ALICE, "2" * 32, endpoint="/v1/search")
    for who, audit_id in ((BOB, alices), (ALICE, searched), (ALICE, "9" * 32), (ALICE, "")):
        with pytest.raises(AnswerNotFoundError) as caught:
            feedback.give(who, audit_id, "down", ["wrong"], "틀렸어요")
        assert caught.value.code == "answer_not_found"
    assert feedback.list() == []
    with pytest.raises(ValueError):
        feedback.give(ALICE, alices, "meh", [], "")
    with pytest.raises(ValueError):
        feedback.give(ALICE, alices, "down", ["not_a_reason"], "")
    given = feedback.give(ALICE, alices, "up", [], "")
    assert (given.audit_id, given.subject, given.agency, given.rating) == (alices, ALICE.subject, "나부처", "up")


def test_feedback_given_again_replaces_the_first(stores: tuple[AuditStore, FeedbackStore]):
    audit, feedback = stores
    answer = _answered(audit, ALICE, "3" * 32)
    first = feedback.give(ALICE, answer, "up", [], "좋아요")
    second = feedback.give(ALICE, answer, "down", ["incomplete", "wrong", "incomplete"], "다시 보니 부족해요")
    assert second.id == first.id and second.created_at == first.created_at and second.updated_at > first.updated_at
    (only,) = feedback.list()
    assert (only.rating, only.reasons, only.comment) == ("down", ["incomplete", "wrong"], "다시 보니 부족해요")


def test_a_comment_is_stored_with_its_personal_data_masked(
    store_db: StoreDatabase, stores: tuple[AuditStore, FeedbackStore]
):
    audit, feedback = stores
    answer = _answered(audit, ALICE, "4" * 32)
    saved = feedback.give(ALICE, answer, "down", ["other"], f"제 주민등록번호 {RRN}로 조회하면 틀려요")
    assert RRN not in saved.comment and "[주민등록번호]" in saved.comment
    assert RRN.encode() not in store_db.stored_bytes().replace(b"\x00", b"")


def test_feedback_is_listed_by_agency_rating_and_time(stores: tuple[AuditStore, FeedbackStore]):
    audit, feedback = stores
    feedback.give(ALICE, _answered(audit, ALICE, "5" * 32), "down", ["wrong"], "")
    feedback.give(BOB, _answered(audit, BOB, "6" * 32), "up", [], "")
    feedback.give(BOB, _answered(audit, BOB, "7" * 32), "down", ["should_refuse"], "")
    assert {f.audit_id for f in feedback.list(agency="나부처")} == {"5" * 32}
    assert {f.audit_id for f in feedback.list(agency="다른청", rating="down")} == {"7" * 32}
    assert len(feedback.list()) == 3
    now = datetime.now(UTC)
    assert len(feedback.list(since=now - timedelta(minutes=5), until=now + timedelta(minutes=5))) == 3
    assert feedback.list(since=now + timedelta(minutes=5)) == []
    assert feedback.list(until=now - timedelta(minutes=5)) == []


def test_every_reason_has_korean_and_english_labels():
    assert set(REASONS) >= {"wrong", "not_grounded", "wrong_citation", "incomplete", "outdated", "should_refuse",
                            "should_answer", "unclear", "other"}  # fmt: skip
    assert all(label.ko and label.en for label in REASONS.values())


# -- the API, through the real middleware ---------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder) -> Iterator[Served]:
    with served_api(tmp_path_factory.mktemp("feedback"), embedder, ui={"enabled": False}) as s:
        yield s


def _call(served: Served, method: str, path: str, key: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, f"{served.url}{path}", headers=bearer(key), timeout=60, **kw)


def _ask(served: Served, key: str) -> str:
    r = _call(served, "POST", "/v1/ask", key, json={"question": QUESTION})
    assert r.status_code == 200, r.text
    return str(r.json()["audit_id"])


def test_feedback_on_someone_elses_answer_is_not_found(served: Served):
    alice = issue_key(served.service, agency="나부처")
    mallory = issue_key(served.service, agency="나부처")
    audit_id = _ask(served, alice)
    r = _call(served, "POST", "/v1/feedback", mallory, json={"audit_id": audit_id, "rating": "down"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "answer_not_found"
    searched = _call(served, "POST", "/v1/search", alice, json={"query": QUESTION})
    assert searched.status_code == 200
    unknown = _call(served, "POST", "/v1/feedback", alice, json={"audit_id": "0" * 32, "rating": "up"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "answer_not_found"
    others = _call(served, "POST", "/v1/conversations", mallory, json={}).json()["id"]
    foreign = _call(served, "POST", "/v1/feedback", alice,
                    json={"audit_id": audit_id, "rating": "up", "conversation_id": others})  # fmt: skip
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "conversation_not_found"
    for bad in ({"audit_id": audit_id, "rating": "meh"}, {"audit_id": audit_id, "rating": "up", "reasons": ["x"]},
                {"audit_id": audit_id, "rating": "up", "comment": "가" * 2001},
                {"audit_id": audit_id, "rating": "up", "extra": 1}):  # fmt: skip
        invalid = _call(served, "POST", "/v1/feedback", alice, json=bad)
        assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "invalid_request"


def test_feedback_given_again_is_replaced_not_duplicated(served: Served):
    alice = issue_key(served.service, agency="나부처")
    audit_id = _ask(served, alice)
    first = _call(served, "POST", "/v1/feedback", alice, json={"audit_id": audit_id, "rating": "up"})
    assert first.status_code == 201, first.text
    second = _call(served, "POST", "/v1/feedback", alice, json={
        "audit_id": audit_id, "rating": "down", "reasons": ["outdated"], "comment": f"주민등록번호 {RRN} 예시가 틀림"})  # fmt: skip
    assert second.status_code == 201 and second.json()["id"] == first.json()["id"]
    assert RRN not in second.json()["comment"]
    listed = _call(served, "GET", "/v1/feedback", served.keys["admin"]).json()
    mine = [f for f in listed if f["audit_id"] == audit_id]
    assert len(mine) == 1 and mine[0]["rating"] == "down" and mine[0]["reasons"] == ["outdated"]


def test_an_evaluator_sees_only_their_own_agencys_feedback(served: Served):
    ours, theirs = issue_key(served.service, agency="나부처"), issue_key(served.service, agency="다른청")
    ours_id, theirs_id = _ask(served, ours), _ask(served, theirs)
    for key, audit_id in ((ours, ours_id), (theirs, theirs_id)):
        given = _call(served, "POST", "/v1/feedback", key, json={"audit_id": audit_id, "rating": "down"})
        assert given.status_code == 201, given.text
    evaluator = issue_key(served.service, agency="나부처", roles=("evaluator",))
    seen = _call(served, "GET", "/v1/feedback", evaluator)
    assert seen.status_code == 200
    assert ours_id in {f["audit_id"] for f in seen.json()} and {f["agency"] for f in seen.json()} == {"나부처"}
    other_agency = _call(served, "GET", "/v1/feedback", evaluator, params={"agency": "다른청"})
    assert other_agency.status_code == 403 and other_agency.json()["error"]["code"] == "forbidden"
    as_user = _call(served, "GET", "/v1/feedback", ours)
    assert as_user.status_code == 403
    admin = served.keys["admin"]
    everyone = {f["audit_id"] for f in _call(served, "GET", "/v1/feedback", admin).json()}
    assert {ours_id, theirs_id} <= everyone
    theirs_only = _call(served, "GET", "/v1/feedback", admin, params={"agency": "다른청", "rating": "down"}).json()
    assert {f["audit_id"] for f in theirs_only} == {theirs_id}
    future = _call(served, "GET", "/v1/feedback", admin, params={"since": "2999-01-01T00:00:00Z"}).json()
    assert future == []
