"""Which connector reads which file: discovery of source files and :func:`load_document`.

``load_document`` refuses oversize files, sends Markdown statutes (front matter with
``법령MST``) to :mod:`connectors.statute`, other files to the connector for their suffix, and
turns every failure into a one-line :class:`ParseError` (never a traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from connectors.metadata import FOLDER_META, SIDECAR_SUFFIX, normalize
from connectors.settings import ConnectorSettings
from connectors.types import Document, ParseError

logger = logging.getLogger(__name__)

Parser = Callable[[Path, ConnectorSettings], Document]

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".hwp", ".hwpx"})
_MB = 1024 * 1024


def _parser_for(suffix: str) -> Parser:
    if suffix == ".txt":
        from connectors.plaintext import parse_text

        return parse_text
    if suffix == ".md":
        from connectors.plaintext import parse_markdown

        return parse_markdown
    if suffix in (".html", ".htm"):
        from connectors.html import parse_html

        return parse_html
    if suffix == ".pdf":
        from connectors.pdf import parse_pdf

        return parse_pdf
    if suffix == ".docx":
        from connectors.docx import parse_docx

        return parse_docx
    if suffix == ".hwp":
        from connectors.hwp import parse_hwp

        return parse_hwp
    if suffix == ".hwpx":
        from connectors.hwpx import parse_hwpx

        return parse_hwpx
    raise ParseError(f"지원하지 않는 파일 형식입니다 ({suffix or '확장자 없음'})")


def _statute_parser(path: Path) -> Parser | None:
    """``parse_statute`` when ``path`` is a statute Markdown file (imported lazily)."""
    try:
        from connectors.statute import is_statute_file, parse_statute
    except ModuleNotFoundError as exc:
        if exc.name != "connectors.statute":
            raise
        return None
    return parse_statute if is_statute_file(path) else None


def _is_meta(path: Path) -> bool:
    return path.name == FOLDER_META or path.name.endswith(SIDECAR_SUFFIX)


def _is_hidden(path: Path, root: Path) -> bool:
    """Hidden (".name") or an Office lock file ("~$name"), or inside a hidden folder under root."""
    return any(part.startswith((".", "~$")) for part in path.relative_to(root).parts)


def discover(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand folders (recursively, sorted) into supported files; missing paths are errors.

    Hidden files and folders, meta files (``_meta.yaml``, ``*.meta.yaml``) and files with an
    unsupported suffix are skipped inside folders; a file named explicitly with an
    unsupported suffix is reported as an error.
    """
    found: list[Path] = []
    errors: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def add(file: Path) -> None:
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            found.append(file)

    for path in paths:
        path = Path(path)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if (
                    file.is_file()
                    and not _is_hidden(file, path)
                    and not _is_meta(file)
                    and file.suffix.lower() in SUPPORTED_SUFFIXES
                ):
                    add(file)
        elif path.is_file():
            if _is_meta(path):
                logger.debug("skipping meta file %s", path)
            elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
                errors.append((path, f"지원하지 않는 파일 형식입니다 ({path.suffix or '확장자 없음'})"))
            else:
                add(path)
        else:
            errors.append((path, "파일이나 폴더가 없습니다"))
    return found, errors


def _mb(size: float) -> str:
    return f"{size:.1f}" if size >= 1 else f"{size:.2f}"


def load_document(path: Path, settings: ConnectorSettings) -> Document:
    """Read one source file into a Document; every failure is a one-line ParseError."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ParseError(f"파일을 읽을 수 없습니다: {exc.strerror or exc}") from None
    if not path.is_file():
        raise ParseError("파일이 아닙니다 (폴더이거나 특수 파일)")
    if size > settings.max_file_mb * _MB:
        raise ParseError(f"파일이 너무 큽니다 ({_mb(size / _MB)} MB > 한도 {settings.max_file_mb:g} MB)")
    suffix = path.suffix.lower()
    try:
        parser = _statute_parser(path) if suffix == ".md" else None
        document = (parser or _parser_for(suffix))(path, settings)
    except ParseError as exc:
        raise ParseError(normalize(str(exc)) or "문서를 읽을 수 없습니다") from None
    except Exception as exc:
        logger.debug("unexpected error reading %s", path, exc_info=True)
        reason = normalize(str(exc))[:160]
        detail = f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
        raise ParseError(f"문서를 읽는 중 예기치 않은 오류가 발생했습니다 ({detail})") from None
    if not document.text.strip():
        raise ParseError("텍스트를 찾을 수 없습니다 (빈 문서이거나 스캔한 이미지뿐일 수 있습니다)")
    return document
