"""관리 tab of the chat page, for admins only: upload documents and watch each file being parsed
and indexed, list, inspect, delete and re-index documents, see each source's last sync, issue
and revoke API keys, and read usage.

Who is an admin: the signed-in identity holds the ``admin`` role. Every handler looks the caller
up again from its own request (a revoked key loses access at once), never from state set at page
load; anyone else gets only :data:`ADMIN_ONLY` and no data. An admin of an agency manages that
agency's documents and keys; what they see of documents is what their principal may read (the
library's checks, :mod:`assistant.documents`). Errors are plain Korean notices.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from assistant.callers import Caller
from assistant.documents import library
from assistant.usage import usage_from_store
from connectors.errors import NuriError
from ui.notices import plain_error

if TYPE_CHECKING:
    from assistant.documents import DocumentJob
    from assistant.service import NuriService
    from configs.settings import Settings

log = logging.getLogger("nuri.ui.admin")

TAB_LABEL = "관리"
ADMIN_ONLY = "> 🔒 관리 화면은 관리자(admin) 권한이 있는 사용자만 볼 수 있습니다."
STATE_KO = {"queued": "대기", "parsing": "읽는 중", "indexing": "색인 중", "done": "완료", "failed": "실패"}
ACCESS_CHOICES = [("내부 (기관 내부)", "internal"), ("공개", "public"), ("제한 (열람 등급 '제한'만)", "restricted")]
UPLOAD_HEADERS = ["파일", "상태", "조각 수", "걸린 시간(초)", "안내"]
DOC_HEADERS = ["문서 ID", "제목", "파일", "유형", "기관", "열람 등급", "조각 수"]
SOURCE_HEADERS = ["출처(폴더)", "마지막 실행", "결과", "추가", "변경", "삭제", "실패", "마지막 성공 후", "실패한 파일"]
KEY_HEADERS = ["키 ID", "설명", "기관", "열람 등급", "역할", "만든 때", "마지막 사용", "상태"]
USAGE_HEADERS = ["기관", "도우미", "키", "모델", "질문", "답변", "근거 없음", "차단", "검색", "입력 토큰", "출력 토큰"]
POLL_S = 0.4
UPLOAD_TIMEOUT_S = 1800.0

CallerOf = Callable[[gr.Request | None], Caller | None]


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "성공한 적 없음"
    if seconds < 90:
        return f"{int(seconds)}초"
    if seconds < 5400:
        return f"{int(seconds // 60)}분"
    if seconds < 172800:
        return f"{int(seconds // 3600)}시간"
    return f"{int(seconds // 86400)}일"


def _local(dt: datetime | None) -> str:
    return dt.astimezone(UTC).astimezone().strftime("%Y-%m-%d %H:%M") if dt else ""


def job_rows(job: DocumentJob) -> list[list[Any]]:
    rows = []
    for f in job.files:
        message = ""
        if f.error is not None:
            message = f.error.message
        elif f.state == "done":
            message = "검색할 수 있습니다"
        rows.append([f.filename, STATE_KO.get(f.state, f.state), f.chunks, round(f.seconds, 1), message])
    return rows


def build_admin_tab(blocks: gr.Blocks, service: NuriService, settings: Settings, caller_of: CallerOf) -> None:
    """The 관리 tab's content, inside the current ``gr.Tab``."""

    def admin(request: gr.Request | None) -> Caller | None:
        who = caller_of(request)
        return who if who is not None and who.has_role("admin") else None

    notice = gr.Markdown("", elem_classes=["nuri-notice"], elem_id="nuri-admin-notice")
    with gr.Column(visible=False, elem_id="nuri-admin-panel") as panel, gr.Tabs():
        with gr.Tab("문서 올리기", id="upload"):
            gr.Markdown(
                "PDF, 한글(HWP/HWPX), Word(DOCX), HTML, Markdown, 텍스트 파일을 끌어다 놓거나 골라 올리세요. "
                f"파일마다 최대 {settings.documents.max_upload_bytes // (1024 * 1024)}MB, 한 번에 "
                f"{settings.documents.max_files_per_upload}개까지. 올린 문서는 이 기관의 문서가 됩니다."
            )
            files = gr.File(
                file_count="multiple",
                label="올릴 파일",
                file_types=[".pdf", ".hwp", ".hwpx", ".docx", ".html", ".htm", ".md", ".txt"],
                elem_id="nuri-upload-files",
            )
            access = gr.Radio(ACCESS_CHOICES, value="internal", label="열람 등급", elem_id="nuri-upload-access")
            upload_btn = gr.Button("올리고 색인하기", variant="primary", elem_id="nuri-upload")
            progress = gr.Dataframe(
                headers=UPLOAD_HEADERS, value=[], interactive=False, wrap=True, label="진행 상황",
                elem_id="nuri-upload-progress",
            )  # fmt: skip
            upload_notice = gr.Markdown("", elem_id="nuri-upload-notice")
        with gr.Tab("문서 목록", id="documents"):
            refresh_docs = gr.Button("새로고침", size="sm", elem_id="nuri-docs-refresh")
            docs = gr.Dataframe(
                headers=DOC_HEADERS, value=[], interactive=False, wrap=True, label="색인된 문서",
                elem_id="nuri-docs",
            )  # fmt: skip
            doc_id = gr.Textbox(label="문서 ID (목록에서 행을 누르면 채워집니다)", max_lines=1, elem_id="nuri-doc-id")
            with gr.Row():
                show_btn = gr.Button("조각 보기", size="sm", elem_id="nuri-doc-show")
                reindex_btn = gr.Button("다시 색인", size="sm", elem_id="nuri-doc-reindex")
                delete_btn = gr.Button("삭제", size="sm", variant="stop", elem_id="nuri-doc-delete")
            doc_notice = gr.Markdown("", elem_id="nuri-doc-notice")
            chunks = gr.Dataframe(
                headers=["조각 ID", "위치"], value=[], interactive=False, wrap=True, label="조각",
                elem_id="nuri-doc-chunks",
            )  # fmt: skip
        with gr.Tab("자료 출처", id="sources"):
            refresh_sources = gr.Button("새로고침", size="sm", elem_id="nuri-sources-refresh")
            sources_table = gr.Dataframe(
                headers=SOURCE_HEADERS, value=[], interactive=False, wrap=True, label="동기화 상태",
                elem_id="nuri-sources-table",
            )  # fmt: skip
        with gr.Tab("API 키", id="keys"):
            keys_table = gr.Dataframe(
                headers=KEY_HEADERS, value=[], interactive=False, wrap=True, label="이 기관의 키", elem_id="nuri-keys"
            )
            with gr.Row():
                key_label = gr.Textbox(label="설명 (용도)", max_lines=1, elem_id="nuri-key-label")
                key_clearance = gr.Dropdown(
                    [("공개", "public"), ("내부", "internal"), ("제한", "restricted")], value="internal",
                    label="열람 등급", elem_id="nuri-key-clearance",
                )  # fmt: skip
                key_roles = gr.CheckboxGroup(
                    [("사용자", "user"), ("평가자", "evaluator"), ("관리자", "admin")], value=["user"], label="역할",
                    elem_id="nuri-key-roles",
                )  # fmt: skip
            issue_btn = gr.Button("키 발급", variant="primary", size="sm", elem_id="nuri-key-issue")
            issued = gr.Textbox(
                label="발급된 키 (지금 한 번만 보입니다: 안전한 곳에 옮겨 두세요)", interactive=False,
                buttons=["copy"], visible=False, elem_id="nuri-key-issued",
            )  # fmt: skip
            revoke_id = gr.Textbox(label="폐기할 키 ID", max_lines=1, elem_id="nuri-key-revoke-id")
            revoke_btn = gr.Button("키 폐기", variant="stop", size="sm", elem_id="nuri-key-revoke")
            key_notice = gr.Markdown("", elem_id="nuri-key-notice")
        with gr.Tab("사용량", id="usage"):
            days = gr.Radio([("7일", 7), ("30일", 30), ("90일", 90)], value=30, label="기간", elem_id="nuri-usage-days")
            refresh_usage = gr.Button("새로고침", size="sm", elem_id="nuri-usage-refresh")
            usage_table = gr.Dataframe(
                headers=USAGE_HEADERS, value=[], interactive=False, wrap=True, label="기관·도우미·키·모델별 사용량",
                elem_id="nuri-usage",
            )  # fmt: skip
            usage_notice = gr.Markdown("", elem_id="nuri-usage-notice")

    # -- handlers ------------------------------------------------------------------------------
    def load(request: gr.Request) -> tuple[Any, str]:
        return (gr.update(visible=True), "") if admin(request) else (gr.update(visible=False), ADMIN_ONLY)

    def upload(paths: list[Any] | None, level: str, request: gr.Request) -> Iterator[tuple[list[list[Any]], str]]:
        who = admin(request)
        if who is None:
            yield [], ADMIN_ONLY
            return
        picked = [Path(str(getattr(p, "name", p))) for p in paths or []]
        if not picked:
            yield [], "> ℹ️ 올릴 파일을 고르세요."
            return
        limit = settings.documents.max_upload_bytes
        too_big = [p.name for p in picked if p.stat().st_size > limit]
        if too_big:
            yield [], f"> ⛔ 파일이 너무 큽니다 ({limit // (1024 * 1024)}MB까지): {', '.join(too_big)}"
            return
        try:
            files = [(_sent_name(p), p.read_bytes()) for p in picked]
            job = library(service).submit_upload(files, who, access=level)
        except NuriError as e:
            yield (
                [],
                f"> ⛔ {plain_error(e.code, str(e)) if e.code not in ('invalid_upload', 'upload_too_large') else e}",
            )
            return
        deadline = time.monotonic() + UPLOAD_TIMEOUT_S
        while True:
            yield job_rows(job), "> ⏳ 문서를 읽고 색인하는 중입니다…"
            if job.state == "done" or time.monotonic() > deadline:
                break
            time.sleep(POLL_S)
            job = library(service).job(job.job_id, who)
        failed = [f for f in job.files if f.state == "failed"]
        done = [f for f in job.files if f.state == "done"]
        summary = f"> ✅ {len(done)}개 파일을 색인했습니다." if done else ""
        if failed:
            summary += f"\n>\n> ⚠️ {len(failed)}개 파일은 색인하지 못했습니다: 표의 안내를 확인하세요."
        yield job_rows(job), summary

    def document_rows(request: gr.Request) -> tuple[list[list[Any]], str]:
        who = admin(request)
        if who is None:
            return [], ADMIN_ONLY
        try:
            listed = library(service).list_documents(who)
        except NuriError as e:
            return [], f"> ⛔ {plain_error(e.code, str(e))}"
        rows = [[d.doc_id, d.title, d.source, d.doc_type, d.agency, d.access, d.chunks] for d in listed]
        return rows, f"> 문서 {len(rows)}개"

    def pick_document(evt: gr.SelectData, table: Any) -> str:
        try:
            row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
            return str(table.iloc[row, 0]) if hasattr(table, "iloc") else str(table[row][0])
        except (IndexError, KeyError, TypeError):
            return ""

    def show_chunks(target: str, request: gr.Request) -> tuple[list[list[Any]], str]:
        who = admin(request)
        if who is None:
            return [], ADMIN_ONLY
        if not (target or "").strip():
            return [], "> ℹ️ 문서 ID를 입력하거나 목록에서 고르세요."
        try:
            detail = library(service).document(target.strip(), who)
        except NuriError as e:
            return [], f"> ⚠️ {plain_error(e.code, str(e))}"
        rows = [[c.chunk_id, c.location] for c in detail.chunk_list]
        return rows, f"> **{detail.title}**: 조각 {len(rows)}개"

    def delete(target: str, request: gr.Request) -> tuple[list[list[Any]], str]:
        who = admin(request)
        if who is None:
            return [], ADMIN_ONLY
        try:
            result = library(service).delete(target.strip(), who)
        except NuriError as e:
            return gr.update(), f"> ⚠️ {plain_error(e.code, str(e))}"  # type: ignore[return-value]
        rows, _ = document_rows(request)
        removed = " (올린 파일도 지웠습니다)" if result.file_removed else ""
        return rows, f"> ✅ 문서를 색인에서 지웠습니다{removed}."

    def reindex(target: str, request: gr.Request) -> Iterator[tuple[list[list[Any]], str]]:
        who = admin(request)
        if who is None:
            yield [], ADMIN_ONLY
            return
        try:
            job = library(service).submit_reindex(target.strip(), who)
            while job.state != "done":
                yield job_rows(job), "> ⏳ 다시 색인하는 중입니다…"
                time.sleep(POLL_S)
                job = library(service).job(job.job_id, who)
        except NuriError as e:
            yield [], f"> ⚠️ {plain_error(e.code, str(e)) if e.code != 'invalid_upload' else e}"
            return
        yield (
            job_rows(job),
            "> ✅ 다시 색인했습니다."
            if job.files and job.files[0].state == "done"
            else "> ⚠️ 다시 색인하지 못했습니다.",
        )

    def source_rows(request: gr.Request) -> list[list[Any]]:
        who = admin(request)
        if who is None:
            return []
        try:
            statuses = library(service).sources(who)
        except NuriError:
            log.exception("sources not listed")
            return []
        return [
            [
                s.root, _local(s.last_run.finished_at), "성공" if s.last_run.ok else "실패 있음", s.last_run.added,
                s.last_run.updated, s.last_run.removed, s.last_run.failed, _ago(s.seconds_since_success),
                "; ".join(f"{f.file}: {f.reason}" for f in s.last_run.failures[:5]),
            ]
            for s in statuses
        ]  # fmt: skip

    def key_rows(request: gr.Request) -> list[list[Any]]:
        who = admin(request)
        if who is None or service.keys is None:
            return []
        agency = who.principal.agency
        records = [r for r in service.keys.list() if agency is None or r.agency == agency]
        return [
            [
                r.key_id, r.label, r.agency, r.clearance, ", ".join(sorted(r.roles)), _local(r.created_at),
                _local(r.last_used_at), "폐기됨" if r.revoked_at else "사용 중",
            ]
            for r in records
        ]  # fmt: skip

    def issue(label: str, clearance: str, roles: list[str], request: gr.Request) -> tuple[Any, list[list[Any]], str]:
        who = admin(request)
        if who is None or service.keys is None:
            return gr.update(visible=False), [], ADMIN_ONLY
        agency = who.principal.agency
        if not agency:
            return gr.update(visible=False), key_rows(request), "> ⚠️ 기관이 없는 관리자는 `nuri keys create`를 쓰세요."
        try:
            record, key = service.keys.create(agency, clearance, roles or ["user"], label or "")
        except (NuriError, ValueError) as e:
            return (
                gr.update(visible=False),
                key_rows(request),
                f"> ⚠️ 키를 발급하지 못했습니다: {' '.join(str(e).split())[:200]}",
            )
        log.info("key issued from the admin page", extra={"key_id": record.key_id, "by": who.subject})
        return gr.update(value=key, visible=True), key_rows(request), f"> ✅ 키 `{record.key_id}`를 발급했습니다."

    def revoke(key_id: str, request: gr.Request) -> tuple[list[list[Any]], str]:
        who = admin(request)
        if who is None or service.keys is None:
            return [], ADMIN_ONLY
        record = service.keys.get((key_id or "").strip())
        if record is None or (who.principal.agency is not None and record.agency != who.principal.agency):
            return key_rows(request), "> ⚠️ 이 기관에 그런 키가 없습니다."
        service.keys.revoke(record.key_id)
        log.info("key revoked from the admin page", extra={"key_id": record.key_id, "by": who.subject})
        return key_rows(request), f"> ✅ 키 `{record.key_id}`를 폐기했습니다. 이 키의 로그인도 바로 끝납니다."

    def usage_rows(period: int, request: gr.Request) -> tuple[list[list[Any]], str]:
        who = admin(request)
        if who is None:
            return [], ADMIN_ONLY
        if service.audit is None:
            return [], "> ℹ️ 감사 기록이 꺼져 있어 사용량을 셀 수 없습니다."
        since = datetime.now(UTC) - timedelta(days=int(period or 30))
        by = ["agency", "assistant", "key", "model"]
        try:
            report = usage_from_store(service.audit, since, None, by, agency=who.principal.agency)
        except NuriError as e:
            return [], f"> ⛔ {plain_error(e.code, str(e))}"
        table = [
            [*(r.group.get(g) or "" for g in by), r.questions, r.answers, r.refusals, r.guardrail_blocks, r.searches,
             r.tokens_in, r.tokens_out]
            for r in report.rows
        ]  # fmt: skip
        return table, f"> 최근 {period}일, 감사 기록 기준 (API 호출 포함)"

    blocks.load(load, outputs=[panel, notice], api_visibility="private", queue=False)
    upload_btn.click(upload, inputs=[files, access], outputs=[progress, upload_notice], api_visibility="private")
    refresh_docs.click(document_rows, outputs=[docs, doc_notice], api_visibility="private")
    docs.select(pick_document, inputs=[docs], outputs=[doc_id], api_visibility="private")
    show_btn.click(show_chunks, inputs=[doc_id], outputs=[chunks, doc_notice], api_visibility="private")
    delete_btn.click(delete, inputs=[doc_id], outputs=[docs, doc_notice], api_visibility="private")
    reindex_btn.click(reindex, inputs=[doc_id], outputs=[progress, doc_notice], api_visibility="private")
    refresh_sources.click(source_rows, outputs=[sources_table], api_visibility="private")
    issue_btn.click(
        issue, inputs=[key_label, key_clearance, key_roles], outputs=[issued, keys_table, key_notice],
        api_visibility="private",
    )  # fmt: skip
    revoke_btn.click(revoke, inputs=[revoke_id], outputs=[keys_table, key_notice], api_visibility="private")
    refresh_usage.click(usage_rows, inputs=[days], outputs=[usage_table, usage_notice], api_visibility="private")
    blocks.load(key_rows, outputs=[keys_table], api_visibility="private")
    blocks.load(source_rows, outputs=[sources_table], api_visibility="private")


def _sent_name(path: Path) -> str:
    """The name the user's file had: Gradio keeps it as the temporary file's own name."""
    return path.name
