"""The orchestrator end to end with a real model server (llama.cpp and vLLM on CPU, both serving
the bundled Gemma 3 270M) on the bundled sample corpus: grounded answers cite the gold passage,
unanswerable questions are refused, markers that point nowhere never reach the user."""

from __future__ import annotations

import shutil

import pytest
from conftest import answer_settings, bare_guard

from assistant.answers import HistoryTurn
from assistant.citations import markers_in
from assistant.llm_client import LLMClient
from assistant.orchestrator import Orchestrator
from assistant.prompts import PromptBook
from configs import resources
from retrieval.types import Principal

pytestmark = pytest.mark.slow
OPERATOR = Principal(operator=True)


@pytest.fixture()
def orchestrator(model_server, sample_index):
    settings = answer_settings(model_server.base_url)
    return Orchestrator(
        sample_index, LLMClient(settings.llm), settings.answer, PromptBook(resources.prompts_dir()), bare_guard()
    )


def assert_well_formed(answer):
    assert answer.answer.strip()
    assert markers_in(answer.answer) == {c.n for c in answer.citations}
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


@pytest.mark.parametrize(
    ("question", "gold_file"),
    [
        ("상반기 정보보안 점검 기간은 언제인가요?", "security_inspection_notice.txt"),
        ("재택근무 중 보안 사고가 나면 어디에 신고하나요?", "remote_work_guideline.md"),
    ],
)
def test_answer_cites_the_gold_passage(orchestrator, question, gold_file):
    answer = orchestrator.ask(question, principal=OPERATOR)
    assert not answer.refused
    assert_well_formed(answer)
    assert answer.citations, answer.answer
    assert any(c.source.endswith(gold_file) for c in answer.citations), [c.source for c in answer.citations]
    assert all(c.anchor and c.text for c in answer.citations)


@pytest.mark.parametrize("check_sentences", [False, True])
def test_streamed_deltas_add_up_to_the_answer(model_server, sample_index, check_sentences):
    settings = answer_settings(model_server.base_url, answer={"check_sentences": check_sentences})
    orchestrator = Orchestrator(
        sample_index, LLMClient(settings.llm), settings.answer, PromptBook(resources.prompts_dir()), bare_guard()
    )
    events = list(
        orchestrator.stream(orchestrator.question("정보보안 점검 대상 장비는 무엇인가요?"), principal=OPERATOR)
    )
    assert [e.kind for e in events][-1] == "done"
    deltas = [e for e in events if e.kind == "delta"]
    answer = events[-1].answer.answer
    assert "".join(e.text for e in deltas) == answer
    if check_sentences:  # streamed sentence by sentence: each delta ends a sentence (or the answer)
        assert all(d.text.rstrip()[-1:] in ".?!。]" or d is deltas[-1] for d in deltas)
    else:  # streamed as the model writes, not one block
        assert len(deltas) > 1


@pytest.mark.parametrize(
    ("question", "opening"),
    [("김치찌개 맛있게 끓이는 방법 알려줘", "죄송합니다"), ("Who won the 2022 World Cup final?", "Sorry")],
)
def test_unanswerable_question_is_refused_in_its_language(orchestrator, question, opening):
    answer = orchestrator.ask(question, principal=OPERATOR)
    assert answer.refused
    assert answer.citations == []
    assert answer.answer.startswith(opening)


def test_markers_pointing_to_no_passage_are_stripped(model_server, sample_index, tmp_path):
    """A prompt that labels the only passage [15] (as a confused model might number it) makes
    the model cite [15]: the marker points to no passage, so it must not survive, and no
    citation may be invented for it. The marker trails each passage and the few-shot answers
    copy it, so the small model reliably reproduces it."""
    prompts = tmp_path / "prompts"
    shutil.copytree(str(resources.prompts_dir()), prompts)
    (prompts / "passage_fewshot.ko.txt").write_text("자료: {anchor} {text} [{n}5]", encoding="utf-8")
    (prompts / "answer_fewshot.ko.txt").write_text(
        "질문: 출장 신청은 언제까지 해야 하나요?\n"
        "자료: 가람청 출장 규정 제7조 직원은 출장 3일 전까지 출장신청서를 제출하여야 한다. [25]\n"
        "답변: 직원은 출장 3일 전까지 출장신청서를 제출하여야 한다. [25]\n\n"
        "질문: 외부 저장매체를 쓰려면 어떻게 해야 하나요?\n"
        "자료: 가람청 보안 지침 제5조 외부 저장매체는 보안담당관의 승인을 받아 사용한다. [35]\n"
        "답변: 외부 저장매체는 보안담당관의 승인을 받아 사용한다. [35]\n\n"
        "질문: {question}\n{passages}\n답변:",
        encoding="utf-8",
    )
    settings = answer_settings(model_server.base_url, answer={"top_k": 1, "attribute_uncited": False})
    orch = Orchestrator(sample_index, LLMClient(settings.llm), settings.answer, PromptBook(prompts), bare_guard())
    dropped = 0
    for question in ("상반기 정보보안 점검 기간은 언제인가요?", "재택근무 중 보안 사고가 나면 어디에 신고하나요?"):
        events = list(orch.stream(orch.question(question), principal=OPERATOR))
        answer, trace = events[-1].answer, events[-1].trace
        assert trace.passages == 1
        assert "[15]" not in answer.answer and "[25]" not in answer.answer, answer.answer
        assert answer.citations == []
        assert markers_in(answer.answer) == set()
        dropped += trace.markers_dropped
    assert dropped >= 1  # the model did write markers to nowhere, and they were removed


def test_follow_up_question_uses_the_conversation(orchestrator):
    history = [
        HistoryTurn(role="user", content="상반기 정보보안 점검은 언제 하나요?"),
        HistoryTurn(role="assistant", content="2024년 5월 13일부터 5월 24일까지입니다 [1]."),
    ]
    events = list(orchestrator.stream(orchestrator.question("점검 대상은요?", history), principal=OPERATOR))
    trace = events[-1].trace
    assert "정보보안 점검" in trace.retrieval_query
    assert not events[-1].answer.refused
    assert any(h.source.endswith("security_inspection_notice.txt") for h in trace.hits)
