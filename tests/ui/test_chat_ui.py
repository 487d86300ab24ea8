"""The Gradio chat (ui/chat.py), end to end: a FastAPI app with the chat mounted by
``mount_chat``, served by uvicorn on a free port and driven with ``gradio_client`` through the
chat's ``/ask`` endpoint (the same event the 보내기 button runs).

Two servers, one each per module: one whose service was never opened (no index, no model: fast)
for the page itself and the not-ready path, and one on a tiny index of the sample corpus with
the bundled Gemma 3 270M behind the session's llama.cpp server (slow). The model is tiny and writes weak prose, so
the tests check structure (citations, refusal notice, errors), never wording.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import httpx
import pytest
from conftest import SAMPLES, answer_settings, issue_key, serve_app
from fastapi import FastAPI
from gradio_client import Client

from assistant.answers import Citation
from assistant.service import NuriService
from configs.settings import Settings, load_settings
from guardrails.keys import key_id_of
from retrieval.index import NuriIndex
from retrieval.sync import Syncer
from ui.chat import SOURCES_NONE, build_chat, format_sources, mount_chat, turns_from_messages
from ui.texts import TEXTS

# A public document, a second public one, and one restricted to 한빛데이터원 and 누리행정청.
CORPUS = ["remote_work_guideline.md", "foi_request_guide.html", "data_sharing_standard.md"]
CORPUS_TITLES = {"재택근무 운영 지침", "정보공개 청구 처리 안내", "기관 간 데이터 공동활용 운영 기준"}
RESTRICTED_TITLE = "기관 간 데이터 공동활용 운영 기준"

ANSWERED = "재택근무는 일주일에 며칠까지 할 수 있나요?"
OFF_TOPIC = "김치찌개 맛있게 끓이는 방법"
RESTRICTED_QUESTION = "공동활용 데이터 이용 신청은 어떻게 하나요?"
REFUSAL_NOTICE_TEXT = "근거를 찾지 못해 답변하지 않았습니다"
EXAMPLE = "정보공개 청구는 며칠 안에 결정되나요?"


# -- helpers -----------------------------------------------------------------------------------
def serve(app: FastAPI, settings: Settings) -> AbstractContextManager[str]:
    """Run ``app`` (the chat mounted on it) with uvicorn in a thread; yields the base URL."""
    return serve_app(app, app, settings.ui.path)


@contextmanager
def chat_client(url: str, key: str) -> Iterator[Client]:
    """A gradio_client session signed in with an API key (user name: its id; password: the key),
    as a browser signs in on the chat's login form."""
    client = Client(url, verbose=False, auth=(key_id_of(key) or "", key), download_files=False)
    try:
        yield client
    finally:
        client.close()


def text_of(message: dict) -> str:
    """A chat message's text (Gradio 6 sends content as a list of typed parts)."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def ask(client: Client, question: str) -> tuple[list[dict], str, str]:
    """(chat messages, sources markdown, notice markdown) after one question."""
    textbox, chat, sources, notice = client.predict(question, api_name="/ask")
    assert textbox == ""
    return chat, sources, notice


def translated(value: object, language: str = "ko") -> object:
    """A component's text as a browser in ``language`` shows it (fixed texts are i18n keys)."""
    if isinstance(value, dict) and value.get("__type__") == "translation_metadata":
        return TEXTS[value["key"]][0 if language == "ko" else 1]
    if isinstance(value, str) and value.startswith("__i18n__"):
        return TEXTS[json.loads(value[len("__i18n__") :])["key"]][0 if language == "ko" else 1]
    return value


def component_texts(config: dict, language: str = "ko") -> str:
    """Every label, value and placeholder of the page's components, joined, as a browser in
    ``language`` shows them (the fixed texts are Gradio i18n keys: ``ui.texts``)."""
    out = []
    for comp in config["components"]:
        props = comp.get("props", {})
        for key in ("label", "value", "placeholder"):
            value = props.get(key)
            if isinstance(value, dict) and value.get("__type__") == "translation_metadata":
                value = TEXTS[value["key"]][0 if language == "ko" else 1]
            elif isinstance(value, str) and value.startswith("__i18n__"):
                value = TEXTS[json.loads(value[len("__i18n__") :])["key"]][0 if language == "ko" else 1]
            if isinstance(value, str):
                out.append(value)
    return "\n".join(out)


# -- a service that cannot answer (fast) --------------------------------------------------------
@pytest.fixture(scope="module")
def unready(tmp_path_factory) -> Iterator[tuple[Settings, str, str]]:
    root = tmp_path_factory.mktemp("ui-unready")
    settings = load_settings(index_dir=root / "index", data_dir=root / "data").override(ui={"examples": [EXAMPLE]})
    service = NuriService(settings, start_model=False).open()  # no index, so no model either: not ready
    key = issue_key(service)
    app = FastAPI()
    mount_chat(app, service, settings)
    try:
        with serve(app, settings) as base:
            yield settings, base + settings.ui.path, key
    finally:
        service.close()


# -- the real thing: sample corpus + bundled model (slow) ---------------------------------------
@pytest.fixture(scope="module")
def live(tmp_path_factory, embedder, llamacpp_server) -> Iterator[tuple[Settings, str, dict[str, str]]]:
    root = tmp_path_factory.mktemp("ui-live")
    settings = answer_settings(
        llamacpp_server.base_url,
        index_dir=root / "index",
        llm={"mode": "completion", "max_tokens": 160},  # structure, not prose: keep answers short
        answer={"rewrite": "concat"},  # follow-ups without an extra model call
        ui={"examples": []},
    )
    index = NuriIndex.open(settings.retrieval, settings.index_dir, create=True, embedder=embedder)
    service = None
    try:
        report = Syncer(index, settings.connectors, progress=False).sync([SAMPLES / n for n in CORPUS])
        assert report.added == len(CORPUS) and not report.failed
        service = NuriService(settings, index=index).open()
        assert service.not_ready_reason is None
        keys = {
            "public": issue_key(service, agency="다른부처", clearance="public"),
            "hanbit": issue_key(service, agency="한빛데이터원", clearance="restricted"),
            "hanbit_internal": issue_key(service, agency="한빛데이터원", clearance="internal"),
        }
        app = FastAPI()
        mount_chat(app, service, settings)
        with serve(app, settings) as base:
            yield settings, base + settings.ui.path, keys
    finally:
        if service is not None:
            service.close()
        index.close()


@pytest.mark.parametrize("server", ["unready", pytest.param("live", marks=pytest.mark.slow)])
def test_page_loads_with_korean_title_and_labels_after_signing_in_with_a_key(server, request):
    settings, url, keys = request.getfixturevalue(server)
    key = keys if isinstance(keys, str) else keys["public"]
    page = httpx.get(url, follow_redirects=True, timeout=30)
    assert page.status_code == 200
    with chat_client(url, key) as client:
        config = client.config
    assert config["title"] == settings.ui.title
    texts = component_texts(config)
    for label in (settings.ui.title, "질문을 입력하세요", "보내기", "새 대화", "근거 자료", "저장된 대화"):
        assert label in texts
    english = component_texts(config, "en")  # the page's language switch (Gradio's settings panel)
    for label in ("Type your question", "Send", "New chat", "Sources", "Saved chats"):
        assert label in english
    assert "ask" in {dep.get("api_name") for dep in config["dependencies"]}


def test_the_chat_needs_a_valid_key(unready):
    _, url, key = unready
    assert httpx.get(f"{url}/config", timeout=30).status_code == 401  # nothing without signing in
    for user, password in ((key_id_of(key) or "", key + "x"), ("someone", key), ("", "")):
        with pytest.raises(Exception, match="(?i)login|auth|credential"):
            Client(url, verbose=False, auth=(user, password), download_files=False)


def test_examples_are_shown_when_configured(unready):
    settings, url, key = unready
    with chat_client(url, key) as client:
        config = client.config
    datasets = [c for c in config["components"] if c["type"] == "dataset"]
    assert len(datasets) == 1
    assert [EXAMPLE] in datasets[0]["props"]["samples"]


def test_no_examples_without_configured_ones(tmp_path):
    settings = load_settings(index_dir=tmp_path / "index").override(ui={"examples": []})
    blocks = build_chat(NuriService(settings, start_model=False), settings)
    assert not [c for c in blocks.get_config_file()["components"] if c["type"] == "dataset"]


def test_not_ready_service_gives_a_korean_message_not_a_traceback(unready):
    _, url, key = unready
    with chat_client(url, key) as client:
        chat, sources, notice = ask(client, ANSWERED)
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert text_of(chat[0]) == ANSWERED
    reply = text_of(chat[1])
    assert "지금은 답변할 수 없습니다" in reply and "색인" in reply
    assert "지금은 답변할 수 없습니다" in notice
    assert sources == SOURCES_NONE
    assert "Traceback" not in reply + notice


def test_blank_question_only_asks_for_one(unready):
    _, url, key = unready
    with chat_client(url, key) as client:
        chat, _, notice = ask(client, "   ")
    assert chat == []
    assert "질문을 입력하세요" in notice


def test_sources_panel_lists_number_title_location_passage_and_source_by_name():
    citations = [
        Citation(
            n=2,
            doc_id="b",
            title="정보공개 청구 처리 안내",
            anchor="2. 처리 기한",
            source="/srv/docs/foi.html",
            text="청구를 받은 날부터\n10일 이내에 결정한다.",
        ),
        Citation(
            n=1,
            doc_id="a",
            title="재택근무 운영 지침",
            anchor="3. 재택근무 일수",
            source="https://intra.example/rw",
            text="주 2일 이내로 한다.",
        ),
    ]
    md = format_sources(citations)
    assert md.index("**[1] 재택근무 운영 지침 · 3. 재택근무 일수**") < md.index(
        "**[2] 정보공개 청구 처리 안내 · 2. 처리 기한**"
    )
    assert "> 청구를 받은 날부터\n> 10일 이내에 결정한다." in md
    assert "출처: foi.html" in md and "/srv/docs" not in md  # a file by its name, never its folder on the server
    assert "[https://intra.example/rw](https://intra.example/rw)" in md
    assert format_sources([]) == SOURCES_NONE


# -- with the model ----------------------------------------------------------------------------
@pytest.mark.slow
def test_corpus_question_streams_an_answer_with_sources(live):
    _, url, keys = live
    with chat_client(url, keys["public"]) as client:
        job = client.submit(ANSWERED, api_name="/ask")
        _, chat, sources, notice = job.result(timeout=300)
        steps = job.outputs()
    assert [m["role"] for m in chat] == ["user", "assistant"]
    answer = text_of(chat[1])
    assert answer.strip() and "⛔" not in answer
    # streamed: the question appears first, then the answer grows before the sources arrive
    assert len(steps) >= 3
    assert [m["role"] for m in steps[0][1]] == ["user", "assistant"]
    cited = [t for t in CORPUS_TITLES if f"] {t}" in sources]
    assert cited, sources
    assert "출처:" in sources and any(name in sources for name in CORPUS)
    assert REFUSAL_NOTICE_TEXT not in notice


@pytest.mark.slow
def test_off_topic_question_shows_the_refusal_notice(live):
    _, url, keys = live
    with chat_client(url, keys["public"]) as client:
        chat, sources, notice = ask(client, OFF_TOPIC)
    assert REFUSAL_NOTICE_TEXT in notice
    assert sources == SOURCES_NONE
    assert text_of(chat[-1]).strip()  # the service's own refusal text stays in the chat


@pytest.mark.slow
def test_the_signed_in_key_decides_which_documents_can_be_cited(live):
    _, url, keys = live
    for name in ("public", "hanbit_internal"):  # another agency / the right agency, too low a clearance
        with chat_client(url, keys[name]) as client:
            _, sources, notice = ask(client, RESTRICTED_QUESTION)
        assert RESTRICTED_TITLE not in sources
    with chat_client(url, keys["hanbit"]) as client:
        _, sources, notice = ask(client, RESTRICTED_QUESTION)
    assert f"] {RESTRICTED_TITLE}" in sources
    assert REFUSAL_NOTICE_TEXT not in notice


@pytest.mark.slow
def test_personal_data_in_a_question_is_masked_and_the_chat_says_so(live):
    _, url, keys = live
    with chat_client(url, keys["public"]) as client:
        _, _, notice = ask(client, "제 주민등록번호 900101-1234568로 재택근무 신청이 되나요?")
    assert "주민등록번호" in notice and "가렸습니다" in notice


@pytest.mark.slow
def test_conversation_continues_in_the_session_and_new_chat_resets_it(live):
    _, url, keys = live
    with chat_client(url, keys["public"]) as client:
        ask(client, OFF_TOPIC)
        chat, _, _ = ask(client, "오늘 날씨 어때?")  # a follow-up: history goes to the service
        assert [m["role"] for m in chat] == ["user", "assistant"] * 2
        assert "⛔" not in text_of(chat[-1])
        _, chat, sources, notice = client.predict(api_name="/new_chat")
        assert chat == [] and notice == ""
        chat, _, _ = ask(client, OFF_TOPIC)
        assert len(chat) == 2


@pytest.mark.slow
def test_service_errors_are_shown_as_korean_messages(live):
    settings, url, keys = live
    too_long = "가" * (settings.answer.max_question_chars + 1)
    with chat_client(url, keys["public"]) as client:
        chat, sources, notice = ask(client, too_long)
    reply = text_of(chat[-1])
    assert "질문이 너무 깁니다" in reply and reply.startswith("⛔")
    assert "답변하지 못했습니다" in notice and re.search(r"요청 번호 `[0-9a-f]{32}`", notice)  # an id to quote
    assert sources == SOURCES_NONE
    assert "Traceback" not in reply + notice


# -- several replicas ---------------------------------------------------------------------------
def test_a_sign_in_on_one_replica_is_known_to_another_and_sign_out_ends_it_on_both(tmp_path):
    """Two chat apps on one key store (two API replicas on one database): Gradio's own token
    table lives in one process under a random cookie name, so this failed behind a load balancer."""
    data = tmp_path / "data"
    replicas = []
    for name in ("a", "b"):
        settings = load_settings(index_dir=tmp_path / name / "index", data_dir=data)
        service = NuriService(settings, start_model=False).open()
        app = FastAPI()
        mount_chat(app, service, settings)
        replicas.append((settings, service, app))
    key = issue_key(replicas[0][1])
    try:
        with serve(replicas[0][2], replicas[0][0]) as base_a, serve(replicas[1][2], replicas[1][0]) as base_b:
            a, b = base_a + "/ui", base_b + "/ui"
            signed = httpx.post(f"{a}/login", data={"username": key_id_of(key) or "", "password": key}, timeout=30)
            assert signed.status_code == 200, signed.text
            cookies = {c.name: c.value for c in signed.cookies.jar}
            assert set(cookies) == {
                "access-token-nuri",
                "access-token-unsecure-nuri",
            }  # fixed names: affinity hashes them
            assert httpx.get(f"{b}/config", timeout=30).status_code == 401
            assert httpx.get(f"{b}/config", cookies=cookies, timeout=30).status_code == 200
            assert httpx.get(f"{a}/config", cookies=cookies, timeout=30).status_code == 200
            # the token is stored hashed: the database does not hold the cookie's value
            db = (data / "nuri.db").read_bytes()
            assert cookies["access-token-nuri"].encode() not in db
            out = httpx.get(f"{b}/logout", cookies=cookies, timeout=30)
            assert out.status_code in (200, 302)
            time.sleep(5.1)  # past the per-process lookup cache (SharedSignIns.cache_s)
            assert httpx.get(f"{a}/config", cookies=cookies, timeout=30).status_code == 401
    finally:
        for _, service, _ in replicas:
            service.close()


def test_a_replica_without_the_sessions_state_takes_the_earlier_turns_from_the_screen():
    shown = [
        {"role": "user", "content": "재택근무는 며칠까지 되나요?"},
        {"role": "assistant", "content": [{"type": "text", "text": "주 2일까지입니다 [1]."}]},
        {"role": "user", "content": "연가는요?"},
        {"role": "assistant", "content": "⛔ 모델 서버에 연결할 수 없습니다"},
    ]
    turns, messages = turns_from_messages(shown)
    assert [(t.role, t.content) for t in turns] == [
        ("user", "재택근무는 며칠까지 되나요?"),
        ("assistant", "주 2일까지입니다 [1]."),
    ]
    assert len(messages) == 4 and messages[1]["content"] == "주 2일까지입니다 [1]."


def test_a_reopened_conversation_marks_its_refusals_and_does_not_carry_them_on():
    from datetime import UTC, datetime

    from assistant.conversations import Message
    from ui.conversations_panel import shown_messages, turns_of

    now = datetime.now(UTC)
    saved = [
        Message(seq=1, role="user", content="오늘 날씨 어때?", created_at=now),
        Message(seq=2, role="assistant", content="색인된 자료에 근거가 없습니다.", refused=True, created_at=now),
        Message(seq=3, role="user", content="재택근무는 며칠까지?", created_at=now),
        Message(seq=4, role="assistant", content="주 2일까지입니다 [1].", created_at=now),
    ]
    shown = shown_messages(saved)
    assert shown[1]["content"].startswith("⚠️ **근거 없음**") and shown[3]["content"] == "주 2일까지입니다 [1]."
    assert [t.content for t in turns_of(saved, 8000)] == ["재택근무는 며칠까지?", "주 2일까지입니다 [1]."]
