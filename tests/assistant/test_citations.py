"""Citation markers: kept and renumbered when they point to a passage, stripped when they don't,
attributed by overlap when the model forgot them, identical whether streamed or not; with
sentence checks, echoed prompt markup removed and the article-number rule applied on real
statute passages (an article no passage names is never shown)."""

from __future__ import annotations

import pytest
from conftest import require_shared

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


def checked(deltas: list[str], passages: list[Hit]) -> CitationTracker:
    t = CitationTracker(passages, attribute=True, min_overlap=0.5, check_sentences=True)
    streamed = "".join(t.feed(d) for d in deltas) + t.finish()
    assert streamed.strip() == t.text
    assert markers_in(t.text) == {c.n for c in t.citations()} == set(range(1, len(t.citations()) + 1))
    return t


def test_prompt_markup_the_model_echoes_never_reaches_the_user():
    t = checked(
        ["</h2> 답변: 출장 3일 전까지 ", "신청서를 냅니다 [1]. 자료 [2]: 여비는 5일 이내에 정산합니다 [2]."], PASSAGES
    )
    assert t.text == "출장 3일 전까지 신청서를 냅니다 [1]. 여비는 5일 이내에 정산합니다 [2]."


@pytest.fixture(scope="module")
def cctv_passages() -> list[Hit]:
    """개인정보 보호법 제25조 and its decree's 제23조, as parsed from ../shared/data."""
    from connectors.settings import ConnectorSettings
    from connectors.statute import parse_statute

    folder = require_shared("statutes/kr/개인정보보호법")
    act = {s.anchor: s for s in parse_statute(folder / "법률.md", ConnectorSettings()).sections}
    decree = {s.anchor: s for s in parse_statute(folder / "시행령.md", ConnectorSettings()).sections}
    return [
        hit(1, decree["개인정보 보호법 시행령 제23조"].text, "개인정보 보호법 시행령 제23조"),
        hit(2, act["개인정보 보호법 제25조"].text, "개인정보 보호법 제25조"),
    ]


def test_an_article_no_passage_names_is_removed_with_its_sentence(cctv_passages):
    t = checked(
        [
            "공청회나 설명회를 열어 의견을 들어야 합니다 [1]. ",
            "자세한 절차는 개인정보 보호 규정 제7조의2(출장)에 있습니다 [1].",
        ],
        cctv_passages,
    )
    assert "제7조의2" not in t.text and t.articles_removed == 1
    assert t.text.startswith("공청회나 설명회를 열어 의견을 들어야 합니다 [1].")


def test_an_article_named_in_another_passage_gets_that_passage_cited(cctv_passages):
    # the sentence cites the decree article, which itself names 법 제25조: nothing to add
    t = checked(["공개된 장소의 설치 제한은 법 제25조에 따릅니다 [1]."], cctv_passages)
    assert t.articles_removed == 0 and t.articles_cited == 0
    assert [c.anchor for c in t.citations()] == ["개인정보 보호법 시행령 제23조"]
    # an unmarked sentence naming 제25조: the passage that is 제25조 is cited
    t = checked(["설치 제한은 제25조에 있습니다."], cctv_passages)
    assert t.articles_cited == 1 and [c.anchor for c in t.citations()] == ["개인정보 보호법 제25조"]
    assert t.text == "설치 제한은 제25조에 있습니다 [1]."
