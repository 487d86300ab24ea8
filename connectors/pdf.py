"""PDF files with pypdf: one Section per page (anchor "p. N").

Lines of a page are joined into paragraph blocks; a line starts a new block after a line that
ends a sentence, or when it begins with a list/heading marker. A heading-looking first line
("1. 개요", "제2장 …", "□ 추진 배경") goes into the section's ``heading_path``. The title is
the PDF's /Title, else the first line of page 1 when it is short, else the file stem.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError, PdfStreamError

from connectors.metadata import build_document, normalize
from connectors.plaintext import is_list_item, korean_heading
from connectors.settings import ConnectorSettings
from connectors.types import Block, Document, ParseError, Section

logger = logging.getLogger(__name__)

_ENDS_PARAGRAPH = re.compile(r"(?:[.!?。:]|다|요)$")


def _one_line(exc: BaseException) -> str:
    return normalize(str(exc))[:160] or type(exc).__name__


def _blocks(lines: list[str]) -> list[Block]:
    blocks: list[list[str]] = []
    for line in lines:
        new_block = not blocks or _ENDS_PARAGRAPH.search(blocks[-1][-1]) or is_list_item(line)
        if new_block or korean_heading(blocks[-1][-1]) is not None:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    return [Block(text=" ".join(b)) for b in blocks]


def parse_pdf(path: Path, settings: ConnectorSettings) -> Document:
    with path.open("rb") as fh:
        if b"%PDF-" not in fh.read(1024):
            raise ParseError("PDF 형식이 아닙니다 (%PDF 헤더 없음)")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError("암호로 보호된 PDF는 읽을 수 없습니다")
        meta = reader.metadata
        meta_title = normalize(str((meta.get("/Title") if meta is not None else None) or ""))
        pages = [page.extract_text() or "" for page in reader.pages]
    except ParseError:
        raise
    except (FileNotDecryptedError, NotImplementedError) as exc:
        raise ParseError(f"암호로 보호된 PDF는 읽을 수 없습니다: {_one_line(exc)}") from None
    except (PdfReadError, PdfStreamError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ParseError(f"손상된 PDF 파일입니다: 파일이 잘렸거나 구조가 깨졌습니다 ({_one_line(exc)})") from None

    sections: list[Section] = []
    first_line: str | None = None
    for number, raw in enumerate(pages, start=1):
        lines = [normalize(line) for line in raw.split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            logger.debug("%s: page %d has no text", path.name, number)
            continue
        if first_line is None:
            first_line = lines[0]
        heading_path = [lines[0]] if korean_heading(lines[0]) is not None else []
        sections.append(Section(anchor=f"p. {number}", blocks=_blocks(lines), heading_path=heading_path, page=number))
    title = meta_title or (first_line if first_line and len(first_line) <= 80 else None)
    return build_document(path, settings, title=title, sections=sections)
