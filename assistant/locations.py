"""Where a passage is, in words a reader can follow: ``개인정보 보호법 제15조 제2항`` for a statute,
``12쪽 · 제2장 > 1. 목적`` for a page of a PDF, the section path for HWP/HWPX/DOCX/HTML/Markdown.

Built from the chunk's payload (:class:`retrieval.payload.ChunkPayload`), never from its server
path: what the chat and the API show users as a citation's place in its document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: How many heading levels a location names (the innermost ones).
MAX_HEADINGS = 3


def location_of(payload: Mapping[str, Any], language: str = "ko") -> str:
    """The passage's readable location (empty when the document has no structure at all)."""
    anchor = str(payload.get("anchor") or "").strip()
    if str(payload.get("doc_type") or "") == "statute":
        return anchor
    parts: list[str] = []
    page = payload.get("page")
    if isinstance(page, int) and page > 0:
        parts.append(f"{page}쪽" if language == "ko" else f"p. {page}")
    headings = [str(h).strip() for h in payload.get("heading_path") or [] if str(h).strip()]
    title = str(payload.get("title") or "").strip()
    if headings and headings[0] == title:
        headings = headings[1:]
    if headings:
        parts.append(" > ".join(headings[-MAX_HEADINGS:]))
    elif anchor and anchor != title and not (page and anchor.endswith(f"p.{page}")):
        parts.append(anchor)
    return " · ".join(parts)


def source_name(source: str) -> str:
    """A source as users may see it: a web address as is, a file by its name only (the folder
    it lies in on the server is not the user's business)."""
    if source.startswith(("http://", "https://")):
        return source
    return source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def passage_path(chunk_id: str) -> str:
    """The API route that returns a passage with its surrounding text (``GET /v1/passages/{id}``)."""
    return f"/v1/passages/{chunk_id}" if chunk_id else ""
