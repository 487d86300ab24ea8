"""Markdown, plain text and HTML connectors: structure, titles and text encodings."""

from __future__ import annotations

from pathlib import Path

import pytest
from connector_helpers import CORPUS, blocks, section

from connectors.html import parse_html
from connectors.plaintext import parse_markdown, parse_text
from connectors.registry import load_document
from connectors.settings import ConnectorSettings
from connectors.types import ParseError

CS = ConnectorSettings()


def test_markdown_headings_become_anchors_nested_under_the_title() -> None:
    doc = parse_markdown(CORPUS / "remote_work_guideline.md", CS)
    assert doc.title == "재택근무 운영 지침"
    assert doc.sections[0].anchor == "재택근무 운영 지침"
    assert "2024년 3월 1일부터 시행" in doc.sections[0].text
    days = section(doc, "3. 재택근무 일수")
    assert days.heading_path == ["재택근무 운영 지침"]
    assert days.blocks[0].text.startswith("재택근무는 주 2일 이내로 한다.")  # **bold** markup removed
    apply = section(doc, "4.1 신청")
    assert apply.heading_path == ["재택근무 운영 지침", "4. 신청 및 승인 절차"]
    assert "3근무일 전까지" in apply.text


def test_markdown_list_items_and_table_rows_are_separate_blocks(tmp_path: Path) -> None:
    md = tmp_path / "list.md"
    md.write_text(
        "# 제목\n\n- 첫째 항목\n- 둘째 항목\n  이어지는 줄\n\n| 구분 | 금액 |\n|---|---|\n| 일비 | 25,000원 |\n\n"
        "```\n# 코드 안의 샵은 제목이 아님\n```\n",
        encoding="utf-8",
    )
    doc = parse_markdown(md, CS)
    assert [b.text for b in doc.sections[0].blocks] == [
        "첫째 항목",
        "둘째 항목 이어지는 줄",
        "구분 | 금액",
        "일비 | 25,000원",
        "# 코드 안의 샵은 제목이 아님",
    ]
    assert [s.anchor for s in doc.sections] == ["제목"]


def test_plain_text_korean_heading_lines_start_sections() -> None:
    doc = parse_text(CORPUS / "security_inspection_notice.txt", CS)
    assert doc.title == "2024년 상반기 정보보안 점검 실시 공지"
    assert section(doc, "1. 점검 기간").blocks[0].text.startswith("2024년 5월 13일(월)부터 5월 24일(금)까지")
    items = section(doc, "3. 점검 항목").blocks
    assert len(items) == 6 and items[1].text.startswith("○ 비밀번호 변경 주기 준수 여부 (90일마다 변경")
    assert section(doc, "나. 현장 점검").heading_path == ["4. 점검 방법"]
    assert "7일 이내에 조치 결과를 제출" in section(doc, "5. 조치 사항").text


def test_plain_text_without_headings_is_one_section_split_on_blank_lines(tmp_path: Path) -> None:
    note = tmp_path / "메모.txt"
    note.write_text("첫 문단의 첫 줄\n이어지는 줄입니다.\n\n\n둘째 문단입니다.\n", encoding="utf-8")
    doc = parse_text(note, CS)
    assert doc.title == "첫 문단의 첫 줄"
    assert [s.anchor for s in doc.sections] == ["첫 문단의 첫 줄"]
    assert [b.text for b in doc.sections[0].blocks] == ["이어지는 줄입니다.", "둘째 문단입니다."]


def test_article_heading_keeps_its_same_line_body(tmp_path: Path) -> None:
    rules = tmp_path / "규정.txt"
    rules.write_text("제1조(목적) 이 규정은 회의 운영을 정한다.\n제2조(정의) 이 규정에서 쓰는 용어는 다음과 같다.\n")
    doc = parse_text(rules, CS)
    assert section(doc, "제1조(목적)").blocks[0].text == "이 규정은 회의 운영을 정한다."
    assert section(doc, "제2조(정의)").heading_path == []


def test_cp949_legacy_notice_is_decoded() -> None:
    path = CORPUS / "legacy_parking_notice_cp949.txt"
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the fixture really is CP949
    doc = load_document(path, CS)
    assert doc.title == "구청사 주차장 이용 제한 안내"
    assert "○ 민원인 차량은 본관 지하 2층 주차장 이용(2시간 무료)" in blocks(doc)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "euc-kr"])
def test_bom_and_euc_kr_text_is_decoded(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / f"note-{encoding}.txt"
    path.write_bytes("공지 제목\n\n주차장은 7월 15일부터 폐쇄합니다.\n".encode(encoding))
    doc = load_document(path, CS)
    assert doc.title == "공지 제목"
    assert blocks(doc) == ["주차장은 7월 15일부터 폐쇄합니다."]


def test_undecodable_bytes_are_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "garbled.txt"
    path.write_bytes(b"\x80\x81\xff\xfe\xfd\xfc" * 20)
    with pytest.raises(ParseError, match=r"^텍스트 인코딩을 알 수 없습니다 \(UTF-8/CP949 아님\)$"):
        load_document(path, CS)


def test_binary_file_named_txt_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ParseError, match="^텍스트 인코딩을 알 수 없습니다"):
        load_document(path, CS)


def test_html_title_headings_and_table_rows() -> None:
    doc = parse_html(CORPUS / "foi_request_guide.html", CS)
    assert doc.title == "정보공개 청구 처리 안내"
    deadline = section(doc, "2. 처리 기한")
    assert "10일 이내에 결정합니다" in deadline.text and "10일의 범위에서 한 번 연장" in deadline.text
    assert section(doc, "4.1 이의신청").heading_path == ["정보공개 청구 처리 안내", "4. 비공개 결정과 불복 절차"]
    fees = section(doc, "3. 수수료").blocks
    assert "문서 사본(종이 출력) | A4 1장 | 250원, 2장부터 1장마다 50원" in [b.text for b in fees]
    methods = [b.text for b in section(doc, "1. 청구 방법").blocks]
    assert "방문: 누리행정청 종합민원실(본관 1층) 정보공개 창구" in methods


def test_html_scripts_styles_and_navigation_are_dropped() -> None:
    text = parse_html(CORPUS / "foi_request_guide.html", CS).text
    assert "dataLayer" not in text and "font-family" not in text and "누리행정청 홈" not in text


def test_cp949_html_is_decoded(tmp_path: Path) -> None:
    page = tmp_path / "old.htm"
    page.write_bytes(
        '<html><head><meta charset="euc-kr"><title>옛 공지</title></head><body><h1>주차 안내</h1>'
        "<p>별관 주차장을 폐쇄합니다.</p></body></html>".encode("cp949")
    )
    doc = load_document(page, CS)
    assert doc.title == "옛 공지"
    assert section(doc, "주차 안내").blocks[0].text == "별관 주차장을 폐쇄합니다."


def test_single_line_text_file_is_not_emptied_by_title_detection(tmp_path: Path) -> None:
    path = tmp_path / "한줄.txt"
    path.write_text("회의는 10시에 시작\n", encoding="utf-8")
    doc = load_document(path, CS)
    assert doc.title == "한줄" and blocks(doc) == ["회의는 10시에 시작"]


def test_markdown_keeps_korean_angle_bracket_notes_but_drops_html_tags(tmp_path: Path) -> None:
    md = tmp_path / "note.md"
    md.write_text("# 안내\n\n기준을 바꿨다. <개정 2024. 1. 1.> <br/>**굵게** [링크](http://x.example)\n")
    assert blocks(parse_markdown(md, CS)) == ["기준을 바꿨다. <개정 2024. 1. 1.> 굵게 링크"]


def test_numbered_sentences_are_separate_blocks_and_short_titles_are_headings(tmp_path: Path) -> None:
    path = tmp_path / "절차.txt"
    path.write_text(
        "처리 절차 안내\n\n1. 개요\n민원 처리 순서를 안내합니다.\n2.처리 순서\n"
        "1. 접수 담당자가 민원을 등록한다.\n2. 담당 부서가 7일 이내에 답변한다.\n가. 세부 기준\n내용.\n",
        encoding="utf-8",
    )
    doc = parse_text(path, CS)
    assert [s.anchor for s in doc.sections] == ["1. 개요", "2.처리 순서", "가. 세부 기준"]
    assert [b.text for b in section(doc, "2.처리 순서").blocks] == [
        "1. 접수 담당자가 민원을 등록한다.",
        "2. 담당 부서가 7일 이내에 답변한다.",
    ]
    assert section(doc, "가. 세부 기준").heading_path == ["2.처리 순서"]


def test_html_layout_table_cells_keep_their_headings(tmp_path: Path) -> None:
    page = tmp_path / "layout.html"
    page.write_text(
        "<html><body><table><tr><td><h2>신청 안내</h2><p>신청은 온라인으로 합니다.</p></td>"
        "<td><table><tr><th>구분</th><th>기한</th></tr><tr><td>일반</td><td>10일</td></tr></table></td>"
        "</tr></table></body></html>",
        encoding="utf-8",
    )
    doc = parse_html(page, CS)
    assert [b.text for b in section(doc, "신청 안내").blocks] == [
        "신청은 온라인으로 합니다.",
        "구분 | 기한",
        "일반 | 10일",
    ]
