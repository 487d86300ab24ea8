"""``GET <ui.path>/file/{doc_id}``: the original of a cited document, for the signed-in chat user.

The chat's session cookie (not an API key) is the credential here: the route looks the session
up in the shared sign-in table (:mod:`ui.sign_in`), then asks the document library for the file
with that user's principal (:meth:`assistant.documents.DocumentLibrary.original`: only a
document the user may read, only from the upload folder or a synced root). Anything else is the
same plain 404 page, whether the document is missing or not the user's to read."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping
from typing import TYPE_CHECKING

import anyio.to_thread
from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from assistant.documents import content_disposition, library
from connectors.errors import NuriError
from ui.sso import COOKIE

if TYPE_CHECKING:
    import fastapi

    from assistant.service import NuriService
    from configs.settings import Settings

log = logging.getLogger("nuri.ui.files")

NOT_FOUND_PAGE = (
    '<!doctype html><html lang="ko"><head><meta charset="utf-8"><title>파일 없음 · 누리</title></head>'
    '<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto; color: #1a1a1a">'
    "<h1>파일을 내려받을 수 없습니다</h1><p>파일이 없거나, 로그인이 만료되었거나, 열람 권한이 없는 문서입니다. "
    "채팅 화면으로 돌아가 다시 시도해 주세요.</p></body></html>"
)


def install_file_route(
    app: fastapi.FastAPI, service: NuriService, settings: Settings, tokens: Mapping[str, str]
) -> None:
    path = settings.ui.path.rstrip("/")

    @app.get(f"{path}/file/{{doc_id:path}}", include_in_schema=False)
    async def original_file(doc_id: str, request: Request) -> Response:
        token = request.cookies.get(COOKIE) or request.cookies.get("access-token-unsecure-nuri")
        signed_in = tokens.get(token) if token else None
        who = await anyio.to_thread.run_sync(service.caller_for_key, signed_in) if signed_in else None
        if who is None:
            return HTMLResponse(NOT_FOUND_PAGE, status_code=404)
        try:
            found = await anyio.to_thread.run_sync(lambda: library(service).original(doc_id, who))
        except NuriError as e:
            log.info("original not served", extra={"doc_id": doc_id, "code": e.code, "subject": who.subject})
            return HTMLResponse(NOT_FOUND_PAGE, status_code=404)
        media = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        log.info("original served", extra={"doc_id": doc_id, "subject": who.subject})
        return FileResponse(found, media_type=media, headers={"Content-Disposition": content_disposition(found.name)})
