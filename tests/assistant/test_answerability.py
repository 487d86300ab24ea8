"""Answerability before an answer is shown, on real statute passages from ../shared/data: a
question asking for an amount, period, age, count or temperature is answerable only from a
passage that states one; questions that ask for no particular value are never refused by it."""

from __future__ import annotations

import pytest
from conftest import require_shared

from assistant.answerability import AskType, ask_types, unanswered_types
from connectors.settings import ConnectorSettings
from connectors.statute import parse_statute


@pytest.fixture(scope="module")
def article():
    def _text(folder: str, anchor: str) -> str:
        path = require_shared(f"statutes/kr/{folder}")
        doc = parse_statute(path, ConnectorSettings())
        return next(s for s in doc.sections if s.anchor == anchor).text

    return _text


def test_the_kind_of_value_a_question_asks_for():
    assert ask_types("피해자가 입증하지 못해도 배상 청구가 되나요? 금액 상한이 있나요?") == {AskType.AMOUNT}
    assert ask_types("정보공개 청구를 하면 며칠 안에 결정해야 하나요?") == {AskType.PERIOD}
    assert ask_types("휴직은 얼마 동안 할 수 있나요?") == {AskType.PERIOD}
    assert ask_types("냉방 온도는 몇 도 이상이어야 하나요?") == {AskType.TEMPERATURE}
    assert ask_types("성희롱 예방교육은 1년에 몇 시간 받아야 하나요?") == {AskType.COUNT}
    assert ask_types("CCTV를 달기 전에 주민 의견은 어떤 방식으로 들어야 하나요?") == set()


def test_an_amount_question_is_answerable_from_the_article_that_states_the_amount(article):
    text = article("개인정보보호법/법률.md", "개인정보 보호법 제39조의2")
    question = "민원인 개인정보가 유출됐는데 손해를 입증하지 못해도 배상 청구가 되나요? 금액 상한이 있나요?"
    assert unanswered_types(question, [text]) == set()


def test_a_temperature_question_is_not_answered_by_working_hours(article):
    hours = article("국가공무원복무규정/대통령령.md", "국가공무원 복무규정 제9조")
    question = "여름철에 청사 사무실 냉방 온도는 몇 도 이상으로 맞춰야 한다는 규정이 있나요?"
    assert unanswered_types(question, [hours]) == {AskType.TEMPERATURE}


def test_a_question_without_an_asked_value_is_never_refused_by_this_check(article):
    text = article("개인정보보호법/법률.md", "개인정보 보호법 제25조")
    assert unanswered_types("CCTV를 설치하려면 어떤 절차를 거쳐야 하나요?", [text]) == set()


def test_answerability_weights_naming_an_unknown_feature_are_a_configuration_error():
    from pydantic import ValidationError

    from assistant.settings import AnswerabilitySettings

    with pytest.raises(ValidationError, match="unknown answerability features: similarity"):
        AnswerabilitySettings(weights={"similarity": 1.0})
    assert AnswerabilitySettings(weights={"coverage": -1.0}).weights == {"coverage": -1.0}
