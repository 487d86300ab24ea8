"""Sidecar/folder metadata, document ids, discovery and the load_document dispatcher."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from connector_helpers import CORPUS

from connectors.registry import SUPPORTED_SUFFIXES, discover, load_document
from connectors.settings import ConnectorSettings
from connectors.types import AccessLevel, ParseError

CS = ConnectorSettings()


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def test_sidecar_overrides_folder_meta_key_by_key() -> None:
    doc = load_document(CORPUS / "privacy_plan_summary.pdf", CS)
    assert doc.access is AccessLevel.INTERNAL  # sidecar; the folder says public
    assert doc.agency == "누리행정청"  # folder
    assert (doc.doc_type, doc.effective_date) == ("plan", date(2024, 2, 1))  # sidecar
    public = load_document(CORPUS / "security_inspection_notice.txt", CS)
    assert public.access is AccessLevel.PUBLIC and public.doc_type == "notice"


def test_restricted_document_of_second_agency_lists_allowed_agencies() -> None:
    doc = load_document(CORPUS / "data_sharing_standard.md", CS)
    assert doc.agency == "한빛데이터원"
    assert doc.access is AccessLevel.RESTRICTED
    assert doc.allowed_agencies == ["한빛데이터원", "누리행정청"]
    assert doc.title == "기관 간 데이터 공동활용 운영 기준"


def test_defaults_without_meta_files(tmp_path: Path) -> None:
    path = _write(tmp_path / "메모.md", "본문만 있는 문서입니다.\n")
    doc = load_document(path, ConnectorSettings(default_access="restricted"))
    assert doc.title == "메모"  # no heading: the file stem
    assert (doc.agency, doc.doc_type, doc.allowed_agencies, doc.effective_date) == ("", "document", [], None)
    assert doc.access is AccessLevel.RESTRICTED
    assert [s.anchor for s in doc.sections] == ["메모"]


def test_owning_agency_is_always_in_allowed_agencies(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.txt", "안내\n\n내용입니다.\n")
    _write(tmp_path / "a.txt.meta.yaml", "agency: 누리행정청\naccess: restricted\nallowed_agencies: [한빛데이터원]\n")
    doc = load_document(path, CS)
    assert doc.allowed_agencies == ["누리행정청", "한빛데이터원"]


def test_meta_title_overrides_document_title_and_anchors_the_preamble(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.md", "머리말 문단입니다.\n\n# 본문 제목\n\n본문입니다.\n")
    _write(tmp_path / "_meta.yaml", "title: 메타 제목\n")
    doc = load_document(path, CS)
    assert doc.title == "메타 제목"
    assert [s.anchor for s in doc.sections] == ["메타 제목", "본문 제목"]


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ("access: secret\n", "'access' public, internal, restricted 중 하나여야 합니다"),
        ("effective_date: 2024/03/01\n", "'effective_date' YYYY-MM-DD 형식의 날짜여야 합니다"),
        ("allowed_agencies: 누리행정청\n", "'allowed_agencies' 문자열 목록이어야 합니다"),
        ("agnecy: 누리행정청\n", "'agnecy' 알 수 없는 키입니다"),
    ],
    ids=["bad-access", "bad-date", "agencies-not-a-list", "unknown-key"],
)
def test_invalid_sidecar_names_the_file_and_the_bad_key(tmp_path: Path, meta: str, message: str) -> None:
    path = _write(tmp_path / "guide.txt", "안내\n\n내용입니다.\n")
    _write(tmp_path / "guide.txt.meta.yaml", meta)
    with pytest.raises(ParseError) as info:
        load_document(path, CS)
    assert str(info.value).startswith("메타데이터 파일이 올바르지 않습니다 (guide.txt.meta.yaml): ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_invalid_folder_meta_yaml_syntax_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "guide.txt", "안내\n\n내용입니다.\n")
    _write(tmp_path / "_meta.yaml", "agency: 누리행정청\naccess: [public\n")
    with pytest.raises(ParseError, match=r"^메타데이터 파일의 YAML 구문 오류 \(_meta\.yaml \d+행\)$"):
        load_document(path, CS)


def test_doc_id_is_stable_hash_of_resolved_path() -> None:
    path = CORPUS / "remote_work_guideline.md"
    first, second = load_document(path, CS), load_document(path, CS)
    expected = "file:" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
    assert first.doc_id == second.doc_id == expected
    assert first.source == str(path.resolve())
    assert first.content_hash == second.content_hash == first.compute_hash()


def test_discover_expands_folders_sorted_and_skips_meta_hidden_and_unsupported(tmp_path: Path) -> None:
    for name in ["b.md", "a.txt", "sub/c.hwp", "sub/d.HTML", "_meta.yaml", "a.txt.meta.yaml",
                 ".hidden.md", ".git/config.md", "image.png", "~$lock.docx"]:  # fmt: skip
        _write(tmp_path / name, "x")
    files, errors = discover([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in files] == ["a.txt", "b.md", "sub/c.hwp", "sub/d.HTML"]
    assert errors == []


def test_discover_reports_missing_paths_and_explicit_unsupported_files(tmp_path: Path) -> None:
    good = _write(tmp_path / "a.md", "x")
    png = _write(tmp_path / "b.png", "x")
    missing = tmp_path / "없는파일.pdf"
    files, errors = discover([good, missing, png, good])
    assert files == [good]
    assert errors == [(missing, "파일이나 폴더가 없습니다"), (png, "지원하지 않는 파일 형식입니다 (.png)")]


def test_discover_finds_the_whole_sample_corpus() -> None:
    files, errors = discover([CORPUS])
    assert errors == []
    assert {p.suffix for p in files} == {".md", ".html", ".docx", ".pdf", ".txt", ".hwpx"}
    assert len(files) == 8
    assert {p.suffix.lower() for p in files} <= SUPPORTED_SUFFIXES
    for path in files:
        doc = load_document(path, CS)
        assert doc.text.strip() and doc.agency in {"누리행정청", "한빛데이터원"}, path.name


def test_oversize_file_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.txt", "가" * 200_000)  # 600,000 bytes
    with pytest.raises(ParseError, match=r"^파일이 너무 큽니다 \(0\.57 MB > 한도 0\.1 MB\)$"):
        load_document(path, ConnectorSettings(max_file_mb=0.1))


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.html"])
def test_empty_file_is_a_parse_error(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path / name, "" if name != "empty.html" else "<html><body> </body></html>")
    with pytest.raises(ParseError, match="^텍스트를 찾을 수 없습니다"):
        load_document(path, CS)


def test_docx_without_text_is_a_parse_error(tmp_path: Path) -> None:
    import docx

    path = tmp_path / "blank.docx"
    docx.Document().save(str(path))
    with pytest.raises(ParseError, match="^텍스트를 찾을 수 없습니다"):
        load_document(path, CS)


def test_unsupported_suffix_and_missing_file_are_parse_errors(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match=r"^지원하지 않는 파일 형식입니다 \(\.png\)$"):
        load_document(_write(tmp_path / "a.png", "x"), CS)
    with pytest.raises(ParseError, match="^파일을 읽을 수 없습니다"):
        load_document(tmp_path / "none.txt", CS)


def test_markdown_with_front_matter_but_no_statute_key_is_read_as_markdown(tmp_path: Path) -> None:
    path = _write(tmp_path / "note.md", "---\ntitle: 앞부분 제목\n---\n\n## 안내\n\n내용입니다.\n")
    doc = load_document(path, CS)
    assert doc.title == "앞부분 제목"
    assert [s.anchor for s in doc.sections] == ["안내"]


def test_statute_markdown_is_dispatched_to_the_statute_connector(tmp_path: Path) -> None:
    from connectors import statute

    path = _write(
        tmp_path / "법률.md",
        "---\n제목: 가상행정기본법\n법령MST: 123456\n법령ID: '009999'\n소관부처:\n- 누리행정청\n---\n\n"
        "# 가상행정기본법\n\n##### 제1조 (목적)\n\n이 법은 가상 행정의 기본 원칙을 정한다.\n",
    )
    assert statute.is_statute_file(path)
    expected = statute.parse_statute(path, CS)
    doc = load_document(path, CS)
    assert (doc.doc_id, doc.text) == (expected.doc_id, expected.text)
    assert doc.doc_id != "file:" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24]
