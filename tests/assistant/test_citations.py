"""Citation markers: kept and renumbered when they point to a passage, stripped when they don't,
attributed by overlap when the model forgot them, identical whether streamed or not."""

from __future__ import annotations

from assistant.citations import CitationTracker, markers_in
from retrieval.types import Hit


def hit(n: int, text: str, anchor: str) -> Hit:
    return Hit(rank=n, score=1.0, doc_id=f"d{n}", title=f"문서{n}", anchor=anchor, source=f"/s/{n}", text=text)


PASSAGES = [
    hit(1, "직원은 출장 3일 전까지 출장신청서를 부서장에게 제출하여야 한다.", "출장 규정 제7조"),
    hit(2, "출장을 마친 직원은 5일 이내에 여비를 정산하여야 한다.", "출장 규정 제9조"),
    hit(3, "외부 저장매체는 보안담당관의 승인을 받아 사용한다.", "보안 지침 제5조"),
]


def run(deltas: list[str], attribute: bool = False) -> CitationTracker:
    t = CitationTracker(PASSAGES, attribute=attribute, min_overlap=0.5)
    streamed = "".join(t.feed(d) for d in deltas) + t.finish()
    assert streamed.strip() == t.text  # what was streamed is the final answer
    assert markers_in(t.text) == {c.n for c in t.citations()}  # every [n] has its citation
    return t


def test_valid_markers_are_renumbered_in_order_of_first_use():
    t = run(["여비는 5일 이내에 정산합니다 [2]. 출장 신청은 3일 전까지 합니다 [1]."])
    assert t.text == "여비는 5일 이내에 정산합니다 [1]. 출장 신청은 3일 전까지 합니다 [2]."
    assert [(c.n, c.anchor) for c in t.citations()] == [(1, "출장 규정 제9조"), (2, "출장 규정 제7조")]


def test_markers_pointing_to_no_passage_are_stripped():
    t = run(["승인이 필요합니다 [7]. 보안담당관이 승인합니다 [3][0]."])
    assert "[7]" not in t.text and "[0]" not in t.text
    assert [c.anchor for c in t.citations()] == ["보안 지침 제5조"]
    assert t.dropped == 2


def test_marker_split_across_stream_chunks():
    t = run(["출장 신청은 3일 전까지 합니다 [", "1", "]. 정산은 5일 이내 [2", ", 1]."])
    assert t.text == "출장 신청은 3일 전까지 합니다 [1]. 정산은 5일 이내 [2][1]."
    assert len(t.citations()) == 2


def test_brackets_that_are_not_markers_stay_text():
    t = run(["[붙임] 서식을 참고하세요 [1]."])
    assert t.text.startswith("[붙임] 서식을 참고하세요")


def test_marker_before_any_text_is_dropped():
    t = run(["[4] 국가공무원법 제14조 ... 결정서로 한다."])
    assert not t.text.startswith("[")
    assert t.citations() == []


def test_uncited_sentence_copied_from_a_passage_gets_its_marker():
    t = run(["출장을 마친 직원은 5일 이내에 여비를 정산하여야 합니다."], attribute=True)
    assert t.text == "출장을 마친 직원은 5일 이내에 여비를 정산하여야 합니다 [1]."
    assert [c.anchor for c in t.citations()] == ["출장 규정 제9조"]
    assert t.attributed == 1


def test_unrelated_sentence_gets_no_marker():
    t = run(["오늘은 날씨가 맑고 바람이 선선하게 붑니다."], attribute=True)
    assert t.citations() == [] and "[" not in t.text


def test_attribution_off_leaves_uncited_text_alone():
    t = run(["출장을 마친 직원은 5일 이내에 여비를 정산하여야 합니다."], attribute=False)
    assert t.citations() == []


def test_leading_whitespace_of_completion_is_trimmed():
    t = run(["  ", " 출장 신청은 3일 전까지 [1]"])
    assert t.text == "출장 신청은 3일 전까지 [1]"


def test_repeated_sentence_is_withheld_and_stops_the_answer():
    t = CitationTracker(PASSAGES, attribute=False)
    sent = "1. 출장 신청은 3일 전까지 합니다 [1].\n"
    streamed = t.feed(sent) + t.feed("2. 출장 신청은 3일 전") + t.feed("까지 합니다 [1].\n3. 또")
    streamed += t.finish()
    assert t.repeating
    assert streamed.strip() == t.text == "1. 출장 신청은 3일 전까지 합니다 [1]."


def test_sentence_sharing_only_a_prefix_is_released():
    t = run(["출장 신청은 3일 전까지 합니다 [1]. 출장 신청은 부서장에게 합니다 [1]."])
    assert not t.repeating
    assert t.text == "출장 신청은 3일 전까지 합니다 [1]. 출장 신청은 부서장에게 합니다 [1]."


def test_unfinished_repetition_at_the_end_is_dropped():
    t = run(["출장 신청은 3일 전까지 합니다 [1]. 출장 신청은 3일"])
    assert t.text == "출장 신청은 3일 전까지 합니다 [1]."
