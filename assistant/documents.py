"""The document library: what the API's document routes and the chat's admin page do with the
index's documents, with the caller's permissions. UI-free; long work reports progress through
callbacks and an in-process job registry.

* **Passages** (:meth:`DocumentLibrary.passage`): a citation's ``url`` opens its chunk with the
  chunks around it (``documents.context_chunks`` each side), a readable location and the
  source by name only; every text leaves masked as search hits do (``guardrails.output``).
  A chunk the caller may not read is "not found", exactly like a missing one: the permission
  filter runs inside Qdrant (:meth:`retrieval.index.NuriIndex.passage`).
* **Originals** (:meth:`DocumentLibrary.original`): the file of a document the caller may read,
  only when its path, symlinks resolved, is still the path it was indexed from and lies inside
  an allowed root: the upload folder or a folder (or file) ``nuri ingest`` synced
  (:mod:`assistant.sync_log`). Nothing else on the server is ever served.
* **Uploads** (:meth:`DocumentLibrary.upload`, admins): each file is saved under
  ``documents.upload_dir/<agency>/`` with a safe name and a metadata sidecar
  (``<name>.meta.yaml``: the caller's agency owns it, ``access`` as asked), parsed, then
  written: one file at a time, so a bad file never stops or half-writes the others (it is
  deleted and reported ``invalid_upload`` with its name and the parser's reason). Each file
  goes ``queued → parsing → indexing → done | failed``; jobs run one after the other on one
  worker thread and are kept in memory (:meth:`DocumentLibrary.job`).
* **Delete, re-index** (admins of the owning agency, or without an agency), **statistics** and
  **sources** (the sync records).

Every upload, delete and re-index is recorded in the sync records, like a ``nuri ingest`` run.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import re
import threading
import time
import unicodedata
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import yaml
from pydantic import BaseModel, Field

from assistant.callers import Caller
from assistant.locations import location_of, passage_path, source_name
from assistant.service import NuriService
from assistant.sync_log import Failure, SourceStatus, SyncLog, SyncLogError, SyncRun, now
from connectors.errors import NuriError
from connectors.metadata import SIDECAR_SUFFIX, doc_id_for
from connectors.registry import SUPPORTED_SUFFIXES, load_document
from connectors.types import CLEARANCES, Document, ParseError
from guardrails.pipeline import Guardrails
from retrieval.errors import IndexUnavailableError
from retrieval.index import DocumentSummary, DocumentVersion, NuriIndex
from retrieval.sync import Syncer
from retrieval.types import SearchFilters

log = logging.getLogger("nuri.documents")

#: Jobs kept in memory (the oldest finished ones are dropped first).
MAX_JOBS = 200
#: Overlap between consecutive chunk texts shorter than this is taken as chance, not trimmed.
MIN_OVERLAP_CHARS = 20
#: The folder under ``upload_dir`` of an admin without an agency.
SHARED_FOLDER = "_shared"
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_MAX_NAME_BYTES = 200

FileState = Literal["queued", "parsing", "indexing", "done", "failed"]
Access = Literal["public", "internal", "restricted"]
ProgressCallback = Callable[["UploadResult"], None]


# -- errors -----------------------------------------------------------------------------------


class PassageNotFoundError(NuriError):
    """No passage or document of that id that the caller may read (or no file to download)."""

    code = "passage_not_found"


class InvalidUploadError(NuriError):
    """An uploaded (or re-indexed) file Nuri cannot use; the message names the file and why."""

    code = "invalid_upload"


class UploadTooLargeError(NuriError):
    code = "upload_too_large"


class ForbiddenError(NuriError):
    code = "forbidden"


class JobNotFoundError(NuriError):
    code = "not_found"


def _not_found() -> PassageNotFoundError:
    return PassageNotFoundError(
        "문서나 구절을 찾을 수 없습니다 (없거나 열람 권한이 없습니다)",
        message_en="No such passage or document (or you may not read it)",
    )


# -- what leaves the library --------------------------------------------------------------------


class PassageView(BaseModel):
    """A passage with its surroundings: ``GET /v1/passages/{chunk_id}``."""

    chunk_id: str
    doc_id: str
    title: str
    anchor: str = Field(..., description="What a citation shows (statute article, heading, page).")
    location: str = Field(..., description="Where the passage is, readable (제N조 제M항, 12쪽 · 장 > 절).")
    source: str = Field(..., description="The source by name (a file's name, never its folder) or URL.")
    source_url: str | None = None
    doc_type: str
    page: int | None = None
    text: str
    before: list[str] = Field(default_factory=list, description="Texts of the chunks just before it, in order.")
    after: list[str] = Field(default_factory=list, description="Texts of the chunks just after it, in order.")
    download_url: str | None = Field(
        None, description="`/v1/documents/{doc_id}/file` when the original can be downloaded."
    )


class DocumentView(BaseModel):
    """A document as a listing shows it."""

    doc_id: str
    title: str
    source: str = Field(..., description="The source by name (never a server path) or URL.")
    doc_type: str
    agency: str = Field(..., description="The owning agency ('' when none).")
    access: str
    chunks: int = Field(..., description="Chunks the index holds of it.")
    download_url: str | None = None


class ChunkRef(BaseModel):
    chunk_id: str
    chunk_index: int
    location: str
    url: str = Field(..., description="`/v1/passages/{chunk_id}`")


class DocumentDetail(DocumentView):
    chunk_list: list[ChunkRef] = Field(default_factory=list, description="Its chunks in document order.")


class ErrorInfo(BaseModel):
    code: str
    message: str
    message_en: str | None = None


class UploadResult(BaseModel):
    """One file of a job and how far it got."""

    filename: str = Field(..., description="The name it was sent with (without folders).")
    saved_as: str | None = Field(None, description="Its file name in the agency's upload folder.")
    state: FileState = "queued"
    doc_id: str | None = None
    chunks: int = 0
    seconds: float = 0.0
    error: ErrorInfo | None = None


class DocumentJob(BaseModel):
    """An upload or a re-index: ``POST /v1/documents`` answers it (202), ``GET
    /v1/documents/jobs/{job_id}`` reports it until every file is ``done`` or ``failed``."""

    job_id: str
    kind: Literal["upload", "reindex"]
    subject: str
    agency: str | None
    access: str | None = None
    state: Literal["queued", "running", "done"] = "queued"
    created_at: datetime
    finished_at: datetime | None = None
    files: list[UploadResult]


class Count(BaseModel):
    documents: int = 0
    chunks: int = 0


class LibraryStats(BaseModel):
    """What the caller may read: ``GET /v1/stats``."""

    documents: int
    chunks: int
    by_doc_type: dict[str, Count]
    by_access: dict[str, Count]
    by_agency: dict[str, Count]


class DeleteResult(BaseModel):
    doc_id: str
    file_removed: bool = Field(..., description="The uploaded file was deleted too (never a synced folder's file).")


# -- helpers ----------------------------------------------------------------------------------


def safe_name(name: str, fallback: str = "upload") -> str:
    """A file (or folder) name that is safe to create: no folders (``../x`` and ``C:\\x\\y``
    give their last part), no control or reserved characters, not hidden (no leading dot, no
    ``~$``), at most 200 bytes (the suffix kept); Korean and other letters are kept (NFC)."""
    base = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_CHARS.sub("_", base).strip().lstrip(".~$ ").rstrip(". ")
    if not base:
        return fallback
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem:
        stem, suffix = base, ""
    else:
        suffix = "." + suffix
    while len((stem + suffix).encode("utf-8")) > _MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    return (stem + suffix) if stem else fallback


#: Media types of the files Nuri reads that :mod:`mimetypes` may not know (or gets wrong).
MEDIA_TYPES = {
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".hwp": "application/x-hwp",
    ".hwpx": "application/hwp+zip",
}


def media_type(path: Path) -> str:
    """The media type an original is served with."""
    suffix = path.suffix.lower()
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 one (RFC 6266 / RFC 5987)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _overlap(first: str, second: str) -> int:
    """How many characters at the end of ``first`` repeat at the start of ``second`` (chunking with
    an overlap; Nuri's chunker cuts without one: this guards against a future one). Shorter
    overlaps than :data:`MIN_OVERLAP_CHARS` are taken as chance: 0."""
    for n in range(min(len(first), len(second)), MIN_OVERLAP_CHARS - 1, -1):
        if first.endswith(second[:n]):
            return n
    return 0


def context_texts(chain: list[dict[str, Any]], here: int) -> list[str]:
    """The texts of consecutive chunks ``chain`` (the passage at position ``here``), each without
    what the next one (before the passage) or the previous one (after it) repeats: the passage
    itself stays whole, as its citation quoted it."""
    texts = [str(p.get("text", "")) for p in chain]
    indexes = [int(p.get("chunk_index", 0)) for p in chain]
    out = list(texts)
    for i in range(here - 1, -1, -1):  # before: drop the tail the following chunk repeats
        if indexes[i] + 1 == indexes[i + 1] and (n := _overlap(texts[i], texts[i + 1])):
            out[i] = texts[i][:-n].rstrip()
    for i in range(here + 1, len(chain)):  # after: drop the head the preceding chunk already showed
        if indexes[i - 1] + 1 == indexes[i] and (n := _overlap(texts[i - 1], texts[i])):
            out[i] = texts[i][n:].lstrip()
    return out


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _error_info(e: BaseException) -> ErrorInfo:
    if isinstance(e, NuriError):
        return ErrorInfo(code=e.code, message=str(e), message_en=e.message_en)
    return ErrorInfo(code="internal_error", message="내부 오류가 발생했습니다", message_en="Internal error")


def _count(docs: Iterable[DocumentSummary], key: Callable[[DocumentSummary], str]) -> dict[str, Count]:
    out: dict[str, Count] = {}
    for d in docs:
        c = out.setdefault(key(d), Count())
        c.documents += 1
        c.chunks += d.chunks
    return dict(sorted(out.items()))


# -- the library --------------------------------------------------------------------------------


class DocumentLibrary:
    """The document operations over one opened :class:`NuriService` (see the module docstring).
    One per service (:func:`library`): the job registry and the worker thread are shared by the
    API and the chat."""

    def __init__(self, service: NuriService) -> None:
        self._service = weakref.ref(service)  # the service keys :func:`library`'s weak map: no cycle
        self._jobs: OrderedDict[str, DocumentJob] = OrderedDict()
        self._lock = threading.Lock()  # the job registry
        self._writing = threading.Lock()  # one write to the index at a time
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nuri-documents")

    # -- what is needed ----------------------------------------------------------------------
    @property
    def _svc(self) -> NuriService:
        service = self._service()
        if service is None:
            raise IndexUnavailableError("서비스가 닫혔습니다")
        return service

    def _ready(self) -> tuple[NuriIndex, Guardrails]:
        svc = self._svc
        if svc.index is None or svc.guard is None:
            raise IndexUnavailableError(f"색인을 사용할 수 없습니다: {svc.index_error or '열리지 않음'}")
        return svc.index, svc.guard

    def _sync_log(self) -> SyncLog:
        if self._svc.sync_log is None:
            raise SyncLogError("동기화 기록 저장소가 열려 있지 않습니다", message_en="The sync records are not open")
        return self._svc.sync_log

    @property
    def upload_root(self) -> Path:
        s = self._svc.settings
        return s.resolve(s.documents.upload_dir).resolve()

    def _roots(self) -> list[Path]:
        """Where originals may be served from: the upload folder and every synced root (as
        recorded: resolved when it was synced)."""
        return [self.upload_root, *(Path(r) for r in self._sync_log().roots())]

    def _original_path(self, source: str, roots: list[Path] | None = None) -> Path | None:
        """The file a document was indexed from, when it may be served (see the module docstring)."""
        if not source or source.startswith(("http://", "https://")):
            return None
        path = Path(source)
        if not path.is_absolute() or not any(_inside(path, r) for r in (self._roots() if roots is None else roots)):
            return None
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if resolved != path or not resolved.is_file():
            return None  # a symlink or ".." where the indexed file was: not the file that was indexed
        return resolved

    def _download_url(self, doc_id: str, source: str, roots: list[Path] | None = None) -> str | None:
        return f"/v1/documents/{quote(doc_id, safe=':')}/file" if self._original_path(source, roots) else None

    @staticmethod
    def _require_admin(caller: Caller) -> None:
        if not caller.has_role("admin"):
            raise ForbiddenError("이 기능에는 'admin' 역할이 필요합니다", message_en="This needs the 'admin' role")

    @staticmethod
    def _require_owner(caller: Caller, doc: DocumentSummary) -> None:
        """An admin of the document's owning agency, or an admin without an agency."""
        DocumentLibrary._require_admin(caller)
        own = caller.principal.agency
        if own is not None and not caller.principal.operator and doc.agency != own:
            raise ForbiddenError(
                "다른 기관의 문서는 바꿀 수 없습니다", message_en="A document of another agency cannot be changed"
            )

    def _folder_of(self, caller: Caller) -> Path:
        agency = caller.principal.agency
        return self.upload_root / (safe_name(agency, SHARED_FOLDER) if agency else SHARED_FOLDER)

    def _root_of(self, source: str) -> str:
        """The source root a document belongs to: the longest recorded root holding its file,
        else its folder."""
        path = Path(source)
        try:
            known = self._roots()
        except SyncLogError:
            known = [self.upload_root]
        roots = [r for r in known if _inside(path, r)]
        if self.upload_root in roots and path.parent != self.upload_root:
            return str(path.parent)  # an agency's upload folder
        return str(max(roots, key=lambda r: len(r.parts))) if roots else str(path.parent)

    # -- reading -------------------------------------------------------------------------------
    def passage(self, chunk_id: str, caller: Caller) -> PassageView:
        """The chunk ``chunk_id`` with ``documents.context_chunks`` chunks before and after it,
        all masked like search hits; :class:`PassageNotFoundError` when absent or not readable."""
        index, guard = self._ready()
        principal = caller.principal
        payload = index.passage(chunk_id, principal)
        if payload is None:
            raise _not_found()
        n = self._svc.settings.documents.context_chunks
        here = int(payload.get("chunk_index", 0))
        doc_id, version = str(payload.get("doc_id", "")), str(payload.get("version", ""))
        around = index.neighbours(doc_id, version, here, n, n, principal) if n else []
        before = [p.payload for p in around if int(p.payload.get("chunk_index", 0)) < here]
        after = [p.payload for p in around if int(p.payload.get("chunk_index", 0)) > here]
        texts = [guard.mask_output(t) for t in context_texts([*before, payload, *after], len(before))]
        page = payload.get("page")
        source = str(payload.get("source", ""))
        log.info("passage opened", extra={"subject": caller.subject, "doc_id": doc_id, "chunk_id": chunk_id})
        return PassageView(
            chunk_id=chunk_id,
            doc_id=doc_id,
            title=guard.mask_output(str(payload.get("title", ""))),
            anchor=guard.mask_output(str(payload.get("anchor", ""))),
            location=guard.mask_output(location_of(payload)),
            source=source_name(source),
            source_url=payload.get("source_url") or None,
            doc_type=str(payload.get("doc_type", "")),
            page=page if isinstance(page, int) else None,
            text=texts[len(before)],
            before=texts[: len(before)],
            after=texts[len(before) + 1 :],
            download_url=self._download_url(doc_id, source),
        )

    def original(self, doc_id: str, caller: Caller) -> Path:
        """The original file of a document the caller may read, when it may be served (see the
        module docstring); :class:`PassageNotFoundError` otherwise, whatever the reason."""
        index, _ = self._ready()
        doc = index.document(doc_id, caller.principal)
        path = self._original_path(doc.source) if doc is not None else None
        if path is None:
            raise _not_found()
        log.info("original downloaded", extra={"subject": caller.subject, "doc_id": doc_id})
        return path

    def _view(self, doc: DocumentSummary, guard: Guardrails, roots: list[Path] | None = None) -> dict[str, Any]:
        return {
            "doc_id": doc.doc_id,
            "title": guard.mask_output(doc.title),
            "source": source_name(doc.source),
            "doc_type": doc.doc_type,
            "agency": doc.agency,
            "access": doc.access,
            "chunks": doc.chunks,
            "download_url": self._download_url(doc.doc_id, doc.source, roots),
        }

    def list_documents(
        self, caller: Caller, doc_type: str | None = None, agency: str | None = None
    ) -> list[DocumentView]:
        """Every document the caller may read (search permissions), by title."""
        index, guard = self._ready()
        filters = SearchFilters(doc_type=doc_type, agency=agency) if doc_type or agency else None
        roots = self._roots()  # read once for the whole listing
        docs = index.list_documents(caller.principal, filters)
        return [DocumentView(**self._view(d, guard, roots)) for d in docs]

    def document(self, doc_id: str, caller: Caller) -> DocumentDetail:
        """One document with its chunk list (ids and locations, no texts)."""
        index, guard = self._ready()
        doc = index.document(doc_id, caller.principal)
        if doc is None:
            raise _not_found()
        chunks = [
            ChunkRef(
                chunk_id=p.id,
                chunk_index=int(p.payload.get("chunk_index", 0)),
                location=guard.mask_output(location_of(p.payload)),
                url=passage_path(p.id),
            )
            for p in index.document_chunks(doc_id, caller.principal)
        ]
        return DocumentDetail(**self._view(doc, guard), chunk_list=chunks)

    def stats(self, caller: Caller) -> LibraryStats:
        """Documents and chunks the caller may read, in all and by type, access and agency."""
        index, _ = self._ready()
        docs = index.list_documents(caller.principal)
        return LibraryStats(
            documents=len(docs),
            chunks=sum(d.chunks for d in docs),
            by_doc_type=_count(docs, lambda d: d.doc_type),
            by_access=_count(docs, lambda d: d.access),
            by_agency=_count(docs, lambda d: d.agency),
        )

    def sources(self, caller: Caller) -> list[SourceStatus]:
        """Every source root's last run, last clean run and failed files (admins)."""
        self._require_admin(caller)
        return self._sync_log().sources()

    # -- jobs ----------------------------------------------------------------------------------
    def _register(self, job: DocumentJob) -> None:
        with self._lock:
            self._jobs[job.job_id] = job
            finished = [k for k, j in self._jobs.items() if j.state == "done"]
            for key in finished[: max(0, len(self._jobs) - MAX_JOBS)]:
                del self._jobs[key]

    @staticmethod
    def _visible(job: DocumentJob, caller: Caller) -> bool:
        """Admins see their agency's jobs; admins without an agency (and operators) every job."""
        if not caller.has_role("admin"):
            return False
        own = caller.principal.agency
        return own is None or caller.principal.operator or job.agency == own

    def jobs(self, caller: Caller) -> list[DocumentJob]:
        """The jobs the caller may see, newest first (admins)."""
        self._require_admin(caller)
        with self._lock:
            return [j.model_copy(deep=True) for j in reversed(self._jobs.values()) if self._visible(j, caller)]

    def job(self, job_id: str, caller: Caller) -> DocumentJob:
        """One job as it stands; :class:`JobNotFoundError` when unknown or another agency's."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and self._visible(job, caller):
                return job.model_copy(deep=True)
        raise JobNotFoundError("작업을 찾을 수 없습니다", message_en="No such job")

    def _update(self, job_id: str, i: int, on_progress: ProgressCallback | None, **changes: Any) -> UploadResult:
        with self._lock:
            job = self._jobs[job_id]
            job.files[i] = job.files[i].model_copy(update=changes)
            state = job.files[i]
        self._notify(on_progress, state)
        return state

    @staticmethod
    def _notify(on_progress: ProgressCallback | None, state: UploadResult) -> None:
        if on_progress is None:
            return
        try:
            on_progress(state.model_copy())
        except Exception:  # a progress display that fails must not fail the upload
            log.exception("progress callback failed")

    def _set_job(self, job_id: str, **changes: Any) -> DocumentJob:
        with self._lock:
            job = self._jobs[job_id]
            for key, value in changes.items():
                setattr(job, key, value)
            return job.model_copy(deep=True)

    def _record(self, run: SyncRun) -> None:
        try:
            self._sync_log().record(run)
        except SyncLogError as e:  # the change itself is done: only its record is missing
            log.warning("run not recorded", extra={"kind": run.kind, "root": run.root, "reason": str(e)})

    # -- uploads -------------------------------------------------------------------------------
    def upload(
        self,
        files: Sequence[tuple[str, bytes]],
        caller: Caller,
        access: str = "internal",
        on_progress: ProgressCallback | None = None,
    ) -> list[UploadResult]:
        """Save, parse and index ``files`` (name, bytes), each on its own; returns each file's
        outcome once all are done. ``on_progress`` gets each file's state as it changes (from the
        worker thread). Admins only; the caller's agency owns the documents."""
        job, future = self._submit_upload(files, caller, access, on_progress)
        future.result()
        return self.job(job.job_id, caller).files

    def submit_upload(
        self,
        files: Sequence[tuple[str, bytes]],
        caller: Caller,
        access: str = "internal",
        on_progress: ProgressCallback | None = None,
    ) -> DocumentJob:
        """:meth:`upload` on the worker thread: returns the job at once (``POST /v1/documents``).
        Raises here, before anything is saved: not an admin (403), more files than
        ``documents.max_files_per_upload`` or a file over ``max_upload_bytes`` (413), no file or
        an unknown ``access`` (400); a file of an unsupported type or empty is failed in the job."""
        job, _ = self._submit_upload(files, caller, access, on_progress)
        return job

    def _submit_upload(
        self,
        files: Sequence[tuple[str, bytes]],
        caller: Caller,
        access: str,
        on_progress: ProgressCallback | None,
    ) -> tuple[DocumentJob, Future[None]]:
        self._require_admin(caller)
        d = self._svc.settings.documents
        if access not in CLEARANCES:
            raise InvalidUploadError(
                f"access는 {', '.join(CLEARANCES)} 중 하나여야 합니다: {access!r}",
                message_en=f"access must be one of {', '.join(CLEARANCES)}",
            )
        if not files:
            raise InvalidUploadError("업로드할 파일이 없습니다", message_en="No file to upload")
        if len(files) > d.max_files_per_upload:
            raise UploadTooLargeError(
                f"한 번에 최대 {d.max_files_per_upload}개 파일을 올릴 수 있습니다 ({len(files)}개)",
                message_en=f"At most {d.max_files_per_upload} files per upload ({len(files)} sent)",
            )
        for name, data in files:
            if len(data) > d.max_upload_bytes:
                raise UploadTooLargeError(
                    f"파일이 너무 큽니다: {safe_name(name)} ({len(data)}바이트, 최대 {d.max_upload_bytes}바이트)",
                    message_en=f"File too large: {safe_name(name)} ({len(data)} bytes, max {d.max_upload_bytes})",
                )
        self._ready()
        self._sync_log()
        results = []
        for name, data in files:
            shown = safe_name(name)
            refusal = self._refusal(shown, data)
            results.append(UploadResult(filename=shown, state="failed", error=_error_info(refusal)) if refusal
                           else UploadResult(filename=shown))  # fmt: skip
        job = DocumentJob(
            job_id=uuid.uuid4().hex,
            kind="upload",
            subject=caller.subject,
            agency=caller.principal.agency,
            access=access,
            created_at=now(),
            files=results,
        )
        self._register(job)
        log.info("upload queued", extra={"job_id": job.job_id, "subject": caller.subject, "files": len(files)})
        blobs = [data for _, data in files]
        queued = job.model_copy(deep=True)  # as it stands now: the worker may start at once
        future = self._worker.submit(self._run_upload, job.job_id, blobs, caller, access, on_progress)
        return queued, future

    @staticmethod
    def _refusal(name: str, data: bytes) -> InvalidUploadError | None:
        """Why a file is refused before it is saved: a type Nuri does not read, or empty."""
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
            return InvalidUploadError(
                f"{name}: 지원하지 않는 파일 형식입니다 ({suffix or '확장자 없음'}; 지원: {kinds})",
                message_en=f"{name}: unsupported file type ({suffix or 'no suffix'}; supported: {kinds})",
            )
        if not data.strip():
            return InvalidUploadError(f"{name}: 빈 파일입니다", message_en=f"{name}: the file is empty")
        return None

    def _run_upload(
        self, job_id: str, blobs: list[bytes], caller: Caller, access: str, on_progress: ProgressCallback | None
    ) -> None:
        job = self._set_job(job_id, state="running")
        folder = self._folder_of(caller)
        started = now()
        try:
            for i, data in enumerate(blobs):
                if job.files[i].state == "failed":  # refused before it was saved
                    self._notify(on_progress, job.files[i])
                    continue
                self._upload_one(job_id, i, job.files[i].filename, data, folder, caller, access, on_progress)
        finally:
            job = self._set_job(job_id, state="done", finished_at=now())
            failures = [Failure(file=f.filename, reason=f.error.message) for f in job.files if f.error is not None]
            added = sum(f.state == "done" for f in job.files)
            self._record(SyncRun(kind="upload", root=str(folder), subject=caller.subject, started_at=started,
                                 finished_at=now(), ok=not failures, added=added, failed=len(failures),
                                 failures=failures))  # fmt: skip
            log.info("upload done", extra={"job_id": job_id, "added": added, "failed": len(failures)})

    def _upload_one(
        self,
        job_id: str,
        i: int,
        name: str,
        data: bytes,
        folder: Path,
        caller: Caller,
        access: str,
        on_progress: ProgressCallback | None,
    ) -> None:
        t0 = time.perf_counter()

        def elapsed() -> float:
            return round(time.perf_counter() - t0, 3)

        self._update(job_id, i, on_progress, state="parsing")
        path: Path | None = None
        try:
            index, _ = self._ready()
            path = self._save(folder, name, data, caller.principal.agency, access)
            self._update(job_id, i, None, saved_as=path.name)
            doc, chunks = self._parse(index, path, name)
            if doc.doc_id != doc_id_for(path):  # a statute (법령MST front matter): its own id, public
                raise InvalidUploadError(
                    f"{name}: 법령 파일(법령MST 머리말)은 업로드할 수 없습니다. 법령 폴더를 동기화하세요 (nuri ingest)",
                    message_en=f"{name}: statute files (법령MST front matter) are synced (nuri ingest), not uploaded",
                )
        except (NuriError, OSError) as e:
            self._discard(path)
            error = e if isinstance(e, NuriError) else InvalidUploadError(f"{name}: 파일을 저장하지 못했습니다")
            log.warning("upload refused", extra={"job_id": job_id, "file": name, "reason": str(error)})
            self._update(job_id, i, on_progress, state="failed", saved_as=None, error=_error_info(error),
                         seconds=elapsed())  # fmt: skip
            return
        self._update(job_id, i, on_progress, state="indexing", doc_id=doc.doc_id)
        try:
            self._write(index, doc, chunks, path)
        except Exception as e:
            log.exception("upload not indexed", extra={"job_id": job_id, "file": name})
            try:
                index.delete_document(doc.doc_id, source=str(path))
            except Exception:
                log.exception("half-written upload not removed", extra={"doc_id": doc.doc_id})
            self._discard(path)
            self._update(job_id, i, on_progress, state="failed", saved_as=None, error=_error_info(e),
                         seconds=elapsed())  # fmt: skip
            return
        self._update(job_id, i, on_progress, state="done", chunks=len(chunks), seconds=elapsed())

    def _save(self, folder: Path, name: str, data: bytes, agency: str | None, access: str) -> Path:
        """``data`` as a new file in ``folder`` (``name``, or ``<stem>_2<suffix>``… when taken),
        with its metadata sidecar: the owning agency and the access level."""
        folder.mkdir(parents=True, exist_ok=True)
        if folder.resolve() != folder:
            raise InvalidUploadError(f"{name}: 업로드 폴더가 올바르지 않습니다 (심볼릭 링크)")
        stem, suffix = os.path.splitext(name)
        meta = {"access": access, **({"agency": agency} if agency else {})}
        for n in range(1, 10_000):
            path = folder / (name if n == 1 else f"{stem}_{n}{suffix}")
            sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
            if sidecar.exists() or sidecar.is_symlink():
                continue
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o640)
            except FileExistsError:
                continue
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            sidecar.write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
            return path
        raise InvalidUploadError(f"{name}: 같은 이름의 파일이 너무 많습니다")

    @staticmethod
    def _discard(path: Path | None) -> None:
        if path is None:
            return
        for p in (path, path.with_name(path.name + SIDECAR_SUFFIX)):
            try:
                p.unlink(missing_ok=True)
            except OSError:
                log.warning("file not removed", extra={"path": str(p)})

    def _parse(self, index: NuriIndex, path: Path, name: str) -> tuple[Document, list[Any]]:
        try:
            doc = load_document(path, self._svc.settings.connectors)
        except ParseError as e:
            raise InvalidUploadError(f"{name}: {e}", message_en=f"{name}: the file cannot be read ({e})") from None
        chunks = index.chunk(doc)
        if not chunks:
            raise InvalidUploadError(f"{name}: 색인할 텍스트가 없습니다", message_en=f"{name}: no text to index")
        return doc, chunks

    def _write(
        self, index: NuriIndex, doc: Document, chunks: list[Any], path: Path, replaces: str | None = None
    ) -> None:
        """Write one document's new version (its other versions go), as a sync would: the same
        version, so a later ``nuri ingest`` of the folder finds it unchanged."""
        version = Syncer(index, self._svc.settings.connectors, progress=False).version_of(path)
        with self._writing:
            index.write([DocumentVersion(doc=doc, version=version, chunks=chunks)])
            if replaces is not None and replaces != doc.doc_id:  # a statute whose 법령ID changed
                index.delete_document(replaces, source=str(path))
            index.commit()

    # -- delete, re-index ------------------------------------------------------------------------
    def _owned(self, doc_id: str, caller: Caller) -> tuple[NuriIndex, DocumentSummary]:
        index, _ = self._ready()
        self._require_admin(caller)
        doc = index.document(doc_id, caller.principal)
        if doc is None:
            raise _not_found()
        self._require_owner(caller, doc)
        return index, doc

    def delete(self, doc_id: str, caller: Caller) -> DeleteResult:
        """Remove a document's chunks, and its file when it was uploaded. A file of a synced
        folder stays (the next ``nuri ingest`` of that folder indexes it again)."""
        index, doc = self._owned(doc_id, caller)
        started = now()
        root = self._root_of(doc.source)
        with self._writing:
            index.delete_document(doc_id)
            index.commit()
        path = self._original_path(doc.source)
        removed = path is not None and _inside(path, self.upload_root)
        if removed:
            self._discard(path)
        self._record(SyncRun(kind="delete", root=root, subject=caller.subject, started_at=started, finished_at=now(),
                             ok=True, removed=1))  # fmt: skip
        log.info("document deleted", extra={"doc_id": doc_id, "subject": caller.subject, "file_removed": removed})
        return DeleteResult(doc_id=doc_id, file_removed=removed)

    def reindex(self, doc_id: str, caller: Caller, on_progress: ProgressCallback | None = None) -> UploadResult:
        """Parse the document's file again and rewrite it; returns the outcome. A file that no
        longer parses is reported (``invalid_upload``) and the index keeps what it held."""
        job, future = self._submit_reindex(doc_id, caller, on_progress)
        future.result()
        return self.job(job.job_id, caller).files[0]

    def submit_reindex(self, doc_id: str, caller: Caller, on_progress: ProgressCallback | None = None) -> DocumentJob:
        """:meth:`reindex` on the worker thread: returns the job at once."""
        job, _ = self._submit_reindex(doc_id, caller, on_progress)
        return job

    def _submit_reindex(
        self, doc_id: str, caller: Caller, on_progress: ProgressCallback | None
    ) -> tuple[DocumentJob, Future[None]]:
        _, doc = self._owned(doc_id, caller)
        path = self._original_path(doc.source)
        if path is None:
            name = source_name(doc.source)
            raise InvalidUploadError(
                f"{name}: 원본 파일이 없거나 허용된 폴더 밖에 있어 다시 색인할 수 없습니다",
                message_en=f"{name}: the original file is gone or outside the allowed folders",
            )
        job = DocumentJob(
            job_id=uuid.uuid4().hex,
            kind="reindex",
            subject=caller.subject,
            agency=caller.principal.agency,
            created_at=now(),
            files=[UploadResult(filename=path.name, saved_as=path.name, doc_id=doc_id)],
        )
        self._register(job)
        queued = job.model_copy(deep=True)
        future = self._worker.submit(self._run_reindex, job.job_id, doc_id, path, caller, on_progress)
        return queued, future

    def _run_reindex(
        self, job_id: str, doc_id: str, path: Path, caller: Caller, on_progress: ProgressCallback | None
    ) -> None:
        self._set_job(job_id, state="running")
        started = now()
        t0 = time.perf_counter()
        error: NuriError | None = None
        try:
            self._update(job_id, 0, on_progress, state="parsing")
            index, _ = self._ready()
            doc, chunks = self._parse(index, path, path.name)
            self._update(job_id, 0, on_progress, state="indexing", doc_id=doc.doc_id)
            self._write(index, doc, chunks, path, replaces=doc_id)
            self._update(job_id, 0, on_progress, state="done", chunks=len(chunks),
                         seconds=round(time.perf_counter() - t0, 3))  # fmt: skip
        except Exception as e:
            error = e if isinstance(e, NuriError) else None
            if error is None:
                log.exception("re-index failed", extra={"job_id": job_id, "doc_id": doc_id})
            self._update(job_id, 0, on_progress, state="failed", error=_error_info(e),
                         seconds=round(time.perf_counter() - t0, 3))  # fmt: skip
        finally:
            self._set_job(job_id, state="done", finished_at=now())
            failures = [Failure(file=path.name, reason=str(error))] if error is not None else []
            ok = self.job(job_id, caller).files[0].state == "done"
            self._record(SyncRun(kind="reindex", root=self._root_of(str(path)), subject=caller.subject,
                                 started_at=started, finished_at=now(), ok=ok, updated=int(ok),
                                 failed=int(not ok), failures=failures))  # fmt: skip


_libraries: weakref.WeakKeyDictionary[NuriService, DocumentLibrary] = weakref.WeakKeyDictionary()
_libraries_lock = threading.Lock()


def library(service: NuriService) -> DocumentLibrary:
    """The document library of ``service`` (made on first use, one per service)."""
    with _libraries_lock:
        found = _libraries.get(service)
        if found is None:
            found = _libraries[service] = DocumentLibrary(service)
        return found
