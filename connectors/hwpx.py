"""HWPX documents (.hwpx): the OWPML zip package Hancom Office writes.

Sections are ``Contents/section*.xml`` in the order of the ``content.hpf`` spine; paragraphs
are ``hp:p`` with text in ``hp:run/hp:t``; tables (``hp:tbl/hp:tr/hp:tc/hp:subList``),
footnotes/endnotes and text boxes are included. Headings come from ``Contents/header.xml``:
a paragraph whose style is named "개요 N" (or "…제목") or whose paragraph property has an
OUTLINE heading. Elements are matched by local name, so both the 2011 Hancom namespaces
and the KS X 6101 (OWPML 2024) ones work.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from lxml import etree

from connectors.hwp import Cell, Note, Para, Table, emit, heading_level
from connectors.metadata import SectionBuilder, build_document, normalize
from connectors.settings import ConnectorSettings
from connectors.types import Document, ParseError

_MAX_XML_BYTES = 200 * 1024 * 1024
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_NOTE_KINDS = {"footNote": "각주", "endNote": "미주"}
_SKIPPED = {"header", "footer", "hiddenComment", "secPr", "colPr", "pageNum", "fieldBegin", "fieldEnd"}
_CHAR_ELEMENTS = {"tab": "\t", "lineBreak": " ", "nbSpace": " ", "fwSpace": " ", "hyphen": "-"}


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in element if _local(c) == name]


class _Header:
    """Heading levels per (style id, paragraph property id), from ``header.xml``."""

    def __init__(self, root: etree._Element | None) -> None:
        self.styles: dict[str, str] = {}
        self.outline: dict[str, int] = {}
        if root is None:
            return
        for element in root.iter():
            name = _local(element)
            if name == "style":
                self.styles[element.get("id", "")] = element.get("name", "")
            elif name == "paraPr":
                for heading in element.iter():
                    if _local(heading) == "heading" and heading.get("type") == "OUTLINE":
                        self.outline[element.get("id", "")] = int(heading.get("level", "0"))
                        break

    def level(self, style_id: str, para_pr_id: str) -> int | None:
        return heading_level(self.styles.get(style_id, ""), self.outline.get(para_pr_id))


def _sublist_paras(element: etree._Element, header: _Header) -> list[Para]:
    """Paragraphs of the first ``subList`` s under ``element`` (not those nested deeper)."""
    paras: list[Para] = []
    for child in element:
        if _local(child) == "subList":
            paras.extend(_paragraph(p, header) for p in _children(child, "p"))
        elif _local(child) != "p":
            paras.extend(_sublist_paras(child, header))
    return paras


def _table(element: etree._Element, header: _Header) -> Table:
    table = Table(cells=[])
    for child in element:
        if _local(child) == "caption":
            table.caption = _sublist_paras(child, header)
    for r, tr in enumerate(_children(element, "tr")):
        for c, tc in enumerate(_children(tr, "tc")):
            addr = next(iter(_children(tc, "cellAddr")), None)
            row = int(addr.get("rowAddr", r)) if addr is not None else r
            col = int(addr.get("colAddr", c)) if addr is not None else c
            table.cells.append(Cell(row=row, col=col, paras=_sublist_paras(tc, header)))
    return table


def _text(t: etree._Element) -> str:
    parts = [t.text or ""]
    for child in t:
        parts.append(_CHAR_ELEMENTS.get(_local(child), ""))
        parts.append(child.tail or "")
    return "".join(parts)


def _paragraph(p: etree._Element, header: _Header) -> Para:
    style, para_pr = p.get("styleIDRef", "0"), p.get("paraPrIDRef", "0")
    para = Para(text="", level=header.level(style, para_pr), merge_key=(style, para_pr))
    texts: list[str] = []
    for run in _children(p, "run"):
        for item in run:
            name = _local(item)
            if name == "t":
                texts.append(_text(item))
            elif name == "tbl":
                para.objects.append(_table(item, header))
            elif name == "ctrl":
                for ctrl in item:
                    kind = _NOTE_KINDS.get(_local(ctrl))
                    if kind:
                        para.objects.append(Note(kind, _sublist_paras(ctrl, header)))
            elif name not in _SKIPPED:  # drawing objects: text boxes hold a subList
                paras = _sublist_paras(item, header)
                if paras:
                    para.objects.append(Note("", paras))
    para.text = "".join(texts)
    return para


def _read_xml(archive: zipfile.ZipFile, name: str) -> etree._Element:
    info = archive.getinfo(name)
    if info.file_size > _MAX_XML_BYTES:
        raise ParseError(f"HWPX 내부 파일이 너무 큽니다 ({name})")
    return etree.fromstring(archive.read(name), _PARSER)


def _section_names(archive: zipfile.ZipFile) -> list[str]:
    names = set(archive.namelist())
    sections = [n for n in names if re.fullmatch(r"Contents/section\d+\.xml", n)]
    ordered: list[str] = []
    if "Contents/content.hpf" in names:
        package = _read_xml(archive, "Contents/content.hpf")
        hrefs = {i.get("id"): i.get("href", "") for i in package.iter() if _local(i) == "item"}
        for ref in (i for i in package.iter() if _local(i) == "itemref"):
            href = hrefs.get(ref.get("idref"), "")
            href = href if href.startswith("Contents/") else f"Contents/{href}"
            if href in sections and href not in ordered:
                ordered.append(href)
    rest = sorted((n for n in sections if n not in ordered), key=lambda n: int(re.sub(r"\D", "", n)))
    return ordered + rest


def _title(archive: zipfile.ZipFile) -> str:
    if "Contents/content.hpf" not in archive.namelist():
        return ""
    for element in _read_xml(archive, "Contents/content.hpf").iter():
        if _local(element) == "title":
            return normalize(element.text or "")
    return ""


def _read_hwpx(path: Path) -> tuple[str, SectionBuilder]:
    if not zipfile.is_zipfile(path):
        with path.open("rb") as fh:
            head = fh.read(8)
        if head.startswith(b"PK"):
            raise ParseError("손상된 HWPX 파일입니다: ZIP 구조가 깨졌습니다")
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise ParseError("HWPX 형식이 아닙니다 (HWP 5 파일입니다: 확장자를 .hwp로 바꿔 주세요)")
        raise ParseError("HWPX 형식이 아닙니다 (ZIP 패키지가 아님)")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if "META-INF/manifest.xml" in names and b"encryption-data" in archive.read("META-INF/manifest.xml"):
            raise ParseError("암호화된 HWPX 문서는 읽을 수 없습니다")
        sections = _section_names(archive)
        if not sections:
            raise ParseError("HWPX 형식이 아닙니다 (Contents/section*.xml 없음)")
        header_root = _read_xml(archive, "Contents/header.xml") if "Contents/header.xml" in names else None
        header = _Header(header_root)
        builder = SectionBuilder()
        for name in sections:
            root = _read_xml(archive, name)
            emit([_paragraph(p, header) for p in _children(root, "p")], builder)
        return _title(archive), builder


def parse_hwpx(path: Path, settings: ConnectorSettings) -> Document:
    try:
        title, builder = _read_hwpx(path)
    except ParseError:
        raise
    except (zipfile.BadZipFile, zlib.error, etree.XMLSyntaxError, KeyError, ValueError, OSError, EOFError) as exc:
        reason = normalize(str(exc))[:160] or type(exc).__name__
        raise ParseError(f"손상된 HWPX 파일입니다: {reason}") from None
    return build_document(path, settings, title=title or builder.first_heading, sections=builder)
