"""PDF, DOCX and HWPX connectors on the generated sample files, and their broken variants."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from connector_helpers import CORPUS, blocks, section

from connectors.docx import parse_docx
from connectors.hwpx import parse_hwpx
from connectors.pdf import parse_pdf
from connectors.registry import load_document
from connectors.settings import ConnectorSettings
from connectors.types import ParseError

CS = ConnectorSettings()


def test_pdf_has_one_section_per_page_with_page_anchors() -> None:
    doc = parse_pdf(CORPUS / "privacy_plan_summary.pdf", CS)
    assert doc.title == "개인정보 보호 내부관리계획 요약"
    assert [(s.anchor, s.page) for s in doc.sections] == [("p. 1", 1), ("p. 2", 2), ("p. 3", 3)]


def test_pdf_hangul_is_extracted_intact_and_page_headings_are_kept() -> None:
    doc = parse_pdf(CORPUS / "privacy_plan_summary.pdf", CS)
    page2, page3 = doc.sections[1], doc.sections[2]
    assert page2.heading_path == ["3. 접근권한 관리"]
    assert "늦어도 인사발령일 다음 날까지 접근권한을 변경하거나 말소한다" in page2.text
    assert page3.heading_path == ["5. 개인정보 파기"]
    assert "그날부터 5일 이내에 파기한다" in page3.text
    assert "개인정보 보호책임자는 기획조정관으로 한다" in doc.sections[0].text


def test_docx_title_heading_sections_and_table_rows() -> None:
    doc = parse_docx(CORPUS / "travel_expense_manual.docx", CS)
    assert doc.title == "국내 출장 여비 정산 매뉴얼"
    rates = section(doc, "2.1 일비·식비·숙박비")
    assert rates.heading_path == ["국내 출장 여비 정산 매뉴얼", "2. 여비 지급 기준"]
    rows = [b.text for b in rates.blocks]
    assert "숙박비(서울특별시) | 1박 상한 100,000원 | 실비 지급, 영수증 필수" in rows
    assert "일비 | 1일 25,000원 | 공용차량 이용 시 2분의 1 감액" in rows
    steps = section(doc, "3. 정산 절차").blocks
    assert steps[0].text.startswith("출장을 마친 날부터 5근무일 이내에") and len(steps) == 4


def test_hwpx_title_outline_headings_table_and_footnote() -> None:
    doc = parse_hwpx(CORPUS / "civil_complaint_manual.hwpx", CS)
    assert doc.title == "민원 응대 매뉴얼"
    assert section(doc, "가. 전화 응대").heading_path == ["1. 민원 응대 기본 원칙"]
    deadlines = [b.text for b in section(doc, "2. 민원 처리 기한").blocks]
    assert "법령 해석 질의 | 14일 | 관계 부서 협의 포함" in deadlines
    assert '각주: 처리 기한의 "일"은 근무일 기준이며, 접수한 날은 포함하지 않는다.' in deadlines
    assert "최대 2일의 특별휴가" in section(doc, "가. 폭언·폭행 발생 시").text


def test_hwpx_sample_is_a_well_formed_owpml_package() -> None:
    with zipfile.ZipFile(CORPUS / "civil_complaint_manual.hwpx") as archive:
        first = archive.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert archive.read("mimetype") == b"application/hwp+zip"
        assert b"application/hwpml-package+xml" in archive.read("META-INF/container.xml")
        section0 = archive.read("Contents/section0.xml").decode()
        assert 'xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph"' in section0
        assert "<hs:sec " in section0 and "<hp:tbl " in section0
        assert 'name="개요 1"' in archive.read("Contents/header.xml").decode()


def _broken(tmp_path: Path, source: Path, keep: int) -> Path:
    target = tmp_path / f"broken{source.suffix}"
    target.write_bytes(source.read_bytes()[:keep])
    return target


def test_truncated_pdf_is_a_parse_error(tmp_path: Path) -> None:
    broken = _broken(tmp_path, CORPUS / "privacy_plan_summary.pdf", 3000)
    with pytest.raises(ParseError, match="^손상된 PDF 파일입니다"):
        load_document(broken, CS)


def test_non_pdf_bytes_named_pdf_are_a_parse_error(tmp_path: Path) -> None:
    fake = tmp_path / "fake.pdf"
    fake.write_text("그냥 텍스트", encoding="utf-8")
    with pytest.raises(ParseError, match=r"^PDF 형식이 아닙니다 \(%PDF 헤더 없음\)$"):
        load_document(fake, CS)


def test_truncated_docx_is_a_parse_error(tmp_path: Path) -> None:
    broken = _broken(tmp_path, CORPUS / "travel_expense_manual.docx", 5000)
    with pytest.raises(ParseError, match="^손상된 DOCX 파일입니다"):
        load_document(broken, CS)


def test_zip_without_word_document_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "notword.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "안녕하세요")
    with pytest.raises(ParseError, match="^손상된 DOCX 파일입니다"):
        load_document(path, CS)


def test_truncated_hwpx_is_a_parse_error(tmp_path: Path) -> None:
    broken = _broken(tmp_path, CORPUS / "civil_complaint_manual.hwpx", 3000)
    with pytest.raises(ParseError, match="^손상된 HWPX 파일입니다"):
        load_document(broken, CS)


def test_hwpx_with_malformed_section_xml_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.hwpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/hwp+zip")
        archive.writestr("Contents/section0.xml", "<hs:sec><hp:p>닫히지 않은 태그</hs:sec>")
    with pytest.raises(ParseError, match="^손상된 HWPX 파일입니다"):
        load_document(path, CS)


def test_encrypted_hwpx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "locked.hwpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/hwp+zip")
        archive.writestr(
            "META-INF/manifest.xml",
            '<odf:manifest xmlns:odf="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
            '<odf:file-entry full-path="Contents/section0.xml"><odf:encryption-data/></odf:file-entry>'
            "</odf:manifest>",
        )
        archive.writestr("Contents/section0.xml", b"\x00encrypted")
    with pytest.raises(ParseError, match="^암호화된 HWPX 문서는 읽을 수 없습니다$"):
        load_document(path, CS)


def test_every_generated_sample_round_trips_with_korean_text() -> None:
    for name, phrase in [
        ("travel_expense_manual.docx", "친지 집 등에서 숙박하여 숙박비를 지출하지 않은 경우 1박당 20,000원"),
        ("privacy_plan_summary.pdf", "72시간 이내에 정보주체에게 통지하고"),
        ("civil_complaint_manual.hwpx", "벨이 세 번 울리기 전에 받는다"),
    ]:
        assert any(phrase in b for b in blocks(load_document(CORPUS / name, CS))), name


def _minimal_hwpx(path: Path, paragraphs: list[tuple[int, str]]) -> Path:
    """An HWPX whose paragraphs use style 0 (바탕글) or 1 (개요 1)."""
    hh = 'xmlns:hh="http://www.hancom.co.kr/hwpml/2011/head"'
    ns = 'xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section" xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph"'
    header = (
        f"<hh:head {hh}><hh:refList><hh:paraProperties>"
        '<hh:paraPr id="0"><hh:heading type="NONE" idRef="0" level="0"/></hh:paraPr>'
        '<hh:paraPr id="1"><hh:heading type="OUTLINE" idRef="1" level="0"/></hh:paraPr></hh:paraProperties>'
        '<hh:styles><hh:style id="0" type="PARA" name="바탕글" paraPrIDRef="0"/>'
        '<hh:style id="1" type="PARA" name="개요 1" paraPrIDRef="1"/></hh:styles></hh:refList></hh:head>'
    )
    body = "".join(
        f'<hp:p paraPrIDRef="{style}" styleIDRef="{style}"><hp:run charPrIDRef="0"><hp:t>{text}</hp:t></hp:run></hp:p>'
        for style, text in paragraphs
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/hwp+zip")
        archive.writestr("Contents/header.xml", header)
        archive.writestr("Contents/section0.xml", f"<hs:sec {ns}>{body}</hs:sec>")
    return path


def test_hwpx_heading_typed_over_two_paragraphs_is_one_anchor(tmp_path: Path) -> None:
    path = _minimal_hwpx(
        tmp_path / "a.hwpx", [(1, "우리 기관이 처음 여는"), (1, "데이터 개방 행사"), (0, "본문입니다.")]
    )
    doc = load_document(path, CS)
    assert doc.title == "우리 기관이 처음 여는 데이터 개방 행사"
    assert [(s.anchor, s.text) for s in doc.sections] == [("우리 기관이 처음 여는 데이터 개방 행사", "본문입니다.")]


def test_hwpx_consecutive_numbered_headings_stay_separate_and_keep_their_text(tmp_path: Path) -> None:
    path = _minimal_hwpx(tmp_path / "b.hwpx", [(1, "1. 목적"), (1, "2. 정의"), (0, "용어의 뜻은 다음과 같다.")])
    doc = load_document(path, CS)
    assert [(s.anchor, s.text) for s in doc.sections] == [
        ("1. 목적", "1. 목적"),  # an empty leaf heading keeps its text as a block
        ("2. 정의", "용어의 뜻은 다음과 같다."),
    ]
