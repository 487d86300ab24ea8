"""Word files (.docx) with python-docx.

Sections follow heading paragraphs: styles "Heading N" / "제목 N" (or an outline level set on
the paragraph or its style); "Title" ranks above Heading 1. Each other paragraph is a block;
each table row is a block of its cell texts joined with " | ". The title is the core
properties' title, else the first heading, else the file stem.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docx
import olefile
from docx.document import Document as DocxDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from connectors.metadata import SectionBuilder, build_document, normalize
from connectors.settings import ConnectorSettings
from connectors.types import Document, ParseError

_HEADING_STYLE = re.compile(r"^(?:heading|제목)\s*(\d)$", re.IGNORECASE)


def _outline_level(element: etree._Element | None) -> int | None:
    if element is None:
        return None
    lvl = element.find(f"{qn('w:pPr')}/{qn('w:outlineLvl')}")
    if lvl is None:
        return None
    value = int(lvl.get(qn("w:val"), "9"))
    return value + 1 if value < 9 else None


def _heading_level(paragraph: Paragraph) -> int | None:
    style = paragraph.style
    depth = 0
    while style is not None and depth < 10:
        name = (style.name or "").strip()
        if name.lower() == "title":
            return 0
        m = _HEADING_STYLE.match(name)
        if m:
            return int(m.group(1))
        level = _outline_level(style.element)
        if level is not None:
            return level
        style, depth = style.base_style, depth + 1
    return _outline_level(paragraph._p)


# python-docx parses the XML into its own oxml classes (CT_P, CT_Tbl), which Paragraph and Table
# take; lxml's stubs type what iter()/iterchildren() return as plain elements, hence the ignores.
def _cell_text(tc: etree._Element, parent: object) -> str:
    return " ".join(Paragraph(p, parent).text for p in tc.iter(qn("w:p")))  # type: ignore[arg-type]


def _rows(table: Table) -> Iterator[str]:
    for tr in table._tbl.iterchildren(qn("w:tr")):  # nested tables' rows are in their cell's text
        cells = [normalize(_cell_text(tc, table)) for tc in tr.iterchildren(qn("w:tc"))]
        text = " | ".join(c for c in cells if c)
        if text:
            yield text


def _body_items(parent: etree._Element, document: DocxDocument) -> Iterator[Paragraph | Table]:
    for child in parent.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, document)  # type: ignore[arg-type]
        elif child.tag == qn("w:tbl"):
            yield Table(child, document)  # type: ignore[arg-type]
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _body_items(content, document)


def parse_docx(path: Path, settings: ConnectorSettings) -> Document:
    if olefile.isOleFile(str(path)):
        raise ParseError("암호화된 DOCX이거나 구형 Word(.doc) 문서입니다 (읽을 수 없음)")
    if not zipfile.is_zipfile(path):
        with path.open("rb") as fh:
            truncated_zip = fh.read(2) == b"PK"
        if truncated_zip:
            raise ParseError("손상된 DOCX 파일입니다: ZIP 구조가 깨졌습니다 (파일이 잘렸을 수 있음)")
        raise ParseError("DOCX 형식이 아닙니다 (ZIP 패키지가 아님)")
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError) as exc:
        reason = normalize(str(exc))[:160] or type(exc).__name__
        raise ParseError(f"손상된 DOCX 파일입니다: {reason}") from None

    builder = SectionBuilder()
    for item in _body_items(document.element.body, document):
        if isinstance(item, Table):
            for row in _rows(item):
                builder.block(row)
            continue
        level = _heading_level(item)
        if level is not None:
            builder.heading(level, item.text)
        else:
            builder.block(item.text)
    title = normalize(document.core_properties.title or "")
    return build_document(path, settings, title=title or builder.first_heading, sections=builder)
