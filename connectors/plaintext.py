"""Plain text (.txt) and Markdown (.md) files, and text decoding shared with the HTML connector.

Encodings: a BOM decides (UTF-8, UTF-16); otherwise UTF-8, then CP949 (a superset of EUC-KR,
still common in Korean agencies). Markdown sections follow ``#``..``######`` headings. Plain
text is cut at lines that look like Korean document headings ("1. 목적", "가. 신청",
"제3조(신청)", "□ 추진 배경", "Ⅱ. 운영"); list items and table rows stay separate blocks.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import yaml

from connectors.metadata import SectionBuilder, build_document, normalize
from connectors.settings import ConnectorSettings
from connectors.types import Document, ParseError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BAD_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def decode_text(data: bytes) -> str:
    """Decode a text file: BOM, then UTF-8, then CP949; ParseError when none fits cleanly."""
    candidates = [enc for bom, enc in _BOMS if data.startswith(bom)][:1] or ["utf-8", "cp949"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # Binary data that happens to decode is full of control characters.
        if len(_BAD_CONTROLS.findall(text)) > max(2, len(text) // 1000):
            continue
        return text.replace("\r\n", "\n").replace("\r", "\n")
    raise ParseError("텍스트 인코딩을 알 수 없습니다 (UTF-8/CP949 아님)")


def read_text(path: Path) -> str:
    return decode_text(path.read_bytes())


# --- Korean document headings -------------------------------------------------------------

_HEADING_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("roman", re.compile(r"^(?:[ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ]|X|IX|IV|V?I{1,3}|V)\.\s*(?=\S)")),
    ("chapter", re.compile(r"^제\s*\d+\s*장(?:\s+|$)")),
    ("part", re.compile(r"^제\s*\d+\s*절(?:\s+|$)")),
    ("article", re.compile(r"^제\s*\d+\s*조(?:의\s*\d+)?\s*(?:\([^)]{1,40}\))?")),
    ("number", re.compile(r"^\d{1,2}\.\s*(?=[^\d\s])")),
    ("hangul", re.compile(r"^[가나다라마바사아자차카타파하]\.\s*(?=\S)")),
    ("square", re.compile(r"^[□■◆◇]\s*(?=\S)")),
)
_HANGUL_ORDINAL = "[가나다라마바사아자차카타파하]"
_LIST_ITEM = re.compile(
    rf"^(?:[-*+•·∙○●◦▪▸※□■◆◇]|[①-⑳]|\d{{1,2}}[.)]\s*(?=[^\d\s])|\(\d{{1,2}}\)"
    rf"|{_HANGUL_ORDINAL}[.)]|\({_HANGUL_ORDINAL}\))"
)
# Endings of a sentence, or of an item in the terse report style ("…을 점검함").
_SENTENCE_END = re.compile(r"(?:[.!?。]|[다함됨임음])$")


def korean_heading(line: str) -> tuple[str, str, str] | None:
    """Classify a line as a Korean document heading: (kind, heading text, trailing body).

    Only short lines that do not read as sentences count; an article line may carry its
    body on the same line ("제1조(목적) 이 지침은 …"), returned as the trailing body.
    """
    line = normalize(line)
    for kind, pattern in _HEADING_KINDS:
        m = pattern.match(line)
        if not m:
            continue
        if kind == "article":
            head, rest = line[: m.end()].strip(), line[m.end() :].strip()
            return (kind, head, rest) if "(" in head or not rest else None
        if len(line) > 50 or ":" in line or _SENTENCE_END.search(line):
            return None
        return kind, line, ""
    return None


def is_list_item(line: str) -> bool:
    """A line that starts a block of its own: a list item ("○ …", "1) …") or a heading line."""
    return bool(_LIST_ITEM.match(line)) or korean_heading(line) is not None


# --- Markdown -----------------------------------------------------------------------------

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_MD_LIST = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_MD_BULLET = re.compile(r"^\s*[-*+]\s+")
_MD_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_MD_INLINE = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>\n]*)?/?>"), ""),  # HTML tags, not "<개정 …>"
)


def _md_inline(text: str) -> str:
    for pattern, repl in _MD_INLINE:
        text = pattern.sub(repl, text)
    return text


def _front_matter(text: str) -> tuple[str | None, str]:
    """Split off YAML front matter; returns (its title if any, the rest)."""
    if not text.startswith("---\n"):
        return None, text
    end = text.find("\n---", 4)
    if end < 0:
        return None, text
    try:
        data = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return None, text
    rest = text[end + 4 :].split("\n", 1)
    title = data.get("title") if isinstance(data, dict) else None
    return (title if isinstance(title, str) else None), (rest[1] if len(rest) > 1 else "")


def parse_markdown(path: Path, settings: ConnectorSettings) -> Document:
    title, text = _front_matter(read_text(path).lstrip("\ufeff"))
    builder = SectionBuilder()
    para: list[str] = []
    fence: list[str] | None = None

    def flush() -> None:
        if para:
            builder.block(_md_inline(" ".join(para)))
            para.clear()

    for line in text.split("\n"):
        if fence is not None:
            if _MD_FENCE.match(line):
                builder.block("\n".join(fence))
                fence = None
            else:
                fence.append(line)
            continue
        if _MD_FENCE.match(line):
            flush()
            fence = []
            continue
        heading = _MD_HEADING.match(line)
        stripped = line.strip()
        if heading:
            flush()
            builder.heading(len(heading.group(1)), _md_inline(heading.group(2)))
        elif not stripped or re.fullmatch(r"(\*\s*){3,}|(-\s*){3,}|(_\s*){3,}", stripped):
            flush()
        elif stripped.startswith("|"):
            flush()
            if not _MD_TABLE_SEP.match(stripped):
                cells = [_md_inline(c.strip()) for c in stripped.strip("|").split("|")]
                builder.block(" | ".join(c for c in cells if c))
        elif _MD_LIST.match(line):
            flush()
            para.append(_MD_BULLET.sub("", line, count=1))
        else:
            para.append(stripped.removeprefix("> ").removeprefix(">"))
    flush()
    if fence:
        builder.block("\n".join(fence))
    return build_document(path, settings, title=title or builder.first_heading, sections=builder)


# --- Plain text ---------------------------------------------------------------------------


def parse_text(path: Path, settings: ConnectorSettings) -> Document:
    lines = [normalize(line) for line in read_text(path).split("\n")]
    title: str | None = None
    first = next((i for i, line in enumerate(lines) if line), None)
    if first is not None and any(lines[first + 1 :]):
        candidate = lines[first]
        if (
            len(candidate) <= 80
            and korean_heading(candidate) is None
            and not is_list_item(candidate)
            and not candidate.endswith("다.")
        ):
            title = candidate
            lines[first] = ""

    levels: dict[str, int] = {}
    builder = SectionBuilder()
    para: list[str] = []

    def flush() -> None:
        if para:
            builder.block(" ".join(para))
            para.clear()

    for line in lines:
        if not line:
            flush()
            continue
        heading = korean_heading(line)
        if heading is not None:
            kind, text, rest = heading
            flush()
            builder.heading(levels.setdefault(kind, len(levels) + 1), text)
            if rest:
                para.append(rest)
        elif is_list_item(line) or line.startswith("|"):
            flush()
            para.append(line)
        else:
            para.append(line)
    flush()
    return build_document(path, settings, title=title or builder.first_heading, sections=builder)
