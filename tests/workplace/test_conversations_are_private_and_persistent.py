"""Saved conversations: each user's own (another's id is 404, exactly like an unknown one), kept
across restarts on SQLite and PostgreSQL (``store_db``), and through the real API a follow-up
question in a conversation is answered with its earlier turns and saved with its citations and
audit id; export is Markdown with the citations; deleting a folder keeps its conversations."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from conftest import StoreDatabase, bearer, issue_key

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "security"))
from served_api import QUESTION, Served, served_api

from assistant.answers import Answer, Citation
from assistant.conversations import (
    ALL_FOLDERS,
    MAX_TITLE_CHARS,
    ConversationNotFoundError,
    ConversationStore,
)

A, B = "key:aaaaaaaaaaaa", "gateway:user-b"


def _answer(text: str, audit_id: str = "a" * 32, n: int = 1) -> Answer:
    cited = Citation(
        n=n, chunk_id="c1", doc_id="remote.md", title="재택근무 운영 지침", anchor="재택근무 일수",
        location="재택근무 운영 지침 > 재택근무 일수", source="remote.md",
        text="재택근무는 주 2일까지 할 수 있으며 부서장의 승인을 받아야 한다.",
    )  # fmt: skip
    return Answer(answer=text, audit_id=audit_id, citations=[cited])


@pytest.fixture()
def store(store_db: StoreDatabase) -> Iterator[ConversationStore]:
    with ConversationStore(store_db.url, max_turn_chars=50) as s:
        yield s


# -- the store, on SQLite and PostgreSQL --------------------------------------------------------------


def test_a_user_never_sees_another_users_conversation(store: ConversationStore):
    mine = store.create(A, "나부처", "내 대화")
    store.append_turn(A, mine.id, "재택근무는 며칠?", _answer("주 2일입니다 [1]."))
    folder = store.create_folder(A, "내 폴더")
    for attempt in (
        lambda: store.get(B, mine.id),
        lambda: store.summary(B, mine.id),
        lambda: store.rename(B, mine.id, "가로챔"),
        lambda: store.move(B, mine.id, None),
        lambda: store.delete(B, mine.id),
        lambda: store.append_turn(B, mine.id, "끼어들기", _answer("x")),
        lambda: store.history(B, mine.id, 6),
        lambda: store.export_markdown(B, mine.id),
        lambda: store.rename_folder(B, folder.id, "가로챔"),
        lambda: store.delete_folder(B, folder.id),
        lambda: store.create(B, None, "남의 폴더에", folder_id=folder.id),
        lambda: store.list(B, folder_id=folder.id),
        lambda: store.get(A, "0" * 32),
    ):
        with pytest.raises(ConversationNotFoundError) as caught:
            attempt()
        assert caught.value.code == "conversation_not_found"
    theirs = store.create(B, None)
    with pytest.raises(ConversationNotFoundError):
        store.move(B, theirs.id, folder.id)  # into someone else's folder
    assert [c.id for c in store.list(B).items] == [theirs.id]
    assert store.list_folders(B) == []
    kept = store.get(A, mine.id)
    assert kept.title == "내 대화" and kept.folder_id is None and len(kept.messages) == 2
    assert [f.name for f in store.list_folders(A)] == ["내 폴더"]


def test_conversations_survive_a_restart_with_their_citations(store_db: StoreDatabase):
    with ConversationStore(store_db.url) as first:
        folder = first.create_folder(A, "  인사   규정  ")
        conv = first.create(A, "나부처", folder_id=folder.id)
        question = "재택근무는 일주일에 며칠까지 할 수 있고 신청은 어디에 해야 하는지 알려 주세요"
        first.append_turn(A, conv.id, question, _answer("주 2일까지입니다 [1].", audit_id="f" * 32))
        other = first.create(A, "나부처", "다른 대화")
    with ConversationStore(store_db.url) as again:
        got = again.get(A, conv.id)
        assert got.folder_id == folder.id and got.agency == "나부처"
        assert len(got.title) <= 41 and got.title.endswith("…") and question.startswith(got.title[:-1])
        assert got.title[:-1] == " ".join(question.split()[: len(got.title[:-1].split())])  # a word boundary
        user, assistant = got.messages
        assert (user.seq, user.role, user.content) == (1, "user", question)
        assert (assistant.seq, assistant.role, assistant.audit_id, assistant.refused) == (
            2,
            "assistant",
            "f" * 32,
            False,
        )
        assert assistant.citations[0].title == "재택근무 운영 지침" and assistant.citations[0].anchor == "재택근무 일수"
        assert [f.name for f in again.list_folders(A)] == ["인사 규정"]
        # newest updated first; by folder, none, all; by title
        assert [c.id for c in again.list(A).items] == [other.id, conv.id]
        again.rename(A, conv.id, "재택근무 문의")
        assert [c.id for c in again.list(A, ALL_FOLDERS).items] == [conv.id, other.id]
        assert [c.id for c in again.list(A, folder_id=None).items] == [other.id]
        assert [c.id for c in again.list(A, folder_id=folder.id).items] == [conv.id]
        assert [c.id for c in again.list(A, query="재택").items] == [conv.id]
        assert [c.id for c in again.list(A, query="%").items] == []
        page = again.list(A, limit=1, offset=1)
        assert page.total == 2 and [c.id for c in page.items] == [other.id]
        again.move(A, conv.id, None)
        again.delete(A, other.id)
        assert [c.id for c in again.list(A).items] == [conv.id] and again.get(A, conv.id).folder_id is None
        assert again.rename(A, conv.id, "x" * (MAX_TITLE_CHARS + 50)).title == "x" * MAX_TITLE_CHARS


def test_history_is_the_last_turns_without_errors_cut_to_the_turn_limit(store: ConversationStore):
    conv = store.create(A, None)
    store.append_turn(A, conv.id, "첫 질문", _answer("첫 답변"))
    store.append_turn(A, conv.id, "실패한 질문", _answer("⛔ 모델 서버에 연결할 수 없습니다"))
    store.append_turn(A, conv.id, "둘째 질문", _answer("긴 답변 " * 40))
    store.append_turn(A, conv.id, "셋째 질문", _answer("셋째 답변"))
    turns = store.history(A, conv.id, max_turns=2)
    assert [(t.role, t.content) for t in turns] == [
        ("user", "둘째 질문"), ("assistant", ("긴 답변 " * 40)[:50]), ("user", "셋째 질문"), ("assistant", "셋째 답변"),
    ]  # fmt: skip
    assert [t.content for t in store.history(A, conv.id, max_turns=6)][:2] == ["첫 질문", "첫 답변"]
    assert store.history(A, conv.id, max_turns=0) == []


def test_deleting_a_folder_keeps_its_conversations(store: ConversationStore):
    folder = store.create_folder(A, "보관")
    inside = store.create(A, None, "안", folder_id=folder.id)
    store.create_folder(B, "남의 폴더")
    store.delete_folder(A, folder.id)
    assert store.list_folders(A) == []
    assert store.get(A, inside.id).folder_id is None
    assert [c.id for c in store.list(A, folder_id=None).items] == [inside.id]
    assert [f.name for f in store.list_folders(B)] == ["남의 폴더"]


def test_the_markdown_export_has_each_question_answer_and_citation(store: ConversationStore):
    conv = store.create(A, "나부처", "재택근무 문의")
    store.append_turn(A, conv.id, "재택근무는 며칠?", _answer("주 2일까지입니다 [1].", audit_id="e" * 32))
    md = store.export_markdown(A, conv.id)
    assert md.startswith("# 재택근무 문의\n")
    assert "## 질문 1\n\n재택근무는 며칠?" in md and "### 답변\n\n주 2일까지입니다 [1]." in md
    assert "#### 근거 자료" in md
    assert "[1] 재택근무 운영 지침 · 재택근무 운영 지침 > 재택근무 일수" in md
    assert "> 재택근무는 주 2일까지 할 수 있으며 부서장의 승인을 받아야 한다." in md
    assert "e" * 32 in md and "만든 날짜" in md


# -- the API, through the real middleware ---------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder) -> Iterator[Served]:
    api = {"admission": {"answer_concurrency": 1, "queue": 0, "queue_timeout_s": 1.0}}  # one answer at a time
    with served_api(tmp_path_factory.mktemp("conversations"), embedder, ui={"enabled": False}, api=api) as s:
        yield s


def _call(served: Served, method: str, path: str, key: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, f"{served.url}{path}", headers=bearer(key), timeout=60, **kw)


def test_a_follow_up_in_a_conversation_is_answered_with_the_earlier_turns(
    served: Served, monkeypatch: pytest.MonkeyPatch
):
    key = served.keys["user"]
    seen: list[list[tuple[str, str]]] = []
    real_stream = served.service.stream

    def recording_stream(question, history=(), *args: Any, **kwargs: Any):  # what the service was given
        seen.append([(t.role, t.content) for t in history])
        return real_stream(question, history, *args, **kwargs)

    monkeypatch.setattr(served.service, "stream", recording_stream)
    created = _call(served, "POST", "/v1/conversations", key, json={})
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    first = _call(served, "POST", f"/v1/conversations/{cid}/messages", key, json={"question": QUESTION})
    assert first.status_code == 200, first.text
    first_answer = first.json()
    assert "재택근무" in first_answer["answer"] and first_answer["citations"]
    follow_up = "그럼 승인은 누가 하나요?"
    with httpx.stream("POST", f"{served.url}/v1/conversations/{cid}/messages", headers=bearer(key), timeout=60,
                      json={"question": follow_up, "stream": True}) as streamed:  # fmt: skip
        assert streamed.status_code == 200
        body = streamed.read().decode("utf-8")
    assert '"type": "done"' in body and body.rstrip().endswith("data: [DONE]")
    assert seen == [[], [("user", QUESTION), ("assistant", first_answer["answer"])]]

    conv = _call(served, "GET", f"/v1/conversations/{cid}", key).json()
    assert conv["title"] and QUESTION.startswith(conv["title"].rstrip("…"))
    assert [(m["role"], m["content"]) for m in conv["messages"][:3]] == [
        ("user", QUESTION), ("assistant", first_answer["answer"]), ("user", follow_up),
    ]  # fmt: skip
    answers = [m for m in conv["messages"] if m["role"] == "assistant"]
    assert answers[0]["citations"] == first_answer["citations"]
    assert served.service.audit is not None
    for message in answers:
        record = served.service.audit.record(message["audit_id"])
        assert record is not None and record.endpoint == "/v1/conversations/messages"
        assert record.principal_id is not None and record.principal_id.startswith("key:")
    assert served.service.audit.record(answers[1]["audit_id"]).question == follow_up


def test_a_failed_question_saves_nothing(served: Served):
    key = served.keys["user"]
    cid = _call(served, "POST", "/v1/conversations", key, json={"title": "빈 대화"}).json()["id"]
    refused = _call(served, "POST", f"/v1/conversations/{cid}/messages", key, json={"question": "가" * 5000})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_question"
    assert _call(served, "GET", f"/v1/conversations/{cid}", key).json()["messages"] == []


def test_a_user_cannot_read_rename_delete_export_or_append_to_another_users_conversation(served: Served):
    owner = served.keys["user"]
    other = issue_key(served.service, agency="나부처", clearance="internal")
    cid = _call(served, "POST", "/v1/conversations", owner, json={"title": "내 대화"}).json()["id"]
    assert _call(served, "POST", f"/v1/conversations/{cid}/messages", owner, json={"question": QUESTION}).is_success
    folder = _call(served, "POST", "/v1/folders", owner, json={"name": "내 폴더"}).json()["id"]
    attempts = [
        ("GET", f"/v1/conversations/{cid}", None),
        ("PATCH", f"/v1/conversations/{cid}", {"title": "가로챔"}),
        ("DELETE", f"/v1/conversations/{cid}", None),
        ("GET", f"/v1/conversations/{cid}/export", None),
        ("POST", f"/v1/conversations/{cid}/messages", {"question": QUESTION}),
        ("PATCH", f"/v1/folders/{folder}", {"name": "가로챔"}),
        ("DELETE", f"/v1/folders/{folder}", None),
        ("GET", f"/v1/conversations?folder_id={folder}", None),
        ("GET", f"/v1/conversations/{'0' * 32}", None),
    ]
    for method, path, body in attempts:
        r = _call(served, method, path, other, json=body) if body is not None else _call(served, method, path, other)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error"]["code"] == "conversation_not_found"
    theirs = _call(served, "POST", "/v1/conversations", other, json={}).json()["id"]
    moved = _call(served, "PATCH", f"/v1/conversations/{theirs}", other, json={"folder_id": folder})
    assert moved.status_code == 409 and moved.json()["error"]["code"] == "unknown_folder"  # as if it did not exist
    assert cid not in [c["id"] for c in _call(served, "GET", "/v1/conversations", other).json()["items"]]
    mine = _call(served, "GET", f"/v1/conversations/{cid}", owner).json()
    assert mine["title"] == "내 대화" and len(mine["messages"]) == 2
    assert _call(served, "GET", "/v1/conversations", served.keys["user"]).status_code == 200
    assert httpx.get(f"{served.url}/v1/conversations/{cid}", timeout=30).status_code == 401


def test_export_is_markdown_with_the_citations(served: Served):
    key = served.keys["user"]
    cid = _call(served, "POST", "/v1/conversations", key, json={"title": "재택근무/문의: 정리"}).json()["id"]
    answered = _call(served, "POST", f"/v1/conversations/{cid}/messages", key, json={"question": QUESTION}).json()
    r = _call(served, "GET", f"/v1/conversations/{cid}/export", key)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/markdown; charset=utf-8"
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="conversation-')
    utf8_name = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(utf8_name).startswith("재택근무_문의_ 정리-") and unquote(utf8_name).endswith(".md")
    md = r.text
    assert md.startswith("# 재택근무/문의: 정리\n") and f"## 질문 1\n\n{QUESTION}" in md
    cited = answered["citations"][0]
    assert f"[{cited['n']}] {cited['title']} · {cited['location'] or cited['anchor']}" in md
    assert "> 재택근무는 주 2일까지 할 수 있으며" in md


def test_deleting_a_folder_through_the_api_keeps_its_conversations(served: Served):
    key = served.keys["user"]
    folder = _call(served, "POST", "/v1/folders", key, json={"name": "보관함"})
    assert folder.status_code == 201
    fid = folder.json()["id"]
    cid = _call(served, "POST", "/v1/conversations", key, json={"title": "보관할 대화", "folder_id": fid}).json()["id"]
    listed = _call(served, "GET", f"/v1/conversations?folder_id={fid}", key).json()
    assert [c["id"] for c in listed["items"]] == [cid]
    renamed = _call(served, "PATCH", f"/v1/folders/{fid}", key, json={"name": "옛 보관함"})
    assert renamed.json()["name"] == "옛 보관함"
    assert _call(served, "DELETE", f"/v1/folders/{fid}", key).status_code == 204
    assert fid not in [f["id"] for f in _call(served, "GET", "/v1/folders", key).json()]
    kept = _call(served, "GET", f"/v1/conversations/{cid}", key).json()
    assert kept["folder_id"] is None and kept["title"] == "보관할 대화"
    unfiled = _call(served, "GET", "/v1/conversations?folder_id=none", key).json()["items"]
    assert cid in [c["id"] for c in unfiled]
    assert _call(served, "DELETE", f"/v1/conversations/{cid}", key).status_code == 204
    assert _call(served, "GET", f"/v1/conversations/{cid}", key).status_code == 404


def test_bodies_are_validated_at_the_boundary(served: Served):
    key = served.keys["user"]
    for path, body in (
        ("/v1/conversations", {"title": "x" * (MAX_TITLE_CHARS + 1)}),
        ("/v1/conversations", {"unknown": 1}),
        ("/v1/folders", {"name": "x" * 101}),
        ("/v1/folders", {"name": "   "}),
    ):
        r = _call(served, "POST", path, key, json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", (path, body, r.text)


def test_a_question_in_a_conversation_takes_a_place_in_the_answer_gate(served: Served):
    key = issue_key(served.service, agency="나부처", clearance="internal")  # a rate budget of its own
    cid = _call(served, "POST", "/v1/conversations", key, json={}).json()["id"]
    assert _call(served, "POST", f"/v1/conversations/{cid}/messages", key, json={"question": QUESTION}).is_success
    with served.app.state.admission.slot_from_thread("answer"):  # another answer holds the one place
        busy = _call(served, "POST", f"/v1/conversations/{cid}/messages", key, json={"question": QUESTION})
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "overloaded"
    streamed = _call(
        served, "POST", f"/v1/conversations/{cid}/messages", key, json={"question": QUESTION, "stream": True}
    )
    assert streamed.status_code == 200 and "data: [DONE]" in streamed.text
    again = _call(served, "POST", f"/v1/conversations/{cid}/messages", key, json={"question": QUESTION})
    assert again.status_code == 200  # each place was given back
    assert len(_call(served, "GET", f"/v1/conversations/{cid}", key).json()["messages"]) == 6
