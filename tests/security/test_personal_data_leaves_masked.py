"""Finding 7 of the security review (issue 22): personal data leaves the service masked, in every
text field and for every caller.

Before, only the answer text went through the output check: each citation's ``text``, each
``/v1/search`` hit (and so the chat's sources panel) carried the passage as indexed; a number
written one digit per line or space, or in Hangul digit words ("공일공 삼사오육 칠팔구공"), got
past the check; and the audit trail masked the answer *after* the caller's pseudonyms were put
back, so a name only the question's context revealed ("성명 김솔") was stored in clear.

Everything here goes through the real HTTP app (FastAPI under TestClient), the real index, key
store, guardrails and audit trail; answers are the extractive quotes (no model is called).
"""

from __future__ import annotations

import pytest
from conftest import answer_settings, bearer, issue_key, write_md
from fastapi.testclient import TestClient

from assistant.http.app import build_asgi
from assistant.service import NuriService
from configs.settings import load_settings
from guardrails.pipeline import Guardrails
from retrieval.index import NuriIndex
from retrieval.sync import Syncer

UNREACHABLE = "http://127.0.0.1:9/v1"  # answers are quoted: the model is never called

PHONE = "010-2345-6789"
EMAIL = "minwon.kim@example.go.kr"
RRN = "900101-1234568"  # a valid check digit
HANGUL_PHONE = "공일공 삼사오육 칠팔구공"  # 010-3456-7890
SPREAD_PHONE = "0 1 0 9 8 7 6 5 4 3 2"  # 010-9876-5432
NAME = "김솔"

RAW_VALUES = [PHONE, EMAIL, RRN, HANGUL_PHONE, SPREAD_PHONE, "01098765432", "01034567890"]

CONTACT_QUESTION = "민원 담당자 연락처와 이메일은 무엇인가요?"
NOTICE_QUESTION = f"성명 {NAME}, 민원 처리 결과는 어떻게 알려 주나요?"


@pytest.fixture(scope="module")
def world(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("personal-data")
    corpus = root / "corpus"
    write_md(
        corpus,
        "minwon.md",
        "민원 처리 안내",
        {
            "담당자 연락처": f"민원 담당자 연락처는 {PHONE}이고 이메일은 {EMAIL} 이다. "
            f"비상 연락처는 {HANGUL_PHONE} 이며 야간 연락은 {SPREAD_PHONE} 로 한다.",
            "접수 확인": f"신청인 주민등록번호 {RRN} 를 확인한 뒤 민원을 접수한다.",
            # a placeholder of the caller's pseudonyms, as a model (or a document) may echo it
            "결과 통지": "민원 처리 결과는 <성명_1>에게 우편으로 알린다.",
        },
        meta="agency: 나부처\naccess: public\n",
    )
    settings = answer_settings(
        UNREACHABLE,
        index_dir=root / "index",
        data_dir=root / "data",
        answer={"generation": "extractive"},
        ui={"enabled": False},
        guardrails={"pii": {"action": "pseudonymise"}},
        api={"auth": {"rate_limit": {"burst": 1000}}},
    )
    index = NuriIndex.open(settings.retrieval, settings.index_dir, create=True, embedder=embedder)
    Syncer(index, settings.connectors, progress=False).sync([corpus])
    with NuriService(settings, index=index) as service:
        key = issue_key(service, agency="나부처", clearance="internal")
        with TestClient(build_asgi(settings, service)) as client:
            yield client, service, key
    index.close()


def _leaks(text: str) -> list[str]:
    return [v for v in RAW_VALUES if v in text]


def test_search_hits_leave_with_personal_data_masked(world):
    client, _, key = world
    resp = client.post("/v1/search", json={"query": CONTACT_QUESTION, "top_k": 10}, headers=bearer(key))
    assert resp.status_code == 200, resp.text
    hits = resp.json()
    texts = " ".join(h["text"] + h["title"] + h["anchor"] for h in hits)
    assert "연락처" in texts  # the passages were found
    assert _leaks(texts) == []
    assert "[전화번호]" in texts and "[이메일]" in texts


def test_search_hits_mask_the_resident_registration_number(world):
    client, _, key = world
    resp = client.post("/v1/search", json={"query": "민원 접수 때 주민등록번호 확인", "top_k": 10}, headers=bearer(key))
    texts = " ".join(h["text"] for h in resp.json())
    assert "접수" in texts and RRN not in texts and "[주민등록번호]" in texts


def test_ask_citations_leave_with_personal_data_masked(world):
    client, _, key = world
    body = client.post("/v1/ask", json={"question": CONTACT_QUESTION}, headers=bearer(key)).json()
    assert not body["refused"] and body["citations"]
    cited = " ".join(c["text"] + c["title"] + c["anchor"] for c in body["citations"])
    assert _leaks(cited) == [] and "[전화번호]" in cited
    assert _leaks(body["answer"]) == []


def test_chat_completion_citations_leave_with_personal_data_masked(world):
    client, _, key = world
    request = {"model": "nuri", "messages": [{"role": "user", "content": CONTACT_QUESTION}]}
    resp = client.post("/v1/chat/completions", json=request, headers=bearer(key))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["citations"]
    cited = " ".join(c["text"] for c in body["citations"])
    assert _leaks(cited) == [] and "[전화번호]" in cited
    assert _leaks(body["choices"][0]["message"]["content"]) == []


def test_the_audit_keeps_the_answer_masked_before_pseudonyms_are_restored(world):
    client, service, key = world
    body = client.post("/v1/ask", json={"question": NOTICE_QUESTION}, headers=bearer(key)).json()
    assert not body["refused"]
    assert NAME in body["answer"]  # the caller gets their own value back
    assert service.audit is not None
    record = list(service.audit.records())[-1]
    assert record.answer is not None and record.question is not None
    assert NAME not in record.answer and NAME not in record.question
    assert "<성명_1>" in record.answer


def _streamed(guard: Guardrails, deltas: list[str]) -> str:
    out = guard.output(guard.screen_input("민원 담당자 연락처를 알려 주세요"))
    return "".join(out.feed(d) for d in deltas) + out.flush()


@pytest.fixture(scope="module")
def guard(embedder) -> Guardrails:
    return Guardrails(load_settings().guardrails, embedder)


@pytest.mark.parametrize(
    "answer, kind",
    [
        ("담당자 전화는\n0\n1\n0\n2\n3\n4\n5\n6\n7\n8\n9\n입니다.", "[전화번호]"),
        ("주민등록번호는 9 0 0 1 0 1 - 1 2 3 4 5 6 8 입니다.", "[주민등록번호]"),
        (f"비상 연락처는 {HANGUL_PHONE} 입니다.", "[전화번호]"),
        ("야간 연락처는 공 일 공 구 팔 칠 육 오 사 삼 이 입니다.", "[전화번호]"),
    ],
)
def test_the_output_check_masks_numbers_spread_out_or_written_in_hangul(guard, answer, kind):
    by_line = _streamed(guard, answer.splitlines(keepends=True))
    by_char = _streamed(guard, list(answer))
    assert kind in by_line and kind in by_char
    assert not any(ch.isdigit() for ch in by_line.replace(kind, ""))


@pytest.mark.parametrize(
    "sentence",
    [
        "이 사업은 일이 많아 사람이 부족하다. 사업 기간은 삼 년이다.",
        "일이삼사오육칠팔구 순서로 번호를 센다.",
        "사이사이 이사 일정이 잡혀 있으며 오후 이 시에 시작한다.",
        "점수는 1 2 3 4 5 6 7 8 9 10 순서로 매긴다.",
        "제출 기한은 2024. 3. 15. 이며 접수 번호는 12 34 56 이다.",
    ],
)
def test_ordinary_sentences_with_digit_words_stay_untouched(guard, sentence):
    assert _streamed(guard, [sentence]) == sentence
    assert guard.mask(sentence) == sentence
