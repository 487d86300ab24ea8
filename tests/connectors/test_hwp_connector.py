"""HWP 5 connector on the two real files in shared/data/hwp, plus broken and protected files."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import olefile
import pytest
from connector_helpers import blocks, hwp_file, section

from connectors.hwp import parse_hwp
from connectors.registry import load_document
from connectors.settings import ConnectorSettings
from connectors.types import ParseError

CS = ConnectorSettings()
HEADLINE = "우리가 독자 개발하여 최초 발사하는 한국형발사체, 국민이 정한 그 이름은 ｢누리｣"
SUBTITLE = (
    "“세상”의 옛말로, 우주까지 확장된 새로운 세상을 연다는 의미 - 명칭공모전에 1만건 이상 응모, 뜨거운 관심 보여 -"
)
BIG, MIDDLE = "‘본문 대제목’ 으로 작성합니다. (본문 대제목)", "본문 중제목 (본문 중제목)"


def test_press_release_title_is_its_two_paragraph_outline_headline() -> None:
    doc = load_document(hwp_file("noori.hwp"), CS)
    assert doc.title == HEADLINE
    assert doc.doc_id.startswith("file:") and len(doc.doc_id) == 5 + 24
    assert doc.source == str((hwp_file("noori.hwp")).resolve())


def test_press_release_body_text_is_under_the_subtitle_heading() -> None:
    body = section(parse_hwp(hwp_file("noori.hwp"), CS), SUBTITLE)
    assert "1.5톤급 실용위성을 지구 저궤도(600km~800km)까지 쏘아 올릴 수 있는 3단형 우주발사체" in body.text
    assert "약 6,300여명의 국민이 참여하여 총 10,000건 이상의 응모작을 제출" in body.text


def test_press_release_contact_block_and_table_rows_are_kept() -> None:
    texts = blocks(parse_hwp(hwp_file("noori.hwp"), CS))
    assert "담당과장 | 장인숙(02-2110-2430) | 담 당 자 | 용찬재 사무관(02-2110-2428)" in texts
    assert "총 길이 | 47.2 m | 25.8 m" in texts
    assert "이륙 중량 | 200 톤 | 52.1 톤" in texts
    assert any("용찬재 사무관(☎ 02-2110-2428)에게 연락주시기 바랍니다" in t for t in texts)


def test_report_headings_become_anchors_with_heading_path() -> None:
    doc = parse_hwp(hwp_file("basicsReport.hwp"), CS)
    sub = section(doc, "본문 소제목 (본문 소제목)")
    assert sub.heading_path == [BIG, MIDDLE]
    assert "나눔고딕 또는 나눔고딕 에코 9pt크기로 작성합니다" in sub.text
    assert section(doc, "본문 소제목: Title(본문소제목)").heading_path == [BIG, MIDDLE]


def test_report_table_cells_footnote_list_and_text_boxes_are_included() -> None:
    texts = blocks(parse_hwp(hwp_file("basicsReport.hwp"), CS))
    assert "담당교수 | ○○○" in texts  # cover-page table row
    assert "학번 | 200012345" in texts
    assert "각주목록을 적용합니다." in texts  # the template's footnote list: a styled cell, no fn control
    assert "이 문서는 나눔글꼴로 작성되었습니다. 설치하기" in texts  # text box
    assert "내용 | 내용" in texts  # the data table nested inside the page-layout table


def test_truncated_hwp_is_a_parse_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.hwp"
    broken.write_bytes((hwp_file("noori.hwp")).read_bytes()[:50_000])
    with pytest.raises(ParseError, match="^손상된 HWP 파일입니다"):
        load_document(broken, CS)


def test_non_ole_file_renamed_hwp_is_a_parse_error(tmp_path: Path) -> None:
    fake = tmp_path / "fake.hwp"
    fake.write_text("이것은 한글 파일이 아닙니다", encoding="utf-8")
    with pytest.raises(ParseError, match=r"^HWP 5 형식이 아닙니다 \(OLE 서명 없음\)$"):
        load_document(fake, CS)


def _with_flags(source: Path, target: Path, flags: int) -> Path:
    """A copy of ``source`` with FileHeader property bits set (the stream keeps its size)."""
    shutil.copyfile(source, target)
    target.chmod(0o644)
    with olefile.OleFileIO(str(target), write_mode=True) as ole:
        header = bytearray(ole.openstream("FileHeader").read())
        struct.pack_into("<I", header, 36, struct.unpack_from("<I", header, 36)[0] | flags)
        ole.write_stream("FileHeader", bytes(header))
    return target


def test_password_encrypted_hwp_is_refused(tmp_path: Path) -> None:
    locked = _with_flags(hwp_file("noori.hwp"), tmp_path / "locked.hwp", 0x2)
    with pytest.raises(ParseError, match="^암호화된 HWP 문서는 읽을 수 없습니다$"):
        load_document(locked, CS)


def test_distribution_hwp_is_refused(tmp_path: Path) -> None:
    dist = _with_flags(hwp_file("noori.hwp"), tmp_path / "dist.hwp", 0x4)
    with pytest.raises(ParseError, match="^배포용 HWP 문서는 읽을 수 없습니다"):
        load_document(dist, CS)
