"""The answer path in one pass: the question checked once (limits, language, history, a
follow-up's retrieval query measured the way retrieval sees it), the endpoint a closed set that
the audit record names, one decision shape, one exception root whose codes the HTTP table and the
command line both know."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from conftest import bare_guard, bearer, issue_key, make_settings
from fastapi.testclient import TestClient

from assistant.answers import HistoryTurn
from assistant.cli import EXIT_STATUS
from assistant.errors import InvalidHistoryError, InvalidQuestionError
from assistant.exchange import Endpoint
from assistant.http.app import build_asgi
from assistant.http.errors import ERROR_CODES, STORE_CODES, api_error
from assistant.question import FOLLOW_UP_CONTEXT_CHARS, Question, QuestionLimits
from assistant.service import NuriService
from connectors.errors import NuriError
from guardrails.decisions import GuardrailDecision

NOWHERE = "http://127.0.0.1:9/v1"  # extractive answers never call the model
LIMITS = QuestionLimits(max_chars=100, max_turn_chars=50, max_history_turns=2, max_query_chars=100)


def ask(text: str, history: list[HistoryTurn] | None = None, limits: QuestionLimits = LIMITS) -> Question:
    return Question.ask(text, history or [], limits, bare_guard())


def turn(role: str, content: str) -> HistoryTurn:
    return HistoryTurn(role=role, content=content)  # type: ignore[arg-type]


# -- the question, checked once ----------------------------------------------------------------


def test_the_limits_are_applied_once_with_their_own_codes():
    assert ask("  연가는 며칠인가요?  ").text == "연가는 며칠인가요?"
    with pytest.raises(InvalidQuestionError) as blank:
        ask("   ")
    with pytest.raises(InvalidQuestionError) as long:
        ask("가" * 101)
    with pytest.raises(InvalidHistoryError) as history:
        ask("질문", [turn("user", "가" * 51)])
    assert (blank.value.code, long.value.code, history.value.code) == (
        "invalid_question", "invalid_question", "invalid_history"
    )  # fmt: skip
    assert "101자 > 100자" in str(long.value) and long.value.message_en


def test_the_history_in_use_is_kept_once_and_the_language_detected_once():
    history = [turn("user", f"질문 {i}") if i % 2 == 0 else turn("assistant", f"답 {i}") for i in range(8)]
    history.insert(3, turn("user", "   "))  # blank turns are left out
    q = ask("What about annual leave?", history)
    assert [t.content for t in q.history] == ["질문 4", "답 5", "질문 6", "답 7"]  # the last 2 exchanges
    assert q.language == "en" and q.previous == "질문 6"


def test_a_follow_ups_retrieval_query_always_fits_what_retrieval_accepts():
    q = ask("가" * 95, [turn("user", "이전 질문 " * 8), turn("assistant", "답")])
    query = q.retrieval_query(q.previous)
    assert query == "이전 질 " + "가" * 95  # as much of the earlier question as fits: 100 characters
    roomy = ask("짧은 질문", [turn("user", "이전 질문 " * 100)], QuestionLimits())
    assert len(roomy.retrieval_query(roomy.previous)) == FOLLOW_UP_CONTEXT_CHARS + 1 + len("짧은 질문")
    assert not q.fits("") and not q.fits("가" * 101) and q.fits("가" * 100)


def test_the_screened_and_masked_forms_come_from_the_one_input_screen():
    from guardrails.pipeline import Guardrails
    from guardrails.settings import GuardrailSettings

    guard = Guardrails(GuardrailSettings.off().model_copy(update={"pii": GuardrailSettings().pii}))
    q = Question.ask("제 전화번호 010-1234-5678로 연락 주세요", [], LIMITS, guard)
    assert "010-1234-5678" not in q.screened and "010-1234-5678" not in q.masked
    assert [d.name for d in q.decisions] == ["pii"] and q.refusal is None


# -- over HTTP: a follow-up longer than one question's limit -----------------------------------


@pytest.fixture()
def api(tmp_path, sample_index):
    settings = make_settings(tmp_path, llm={"base_urls": [NOWHERE]}, answer={"generation": "extractive"},
                             ui={"enabled": False})  # fmt: skip
    with NuriService(settings, index=sample_index) as svc, TestClient(build_asgi(settings, service=svc)) as client:
        client.headers.update(bearer(issue_key(svc)))
        yield svc, client


def test_a_follow_up_whose_retrieval_query_exceeds_the_question_limit_is_answered(api):
    svc, client = api
    limit = svc.settings.answer.max_question_chars
    earlier = "상반기 정보보안 점검 일정과 대상 장비를 정리해야 합니다. " * 20  # ~600 characters
    question = ("우리 과 사정을 먼저 말씀드리면 " * 200)[: limit - 30] + " 상반기 정보보안 점검 기간은 언제인가요?"
    assert len(question) <= limit < FOLLOW_UP_CONTEXT_CHARS + 1 + len(question)
    history = [{"role": "user", "content": earlier}, {"role": "assistant", "content": "알겠습니다."}]
    resp = client.post("/v1/ask", json={"question": question, "history": history})
    assert resp.status_code == 200, resp.text
    assert resp.json()["answer"]
    chat = [*history, {"role": "user", "content": question}]
    assert client.post("/v1/chat/completions", json={"model": "nuri", "messages": chat}).status_code == 200


def test_an_earlier_message_too_long_is_invalid_history_on_both_endpoints(api):
    _, client = api
    long = [{"role": "user", "content": "가" * 8001}]
    ask_resp = client.post("/v1/ask", json={"question": "질문", "history": long})
    chat_resp = client.post("/v1/chat/completions", json={"model": "nuri", "messages": [*long, {"role": "user", "content": "질문"}]})  # fmt: skip
    assert ask_resp.status_code == chat_resp.status_code == 400
    assert ask_resp.json()["error"]["code"] == chat_resp.json()["error"]["code"] == "invalid_history"


def test_the_audit_record_names_the_endpoint_and_a_search_names_no_model(api):
    svc, client = api
    assert client.post("/v1/search", json={"query": "정보보안 점검"}).status_code == 200
    assert client.post("/v1/ask", json={"question": "상반기 정보보안 점검 기간은 언제인가요?"}).status_code == 200
    *_, search, answer = list(svc.audit.records())
    assert (search.endpoint, search.model, search.prompt_version) == ("/v1/search", None, None)
    assert answer.endpoint == "/v1/ask" and answer.model == svc.llm.model and answer.prompt_version


def test_the_endpoints_are_a_closed_set():
    assert {e.value for e in Endpoint if e.searches} == {"/v1/search", "cli:search", "eval:search", "bench:search"}
    with pytest.raises(ValueError):
        Endpoint("search")


# -- one decision shape ------------------------------------------------------------------------


def test_a_decisions_evidence_stays_out_of_answers_and_audit_records():
    d = GuardrailDecision(name="injection", action="block", reason="감지", reason_en="found", score=0.93, rule="r1")
    assert d.model_dump() == {"name": "injection", "action": "block", "reason": "감지", "reason_en": "found",
                              "stage": "input"}  # fmt: skip
    assert d.blocked and d.acted and not GuardrailDecision.allow("pii").acted


# -- one exception root --------------------------------------------------------------------------

#: Codes only the command line meets (never raised while serving an HTTP request).
CLI_ONLY = {
    "usage", "command_failed", "invalid_config", "unreadable_document", "invalid_path", "key_not_found",
    "audit_integrity", "eval_history_unavailable", "run_not_found", "eval_target_failed", "question_rejected",
    "invalid_dataset", "invalid_suite",
}  # fmt: skip


def _all_error_classes() -> set[type[NuriError]]:
    for package in ("connectors", "retrieval", "guardrails", "assistant", "evals", "configs"):
        mod = importlib.import_module(package)
        for info in pkgutil.walk_packages(mod.__path__, f"{package}."):
            importlib.import_module(info.name)
    found: set[type[NuriError]] = set()
    todo = [NuriError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo += cls.__subclasses__()
    return found


def test_every_error_has_a_code_the_http_table_or_the_command_line_knows():
    http = {e.code for e in ERROR_CODES}
    assert len(http) == len(ERROR_CODES)
    classes = _all_error_classes()
    assert len(classes) > 20
    for cls in classes:
        assert cls.code in http or cls.code in CLI_ONLY, cls
        if cls.code in http and cls.code != "internal_error" and cls.__name__ != "ApiError":
            err = api_error(cls("메시지"))
            expected = STORE_CODES.get(cls.code, "메시지")  # a store's own text stays in the log
            assert err.code == cls.code and err.message == expected, cls
    assert api_error(RuntimeError("secret detail")).message == "내부 오류가 발생했습니다"
    assert api_error(NuriError("grouping base")).code == "internal_error"
    assert EXIT_STATUS["usage"] == 2 and EXIT_STATUS["audit_unavailable"] == 3
