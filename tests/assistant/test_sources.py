"""Citations for standard OpenAI clients: the sources footer, url_citation annotations on the
[n] markers, and a footer that comes back as history being removed before answering."""

from __future__ import annotations

from assistant.answers import Citation
from assistant.http.routes.openai import split_messages
from assistant.http.schemas import ChatMessageIn
from assistant.sources import sources_footer, strip_footer, url_annotations

CITES = [
    Citation(
        n=1,
        doc_id="statute:1",
        title="개인정보 보호법",
        anchor="개인정보 보호법 제39조의2",
        source="법률.md",
        text="…",
        url="/v1/passages/c-1",
        source_url="https://www.law.go.kr/법령/개인정보보호법",
    ),  # fmt: skip
    Citation(
        n=2,
        doc_id="remote_work",
        title="재택근무 운영 지침",
        anchor="2. 근무 일수",
        source="rw.md",
        text="…",
        url="/v1/passages/c-2",
    ),  # fmt: skip
]
ANSWER = "300만원 이하의 범위에서 배상을 청구할 수 있습니다 [1]. 재택근무는 주 2일까지입니다 [2]."


def test_the_footer_lists_each_citation_with_its_label_and_address():
    footer = sources_footer(CITES, "ko")
    assert footer == (
        "\n\n출처:\n[1] 개인정보 보호법 제39조의2 — https://www.law.go.kr/법령/개인정보보호법\n"
        "[2] 재택근무 운영 지침 2. 근무 일수 — /v1/passages/c-2"
    )
    assert sources_footer(CITES, "en").startswith("\n\nSources:\n[1] ")
    assert sources_footer([], "ko") == ""


def test_annotations_span_each_marker_and_name_its_source():
    content = ANSWER + sources_footer(CITES, "ko")
    spans = url_annotations(content, CITES)
    assert [content[a["url_citation"]["start_index"] : a["url_citation"]["end_index"]] for a in spans] == [
        "[1]",
        "[2]",
        "[1]",
        "[2]",
    ]
    assert spans[0]["url_citation"]["url"] == CITES[0].source_url  # the source's own address first
    assert spans[1]["url_citation"]["url"] == "/v1/passages/c-2"  # else the API route of the passage
    assert spans[1]["url_citation"]["title"] == "재택근무 운영 지침 2. 근무 일수"


def test_a_footer_sent_back_as_history_is_removed_before_answering():
    earlier = ANSWER + sources_footer(CITES, "ko")
    assert strip_footer(earlier) == ANSWER
    assert strip_footer("출처: 국가공무원법에 따르면 …") == "출처: 국가공무원법에 따르면 …"  # not a footer
    question, history = split_messages(
        [
            ChatMessageIn(role="user", content="배상 한도는?"),
            ChatMessageIn(role="assistant", content=earlier),
            ChatMessageIn(role="user", content="재택근무는요?"),
        ]
    )
    assert question == "재택근무는요?"
    assert history[1].content == ANSWER
