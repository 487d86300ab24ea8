"""Citations for clients that only read the standard OpenAI message: a sources footer in the
content and OpenAI-style ``annotations`` on the message.

Nuri's own ``citations`` field is an extension that standard clients drop (LangChain's
``ChatOpenAI`` keeps only the message content), so their users would see ``[1]`` markers with
no sources. With ``api.citations_in_content: footer`` the answer's content ends with

    출처:
    [1] 개인정보 보호법 제39조의2 — https://www.law.go.kr/…

and each ``[n]`` marker in the content is described by a ``url_citation`` annotation (its
character span, the source's title and URL, as OpenAI's own web-search answers carry them).
A footer sent back as history is removed again before the question is answered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from assistant.answers import Citation

FOOTER_HEADINGS = {"ko": "출처:", "en": "Sources:"}
_FOOTER_RE = re.compile(r"\n\n(?:출처|Sources):\n(?:\[\d+\] [^\n]*(?:\n|$))+\s*$")
_MARKER_RE = re.compile(r"\[(\d{1,3})\]")


def citation_url(c: Citation) -> str:
    """The source's own address when it has one (law.go.kr), else the API route of the passage
    (``/v1/passages/{chunk_id}``, relative to the API's base)."""
    return c.source_url or c.url or ""


def sources_footer(citations: Sequence[Citation], lang: str) -> str:
    """The footer appended to an answer's content ("" without citations)."""
    if not citations:
        return ""
    lines = [FOOTER_HEADINGS.get(lang, FOOTER_HEADINGS["ko"])]
    for c in citations:
        label = c.anchor if c.anchor.startswith(c.title) else f"{c.title} {c.anchor}".strip()
        url = citation_url(c)
        lines.append(f"[{c.n}] {label}" + (f" — {url}" if url else ""))
    return "\n\n" + "\n".join(lines)


def strip_footer(text: str) -> str:
    """An earlier answer without the sources footer Nuri appended to it."""
    return _FOOTER_RE.sub("", text)


def url_annotations(content: str, citations: Sequence[Citation]) -> list[dict[str, Any]]:
    """One ``url_citation`` annotation per ``[n]`` marker in ``content`` (OpenAI's format)."""
    by_n = {c.n: c for c in citations}
    out = []
    for m in _MARKER_RE.finditer(content):
        c = by_n.get(int(m.group(1)))
        if c is None:
            continue
        out.append(
            {
                "type": "url_citation",
                "url_citation": {
                    "start_index": m.start(),
                    "end_index": m.end(),
                    "title": f"{c.title} {c.anchor}".strip() if not c.anchor.startswith(c.title) else c.anchor,
                    "url": citation_url(c),
                },
            }
        )
    return out
