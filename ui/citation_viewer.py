"""The 근거 자료 panel: each citation as a choice (``[n] 제목 · 위치``) and, for the chosen one, a
viewer with the document's title, a readable location (법령명 제N조 제M항, a PDF's page, a
document's section), the cited passage highlighted inside its surrounding text, and a download of
the original when the user may read it. Never a server path: the source is named by its file
name or web address (:func:`assistant.locations.source_name`)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from assistant.answers import Citation
from assistant.locations import source_name

SOURCES_EMPTY = "답변의 근거가 된 문서·법령 조항이 여기에 표시됩니다."
SOURCES_NONE = "이 답변에 표시할 근거 자료가 없습니다."
SOURCES_PENDING = "근거 자료를 찾고 있습니다…"
VIEWER_EMPTY = (
    '<div class="nuri-viewer nuri-viewer-empty">근거 자료를 고르면 원문 위치와 앞뒤 내용이 여기에 보입니다.</div>'
)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def citation_label(c: Citation) -> str:
    where = _one_line(c.location or c.anchor)
    title = _one_line(c.title)
    if where and not where.startswith(title):
        return f"[{c.n}] {title} · {where}"
    return f"[{c.n}] {where or title}"


def citation_choices(citations: Sequence[Citation]) -> list[tuple[str, str]]:
    """(label, value) pairs for the panel's list; the value is the citation's number."""
    return [(citation_label(c), str(c.n)) for c in sorted(citations, key=lambda c: c.n)]


def _quote(text: str) -> str:
    lines = [line.rstrip() for line in str(text).strip().splitlines()] or [""]
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def format_sources(citations: Sequence[Citation]) -> str:
    """The panel's text summary: ``[n] title · location``, the cited passage, then the source's
    name (a file's name or a web address; never a folder on the server)."""
    if not citations:
        return SOURCES_NONE
    parts = []
    for c in sorted(citations, key=lambda c: c.n):
        source = c.source_url or source_name(c.source)
        link = f"[{_one_line(source)}]({source})" if source.startswith(("http://", "https://")) else source
        parts.append(f"**{citation_label(c)}**\n\n{_quote(c.text)}\n\n<small>출처: {link}</small>")
    return "\n\n---\n\n".join(parts)


def _paragraphs(text: str) -> str:
    return "<br>".join(html.escape(line) for line in str(text).strip().splitlines())


def viewer_html(
    citation: Citation,
    view: Any | None,
    download_href: str | None,
) -> str:
    """The viewer for one citation. ``view``: the passage with its neighbours
    (:class:`assistant.documents.PassageView`: ``text``, ``before``, ``after``, ``location``,
    ``title``, ``source``), or None when it cannot be read any more (the citation's own text is
    shown then)."""
    title = getattr(view, "title", None) or citation.title
    location = getattr(view, "location", None) or citation.location or citation.anchor
    source = getattr(view, "source", None) or source_name(citation.source)
    before: list[str] = list(getattr(view, "before", None) or [])
    after: list[str] = list(getattr(view, "after", None) or [])
    text = getattr(view, "text", None) or citation.text
    parts = [
        '<article class="nuri-viewer" aria-label="근거 자료 원문">',
        f'<header><h3 class="nuri-viewer-title">[{citation.n}] {html.escape(_one_line(title))}</h3>',
        f'<p class="nuri-viewer-location">📍 {html.escape(_one_line(location))}</p></header>'
        if location
        else "</header>",
        '<div class="nuri-viewer-body">',
        *[f'<p class="nuri-context">{_paragraphs(t)}</p>' for t in before],
        f'<p><mark class="nuri-cited" id="nuri-cited-{citation.n}">{_paragraphs(text)}</mark></p>',
        *[f'<p class="nuri-context">{_paragraphs(t)}</p>' for t in after],
        "</div>",
        '<footer class="nuri-viewer-footer">',
        f"<span>출처: {html.escape(_one_line(source))}</span>",
    ]
    if citation.source_url:
        parts.append(
            f' · <a href="{html.escape(citation.source_url)}" target="_blank" rel="noopener noreferrer">원문 사이트</a>'
        )
    if download_href:
        parts.append(f' · <a href="{html.escape(download_href)}" download>원본 파일 내려받기</a>')
    if view is None:
        parts.append(' · <span class="nuri-muted">앞뒤 내용을 불러오지 못해 인용된 부분만 보입니다.</span>')
    parts += ["</footer>", "</article>"]
    return "".join(parts)
