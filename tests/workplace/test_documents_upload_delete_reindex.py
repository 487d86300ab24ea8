"""Admins add documents through the API: a Markdown file and a PDF become searchable as their
agency's documents; a corrupt PDF and an ``.exe`` fail on their own (``invalid_upload``, named)
while the good file of the same upload is indexed; a file over ``documents.max_upload_bytes`` is
413 before anything is saved; a delete takes the document out of search and off the disk; a
re-index after the file was edited changes what search finds; users, and admins of another
agency, may do none of it. Through the real middleware (``served_api``): the upload's own body
limit, the worker thread, the job registry."""

from __future__ import annotations

import io
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import bearer, issue_key
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "security"))
from served_api import Served, served_api

from assistant.documents import safe_name

MAX_UPLOAD = 200_000
MAX_FILES = 4
FONT = "HYSMyeongJo-Medium"


def korean_pdf(pages: list[str]) -> bytes:
    """A PDF with one line of Korean text per page (reportlab's built-in CID font)."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    for text in pages:
        c.setFont(FONT, 12)
        c.drawString(72, 770, text)
        c.showPage()
    c.save()
    return out.getvalue()


def markdown(title: str, body: str) -> bytes:
    return f"# {title}\n\n## 본문\n\n{body}\n".encode()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("uploads")
    documents = {"upload_dir": str(root / "uploads"), "max_upload_bytes": MAX_UPLOAD, "max_files_per_upload": MAX_FILES}
    with served_api(root, embedder, ui={"enabled": False}, documents=documents) as s:
        s.keys["other_admin"] = issue_key(s.service, agency="다부처", clearance="internal", roles=("admin",))
        s.keys["reader"] = issue_key(s.service, agency="나부처", clearance="restricted")
        yield s


def upload(s: Served, files: list[tuple[str, bytes]], key: str = "admin", access: str | None = None) -> httpx.Response:
    parts = [("files", (name, data, "application/octet-stream")) for name, data in files]
    data = {"access": access} if access else None
    return httpx.post(s.url + "/v1/documents", files=parts, data=data, headers=bearer(s.keys[key]), timeout=60)


def finished(s: Served, job: dict[str, Any], key: str = "admin") -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while job["state"] != "done":
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
        got = httpx.get(f"{s.url}/v1/documents/jobs/{job['job_id']}", headers=bearer(s.keys[key]), timeout=30)
        if got.status_code == 429:  # polled past the key's rate: wait as told
            time.sleep(float(got.headers.get("retry-after", "1")))
            continue
        assert got.status_code == 200, got.text
        job = got.json()
    return job


def search(s: Served, query: str, key: str = "user") -> list[dict[str, Any]]:
    r = httpx.post(s.url + "/v1/search", json={"query": query, "top_k": 5}, headers=bearer(s.keys[key]), timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def folder(s: Served) -> Path:
    return s.settings.resolve(s.settings.documents.upload_dir) / "나부처"


def test_an_uploaded_markdown_and_pdf_become_searchable(api: Served):
    pdf = korean_pdf(["제1장 민원 처리", "민원 접수 뒤 7일 안에 처리 결과를 서면으로 통지한다."])
    sent = upload(api, [("../../민원 안내.pdf", pdf), ("연차 휴가.md", markdown("연차 휴가 지침", "연차 휴가는 "
                  "전자 결재로 사흘 전까지 신청한다."))], access="restricted")  # fmt: skip
    assert sent.status_code == 202, sent.text
    assert [f["state"] for f in sent.json()["files"]] == ["queued", "queued"]
    job = finished(api, sent.json())
    assert [(f["filename"], f["state"]) for f in job["files"]] == [("민원 안내.pdf", "done"), ("연차 휴가.md", "done")]
    assert all(f["chunks"] >= 1 and f["seconds"] > 0 and f["doc_id"].startswith("file:") for f in job["files"])
    pdf_hit = search(api, "민원 처리 결과 통지", key="reader")[0]
    assert pdf_hit["doc_id"] == job["files"][0]["doc_id"] and pdf_hit["source"] == "민원 안내.pdf"
    assert search(api, "연차 휴가 신청", key="reader")[0]["doc_id"] == job["files"][1]["doc_id"]
    saved = folder(api) / "민원 안내.pdf"  # the folders of the name dropped, the agency's folder
    assert saved.read_bytes() == pdf
    assert (folder(api) / "민원 안내.pdf.meta.yaml").read_text(
        encoding="utf-8"
    ) == "access: restricted\nagency: 나부처\n"
    for key in ("other_admin", "user"):  # restricted: the agency's callers cleared for it only
        assert pdf_hit["doc_id"] not in {h["doc_id"] for h in search(api, "민원 처리 결과 통지", key=key)}
    again = finished(api, upload(api, [("연차 휴가.md", markdown("연차 휴가 지침 2", "두 번째 사본이다."))]).json())
    assert again["files"][0]["saved_as"] == "연차 휴가_2.md"  # a name taken: a counter, nothing replaced


def test_a_bad_file_fails_alone_and_is_named_while_the_good_one_is_indexed(api: Served):
    sent = upload(api, [("고장.pdf", b"%PDF-1.4\n%%garbage, not a PDF at all\n"), ("도구.exe", b"MZ\x90\x00binary"),
                        ("출장 지침.md", markdown("출장 지침", "출장 보고서는 귀청 후 이틀 안에 낸다.")),
                        ("빈 파일.txt", b"  \n")])  # fmt: skip
    assert sent.status_code == 202, sent.text
    states = {f["filename"]: f for f in sent.json()["files"]}
    assert states["도구.exe"]["state"] == "failed" and states["빈 파일.txt"]["state"] == "failed"
    job = finished(api, sent.json())
    files = {f["filename"]: f for f in job["files"]}
    for name in ("고장.pdf", "도구.exe", "빈 파일.txt"):
        assert files[name]["state"] == "failed" and files[name]["chunks"] == 0
        assert files[name]["error"]["code"] == "invalid_upload" and files[name]["error"]["message"].startswith(name)
        assert not (folder(api) / name).exists() and not (folder(api) / f"{name}.meta.yaml").exists()
    assert "지원하지 않는 파일 형식" in files["도구.exe"]["error"]["message"]
    assert files["출장 지침.md"]["state"] == "done"
    assert search(api, "출장 보고서 제출 기한")[0]["doc_id"] == files["출장 지침.md"]["doc_id"]


def test_an_oversize_upload_is_refused_before_anything_is_saved(api: Served):
    before = sorted(p.name for p in folder(api).parent.rglob("*")) if folder(api).parent.exists() else []
    over = upload(api, [("큰 파일.txt", b"a" * (MAX_UPLOAD + 1)), ("작은 파일.md", markdown("작은", "작은 파일"))])
    assert over.status_code == 413 and over.json()["error"]["code"] == "upload_too_large"
    assert "큰 파일.txt" in over.json()["error"]["message"]
    too_many = upload(api, [(f"{i}.md", markdown(str(i), "내용")) for i in range(MAX_FILES + 1)])
    assert too_many.status_code == 413 and too_many.json()["error"]["code"] == "upload_too_large"
    huge = upload(api, [("거대.txt", b"a" * (MAX_FILES + 1) * MAX_UPLOAD)])  # over the whole body's cap
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "upload_too_large"
    after = sorted(p.name for p in folder(api).parent.rglob("*")) if folder(api).parent.exists() else []
    assert after == before
    small = httpx.post(api.url + "/v1/search", content=b"x" * 70_000, headers=bearer(api.keys["user"]), timeout=30)
    assert small.status_code == 413 and small.json()["error"]["code"] == "payload_too_large"  # others keep 64 KiB


def test_deleting_takes_a_document_out_of_search_and_off_the_disk(api: Served):
    job = finished(api, upload(api, [("폐기 예정.md", markdown("폐기 예정 공지", "구내식당은 금요일에 쉰다."))]).json())
    doc_id = job["files"][0]["doc_id"]
    assert search(api, "구내식당 휴무 요일")[0]["doc_id"] == doc_id
    gone = httpx.delete(f"{api.url}/v1/documents/{doc_id}", headers=bearer(api.keys["admin"]), timeout=60)
    assert gone.status_code == 204
    assert doc_id not in {h["doc_id"] for h in search(api, "구내식당 휴무 요일")}
    assert not (folder(api) / "폐기 예정.md").exists() and not (folder(api) / "폐기 예정.md.meta.yaml").exists()
    again = httpx.get(f"{api.url}/v1/documents/{doc_id}", headers=bearer(api.keys["admin"]), timeout=30)
    assert again.status_code == 404 and again.json()["error"]["code"] == "passage_not_found"


def test_reindexing_an_edited_file_changes_what_search_finds(api: Served):
    job = finished(
        api, upload(api, [("주차 규정.md", markdown("주차 규정", "방문객 주차는 두 시간까지 무료다."))]).json()
    )
    doc_id = job["files"][0]["doc_id"]
    (folder(api) / "주차 규정.md").write_bytes(markdown("주차 규정", "방문객 주차는 삼십 분까지만 무료로 바뀌었다."))
    sent = httpx.post(f"{api.url}/v1/documents/{doc_id}/reindex", headers=bearer(api.keys["admin"]), timeout=60)
    assert sent.status_code == 202, sent.text
    done = finished(api, sent.json())
    assert done["kind"] == "reindex" and done["files"][0]["state"] == "done" and done["files"][0]["doc_id"] == doc_id
    hit = search(api, "방문객 주차 무료 시간")[0]
    assert hit["doc_id"] == doc_id and "삼십 분" in hit["text"] and "두 시간" not in hit["text"]
    detail = httpx.get(f"{api.url}/v1/documents/{doc_id}", headers=bearer(api.keys["user"]), timeout=30).json()
    assert detail["chunks"] == 1


def test_users_and_other_agencies_admins_cannot_change_documents(api: Served):
    job = finished(api, upload(api, [("보안 수칙.md", markdown("보안 수칙", "퇴근 전 책상 위 서류를 치운다."))]).json())
    doc_id = job["files"][0]["doc_id"]
    user = bearer(api.keys["user"])
    refused = [
        upload(api, [("사용자.md", markdown("사용자", "올릴 수 없다."))], key="user"),
        httpx.delete(f"{api.url}/v1/documents/{doc_id}", headers=user, timeout=30),
        httpx.post(f"{api.url}/v1/documents/{doc_id}/reindex", headers=user, timeout=30),
        httpx.get(f"{api.url}/v1/documents/jobs/{job['job_id']}", headers=user, timeout=30),
        httpx.get(f"{api.url}/v1/sources", headers=user, timeout=30),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert {r.json()["error"]["code"] for r in refused} == {"forbidden"}

    # refused from the headers: a user's upload body is never taken in (the server answers at once,
    # though only the headers of its body were sent)
    host, port = api.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            (f"POST /v1/documents HTTP/1.1\r\nHost: {host}\r\nAuthorization: {user['Authorization']}\r\n"
             "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 4000\r\n\r\n").encode()
        )  # fmt: skip
        head = conn.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 403"), head[:200]
    other = bearer(api.keys["other_admin"])  # an admin, of another agency: reads the document (internal)
    assert httpx.delete(f"{api.url}/v1/documents/{doc_id}", headers=other, timeout=30).status_code == 403
    assert httpx.post(f"{api.url}/v1/documents/{doc_id}/reindex", headers=other, timeout=30).status_code == 403
    assert httpx.get(f"{api.url}/v1/documents/jobs/{job['job_id']}", headers=other, timeout=30).status_code == 404
    listed = {
        key: {j["job_id"] for j in httpx.get(f"{api.url}/v1/documents/jobs", headers=bearer(api.keys[key])).json()}
        for key in ("admin", "other_admin")
    }
    assert job["job_id"] in listed["admin"] and job["job_id"] not in listed["other_admin"]
    assert search(api, "퇴근 전 서류 정리")[0]["doc_id"] == doc_id and (folder(api) / "보안 수칙.md").exists()


@pytest.mark.parametrize(
    ("sent", "saved"),
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("C:\\Users\\담당자\\보고서.hwp", "보고서.hwp"),
        (".hidden.md", "hidden.md"),
        ("~$잠금.docx", "잠금.docx"),
        ('이름:"<>|?*.pdf', "이름_______.pdf"),
        ("..", "upload"),
        ("가" * 100 + ".pdf", "가" * 65 + ".pdf"),  # at most 200 bytes, the suffix kept
    ],
    ids=["traversal", "windows", "hidden", "office-lock", "reserved", "dots", "long"],
)
def test_an_uploaded_files_name_is_made_safe_and_keeps_its_korean(sent: str, saved: str):
    assert safe_name(sent) == saved
