"""Tests for connectors.statute: the real statute corpus in shared/data plus small synthetic texts.

Tests that read the corpus need ../shared/data: under ``make test`` its absence fails them
(``NURI_REQUIRE_SHARED_DATA=1``), elsewhere they skip with the reason; the synthetic ones always run.
"""

from __future__ import annotations

import json
import re
import time
from datetime import date
from pathlib import Path

import pytest
from conftest import require_shared

from connectors.settings import ConnectorSettings
from connectors.statute import is_statute_file, parse_statute, parse_statute_text
from connectors.types import AccessLevel, Document, ParseError, Section

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT.parent / "shared" / "data"
STATUTES = DATA / "statutes" / "kr"
DEV_QA = DATA / "qa" / "dev.jsonl"


@pytest.fixture(scope="module")
def statute_corpus() -> Path:
    require_shared("qa/dev.jsonl")
    return require_shared("statutes/kr")


requires_corpus = pytest.mark.usefixtures("statute_corpus")

ADDENDUM_HEADER = re.compile(r"^부칙(?:\(.*\))? ?<제\S*호,\s*\d{4}\.\d{1,2}\.\d{1,2}>\s*$", re.M)
Docs = dict[str, Document]  # parsed corpus by file path (or by title)
NOTE_MARKERS = ("<개정", "<신설", "<전문개정", "<본조신설", "<제목개정", "<종전")


# ------------------------------------------------------------------------------------------
# Helpers and fixtures
# ------------------------------------------------------------------------------------------


def statute_path(folder: str, kind: str) -> Path:
    return STATUTES / folder / f"{kind}.md"


def parse(folder: str, kind: str, addenda: str = "latest") -> Document:
    return parse_statute(statute_path(folder, kind), ConnectorSettings(statute_addenda=addenda))


def section(doc: Document, anchor: str) -> Section:
    found = [s for s in doc.sections if s.anchor == anchor]
    assert len(found) == 1, f"{anchor!r}: {len(found)} sections"
    return found[0]


def anchors(doc: Document) -> set[str]:
    return {s.anchor for s in doc.sections}


def body_sections(doc: Document) -> list[Section]:
    return [s for s in doc.sections if s.title != "부칙"]


def addendum_sections(doc: Document) -> list[Section]:
    return [s for s in doc.sections if s.title == "부칙"]


def all_block_texts(docs: Docs) -> list[tuple[str, str]]:
    return [(s.anchor, b.text) for d in docs.values() for s in d.sections for b in s.blocks]


def _parse_corpus(addenda: str) -> Docs:
    settings = ConnectorSettings(statute_addenda=addenda)
    return {str(p): parse_statute(p, settings) for p in sorted(STATUTES.glob("*/*.md"))}


@pytest.fixture(scope="module")
def corpus_latest(statute_corpus: Path) -> Docs:
    return _parse_corpus("latest")


@pytest.fixture(scope="module")
def corpus_all(statute_corpus: Path) -> Docs:
    return _parse_corpus("all")


@pytest.fixture(scope="module")
def by_title(corpus_latest: Docs) -> Docs:
    return {d.title: d for d in corpus_latest.values()}


@pytest.fixture(scope="module")
def privacy_act(statute_corpus: Path) -> Document:
    return parse("개인정보보호법", "법률")


@pytest.fixture(scope="module")
def civil_service_act(statute_corpus: Path) -> Document:
    return parse("국가공무원법", "법률", addenda="none")


def dev_questions() -> list[dict]:
    if not DEV_QA.is_file():
        return []
    lines = DEV_QA.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


SYNTHETIC = """---
제목: 시험 법
법령MST: 1
법령ID: '000123'
법령구분: 법률
소관부처:
- 행정안전부
- 인사혁신처
공포일자: 2024-01-02
공포번호: '100'
시행일자: 2024-07-01
상태: 시행
출처: https://www.law.go.kr/법령/시험법
---

# 시험 법

## 제1장 총칙 <개정 2020.1.1>

##### 제1조 (목적)

이 법은 시험을 목적으로 한다. <전문개정 2020.1.1>

[본조신설 2019.1.1]

##### 제2조

삭제 <2020.1.1>

##### 제2조의2 (정의)

**①** &quot;시험&quot;이란 다음 각 호를 말한다. <신설 2021.1.1> <종전 제3조는 제4조로 이동 <2021.1.1>>

  1\\. 첫째
  2\\. 삭제<2021.1.1>
  3\\. 셋째 \\*표시

**②** 삭제 <2021.1.1>

**③** 「다른 법」 제3조제1항에 따른다.

## 부칙

부칙 <제300호,2023.5.1>

제1조(시행일) 이 법은 2023년 6월 1일부터 시행한다.

부칙 <제100호,2024.1.2>

이 법은 공포한 날부터 시행한다.

부칙(다른 법) <제200호,2022.3.4>

제1조(시행일) 생략

제2조(다른 법률의 개정) ① 갑법 일부를 다음과 같이 개정한다.

제5조(대체) 다른 내용.
"""


# ------------------------------------------------------------------------------------------
# Document metadata
# ------------------------------------------------------------------------------------------


@requires_corpus
def test_privacy_act_metadata_comes_from_front_matter(privacy_act: Document) -> None:
    path = statute_path("개인정보보호법", "법률")
    assert privacy_act.title == "개인정보 보호법"
    assert privacy_act.doc_id == "statute:011357"  # quoted 법령ID keeps its leading zero
    assert privacy_act.source == str(path.resolve())
    assert privacy_act.agency == "개인정보보호위원회"
    assert privacy_act.doc_type == "statute"
    assert privacy_act.access is AccessLevel.PUBLIC
    assert privacy_act.allowed_agencies == []
    assert privacy_act.effective_date == date(2026, 9, 11)
    assert privacy_act.source_url == "https://www.law.go.kr/법령/개인정보보호법"
    assert privacy_act.extra == {
        "law_kind": "법률",
        "mst": "283839",
        "promulgated": "2026-03-10",
        "promulgation_no": "21445",
        "status": "시행",
        "co_agencies": "",
    }


def test_synthetic_metadata_lists_co_agencies_and_keeps_string_values() -> None:
    doc = parse_statute_text(SYNTHETIC, "mem://시험법.md", ConnectorSettings())
    assert doc.doc_id == "statute:000123"
    assert doc.source == "mem://시험법.md"
    assert doc.agency == "행정안전부"
    assert doc.extra["co_agencies"] == "인사혁신처"
    assert doc.extra["mst"] == "1"
    assert all(isinstance(v, str) for v in doc.extra.values())


def test_unquoted_law_id_keeps_leading_zeros() -> None:
    # YAML would read 011357 as an (octal) int; the raw text keeps the real ID.
    text = SYNTHETIC.replace("법령ID: '000123'", "법령ID: 011357")
    assert parse_statute_text(text, "mem", ConnectorSettings()).doc_id == "statute:011357"


def test_agency_given_as_a_string_is_split_on_commas() -> None:
    text = SYNTHETIC.replace("소관부처:\n- 행정안전부\n- 인사혁신처", "소관부처: 행정안전부, 인사혁신처")
    doc = parse_statute_text(text, "mem", ConnectorSettings())
    assert (doc.agency, doc.extra["co_agencies"]) == ("행정안전부", "인사혁신처")


# ------------------------------------------------------------------------------------------
# Body articles: anchors, titles, heading paths, 항 blocks
# ------------------------------------------------------------------------------------------


@requires_corpus
def test_article_anchor_title_and_chapter_section_heading_path(privacy_act: Document) -> None:
    art = section(privacy_act, "개인정보 보호법 제15조")
    assert art.title == "개인정보의 수집ㆍ이용"
    assert "수집" in art.title
    assert art.heading_path == ["제3장 개인정보의 처리", "제1절 개인정보의 수집, 이용, 제공 등"]


@requires_corpus
def test_paragraphs_become_labelled_blocks_with_their_items_inside(privacy_act: Document) -> None:
    art = section(privacy_act, "개인정보 보호법 제15조")
    assert [b.label for b in art.blocks] == ["제1항", "제2항", "제3항"]
    first = art.blocks[0].text
    assert first.startswith("① 개인정보처리자는 다음 각 호의 어느 하나에 해당하는 경우에는")
    assert "\n1. 정보주체의 동의를 받은 경우\n2. 법률에 특별한 규정이 있거나" in first
    assert "\n7. 공중위생 등 공공의 안전과 안녕을 위하여 긴급히 필요한 경우" in first
    assert art.blocks[1].text.startswith("② 개인정보처리자는 제1항제1호에 따른 동의를 받을 때에는")


@requires_corpus
def test_article_without_paragraph_markers_is_one_unlabelled_block(privacy_act: Document) -> None:
    art = section(privacy_act, "개인정보 보호법 제1조")
    assert len(art.blocks) == 1 and art.blocks[0].label is None
    assert art.blocks[0].text.startswith("이 법은 개인정보의 처리 및 보호에 관한 사항을 정함으로써")
    assert art.blocks[0].text.endswith("목적으로 한다.")  # "<개정 2014.3.24>" is gone


@requires_corpus
def test_items_and_sub_items_are_unescaped_lines_of_their_paragraph(privacy_act: Document) -> None:
    text = section(privacy_act, "개인정보 보호법 제2조").text
    lines = text.split("\n")
    assert lines[0] == "이 법에서 사용하는 용어의 뜻은 다음과 같다."
    assert lines[1].startswith('1. "개인정보"란 살아 있는 개인에 관한 정보로서')
    assert lines[2].startswith("가. 성명, 주민등록번호 및 영상 등을 통하여")
    assert any(line.startswith('1의2. "가명처리"란') for line in lines)
    assert any(line.startswith('7의2. "이동형 영상정보처리기기"란') for line in lines)
    assert all(line == line.strip() for line in lines)  # indentation normalised


@requires_corpus
def test_deeper_levels_keep_their_own_lines(by_title: Docs) -> None:
    text = section(by_title["공무원임용령"], "공무원임용령 제31조").text
    assert "\n1) 해당 공무원에 대한 징계의결 요구에 대하여" in text
    assert "\n가) 소속 장관 등이 법 제78조제4항에 따른 징계의결 요구를" in text
    assert "\n\n" not in text


@requires_corpus
def test_branch_articles_jo_ui_n_have_their_own_anchor(by_title: Docs) -> None:
    art = section(by_title["국가공무원법"], "국가공무원법 제83조의2")
    assert art.title == "징계 및 징계부가금 부과 사유의 시효"
    assert "10년" in art.text
    assert "국가공무원법 제83조" in anchors(by_title["국가공무원법"])


@requires_corpus
def test_heading_path_drops_amendment_notes(privacy_act: Document) -> None:
    # "## 제7장 개인정보 분쟁조정위원회 <개정 2020.2.4>" in the file
    assert section(privacy_act, "개인정보 보호법 제40조").heading_path == ["제7장 개인정보 분쟁조정위원회"]


@requires_corpus
def test_no_heading_path_carries_notes_or_markup(corpus_latest: Docs) -> None:
    bad = [
        (s.anchor, h)
        for d in corpus_latest.values()
        for s in d.sections
        for h in s.heading_path
        if "<" in h or "#" in h or "  " in h
    ]
    assert bad == []


@requires_corpus
def test_paragraph_labels_run_past_ten_to_twenty(by_title: Docs) -> None:
    art = section(by_title["국가공무원 복무규정"], "국가공무원 복무규정 제20조")
    labels = [b.label for b in art.blocks]
    assert labels[:3] == ["제1항", "제2항", "제3항"]
    assert "제20항" in labels
    assert art.blocks[labels.index("제20항")].text.startswith("⑳ 제1항부터 제6항까지")


# ------------------------------------------------------------------------------------------
# Deleted material
# ------------------------------------------------------------------------------------------


@requires_corpus
def test_deleted_articles_are_skipped(privacy_act: Document, by_title: Docs) -> None:
    raw = statute_path("개인정보보호법", "법률").read_text(encoding="utf-8")
    assert "##### 제8조\n\n삭제 <2020.2.4>" in raw
    assert "개인정보 보호법 제8조" not in anchors(privacy_act)
    assert "개인정보 보호법 제8조의2" in anchors(privacy_act)
    assert "국가공무원 복무규정 제21조" not in anchors(by_title["국가공무원 복무규정"])


@requires_corpus
def test_no_section_is_a_bare_deletion(corpus_latest: Docs) -> None:
    deleted = [s.anchor for d in corpus_latest.values() for s in d.sections if s.text == "삭제"]
    assert deleted == []


@requires_corpus
def test_untitled_headings_with_empty_body_are_skipped(by_title: Docs) -> None:
    security = anchors(by_title["보안업무규정"])
    assert "보안업무규정 제6조" not in security and "보안업무규정 제26조" not in security
    assert "보안업무규정 제7조" in security
    assert "공무원임용령 제39조" not in anchors(by_title["공무원임용령"])


@requires_corpus
def test_deleted_paragraphs_are_dropped_with_numbering_kept(civil_service_act: Document) -> None:
    # 국가공무원법 제4조 ③ reads "삭제 <2010.6.8>"
    art = section(civil_service_act, "국가공무원법 제4조")
    assert [b.label for b in art.blocks] == ["제1항", "제2항", "제4항"]


@requires_corpus
def test_deleted_items_are_dropped_from_their_paragraph(civil_service_act: Document) -> None:
    art = section(civil_service_act, "국가공무원법 제2조")
    second, third = art.blocks[1].text, art.blocks[2].text
    assert "\n2. 특정직공무원:" in second
    assert "\n3. " not in second  # "  3\. 삭제 <2012.12.11>"
    assert "\n2. 별정직공무원:" in third
    assert "\n3. " not in third and "\n4. " not in third
    assert "삭제" not in art.text


# ------------------------------------------------------------------------------------------
# Text cleaning
# ------------------------------------------------------------------------------------------


@requires_corpus
def test_amendment_notes_and_markup_are_gone_from_every_block(corpus_all: Docs) -> None:
    markup = ("\\.", "\\*", "**", "&lt;", "&gt;", "&quot;", "<img", "</img>")
    leftovers = [
        (anchor, marker)
        for anchor, text in all_block_texts(corpus_all)
        for marker in (*NOTE_MARKERS, *markup)
        if marker in text
    ]
    assert leftovers == []


@requires_corpus
def test_statute_references_and_middle_dots_are_kept(by_title: Docs) -> None:
    decree = by_title["개인정보 보호법 시행령"]
    assert "「개인정보 보호법」" in section(decree, "개인정보 보호법 시행령 제1조").text
    act = by_title["개인정보 보호법"]
    assert "제1항제1호에 따른 동의" in section(act, "개인정보 보호법 제15조").text
    assert "ㆍ" in section(act, "개인정보 보호법 제15조").title
    assert "·" not in section(act, "개인정보 보호법 제15조").text


@requires_corpus
def test_images_become_a_placeholder_and_box_tables_become_rows(by_title: Docs) -> None:
    leave = section(by_title["국가공무원 복무규정"], "국가공무원 복무규정 제15조").blocks[0].text
    assert "(표: 원문 이미지 참조)" in leave
    assert "재직기간 | 연가 일수" in leave
    assert "1년 이상 3년 미만 | 15" in leave
    assert "6년 이상 | 21" in leave
    assert not set("│┌└├─") & set(leave)


@requires_corpus
def test_no_body_text_keeps_box_drawing_borders(corpus_latest: Docs) -> None:
    bad = [(a, t) for a, t in all_block_texts(corpus_latest) if re.search(r"[│┃┌┐└┘├┤┬┴┼]", t)]
    assert bad == []


def test_synthetic_notes_entities_and_escapes_are_cleaned() -> None:
    doc = parse_statute_text(SYNTHETIC, "mem", ConnectorSettings(statute_addenda="none"))
    assert [s.anchor for s in doc.sections] == ["시험 법 제1조", "시험 법 제2조의2"]
    purpose = section(doc, "시험 법 제1조")
    assert purpose.heading_path == ["제1장 총칙"]
    assert purpose.text == "이 법은 시험을 목적으로 한다."
    definition = section(doc, "시험 법 제2조의2")
    assert [b.label for b in definition.blocks] == ["제1항", "제3항"]
    assert definition.blocks[0].text == '① "시험"이란 다음 각 호를 말한다.\n1. 첫째\n3. 셋째 *표시'
    assert definition.blocks[1].text == "③ 「다른 법」 제3조제1항에 따른다."


# ------------------------------------------------------------------------------------------
# 부칙 (addenda)
# ------------------------------------------------------------------------------------------


@requires_corpus
def test_addenda_none_gives_no_addendum_section(civil_service_act: Document) -> None:
    assert addendum_sections(civil_service_act) == []
    assert all(" 부칙" not in s.anchor for s in civil_service_act.sections)


@requires_corpus
def test_addenda_latest_keeps_only_the_latest_addendum(privacy_act: Document) -> None:
    [latest] = addendum_sections(privacy_act)
    assert latest.anchor == "개인정보 보호법 부칙 <제21445호, 2026.3.10>"
    assert latest.title == "부칙" and latest.heading_path == ["부칙"]
    assert latest.blocks[0].label == "제1조"
    assert latest.blocks[0].text.startswith("제1조(시행일) 이 법은 공포 후 6개월이 경과한 날부터 시행한다.")
    assert privacy_act.sections[-1] is latest  # addenda follow the body


@requires_corpus
def test_latest_addendum_is_the_promulgation_in_the_front_matter(corpus_latest: Docs) -> None:
    for doc in corpus_latest.values():
        [latest] = addendum_sections(doc)
        number = re.search(r"부칙 <제(\d+)호, ", latest.anchor).group(1)
        assert int(number) == int(doc.extra["promulgation_no"]), doc.title


@requires_corpus
def test_latest_with_equal_dates_takes_the_last_in_file() -> None:
    # 민원 처리에 관한 법률: 부칙 <제18742호,2022.1.11> then 부칙(행정절차법) <제18748호,2022.1.11>
    [latest] = addendum_sections(parse("민원처리에관한법률", "법률"))
    assert latest.anchor == "민원 처리에 관한 법률 부칙 <제18748호, 2022.1.11>"


def test_latest_compares_dates_not_file_order() -> None:
    doc = parse_statute_text(SYNTHETIC, "mem", ConnectorSettings(statute_addenda="latest"))
    [latest] = addendum_sections(doc)
    assert latest.anchor == "시험 법 부칙 <제100호, 2024.1.2>"
    assert [(b.label, b.text) for b in latest.blocks] == [(None, "이 법은 공포한 날부터 시행한다.")]


def test_synthetic_all_mode_elides_amendments_of_other_laws() -> None:
    doc = parse_statute_text(SYNTHETIC, "mem", ConnectorSettings(statute_addenda="all"))
    assert [s.anchor for s in addendum_sections(doc)] == [
        "시험 법 부칙 <제300호, 2023.5.1>",
        "시험 법 부칙 <제100호, 2024.1.2>",
        "시험 법 부칙 <제200호, 2022.3.4>",
    ]
    other = addendum_sections(doc)[2]
    assert [b.label for b in other.blocks] == ["제1조", "제2조"]
    assert (
        other.blocks[1].text
        == "제2조(다른 법률의 개정) ① 갑법 일부를 다음과 같이 개정한다.\n(다른 법령 개정 내용 생략)"
    )


@requires_corpus
@pytest.mark.parametrize(
    ("folder", "kind"),
    [("개인정보보호법", "법률"), ("정부조직법", "법률"), ("공무원보수규정", "대통령령")],
)
def test_addenda_all_gives_one_section_per_addendum_header(folder: str, kind: str) -> None:
    raw = statute_path(folder, kind).read_text(encoding="utf-8")
    doc = parse(folder, kind, addenda="all")
    sections = addendum_sections(doc)
    assert len(sections) == len(ADDENDUM_HEADER.findall(raw)) > 10
    assert len({s.anchor for s in sections}) == len(sections)


@requires_corpus
def test_addenda_all_counts_every_header_across_the_corpus(corpus_all: Docs) -> None:
    for path, doc in corpus_all.items():
        headers = ADDENDUM_HEADER.findall(Path(path).read_text(encoding="utf-8"))
        assert len(addendum_sections(doc)) == len(headers), doc.title


@requires_corpus
def test_government_organization_act_all_addenda_is_fast_and_small() -> None:
    started = time.perf_counter()
    doc = parse("정부조직법", "법률", addenda="all")
    assert time.perf_counter() - started < 5.0
    blocks = [b for s in addendum_sections(doc) for b in s.blocks]
    assert max(len(b.text) for b in blocks) < 3000
    assert sum(len(b.text) for b in blocks) < 100_000  # the file is 1.7 MB, almost all 부칙
    assert any(b.text.endswith("(다른 법령 개정 내용 생략)") for b in blocks)


@requires_corpus
def test_no_addendum_block_is_huge_anywhere(corpus_all: Docs) -> None:
    sizes = [(len(b.text), s.anchor) for d in corpus_all.values() for s in addendum_sections(d) for b in s.blocks]
    assert max(sizes)[0] < 5000


@requires_corpus
def test_single_article_addendum_is_one_unlabelled_block() -> None:
    doc = parse("개인정보보호법", "법률", addenda="all")
    addendum = section(doc, "개인정보 보호법 부칙 <제12504호, 2014.3.24>")
    assert len(addendum.blocks) == 1 and addendum.blocks[0].label is None
    assert addendum.blocks[0].text.startswith("이 법은 공포한 날부터 시행한다.")


@requires_corpus
def test_other_law_text_inside_an_addendum_is_not_taken_for_its_articles() -> None:
    # 부칙 제6조 amends 예산회계법 and quotes its 제41조(수입대체경비), 제56조, 제99조, 제103조 …
    doc = parse("국고금관리법", "법률", addenda="all")
    addendum = section(doc, "국고금 관리법 부칙 <제6836호, 2002.12.30>")
    assert [b.label for b in addendum.blocks] == [f"제{n}조" for n in range(1, 8)]
    assert addendum.blocks[5].text.endswith("(다른 법령 개정 내용 생략)")
    assert addendum.blocks[6].text.startswith("제7조 (다른 법령과의 관계)")


@requires_corpus
def test_addenda_drop_tables_and_images() -> None:
    doc = parse("공무원보수규정", "대통령령", addenda="all")
    texts = [b.text for s in addendum_sections(doc) for b in s.blocks]
    assert not [t for t in texts if re.search(r"[│┃┌└━]|<img|\+---|^\|", t, re.M)]


@requires_corpus
def test_addendum_anchors_never_look_like_body_articles(corpus_all: Docs) -> None:
    for doc in corpus_all.values():
        for s in addendum_sections(doc):
            assert s.anchor.startswith(f"{doc.title} 부칙 <제"), s.anchor
            assert not re.match(rf"{re.escape(doc.title)} 제\d+조", s.anchor)


@requires_corpus
def test_addenda_setting_does_not_change_the_body(corpus_all: Docs) -> None:
    for path, doc in list(corpus_all.items())[:10]:
        plain = parse_statute(Path(path), ConnectorSettings(statute_addenda="none"))
        assert [s.anchor for s in body_sections(doc)] == [s.anchor for s in plain.sections]
        assert [s.text for s in body_sections(doc)] == [s.text for s in plain.sections]


# ------------------------------------------------------------------------------------------
# Whole corpus and the dev QA set
# ------------------------------------------------------------------------------------------


@requires_corpus
def test_every_corpus_file_is_a_statute_and_parses(corpus_latest: Docs) -> None:
    assert len(corpus_latest) == 61
    for path, doc in corpus_latest.items():
        assert is_statute_file(Path(path))
        assert doc.doc_id.startswith("statute:") and doc.title and doc.agency
        assert len(body_sections(doc)) > 0 and doc.effective_date is not None
    assert len({d.doc_id for d in corpus_latest.values()}) == 61


@requires_corpus
def test_body_anchors_are_unique_within_each_statute(corpus_all: Docs) -> None:
    for doc in corpus_all.values():
        body = [s.anchor for s in body_sections(doc)]
        assert len(body) == len(set(body)), doc.title
        assert all(re.fullmatch(rf"{re.escape(doc.title)} 제\d+조(의\d+)?", a) for a in body)


@requires_corpus
@pytest.mark.parametrize("question", dev_questions(), ids=lambda q: q["id"])
def test_every_dev_question_resolves_to_exactly_one_section(question: dict, by_title: Docs) -> None:
    doc = by_title[question["law"]]
    for article in question["articles"]:
        section(doc, f"{question['law']} {article}")


GOLD_FACTS = {
    "dev-001": ("국가공무원법", "제76조", ["30일"]),
    "dev-002": ("국가공무원법", "제83조의2", ["10년", "5년", "3년"]),
    "dev-003": ("국가공무원 복무규정", "제18조", ["6일", "진단서"]),
    "dev-004": ("공무원 여비 규정", "제18조", ["4시간", "1만원", "2만원"]),
    "dev-005": ("공무원임용령", "제31조", ["6급: 2년 이상"]),
    "dev-011": ("개인정보 보호법 시행령", "제39조", ["72시간"]),
    "dev-017": ("행정절차법", "제43조", ["40일", "20일"]),
    "dev-031": ("부정청탁 및 금품등 수수의 금지에 관한 법률", "제8조", ["100만원", "300만원"]),
    "dev-038": ("보안업무규정", "제4조", ["Ⅰ급", "Ⅱ급", "Ⅲ급"]),
}


@requires_corpus
@pytest.mark.parametrize("qid", sorted(GOLD_FACTS))
def test_dev_gold_facts_are_inside_the_cited_article(qid: str, by_title: Docs) -> None:
    law, article, facts = GOLD_FACTS[qid]
    question = next(q for q in dev_questions() if q["id"] == qid)
    assert (question["law"], question["articles"]) == (law, [article])
    text = section(by_title[law], f"{law} {article}").text
    assert [f for f in facts if f not in text] == []


# ------------------------------------------------------------------------------------------
# is_statute_file and errors
# ------------------------------------------------------------------------------------------


@requires_corpus
def test_is_statute_file_true_for_a_statute() -> None:
    assert is_statute_file(statute_path("개인정보보호법", "법률"))


def test_is_statute_file_false_for_ordinary_markdown(tmp_path: Path) -> None:
    plain = tmp_path / "note.md"
    plain.write_text("# 회의록\n\n법령MST: 1 이라고 본문에 적혀 있어도 머리말이 아니다.\n", encoding="utf-8")
    other_front_matter = tmp_path / "doc.md"
    other_front_matter.write_text("---\ntitle: 보도자료\n---\n\n본문\n", encoding="utf-8")
    not_markdown = tmp_path / "statute.txt"
    not_markdown.write_text(SYNTHETIC, encoding="utf-8")
    assert not is_statute_file(plain)
    assert not is_statute_file(other_front_matter)
    assert not is_statute_file(not_markdown)
    assert not is_statute_file(tmp_path / "missing.md")


def test_is_statute_file_true_for_synthetic_statute(tmp_path: Path) -> None:
    path = tmp_path / "법률.md"
    path.write_text(SYNTHETIC, encoding="utf-8")
    assert is_statute_file(path)
    assert parse_statute(path, ConnectorSettings()).source == str(path.resolve())


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("# 제목만 있는 문서\n", "머리말"),
        ("---\n제목: 시험 법\n법령MST: 1\n", "머리말"),  # never closed
        ("---\n제목: [시험\n법령MST: 1\n---\n", "해석"),  # invalid YAML
        ("---\n- 목록\n---\n", "키-값"),
        ("---\n제목: 시험 법\n법령MST: 1\n---\n##### 제1조 (목적)\n\n목적\n", "법령ID"),
        (SYNTHETIC.replace("시행일자: 2024-07-01", "시행일자: 내일"), "시행일자"),
    ],
    ids=["no-front-matter", "unclosed", "invalid-yaml", "not-a-mapping", "missing-id", "bad-date"],
)
def test_malformed_front_matter_raises_one_line_korean_parse_error(text: str, reason: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_statute_text(text, "/tmp/x/법률.md", ConnectorSettings())
    message = str(err.value)
    assert reason in message and "\n" not in message
    assert re.search(r"[가-힣]", message)


def test_statute_without_articles_raises_parse_error() -> None:
    text = SYNTHETIC.split("# 시험 법")[0] + "# 시험 법\n\n본문 없음\n"
    with pytest.raises(ParseError, match="조문"):
        parse_statute_text(text, "mem", ConnectorSettings())


def test_only_deleted_articles_count_as_no_articles() -> None:
    text = SYNTHETIC.split("# 시험 법")[0] + "# 시험 법\n\n##### 제1조\n\n삭제 <2020.1.1>\n"
    with pytest.raises(ParseError):
        parse_statute_text(text, "mem", ConnectorSettings())


def test_repeated_article_heading_is_merged_into_one_section() -> None:
    text = SYNTHETIC.replace("##### 제2조\n\n삭제 <2020.1.1>", "##### 제1조 (목적)\n\n두 번째 판의 본문.")
    doc = parse_statute_text(text, "mem", ConnectorSettings(statute_addenda="none"))
    purpose = section(doc, "시험 법 제1조")
    assert purpose.text == "이 법은 시험을 목적으로 한다.\n두 번째 판의 본문."


def test_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "법률.md"
    path.write_text(SYNTHETIC + "\n" + "가" * 400_000, encoding="utf-8")
    with pytest.raises(ParseError, match="너무 큽니다"):
        parse_statute(path, ConnectorSettings(max_file_mb=1))
