"""Extractive answers (``answer.generation: extractive``) on the bundled sample corpus and on
statute passages of the shared corpus: the sentence that answers the question is quoted with its
citation, with the proviso that qualifies it and the list it introduces; the quote is the
passage's own text, and no model is called (the client points at a port where nothing listens)."""

from __future__ import annotations

import pytest
from conftest import answer_settings, bare_guard

from assistant.citations import markers_in
from assistant.extractive import (
    SentencePicker,
    asks_procedure,
    compose,
    question_parts,
    sentences_of,
    states_asked_quantity,
)
from assistant.llm_client import LLMClient
from assistant.orchestrator import Orchestrator
from assistant.prompts import PromptBook
from assistant.settings import ExtractiveSettings
from configs import resources
from connectors.settings import ConnectorSettings
from connectors.statute import parse_statute
from retrieval.types import Hit, Principal

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
    for quote, n in _quotes(answer.answer):  # every quote is the cited passage's own words
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


# -- what is quoted with the answering sentence (issue 20) ------------------------------------
# Real statute text from the shared corpus, cut into passages by the index's own chunker and
# scored by the index's own encoder: the picker and the wording run as they do for an answer.


def _statute_passages(index, shared_data, law: str, file: str, holding: str) -> list[Hit]:
    """The passages (chunks) of ``law``'s statute file that hold ``holding``, as search hits."""
    doc = parse_statute(shared_data / "statutes" / "kr" / law / file, ConnectorSettings())
    chunks = [c for c in index.chunk(doc) if holding in c.text]
    assert chunks, f"no passage of {law} holds {holding!r}"
    return [
        Hit(rank=i + 1, score=1.0, doc_id=c.doc_id, title=doc.title, anchor=c.anchor, source=doc.source, text=c.text)
        for i, c in enumerate(chunks)
    ]


def _answer(index, question: str, passages: list[Hit], **settings) -> tuple[str, list[int]]:
    picker = SentencePicker(index.embedder, index.sparse, ExtractiveSettings(**settings))
    return compose(picker.pick(question, passages), passages, "ko")


def _quotes(text: str) -> list[tuple[str, int]]:
    """(quoted words, passage marker) per line of an extractive answer; "…" lines left out."""
    out = []
    for line in text.splitlines():
        if line.strip() == "…":
            continue
        quote = line.split("“", 1)[1].rsplit("”", 1)[0]
        out.append((quote, int(line.rsplit("[", 1)[1].split("]", 1)[0])))
    return out


def _assert_quotes_exact(text: str, order: list[int], passages: list[Hit]) -> None:
    assert markers_in(text) == set(range(1, len(order) + 1))
    for quote, n in _quotes(text):
        assert quote in passages[order[n - 1] - 1].text, quote


def test_the_exception_in_the_same_paragraph_is_quoted_after_the_rule(quoting):
    """The README's example: "주 2일 이내" comes with its 다만 sentence (주 3일 for some staff),
    and the paragraph's other sentences (how many may work from home on one day) are left out."""
    answer = quoting.ask("재택근무는 일주일에 며칠까지 할 수 있나요?", principal=OPERATOR)
    assert not answer.refused, answer.answer
    lines = answer.answer.splitlines()
    rule = next(i for i, line in enumerate(lines) if "주 2일 이내" in line)
    assert lines[rule + 1].startswith("“다만") and "주 3일까지" in lines[rule + 1]
    assert "30%" not in answer.answer and "09:00" not in answer.answer


def test_a_proviso_of_a_statute_is_quoted_with_its_main_sentence(sample_index, shared_data):
    passages = _statute_passages(sample_index, shared_data, "공무원여비규정", "대통령령.md", "전용 차량 배정자")
    text, order = _answer(sample_index, "근무지 안에서 출장을 다녀오면 여비는 얼마를 받나요?", passages)
    quotes = [q for q, _ in _quotes(text)]
    main = next(i for i, q in enumerate(quotes) if "4시간 미만인 공무원에게는 1만원을 지급한다" in q)
    assert quotes[main + 1].startswith("다만") and "전용 차량 배정자" in quotes[main + 1]
    _assert_quotes_exact(text, order, passages)


def test_a_proviso_that_scores_best_brings_the_sentence_it_qualifies_first(sample_index, shared_data):
    passages = _statute_passages(sample_index, shared_data, "공무원여비규정", "대통령령.md", "전용 차량 배정자")
    text, _ = _answer(sample_index, "전용 차량을 배정받은 공무원도 근무지 내 출장 여비를 받나요?", passages)
    quotes = [q for q, _ in _quotes(text)]
    proviso = next(i for i, q in enumerate(quotes) if "전용 차량 배정자" in q)
    assert proviso > 0 and "근무지 내 국내 출장의 경우에는" in quotes[proviso - 1]


def test_a_list_introduced_by_the_quoted_sentence_is_quoted_whole_and_in_order(sample_index, shared_data):
    holding = "미리 다음 각 호의 사항을 정보주체에게 알려야 한다"
    passages = _statute_passages(sample_index, shared_data, "개인정보보호법", "법률.md", holding)
    question = "개인정보를 국외로 이전하려고 동의를 받을 때 정보주체에게 무엇을 미리 알려야 하나요?"
    text, order = _answer(sample_index, question, passages)
    lines = text.splitlines()
    intro = next(i for i, line in enumerate(lines) if holding in line)
    assert lines[intro].endswith(":")
    items = ["이전되는 개인정보 항목", "개인정보가 이전되는 국가, 시기 및 방법", "개인정보를 이전받는 자의 성명"]
    items += ["개인정보를 이전받는 자의 개인정보 이용목적", "개인정보의 이전을 거부하는 방법"]
    for k, item in enumerate(items, start=1):  # each item on its own line, right after the one before
        assert lines[intro + k].startswith(f"{k}) “") and item in lines[intro + k], lines[intro + k]
    _assert_quotes_exact(text, order, passages)


def test_an_item_that_scores_best_brings_the_sentence_that_introduces_its_list(sample_index, shared_data):
    holding = "미리 다음 각 호의 사항을 정보주체에게 알려야 한다"
    passages = _statute_passages(sample_index, shared_data, "개인정보보호법", "법률.md", holding)
    text, _ = _answer(sample_index, "국외 이전 동의를 받을 때 이전을 거부하는 방법과 절차도 알려야 하나요?", passages)
    lines = text.splitlines()
    item = next(i for i, line in enumerate(lines) if "개인정보의 이전을 거부하는 방법" in line)
    assert any(holding in line for line in lines[:item])


def test_the_source_is_named_once_per_passage_not_on_every_sentence(sample_index, shared_data):
    passages = _statute_passages(sample_index, shared_data, "공무원여비규정", "대통령령.md", "전용 차량 배정자")
    text, _ = _answer(sample_index, "근무지 안에서 출장을 다녀오면 여비는 얼마를 받나요?", passages)
    lines = text.splitlines()
    assert len(lines) >= 2
    assert text.count("에 따르면") == 1 and lines[0].startswith("공무원 여비 규정 제18조 제1항에 따르면 “")
    assert all(line.startswith("“") for line in lines[1:])


@pytest.mark.parametrize(
    ("question", "steps"),
    [("재택근무 승인 절차는 어떻게 되나요?", True), ("재택근무는 일주일에 며칠까지 할 수 있나요?", False)],
)
def test_a_question_that_asks_how_something_is_done_is_told_apart(question, steps):
    assert asks_procedure(question) is steps


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("재택근무는 일주일에 며칠까지 할 수 있나요?", 1),
        ("감기로 5일을 쉬었는데 3일 더 쉬려고 합니다. 진단서를 내야 하나요?", 1),
        ("신청 기한이 있나요? 조정안은 언제쯤 나오죠?", 2),
        ("계약서에는 어떤 사항을 적어야 하고, 계약은 언제 확정되나요?", 2),
        ("출장 여비 규정", 1),
    ],
)
def test_the_parts_of_a_question_are_counted(question, parts):
    assert question_parts(question) == parts


@pytest.mark.parametrize(
    ("sentence", "states"),
    [
        ("재택근무는 주 2일 이내로 한다.", True),
        ("재택근무자는 09:00부터 18:00까지 근무하며, 점심시간은 12:00부터 13:00까지이다.", False),
    ],
)
def test_a_further_sentence_must_state_the_quantity_asked_for(sentence, states):
    assert states_asked_quantity("재택근무는 일주일에 며칠까지 할 수 있나요?", sentence) is states
    assert states_asked_quantity("재택근무 신청은 어디서 하나요?", sentence)  # no quantity asked


def test_the_steps_of_a_procedure_are_quoted_whole_and_in_order(quoting):
    """4.2 승인 is a numbered list under a heading, with no sentence that introduces it."""
    answer = quoting.ask("재택근무 승인 절차는 어떻게 되나요?", principal=OPERATOR)
    assert not answer.refused, answer.answer
    lines = answer.answer.splitlines()
    steps = ["2근무일 이내에 승인 여부를 결정한다", "승인하지 않을 수 있으며", "전날 18시까지"]
    at = [next(i for i, line in enumerate(lines) if step in line) for step in steps]
    assert at == sorted(at) and at[-1] - at[0] == 2
    assert [line.split("“")[0][-3:] for line in lines[at[0] : at[0] + 3]] == ["1) ", "2) ", "3) "]


def test_a_sentence_cut_inside_brackets_is_quoted_whole(sample_index):
    text = (
        "① 행정기관의 장은 민원인이 동일한 내용의 민원(법정민원을 제외한다. 이하 이 조에서 같다)을 정당한 사유 "
        "없이 3회 이상 반복하여 제출한 경우에는 2회 이상 그 처리결과를 통지하고, 그 후에 접수되는 민원에 대하여는 "
        "바로 종결 처리할 수 있다."
    )
    hit = Hit(
        rank=1,
        score=1.0,
        doc_id="d",
        title="민원 처리에 관한 법률",
        anchor="민원 처리에 관한 법률 제23조",
        source="s",
        text=text,
    )
    out, _ = _answer(sample_index, "같은 민원을 반복해서 내면 어떻게 처리하나요?", [hit])
    assert out == f"민원 처리에 관한 법률 제23조 제1항에 따르면 “{text[2:-1]}” [1]."
