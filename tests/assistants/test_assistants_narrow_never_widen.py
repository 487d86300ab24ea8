"""Agency assistants only ever narrow what their caller reads, on every path a question takes.

A real index holds a restricted document of 한빛데이터원 (agency B), B's public guide, an internal
guide of 누리행정청 (agency A) and A's public HR rules, all about remote work, so that every
question below would find all four without a scope. B's ``b-security`` assistant is open to every
agency (``users.agencies: ["*"]``) with the scope "B's documents": an agency-A caller using it must
get B's public guide and never B's restricted report. Each path is checked against a control (B's
own caller through the same assistant does see the report), so a test cannot pass by finding
nothing. The paths: ``/v1/search``, ``/v1/ask``, ``/v1/chat/completions`` (``model``), a saved
conversation, the LangChain and LlamaIndex adapters, an eval run (``InProcessTarget``), and eval
items drafted from feedback. The API runs as it is served (``build_asgi``: every middleware);
the platform's answers are quoted from the passages (``answer.generation: extractive``); one
assistant has the bundled model (llama.cpp, a real server) write its answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import answer_settings, bearer, issue_key, write_md
from fastapi.testclient import TestClient

from assistant.assistants import AssistantGuardrails, AssistantScope, AssistantSpec, AssistantUsers
from assistant.callers import operator_caller, scoped_caller
from assistant.http.app import build_asgi
from assistant.service import NuriService
from assistant.usage import usage_from_store
from configs.settings import Settings
from evals.history import History
from evals.runner import run_suite
from evals.suites import load_suite
from evals.targets import InProcessTarget
from retrieval.index import NuriIndex
from retrieval.sync import Syncer
from retrieval.types import Principal

A, B = "누리행정청", "한빛데이터원"
B_SECRET_TITLE = "한빛데이터원 재택근무 침해 사고 보고"
B_SECRET = "은하수 서버의 재택근무 접속 기록 1,204건이 유출되었다"
QUESTION = "재택근무 보안 점검은 어떻게 하나요?"


@dataclass
class World:
    root: Path
    settings: Settings
    service: NuriService
    client: TestClient
    keys: dict[str, str]
    doc_ids: dict[str, str]  # file name -> doc id


def write_corpus(corpus: Path) -> None:
    write_md(
        corpus,
        "b_breach.md",
        B_SECRET_TITLE,
        {"사고 개요": f"{B_SECRET}. 재택근무 보안 점검 결과 VPN 계정 관리가 미흡했다."},
        meta=f"agency: {B}\naccess: restricted\nallowed_agencies: [{B}]\ndoc_type: report\n",
    )
    write_md(
        corpus,
        "b_guide.md",
        "한빛데이터원 재택근무 보안 수칙",
        {"보안 점검": "재택근무자는 매주 금요일 보안 점검표를 작성해 정보보호팀에 제출한다."},
        meta=f"agency: {B}\naccess: public\ndoc_type: guideline\n",
    )
    write_md(
        corpus,
        "a_guide.md",
        "누리행정청 재택근무 운영 지침",
        {"보안 점검": "재택근무 보안 점검은 부서별 보안 담당관이 매월 실시한다."},
        meta=f"agency: {A}\naccess: internal\ndoc_type: guideline\n",
    )
    write_md(corpus, "a_hr.md", "누리행정청 인사 규정",
             {"재택근무 신청": "재택근무는 주 2일까지 신청할 수 있으며 보안 서약서를 제출해야 한다."},
             meta=f"agency: {A}\naccess: public\ndoc_type: hr\n")  # fmt: skip


ASSISTANTS = [
    AssistantSpec(id="b-security", name="한빛 보안 도우미", agency=B, users=AssistantUsers(agencies=["*"]),
                  scope=AssistantScope(agencies=[B]), description="한빛데이터원 보안 문서"),
    AssistantSpec(id="b-only", name="한빛 내부 도우미", agency=B, default=True),
    AssistantSpec(id="a-hr", name="인사 도우미", agency=A, default=True, scope=AssistantScope(doc_types=["hr"]),
                  examples=["재택근무는 주 며칠까지 되나요?"]),
    AssistantSpec(id="a-guide", name="지침 도우미", agency=A, scope=AssistantScope(sources=["a_guide.md"]),
                  prompt="답변 끝에 보안 담당관에게 문의하라고 안내하세요."),
]  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory, embedder, llamacpp_server) -> Iterator[World]:
    root = tmp_path_factory.mktemp("assistants")
    write_corpus(root / "corpus")
    settings = answer_settings(
        llamacpp_server.base_url, index_dir=root / "index", data_dir=root / "data", answer={"generation": "extractive"},
        eval={"history_url": f"sqlite:///{root}/history.db"},
    )  # fmt: skip
    index = NuriIndex.open(settings.retrieval, settings.index_dir, create=True, embedder=embedder)
    report = Syncer(index, settings.connectors, progress=False).sync([root / "corpus"])
    assert report.added == 4 and not report.failed
    service = NuriService(settings, index=index).open()
    assert service.assistants is not None
    for spec in ASSISTANTS:
        service.assistants.create(spec, "cli:test")
    keys = {
        "a": issue_key(service, agency=A, clearance="restricted"),
        "b": issue_key(service, agency=B, clearance="restricted"),
    }
    doc_ids = {Path(d.source).name: d.doc_id for d in index.list_documents(Principal(operator=True))}
    try:
        with TestClient(build_asgi(settings, service)) as client:
            yield World(root, settings, service, client, keys, doc_ids)
    finally:
        service.close()
        index.close()


def sources_of(items: list[dict]) -> set[str]:
    return {i["source"] for i in items}


def search(world: World, who: str, **body) -> list[dict]:
    r = world.client.post("/v1/search", json={"query": QUESTION, "top_k": 10, **body}, headers=bearer(world.keys[who]))
    assert r.status_code == 200, r.text
    return r.json()


def test_models_lists_only_the_callers_assistants_with_the_agency_default_first(world):
    def listed(who: str) -> list[str]:
        r = world.client.get("/v1/models", headers=bearer(world.keys[who]))
        assert r.status_code == 200, r.text
        return [m["id"] for m in r.json()["data"]]

    assert listed("a") == ["nuri", "a-hr", "a-guide", "b-security"]
    assert listed("b") == ["nuri", "b-only", "b-security"]
    cards = {m["id"]: m for m in world.client.get("/v1/models", headers=bearer(world.keys["a"])).json()["data"]}
    assert cards["a-hr"]["default"] is True and cards["a-hr"]["examples"] == ["재택근무는 주 며칠까지 되나요?"]
    assert cards["b-security"]["owned_by"] == B and cards["b-security"]["default"] is False
    assert "prompt" not in cards["a-guide"] and "scope" not in cards["a-guide"]  # what users see, not internals


def test_search_through_agency_bs_assistant_gives_agency_a_nothing_restricted_of_b(world):
    seen_by_a = search(world, "a", assistant="b-security")
    assert sources_of(seen_by_a) == {"b_guide.md"}
    assert all(B_SECRET not in h["text"] for h in seen_by_a)
    # the control: B's own caller through the same assistant reads the restricted report
    assert sources_of(search(world, "b", assistant="b-security")) == {"b_guide.md", "b_breach.md"}
    # and without an assistant, A reads its own and public documents: the scope narrowed it
    assert sources_of(search(world, "a")) == {"b_guide.md", "a_guide.md", "a_hr.md"}


def test_a_requests_filters_cannot_escape_the_assistants_scope(world):
    assert search(world, "a", assistant="a-hr", filters={"doc_type": "guideline"}) == []
    assert search(world, "a", assistant="a-hr", filters={"agency": B}) == []
    assert search(world, "a", assistant="a-hr", filters={"doc_ids": [world.doc_ids["a_guide.md"]]}) == []
    assert search(world, "a", assistant="a-guide", filters={"doc_ids": [world.doc_ids["a_hr.md"]]}) == []
    assert search(world, "b", assistant="b-security", filters={"agency": A}) == []
    # inside the scope a filter still narrows as usual
    kept = search(world, "a", assistant="a-hr", filters={"agency": A})
    assert sources_of(kept) == {"a_hr.md"}
    assert sources_of(search(world, "a", assistant="a-guide")) == {"a_guide.md"}


def test_another_agencys_private_assistant_is_answered_as_an_unknown_one(world):
    key = bearer(world.keys["a"])
    for body in ({"query": QUESTION, "assistant": "b-only"}, {"query": QUESTION, "assistant": "no-such"}):
        r = world.client.post("/v1/search", json=body, headers=key)
        assert r.status_code == 404 and r.json()["error"]["code"] == "assistant_not_found"
    private = world.client.post("/v1/ask", json={"question": QUESTION, "assistant": "b-only"}, headers=key)
    unknown = world.client.post("/v1/ask", json={"question": QUESTION, "assistant": "no-such"}, headers=key)
    assert private.status_code == unknown.status_code == 404
    assert private.json()["error"]["message"].replace("b-only", "X") == unknown.json()["error"]["message"].replace(
        "no-such", "X"
    )
    chat = {"model": "b-only", "messages": [{"role": "user", "content": QUESTION}]}
    r = world.client.post("/v1/chat/completions", json=chat, headers=key)
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def cited(answer: dict) -> set[str]:
    return {c["source"] for c in answer["citations"]}


def test_answers_through_agency_bs_assistant_cite_nothing_restricted_of_b(world):
    a, b = bearer(world.keys["a"]), bearer(world.keys["b"])
    asked = world.client.post("/v1/ask", json={"question": QUESTION, "assistant": "b-security"}, headers=a).json()
    assert not asked["refused"], asked
    assert cited(asked) == {"b_guide.md"} and B_SECRET not in asked["answer"]

    chat = {"model": "b-security", "messages": [{"role": "user", "content": QUESTION}]}
    completion = world.client.post("/v1/chat/completions", json=chat, headers=a).json()
    assert completion["model"] == "b-security"
    assert cited(completion) <= {"b_guide.md"} and completion["citations"]
    assert B_SECRET not in completion["choices"][0]["message"]["content"]

    streamed = world.client.post("/v1/chat/completions", json=chat | {"stream": True}, headers=a).text
    assert "b_guide.md" in streamed and "b_breach.md" not in streamed and B_SECRET not in streamed

    conv = world.client.post("/v1/conversations", json={"title": "보안"}, headers=a).json()
    said = world.client.post(f"/v1/conversations/{conv['id']}/messages",
                             json={"question": QUESTION, "assistant": "b-security"}, headers=a).json()  # fmt: skip
    assert cited(said) <= {"b_guide.md"} and said["citations"]

    # the control: B's caller through the same assistant is given the report among the passages
    hits = world.client.post(
        "/v1/search", json={"query": "은하수 서버 유출 기록", "assistant": "b-security"}, headers=b
    )
    assert "b_breach.md" in sources_of(hits.json())


def test_audit_records_and_usage_name_the_assistant(world):
    a = bearer(world.keys["a"])
    before = {r.request_id for r in world.service.audit.records()}
    world.client.post("/v1/search", json={"query": QUESTION, "assistant": "a-hr"}, headers=a)
    world.client.post(
        "/v1/ask", json={"question": "재택근무는 주 며칠까지 신청하나요?", "assistant": "a-hr"}, headers=a
    )
    world.client.post("/v1/search", json={"query": QUESTION}, headers=a)
    new = [r for r in world.service.audit.records() if r.request_id not in before]
    assert [r.assistant for r in new] == ["a-hr", "a-hr", None]
    answered = [r for r in new if r.endpoint == "/v1/ask"][0]
    platform_prompts = world.service.answering_with(None)[1]
    assert answered.prompt_version == platform_prompts  # a-hr adds no instructions
    assert world.service.answering_with(world.service.assistant_for(None, "a-guide"))[1] != platform_prompts

    report = usage_from_store(world.service.audit, None, None, ["assistant"])
    rows = {row.group["assistant"]: row for row in report.rows}
    assert rows["a-hr"].searches >= 1 and rows["a-hr"].questions >= 1
    assert rows["nuri"].searches >= 1
    r = world.client.get("/v1/usage", params={"by": "assistant"}, headers=bearer(admin_key(world)))
    assert r.status_code == 200 and "a-hr" in {row["group"]["assistant"] for row in r.json()["rows"]}


def admin_key(world: World) -> str:
    if "admin" not in world.keys:
        world.keys["admin"] = issue_key(world.service, agency=A, clearance="internal", roles=("admin",))
    return world.keys["admin"]


def test_framework_adapters_read_through_the_assistants_scope(world):
    from retrieval.adapters.langchain import NuriRetriever
    from retrieval.adapters.llamaindex import NuriLlamaRetriever

    caller_a = world.service.caller_for_key(world.service.keys.authenticate(world.keys["a"]).key_id)
    assert caller_a is not None
    assistant = world.service.assistant_for(caller_a, "b-security")
    principal = world.service.reading_as(caller_a, assistant)
    assert principal.agency == A and principal.clearance == "restricted"  # the caller's own rights, narrowed
    lc = NuriRetriever(index=world.service.index, top_k=10, principal=principal).invoke(QUESTION)
    assert {Path(d.metadata["source"]).name for d in lc} == {"b_guide.md"}
    li = NuriLlamaRetriever(world.service.index, top_k=10, principal=principal).retrieve(QUESTION)
    assert {Path(n.node.metadata["source"]).name for n in li} == {"b_guide.md"}


def test_an_eval_run_through_an_assistant_is_scoped_and_recorded_with_it(world, tmp_path):
    dataset = tmp_path / "security.jsonl"
    items = [
        {"id": "q1", "question": QUESTION, "category": "fact", "language": "ko", "expected": "answer",
         "reference_answer": "보안 점검표를 작성해 제출한다",
         "reference_passages": [{"doc": "b_guide.md", "anchor": "보안 점검"}]},
        {"id": "q2", "question": "은하수 서버에서 유출된 접속 기록은 몇 건인가요?", "category": "number",
         "language": "ko", "expected": "answer", "reference_answer": "1,204건",
         "reference_passages": [{"doc": "b_breach.md", "anchor": "사고 개요"}]},
    ]  # fmt: skip
    dataset.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    suite = load_suite(str(dataset), world.settings, need_corpus=False)
    caller = scoped_caller(A, "restricted")
    target = InProcessTarget(world.service, caller, "b-security")
    result = run_suite(suite, target, world.settings, progress=False)
    assert result.assistant == "b-security"
    every_text = json.dumps(result.model_dump(mode="json"), ensure_ascii=False)
    assert B_SECRET not in every_text and "b_breach.md|" not in every_text
    retrieved = {json.dumps(h.model_dump(mode="json"), ensure_ascii=False) for i in result.items for h in i.hits}
    cited_docs = {json.dumps(c.model_dump(mode="json"), ensure_ascii=False) for i in result.items for c in i.citations}
    assert retrieved and all("b_breach" not in h for h in retrieved | cited_docs)
    assert any("b_guide" in h for h in retrieved)
    with History.from_settings(world.settings) as history:
        history.add(result)
        listed = history.list_runs(assistant="b-security")
        assert [r.run_id for r in listed] == [result.run_id] and listed[0].assistant == "b-security"
        assert history.list_runs(assistant="a-hr") == []
    # a caller who may not use the assistant cannot evaluate it either
    with pytest.raises(Exception) as e:
        InProcessTarget(world.service, caller, "b-only")
    assert getattr(e.value, "code", "") == "assistant_not_found"
    # the operator may evaluate any assistant, still inside its scope
    op = InProcessTarget(world.service, operator_caller(), "a-hr")
    assert {Path(h.source).name for h in op.search(QUESTION, 10)} == {"a_hr.md"}


def test_feedback_drafts_through_an_assistant_hold_nothing_the_caller_could_not_read(world):
    from assistant.feedback import pii_masker
    from evals.feedback_items import draft_items

    a = bearer(world.keys["a"])
    question = "은하수 서버의 재택근무 접속 기록 유출 건수는?"
    asked = world.client.post("/v1/ask", json={"question": question, "assistant": "b-security"}, headers=a).json()
    assert B_SECRET not in asked["answer"]
    r = world.client.post("/v1/feedback", json={"audit_id": asked["audit_id"], "rating": "down",
                                                "reasons": ["wrong"]}, headers=a)  # fmt: skip
    assert r.status_code in (200, 201), r.text
    found = world.service.feedback.list(rating="down")
    drafts, _ = draft_items(found, world.service.audit.record, pii_masker(world.settings.guardrails.pii))
    mine = [d for d in drafts if d.audit_id == asked["audit_id"]]
    assert mine and mine[0].assistant == "b-security"  # evaluated later through the same assistant
    dumped = json.dumps([d.model_dump(mode="json") for d in mine], ensure_ascii=False)
    assert B_SECRET not in dumped and "b_breach" not in dumped and B_SECRET_TITLE not in dumped


def test_an_assistants_guardrails_are_the_stricter_of_its_own_and_the_platforms(world):
    from assistant.assistants import AssistantError

    store = world.service.assistants
    assert store is not None
    platform = world.settings.answer.min_relevance
    too_loose = AssistantSpec(id="loose", name="느슨", agency=A, guardrails=AssistantGuardrails(min_relevance=0.1))
    with pytest.raises(AssistantError) as e:
        too_loose.check_stricter(world.settings.guardrails, platform)
    assert e.value.code == "invalid_assistant" and "엄격" in str(e.value)

    strict = AssistantSpec(id="strict", name="엄격", agency=A, users=AssistantUsers(agencies=[A]),
                           guardrails=AssistantGuardrails(min_relevance=0.999, mask_pii_output=True,
                                                          block_pii_questions=True))  # fmt: skip
    store.create(strict, "cli:test")
    a = bearer(world.keys["a"])
    plain = world.client.post("/v1/ask", json={"question": "재택근무는 주 며칠까지 신청하나요?"}, headers=a).json()
    assert not plain["refused"]
    refused = world.client.post("/v1/ask", json={"question": "재택근무는 주 며칠까지 신청하나요?",
                                                 "assistant": "strict"}, headers=a).json()  # fmt: skip
    assert refused["refused"]  # the same question, below the assistant's higher bar
    pii = world.client.post("/v1/ask", json={"question": "주민번호 900101-1234568인 직원의 재택근무 일수는?",
                                             "assistant": "strict"}, headers=a).json()  # fmt: skip
    assert pii["refused"] and "900101" not in pii["answer"]


def test_prompt_instructions_follow_the_platforms_and_change_the_prompt_version(world):
    from assistant.prompts import PromptBook

    book = PromptBook(world.settings.prompt_dir())
    with_rules = book.with_instructions("답변 끝에 보안 담당관에게 문의하라고 안내하세요.")
    prompt = with_rules.answer(QUESTION, [], "ko", "chat", 600)
    system = prompt.messages[0].content
    assert system.startswith(book.template("answer_system", "ko"))
    assert system.rstrip().endswith("보안 담당관에게 문의하라고 안내하세요.")
    assert with_rules.version.startswith(book.version + "+") and book.with_instructions("  ") is book
    fewshot = with_rules.answer(QUESTION, [], "ko", "completion", 600)
    assert fewshot.text is not None and "보안 담당관에게 문의" in fewshot.text


def test_an_assistant_answers_with_its_own_model_and_generation_mode(world, llamacpp_server):
    """The platform quotes passages; ``writer`` has the model at its own endpoint write the answer."""
    from assistant.assistants import AssistantModel

    store = world.service.assistants
    assert store is not None
    store.create(AssistantSpec(id="writer", name="작성 도우미", agency=A, scope=AssistantScope(doc_types=["hr"]),
                               model=AssistantModel(base_urls=[llamacpp_server.base_url], generation="model")),
                 "cli:test")  # fmt: skip
    a = bearer(world.keys["a"])
    question = "재택근무는 주 며칠까지 신청할 수 있나요?"
    before = {r.request_id for r in world.service.audit.records()}
    quoted = world.client.post("/v1/ask", json={"question": question}, headers=a).json()
    written = world.client.post("/v1/ask", json={"question": question, "assistant": "writer"}, headers=a).json()
    assert not quoted["refused"] and not written["refused"], (quoted, written)
    assert written["answer"] != quoted["answer"]  # the model wrote it; the platform quoted a sentence
    assert cited(written) <= {"a_hr.md"}
    records = [r for r in world.service.audit.records() if r.request_id not in before]
    assert [r.assistant for r in records] == [None, "writer"]
