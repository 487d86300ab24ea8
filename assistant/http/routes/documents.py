"""The document library over HTTP (:mod:`assistant.documents`): a citation's passage, originals,
uploads, deletes, re-indexing, statistics and the sources' sync status.

    GET    /v1/passages/{chunk_id}          a passage with its neighbours (any caller; 404 when not readable)
    GET    /v1/documents                    the documents the caller may read
    GET    /v1/documents/{doc_id}           one document and its chunk list
    GET    /v1/documents/{doc_id}/file      the original file (404 when it may not be served)
    POST   /v1/documents                    upload (admin; multipart ``files`` + ``access``) -> 202 the job
    GET    /v1/documents/jobs               the jobs of the admin's agency, newest first
    GET    /v1/documents/jobs/{job_id}      an upload's or re-index's progress (admin)
    DELETE /v1/documents/{doc_id}           delete (admin of the owning agency) -> 204
    POST   /v1/documents/{doc_id}/reindex   parse the file again (admin of the owning agency) -> 202 the job
    GET    /v1/stats                        documents and chunks the caller may read
    GET    /v1/sources                      each source root's last sync (admin)

A document or passage the caller may not read is answered exactly like a missing one (404
``passage_not_found``). Uploads have their own body limit (:func:`body_limits`): ``max_files_per_upload``
files of ``max_upload_bytes`` each, plus the multipart framing; one file over ``max_upload_bytes``
is 413 ``upload_too_large`` before anything is saved. The indexing runs on the library's worker
thread: the upload returns at once with each file ``queued`` (or ``failed`` when refused).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, cast, get_args

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse

from assistant.callers import Caller
from assistant.documents import (
    MEDIA_TYPES,
    Access,
    DocumentDetail,
    DocumentJob,
    DocumentView,
    LibraryStats,
    PassageView,
    content_disposition,
    library,
    media_type,
)
from assistant.http import deps
from assistant.http.auth import caller, require_role
from assistant.http.errors import COMMON, ApiError, error_responses
from assistant.http.limits import BodyLimit
from assistant.http.openapi import link
from assistant.service import NuriService
from assistant.sync_log import SourceStatus
from configs.settings import Settings

router = APIRouter(tags=["documents"])
#: The caller, who must hold the ``admin`` role.
admin = cast(Callable[[Request], Caller], require_role("admin"))

#: Multipart framing an upload may add to its files: the boundaries and each part's headers
#: (per file, a generous allowance for a long UTF-8 file name), and the ``access`` field.
MULTIPART_OVERHEAD_BYTES = 16 * 1024
PER_FILE_OVERHEAD_BYTES = 4 * 1024

#: What every route here may answer.
LIBRARY = (*COMMON, "index_unavailable")
#: The media types originals are served with (``GET /v1/documents/{doc_id}/file``).
ORIGINAL_TYPES = sorted({t.partition(";")[0] for t in MEDIA_TYPES.values()} | {"application/octet-stream"})
_DOCUMENT = "/v1/documents/{doc_id}"
#: Where a listed document's id is used (the OpenAPI description's links: the first document).
_DOCUMENT_LINKS = {
    name: link(path, method, doc_id="$response.body#/0/doc_id")
    for name, path, method in (
        ("GetDocument", _DOCUMENT, "get"),
        ("GetOriginal", _DOCUMENT + "/file", "get"),
        ("ReindexDocument", _DOCUMENT + "/reindex", "post"),
        ("DeleteDocument", _DOCUMENT, "delete"),
    )
}
#: Where a document's first chunk id is used.
_CHUNK_LINKS = {"GetPassage": link("/v1/passages/{chunk_id}", "get", chunk_id="$response.body#/chunk_list/0/chunk_id")}
#: Where a job's id is used.
_JOB_LINKS = {"GetJob": link("/v1/documents/jobs/{job_id}", "get", job_id="$response.body#/job_id")}


def body_limits(settings: Settings) -> dict[tuple[str, str], BodyLimit]:
    """The upload route's own body limit (``build_asgi`` hands it to
    :class:`~assistant.http.limits.BodySizeLimit`): every other route keeps ``api.max_body_bytes``."""
    d = settings.documents
    most = d.max_files_per_upload * (d.max_upload_bytes + PER_FILE_OVERHEAD_BYTES) + MULTIPART_OVERHEAD_BYTES
    return {("POST", "/v1/documents"): BodyLimit(most, d.upload_timeout_s, "upload_too_large")}


@router.get("/v1/passages/{chunk_id}", response_model=PassageView,
            responses=error_responses(*LIBRARY, "passage_not_found"))  # fmt: skip
def passage(chunk_id: str, who: Caller = Depends(caller), svc: NuriService = Depends(deps.service)) -> PassageView:
    """A citation's passage (``citations[].url``) with ``documents.context_chunks`` chunks before and
    after it, its readable location and the original's download link when the caller may have it."""
    return library(svc).passage(chunk_id, who)


@router.get("/v1/documents", response_model=list[DocumentView],
            responses={200: {"description": "읽을 수 있는 문서 / the documents", "links": _DOCUMENT_LINKS},
                       **error_responses(*LIBRARY)})  # fmt: skip
def list_documents(
    doc_type: str | None = Query(None, max_length=100, description="이 문서 유형만 / only this type (statute, …)"),
    agency: str | None = Query(None, max_length=200, description="이 기관(소관부처)의 문서만 / only this agency's"),
    who: Caller = Depends(caller),
    svc: NuriService = Depends(deps.service),
) -> list[DocumentView]:
    """Every document the caller may read (search permissions), by title."""
    return library(svc).list_documents(who, doc_type=doc_type, agency=agency)


@router.post("/v1/documents", status_code=202, response_model=DocumentJob,
             responses={202: {"description": "올린 작업 / the job", "links": _JOB_LINKS},
                        **error_responses(*LIBRARY, "forbidden", "invalid_upload", "upload_too_large")})  # fmt: skip
def upload(
    files: Annotated[
        list[UploadFile],
        File(min_length=1, description="올릴 파일들 / the files (pdf, hwp, hwpx, docx, html, md, txt)"),
    ],
    access: Annotated[
        Access,
        Form(
            description="열람 등급 / access level: public, internal, restricted (empty, as an HTML form sends an "
            "unchosen one: internal)",
            json_schema_extra={"enum": [*get_args(Access), ""]},
        ),
    ] = "internal",
    who: Caller = Depends(admin),
    svc: NuriService = Depends(deps.service),
) -> DocumentJob:
    """Save, parse and index the files as the caller's agency's documents; answers at once with the
    job (each file ``queued``, or ``failed`` with ``invalid_upload`` when its type is not read or it
    is empty). Follow it with ``GET /v1/documents/jobs/{job_id}``."""
    d = svc.settings.documents
    if len(files) > d.max_files_per_upload:
        raise ApiError(
            "upload_too_large",
            f"한 번에 최대 {d.max_files_per_upload}개 파일을 올릴 수 있습니다 ({len(files)}개)",
            f"At most {d.max_files_per_upload} files per upload ({len(files)} sent)",
        )
    for f in files:
        if f.size is not None and f.size > d.max_upload_bytes:
            raise ApiError(
                "upload_too_large",
                f"파일이 너무 큽니다: {f.filename} ({f.size}바이트, 최대 {d.max_upload_bytes}바이트)",
                f"File too large: {f.filename} ({f.size} bytes, max {d.max_upload_bytes})",
            )
    received = [(f.filename or "", f.file.read(d.max_upload_bytes + 1)) for f in files]
    return library(svc).submit_upload(received, who, access=access)


@router.get("/v1/documents/jobs", response_model=list[DocumentJob], responses=error_responses(*COMMON, "forbidden"))
def jobs(who: Caller = Depends(admin), svc: NuriService = Depends(deps.service)) -> list[DocumentJob]:
    """The uploads and re-indexes of the caller's agency kept in memory (every agency's for an
    admin without one), newest first."""
    return library(svc).jobs(who)


@router.get("/v1/documents/jobs/{job_id}", response_model=DocumentJob,
            responses=error_responses(*LIBRARY, "forbidden", "not_found"))  # fmt: skip
def job(job_id: str, who: Caller = Depends(admin), svc: NuriService = Depends(deps.service)) -> DocumentJob:
    """An upload's or re-index's progress: each file ``queued → parsing → indexing → done | failed``
    with its chunk count and seconds; the job is ``done`` when every file is."""
    return library(svc).job(job_id, who)


@router.get("/v1/documents/{doc_id}/file", response_class=FileResponse,
            responses={200: {"description": "원본 파일 / the original file",
                             "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ORIGINAL_TYPES}},
                       **error_responses(*LIBRARY, "passage_not_found")})  # fmt: skip
def original(doc_id: str, who: Caller = Depends(caller), svc: NuriService = Depends(deps.service)) -> FileResponse:
    """The original file, when the caller may read the document and the file lies in the upload
    folder or a synced folder (404 ``passage_not_found`` otherwise, whatever the reason)."""
    path = library(svc).original(doc_id, who)
    headers = {"Content-Disposition": content_disposition(path.name), "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=media_type(path), headers=headers)


@router.get("/v1/documents/{doc_id}", response_model=DocumentDetail,
            responses={200: {"description": "문서와 그 청크 / the document and its chunks", "links": _CHUNK_LINKS},
                       **error_responses(*LIBRARY, "passage_not_found")})  # fmt: skip
def document(doc_id: str, who: Caller = Depends(caller), svc: NuriService = Depends(deps.service)) -> DocumentDetail:
    """One document the caller may read, with its chunks (ids and locations; open one with
    ``GET /v1/passages/{chunk_id}``)."""
    return library(svc).document(doc_id, who)


@router.delete("/v1/documents/{doc_id}", status_code=204, response_class=Response,
               responses=error_responses(*LIBRARY, "forbidden", "passage_not_found"))  # fmt: skip
def delete(doc_id: str, who: Caller = Depends(admin), svc: NuriService = Depends(deps.service)) -> Response:
    """Remove the document from the index, and its file when it was uploaded (admins of the
    owning agency, or without an agency)."""
    library(svc).delete(doc_id, who)
    return Response(status_code=204)


@router.post("/v1/documents/{doc_id}/reindex", status_code=202, response_model=DocumentJob,
             responses={202: {"description": "다시 색인하는 작업 / the job", "links": _JOB_LINKS},
                        **error_responses(*LIBRARY, "forbidden", "passage_not_found", "invalid_upload")})  # fmt: skip
def reindex(doc_id: str, who: Caller = Depends(admin), svc: NuriService = Depends(deps.service)) -> DocumentJob:
    """Parse the document's file again and rewrite it (after the file was edited); answers at once
    with the job. A file that no longer parses fails the job and the index keeps what it held."""
    return library(svc).submit_reindex(doc_id, who)


@router.get("/v1/stats", response_model=LibraryStats, responses=error_responses(*LIBRARY))
def stats(who: Caller = Depends(caller), svc: NuriService = Depends(deps.service)) -> LibraryStats:
    """Documents and chunks the caller may read: in all, by type, by access level, by agency."""
    return library(svc).stats(who)


@router.get("/v1/sources", response_model=list[SourceStatus],
            responses=error_responses(*COMMON, "forbidden"))  # fmt: skip
def sources(who: Caller = Depends(admin), svc: NuriService = Depends(deps.service)) -> list[SourceStatus]:
    """Each source root (a synced folder, an agency's upload folder): its last run with the
    counts and failed files, when the last run without failures finished and how long ago."""
    return library(svc).sources(who)
