"""Extractive answers (``answer.generation: extractive``) on the bundled sample corpus: the
sentence that answers the question is quoted with its citation, the quote is the passage's own
text, and no model is called (the client points at a port where nothing listens)."""

from __future__ import annotations

import pytest
from conftest import answer_settings, bare_guard

from assistant.citations import markers_in
from assistant.extractive import sentences_of
from assistant.llm_client import LLMClient
from assistant.orchestrator import Orchestrator
from assistant.prompts import PromptBook
from configs import resources
from retrieval.types import Principal

OPERATOR = Principal(operator=True)
NOWHERE = "http://127.0.0.1:9/v1"  # discard port: a model call would fail the test


@pytest.fixture(scope="module")
def quoting(sample_index):
    settings = answer_settings(NOWHERE, answer={"generation": "extractive"})
    return Orchestrator(
        sample_index, LLMClient(settings.llm), settings.answer, PromptBook(resources.prompts_dir()), bare_guard()
    )


@pytest.mark.parametrize(
    ("question", "stated", "gold_file"),
    [
        ("상반기 정보보안 점검 기간은 언제인가요?", "5월 13일", "security_inspection_notice.txt"),
        ("재택근무는 일주일에 며칠까지 할 수 있나요?", "주 2일", "remote_work_guideline.md"),
    ],
)
def test_the_answering_sentence_is_quoted_with_its_source(quoting, question, stated, gold_file):
    answer = quoting.ask(question, principal=OPERATOR)
    assert not answer.refused, answer.answer
    assert stated in answer.answer
    assert markers_in(answer.answer) == {c.n for c in answer.citations} == set(range(1, len(answer.citations) + 1))
    assert answer.citations[0].source.endswith(gold_file)
    for line in answer.answer.splitlines():  # every quote is the cited passage's own words
        quote = line.split("“", 1)[1].split("”", 1)[0]
        n = int(line.rsplit("[", 1)[1].split("]", 1)[0])
        assert quote.replace("*", "") in answer.citations[n - 1].text.replace("*", "")


def test_an_unrelated_question_is_still_refused(quoting):
    assert quoting.ask("김치찌개 맛있게 끓이는 방법", principal=OPERATOR).refused


def test_passages_are_cut_into_sentences_and_lines():
    text = "① 재택근무는 주 2일 이내로 한다. 다만 임신 중인 공무원은 주 3일까지 할 수 있다.\n1. 신청서\n2. 승인서"
    assert sentences_of(text, 400) == [
        "① 재택근무는 주 2일 이내로 한다.",
        "다만 임신 중인 공무원은 주 3일까지 할 수 있다.",
        "1. 신청서 2. 승인서",
    ]
