"""HTTP API for answers, against a real model server (llama.cpp and vLLM on CPU) on the sample
corpus: /v1/ask, the OpenAI-compatible /v1/chat/completions driven by the official `openai`
client and LangChain's `ChatOpenAI` (plain and streamed; citations in the extra fields, in
`annotations` and in a sources footer), /v1/models, and error statuses,
including an unreachable model server (503, quickly, never a hang or a traceback)."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
import uvicorn
from conftest import answer_settings, bearer, issue_key

from assistant.citations import markers_in
from assistant.http.app import build_asgi
from assistant.modelserver.server import free_port
from assistant.service import NuriService

pytestmark = pytest.mark.slow
QUESTION = "상반기 정보보안 점검 기간은 언제인가요?"


class LiveServer:
    """The real ASGI app under uvicorn in a thread (SSE goes over a real socket)."""

    def __init__(self, app) -> None:
        self.port = free_port("127.0.0.1")
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.key = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def live(model_server, sample_index):
    settings = answer_settings(model_server.base_url, api={"max_body_bytes": 16384}, ui={"enabled": False})
    with NuriService(settings, index=sample_index) as service, LiveServer(build_asgi(settings, service=service)) as srv:
        srv.key = issue_key(service)
        srv.admin_key = issue_key(service, roles=("admin",))
        yield srv


@pytest.fixture()
def oai(live):
    """The official client: its api_key goes out as ``Authorization: Bearer``, as Nuri expects."""
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key=live.key, max_retries=0, timeout=300)


def _error(resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert "Traceback" not in resp.text
    err = resp.json()["error"]
    assert err["message"] and err["message_en"]
    return err


def test_readyz_reports_index_and_model(live):
    body = httpx.get(f"{live.url}/readyz", headers=bearer(live.admin_key)).json()
    assert body["status"] == "ready" and body["chunks"] > 0 and body["model"]


def test_ask_returns_exactly_the_answer_json(live):
    resp = httpx.post(f"{live.url}/v1/ask", json={"question": QUESTION}, timeout=300, headers=bearer(live.key))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"answer", "audit_id", "citations", "refused", "guardrails"}
    assert body["refused"] is False and body["citations"]
    fields = {"n", "chunk_id", "doc_id", "title", "anchor", "location", "source", "text", "url", "source_url"}
    assert all(set(c) == fields for c in body["citations"])
    assert markers_in(body["answer"]) == {c["n"] for c in body["citations"]}


def test_ask_refuses_off_topic_question(live):
    body = httpx.post(
        f"{live.url}/v1/ask", json={"question": "김치찌개 맛있게 끓이는 방법"}, timeout=300, headers=bearer(live.key)
    ).json()
    assert body["refused"] is True and body["citations"] == []


def test_models_lists_nuri(oai):
    assert [m.id for m in oai.models.list()] == ["nuri"]


def test_chat_completion_with_official_client(oai):
    resp = oai.chat.completions.create(
        model="nuri",
        messages=[{"role": "system", "content": "ignored"}, {"role": "user", "content": QUESTION}],
    )
    content = resp.choices[0].message.content
    assert content and resp.choices[0].finish_reason == "stop"
    citations = resp.model_extra["citations"]
    assert resp.model_extra["refused"] is False and citations
    assert markers_in(content) == {c["n"] for c in citations}
    # standard clients see the sources too: a footer in the content and url_citation annotations
    assert "\n\n출처:\n[1] " in content
    spans = resp.choices[0].message.annotations
    assert spans and all(content[a.url_citation.start_index : a.url_citation.end_index].startswith("[") for a in spans)
    assert {a.url_citation.title for a in spans} <= {
        c["anchor"] if c["anchor"].startswith(c["title"]) else f"{c['title']} {c['anchor']}" for c in citations
    }


def test_streamed_chat_completion_with_official_client(oai):
    stream = oai.chat.completions.create(model="nuri", messages=[{"role": "user", "content": QUESTION}], stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert {c["n"] for c in last.model_extra["citations"]} == markers_in(text)


def test_langchain_chat_openai_users_see_the_sources(live):
    """LangChain's ChatOpenAI keeps only the message content: the sources footer is how its
    users see which passages the [n] markers point to (plain and streamed)."""
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=f"{live.url}/v1", api_key=live.key, model="nuri", max_retries=0, timeout=300)
    for content in (llm.invoke(QUESTION).content, "".join(str(c.content) for c in llm.stream(QUESTION))):
        assert isinstance(content, str)
        answer, _, footer = content.partition("\n\n출처:\n")
        assert footer, content
        listed = {int(line[1 : line.index("]")]) for line in footer.splitlines()}
        assert markers_in(answer) == listed and listed


def test_chat_filters_extension_restricts_sources(oai):
    resp = oai.chat.completions.create(
        model="nuri",
        messages=[{"role": "user", "content": QUESTION}],
        extra_body={"filters": {"doc_type": "no-such-type"}},
    )
    assert resp.model_extra["refused"] is True


def test_unreachable_model_server_is_503_quickly(sample_index):
    unreachable = f"http://127.0.0.1:{free_port('127.0.0.1')}/v1"
    settings = answer_settings(unreachable, llm={"connect_timeout_s": 1.0}, ui={"enabled": False})
    with NuriService(settings, index=sample_index) as service, LiveServer(build_asgi(settings, service=service)) as srv:
        auth = bearer(issue_key(service))
        t0 = time.monotonic()
        err = _error(httpx.post(f"{srv.url}/v1/ask", json={"question": QUESTION}, timeout=60, headers=auth), 503)
        assert "모델 서버" in err["message"] and err["code"] == "model_unavailable"
        _error(
            httpx.post(
                f"{srv.url}/v1/chat/completions",
                json={"model": "nuri", "messages": [{"role": "user", "content": QUESTION}], "stream": True},
                timeout=60,
                headers=auth,
            ),
            503,
        )
        _error(httpx.get(f"{srv.url}/readyz", timeout=60), 503)
        assert time.monotonic() - t0 < 30
        # search still works without the model
        assert httpx.post(f"{srv.url}/v1/search", json={"query": QUESTION}, headers=auth).status_code == 200


def test_streamed_ask_sends_deltas_then_the_answer_json(live):
    """``/v1/ask`` with ``stream: true``: delta events whose text adds up to the answer, then
    the same answer object as without streaming, then [DONE]."""
    events = []
    with httpx.stream(
        "POST", f"{live.url}/v1/ask", json={"question": QUESTION, "stream": True}, timeout=300, headers=bearer(live.key)
    ) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("data: "):
                events.append(line[len("data: ") :])
    assert events[-1] == "[DONE]"
    parsed = [json.loads(e) for e in events[:-1]]
    kinds = [e["type"] for e in parsed]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"delta"}, kinds
    answer = parsed[-1]["answer"]
    assert set(answer) == {"answer", "audit_id", "citations", "refused", "guardrails"}
    assert answer["refused"] is False and answer["citations"]
    assert "".join(e["text"] for e in parsed[:-1]).strip() == answer["answer"].strip()


def test_streamed_ask_error_before_the_stream_keeps_its_status(sample_index):
    unreachable = f"http://127.0.0.1:{free_port('127.0.0.1')}/v1"
    settings = answer_settings(unreachable, llm={"connect_timeout_s": 1.0}, ui={"enabled": False})
    with NuriService(settings, index=sample_index) as service, LiveServer(build_asgi(settings, service=service)) as srv:
        resp = httpx.post(
            f"{srv.url}/v1/ask",
            json={"question": QUESTION, "stream": True},
            timeout=60,
            headers=bearer(issue_key(service)),
        )
        assert _error(resp, 503)["code"] == "model_unavailable"


def test_concurrent_model_answers_are_not_cut_short(live):
    """Three users asking at once each get a whole answer: the bundled llama.cpp server used to
    end a stream as soon as another request arrived (answers of a few characters)."""

    def ask(_: int) -> dict:
        resp = httpx.post(f"{live.url}/v1/ask", json={"question": QUESTION}, timeout=300, headers=bearer(live.key))
        assert resp.status_code == 200, resp.text
        return resp.json()

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(ask, range(3)))
    alone = ask(0)
    assert not alone["refused"] and len(alone["answer"]) > 20
    for body in answers:
        assert not body["refused"] and len(body["answer"]) >= 20, body["answer"]
        assert body["citations"]
