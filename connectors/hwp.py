"""HWP 5 binary documents (.hwp), read with olefile + zlib (written from the public HWP 5.0
format description; no pyhwp code).

An HWP 5 file is an OLE compound file: ``FileHeader`` (signature, version, flags),
``DocInfo`` (styles, paragraph shapes) and ``BodyText/Section0..N`` (records, raw-deflate
compressed when flag bit 0 is set). Body records nest by level: a paragraph header owns its
text and its controls; a control (table, footnote, text box) owns its own paragraphs.

Headings are paragraphs whose style is named "개요 N" or "…대/중/소제목", or whose paragraph
shape is an outline level. Tables become one block per row (cells joined with " | ") unless
they are layout tables (cells holding headings, tables or running text); then their cells are
read as flowing text. Footnotes/endnotes become blocks ("각주: …"), text boxes are read in place; page
headers/footers and hidden comments are skipped. :mod:`connectors.hwpx` reuses the paragraph
model and :func:`emit` from here.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import olefile

from connectors.metadata import SectionBuilder, build_document, normalize
from connectors.settings import ConnectorSettings
from connectors.types import Document, ParseError

# --- the paragraph model shared with HWPX ---------------------------------------------------


@dataclass(slots=True)
class Para:
    text: str
    level: int | None = None
    merge_key: object = None
    objects: list[Table | Note] = field(default_factory=list)


@dataclass(slots=True)
class Cell:
    row: int
    col: int
    paras: list[Para]


@dataclass(slots=True)
class Table:
    cells: list[Cell]
    caption: list[Para] = field(default_factory=list)


@dataclass(slots=True)
class Note:
    """A footnote/endnote ("각주"/"미주") or a text box (kind "")."""

    kind: str
    paras: list[Para]


_STYLE_LEVEL = (("대제목", 1), ("중제목", 2), ("소제목", 3))
# A heading that starts with its own number is never the second line of the previous one.
_NUMBERED = re.compile(
    r"^(?:\d+[.)]|[가나다라마바사아자차카타파하][.)]|[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]+\.|제\s*\d+\s*[편장절관조]|[□■○●◆◇▶►※-])"
)


def heading_level(style_name: str, outline_level: int | None) -> int | None:
    """Heading level from a style name ("개요 2", "본문 중제목") or an outline paragraph shape."""
    name = style_name.strip()
    m = re.match(r"^개요\s*(\d+)$", name) or re.match(r"^(?:제목|Heading)\s*(\d)$", name, re.I)
    if m:
        return int(m.group(1))
    for word, level in _STYLE_LEVEL:
        if word in name and not name.startswith("표"):
            return level
    return outline_level + 1 if outline_level is not None else None


def _is_layout(paras: list[Para]) -> bool:
    """A cell that holds headings, tables or running text: read it as flowing text."""
    texts = [t for t in (normalize(p.text) for p in paras) if t]
    return (
        len(texts) >= 4
        or sum(map(len, texts)) > 300
        or any(p.level is not None or any(isinstance(o, Table) for o in p.objects) for p in paras)
    )


def _emit_table(table: Table, builder: SectionBuilder) -> None:
    emit(table.caption, builder)
    if any(_is_layout(c.paras) for c in table.cells):
        for cell in table.cells:  # a layout table: read its cells as flowing text
            emit(cell.paras, builder)
        return
    rows: dict[int, list[Cell]] = {}
    for cell in table.cells:
        rows.setdefault(cell.row, []).append(cell)
    for row in sorted(rows):
        cells = sorted(rows[row], key=lambda c: c.col)
        texts = [normalize(" ".join(p.text for p in cell.paras)) for cell in cells]
        builder.block(" | ".join(t for t in texts if t))
        for cell in cells:  # footnotes or text boxes inside the row's cells
            for para in cell.paras:
                for obj in para.objects:
                    if isinstance(obj, Note):
                        _emit_note(obj, builder)


def _emit_note(note: Note, builder: SectionBuilder) -> None:
    if not note.kind:
        emit(note.paras, builder)
        return
    text = normalize(" ".join(p.text for p in note.paras))
    if text:
        builder.block(f"{note.kind}: {text}")


def emit(paras: list[Para], builder: SectionBuilder) -> None:
    """Feed paragraphs (and the tables, notes and text boxes they hold) to the builder."""
    for para in paras:
        text = normalize(para.text)
        if para.level is not None and text and len(text) <= 150:
            builder.heading(para.level, text, None if _NUMBERED.match(text) else para.merge_key)
        else:
            builder.block(text)
        for obj in para.objects:
            if isinstance(obj, Table):
                _emit_table(obj, builder)
            else:
                _emit_note(obj, builder)


# --- HWP 5 records ----------------------------------------------------------------------------

_SIGNATURE = b"HWP Document File"
_MAX_STREAM_BYTES = 256 * 1024 * 1024
_TAG_BEGIN = 0x10
_PARA_SHAPE = _TAG_BEGIN + 9
_STYLE = _TAG_BEGIN + 10
_PARA_HEADER = _TAG_BEGIN + 50
_PARA_TEXT = _TAG_BEGIN + 51
_CTRL_HEADER = _TAG_BEGIN + 55
_LIST_HEADER = _TAG_BEGIN + 56
_TABLE = _TAG_BEGIN + 61

_CHAR_CONTROLS = {0, 10, 13, *range(24, 32)}
_CHAR_OUTPUT = {10: " ", 24: "-", 30: " ", 31: " "}
_NOTE_KINDS = {b"fn  ": "각주", b"en  ": "미주"}


@dataclass(slots=True)
class _Record:
    tag: int
    payload: bytes
    children: list[_Record] = field(default_factory=list)


def _records(data: bytes) -> list[_Record]:
    """Parse a record stream into a tree (a record's children have level + 1)."""
    roots: list[_Record] = []
    stack: list[tuple[int, _Record]] = []
    pos = 0
    while pos + 4 <= len(data):
        (header,) = struct.unpack_from("<I", data, pos)
        pos += 4
        tag, level, size = header & 0x3FF, (header >> 10) & 0x3FF, header >> 20
        if size == 0xFFF:
            if pos + 4 > len(data):
                raise ParseError("손상된 HWP 파일입니다: 레코드 헤더가 잘렸습니다")
            (size,) = struct.unpack_from("<I", data, pos)
            pos += 4
        if pos + size > len(data):
            raise ParseError("손상된 HWP 파일입니다: 레코드가 잘렸습니다")
        record = _Record(tag, data[pos : pos + size])
        pos += size
        while stack and stack[-1][0] >= level:
            stack.pop()
        (stack[-1][1].children if stack else roots).append(record)
        stack.append((level, record))
    return roots


def _para_text(payload: bytes) -> str:
    """Text of a PARA_TEXT record: UTF-16LE with 1- or 8-wchar control characters."""
    count = len(payload) // 2
    chars = struct.unpack(f"<{count}H", payload[: count * 2])
    out: list[str] = []
    i = 0
    while i < count:
        code = chars[i]
        if code >= 32:
            out.append(chr(code))
            i += 1
        elif code in _CHAR_CONTROLS:
            out.append(_CHAR_OUTPUT.get(code, ""))
            i += 1
        else:  # inline and extended controls take 8 wchars; tab (9) is inline
            out.append("\t" if code == 9 else "")
            i += 8
    return "".join(out)


def _flatten(records: list[_Record]) -> Iterator[_Record]:
    for record in records:
        yield record
        yield from _flatten(record.children)


class _Styles:
    """Heading levels per (style id, paragraph shape id), from the DocInfo stream."""

    def __init__(self, docinfo: list[_Record]) -> None:
        self.outline: list[int | None] = []
        self.names: list[str] = []
        for record in _flatten(docinfo):
            if record.tag == _PARA_SHAPE and len(record.payload) >= 4:
                (attr,) = struct.unpack_from("<I", record.payload)
                # bits 23-24: paragraph head type (1 = outline), bits 25-27: level 0..6
                self.outline.append((attr >> 25) & 7 if (attr >> 23) & 3 == 1 else None)
            elif record.tag == _STYLE and len(record.payload) >= 2:
                (n,) = struct.unpack_from("<H", record.payload)
                self.names.append(record.payload[2 : 2 + 2 * n].decode("utf-16-le", "replace"))

    def level(self, style_id: int, shape_id: int) -> int | None:
        name = self.names[style_id] if style_id < len(self.names) else ""
        outline = self.outline[shape_id] if shape_id < len(self.outline) else None
        return heading_level(name, outline)


def _paragraph(record: _Record, styles: _Styles) -> Para:
    shape_id, style_id = 0, 0
    if len(record.payload) >= 11:
        shape_id, style_id = struct.unpack_from("<HB", record.payload, 8)
    para = Para(
        text="",
        level=styles.level(style_id, shape_id),
        merge_key=(style_id, shape_id),
    )
    for child in record.children:
        if child.tag == _PARA_TEXT:
            para.text += _para_text(child.payload)
        elif child.tag == _CTRL_HEADER and len(child.payload) >= 4:
            ctrl_id = child.payload[:4][::-1]
            if ctrl_id == b"tbl ":
                para.objects.append(_table(child, styles))
            elif ctrl_id in _NOTE_KINDS:
                para.objects.append(Note(_NOTE_KINDS[ctrl_id], list(_paragraphs(child, styles))))
            elif ctrl_id == b"gso ":
                para.objects.append(Note("", list(_paragraphs(child, styles))))
            # headers/footers ("head"/"foot"), hidden comments ("tcmt"), fields: skipped
    return para


def _paragraphs(record: _Record, styles: _Styles) -> Iterator[Para]:
    """The paragraphs a control holds, searched through shape components."""
    for child in record.children:
        if child.tag == _PARA_HEADER:
            yield _paragraph(child, styles)
        elif child.tag not in (_PARA_TEXT, _CTRL_HEADER):
            yield from _paragraphs(child, styles)


def _table(record: _Record, styles: _Styles) -> Table:
    table = Table(cells=[])
    cell: Cell | None = None
    seen_table = False
    for child in record.children:
        if child.tag == _TABLE:
            seen_table = True
        elif child.tag == _LIST_HEADER and seen_table:
            row = col = 0
            if len(child.payload) >= 12:
                col, row = struct.unpack_from("<HH", child.payload, 8)
            cell = Cell(row=row, col=col, paras=[])
            table.cells.append(cell)
        elif child.tag == _PARA_HEADER:
            para = _paragraph(child, styles)
            (cell.paras if cell is not None and seen_table else table.caption).append(para)
    return table


def _stream(ole: olefile.OleFileIO, name: str, compressed: bool) -> bytes:
    """A stream's bytes; compressed streams are raw deflate (capped against zip bombs)."""
    data = ole.openstream(name).read()
    if not compressed:
        return data
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(data, _MAX_STREAM_BYTES)
    except zlib.error as exc:
        raise ParseError(f"손상된 HWP 파일입니다: {name} 압축을 풀 수 없습니다 ({exc})") from None
    if inflater.unconsumed_tail:
        raise ParseError(f"HWP 본문이 너무 큽니다 ({name}: 압축 해제 후 {_MAX_STREAM_BYTES >> 20} MB 초과)")
    if not inflater.eof:
        raise ParseError(f"손상된 HWP 파일입니다: {name} 압축 데이터가 잘렸습니다")
    return out


def _section_names(ole: olefile.OleFileIO) -> list[str]:
    numbers = sorted(
        int(entry[1][len("Section") :])
        for entry in ole.listdir()
        if len(entry) == 2 and entry[0] == "BodyText" and re.fullmatch(r"Section\d+", entry[1])
    )
    return [f"BodyText/Section{n}" for n in numbers]


def _read_hwp(path: Path) -> SectionBuilder:
    with path.open("rb") as fh:
        head = fh.read(64)
    if head.startswith(b"PK"):
        raise ParseError("HWP 5 형식이 아닙니다 (HWPX 파일입니다: 확장자를 .hwpx로 바꿔 주세요)")
    if head.startswith(b"HWP Document File V"):
        raise ParseError("HWP 3.0 이하 형식은 지원하지 않습니다 (HWP 5로 다시 저장해 주세요)")
    if not olefile.isOleFile(str(path)):
        raise ParseError("HWP 5 형식이 아닙니다 (OLE 서명 없음)")
    with olefile.OleFileIO(str(path)) as ole:
        if not ole.exists("FileHeader"):
            raise ParseError("HWP 5 형식이 아닙니다 (FileHeader 스트림 없음)")
        header = ole.openstream("FileHeader").read()
        if len(header) < 40 or not header.startswith(_SIGNATURE):
            raise ParseError("HWP 5 형식이 아닙니다 (FileHeader 서명 불일치)")
        version, flags = struct.unpack_from("<II", header, 32)
        if version >> 24 != 5:
            raise ParseError(f"지원하지 않는 HWP 버전입니다 ({version >> 24}.{(version >> 16) & 0xFF})")
        if flags & 0x2:
            raise ParseError("암호화된 HWP 문서는 읽을 수 없습니다")
        if flags & 0x4:
            raise ParseError("배포용 HWP 문서는 읽을 수 없습니다 (배포용 문서 보호)")
        compressed = bool(flags & 0x1)
        docinfo = _records(_stream(ole, "DocInfo", compressed)) if ole.exists("DocInfo") else []
        styles = _Styles(docinfo)
        names = _section_names(ole)
        if not names:
            raise ParseError("손상된 HWP 파일입니다: 본문(BodyText) 스트림이 없습니다")
        builder = SectionBuilder()
        for name in names:
            roots = _records(_stream(ole, name, compressed))
            emit([_paragraph(r, styles) for r in roots if r.tag == _PARA_HEADER], builder)
    return builder


def parse_hwp(path: Path, settings: ConnectorSettings) -> Document:
    try:
        builder = _read_hwp(path)
    except ParseError:
        raise
    except (OSError, struct.error, ValueError, IndexError, EOFError) as exc:
        reason = normalize(str(exc))[:160] or type(exc).__name__
        raise ParseError(f"손상된 HWP 파일입니다: 파일이 잘렸거나 구조가 깨졌습니다 ({reason})") from None
    return build_document(path, settings, title=builder.first_heading, sections=builder)
