"""HTML files (.html, .htm) with BeautifulSoup + lxml.

Sections follow ``h1``..``h6``; paragraphs, list items and table rows (cells joined with
" | ") become blocks (rows of layout tables are read as flowing text); scripts, styles,
navigation and other non-content elements are dropped. The title is the page's ``<title>``,
else its first heading.
"""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

from connectors.metadata import SectionBuilder, build_document, normalize
from connectors.plaintext import read_text
from connectors.settings import ConnectorSettings
from connectors.types import Document

_DROP = {
    "script", "style", "noscript", "template", "svg", "iframe", "object", "head", "nav", "button", "select",
}  # fmt: skip
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i",
    "ins", "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup",
    "time", "u", "var", "wbr", "img", "input", "output", "ruby", "rt", "rp", "nobr", "tt", "big",
}  # fmt: skip
_SKIP_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)


def _has_block(tag: Tag) -> bool:
    return any(isinstance(d, Tag) and d.name not in _INLINE for d in tag.descendants)


def _cells(tr: Tag) -> list[Tag]:
    return tr.find_all(["td", "th"], recursive=False)


def _is_layout_row(tr: Tag) -> bool:
    """A row used for page layout: cells holding headings, tables or running text."""
    return any(
        c.find([*_HEADINGS, "table"]) or len(c.find_all("p")) >= 2 or len(c.get_text()) > 300 for c in _cells(tr)
    )


def _walk(element: Tag, builder: SectionBuilder) -> None:
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            builder.block("".join(buffer))
            buffer.clear()

    for child in element.children:
        if isinstance(child, NavigableString):
            if not isinstance(child, _SKIP_STRINGS):
                buffer.append(str(child))
            continue
        if not isinstance(child, Tag) or child.name in _DROP:
            continue
        if child.name == "br":
            buffer.append(" ")
        elif child.name in _HEADINGS:
            flush()
            builder.heading(_HEADINGS[child.name], child.get_text(" "))
        elif child.name == "tr" and not _is_layout_row(child):
            flush()
            builder.block(" | ".join(t for t in (normalize(c.get_text(" ")) for c in _cells(child)) if t))
        elif child.name in _INLINE and not _has_block(child):
            buffer.append(child.get_text())
        else:
            flush()
            _walk(child, builder)
    flush()


def parse_html(path: Path, settings: ConnectorSettings) -> Document:
    soup = BeautifulSoup(read_text(path), "lxml")
    title_tag = soup.find("title")
    title = normalize(title_tag.get_text()) if title_tag else ""
    builder = SectionBuilder()
    _walk(soup.body or soup, builder)
    return build_document(path, settings, title=title or builder.first_heading, sections=builder)
