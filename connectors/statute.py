"""Statute connector: a law.go.kr Markdown mirror file (legalize-kr) -> one :class:`Document`.

File format (see ``shared/data/README.md``)::

    ---                                   YAML front matter: 제목, 법령MST, 법령ID ('011357'),
    제목: 개인정보 보호법                  법령구분, 소관부처 (list), 공포일자, 공포번호, 시행일자,
    법령MST: 283839                        상태, 출처, 첨부파일 ...
    ...
    ---
    # 개인정보 보호법                      title (ignored)
    ## 제3장 개인정보의 처리 <개정 …>      chapter (장); ``### 제1절 …`` is a section (절)
    ##### 제15조 (개인정보의 수집ㆍ이용)   article (조); ``##### 제7조`` + ``삭제 <date>`` = deleted
    **①** 개인정보처리자는 … <개정 …>      paragraph (항); a one-paragraph article has no marker
      1\\. …                               item (호), ``  7의2\\. …`` branch item
        가\\. …                            sub-item (목); `` 1) …`` / `` 가) …`` deeper levels
    \\t\\t<img src=…> … box-drawn table … </img>   table image (+ its text rendering)
    ## 부칙
    부칙 <제17979호,2021.3.23>             one addendum per header line, optionally
    제1조(시행일) 이 법은 …                 ``부칙(정부조직법) <…>``; its articles are plain lines

What the parser produces:

- one :class:`Section` per body article, anchored ``"{제목} 제N조"`` / ``"{제목} 제N조의M"``,
  with the enclosing 장/절 as ``heading_path`` and one :class:`Block` per 항 (label "제N항");
  호/목 lines stay in their 항's block, except in a definition article (정의), where each
  defined term is a standalone block (``connectors.statute_definitions``). ``refs`` lists the
  articles the article cites (``connectors.statute_refs``: "법 제27조", "「국가공무원법」 제78조"). Deleted articles, 항 and 호 are dropped; amendment notes
  (``<개정 …>``, ``<신설 …>``, ``[본조신설 …]`` …) are removed; Markdown escapes and HTML
  entities are decoded; images become "(표: 원문 이미지 참조)" and box-drawn tables become
  ``cell | cell`` rows.
- 부칙 (addenda) are never body articles (their numbers collide with the body's). Depending on
  ``ConnectorSettings.statute_addenda`` none, the latest (by promulgation date) or all of them
  become one Section each, anchored ``"{제목} 부칙 <제N호, YYYY.M.D>"`` with one Block per
  addendum article. Amendments of other laws inside an addendum (megabytes in 정부조직법) are
  replaced by "(다른 법령 개정 내용 생략)"; tables and images in addenda are dropped.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from connectors.settings import ConnectorSettings
from connectors.statute_definitions import is_definition_article, split_definitions
from connectors.statute_refs import references
from connectors.types import AccessLevel, Block, Document, ParseError, Section

# --------------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------------

_HEAD_BYTES = 8192  # is_statute_file reads this much; 법령MST is the second front-matter key
_FRONT_MATTER_RE = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_MST_KEY_RE = re.compile(r"^['\"]?법령MST['\"]?\s*:")
_RAW_LAW_ID_RE = re.compile(r"^법령ID\s*:\s*['\"]?([^'\"\s#]+)", re.M)

_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_ARTICLE_HEADING_RE = re.compile(r"^#####\s+(제\d+조(?:의\d+)?)\s*(?:\((.*)\))?\s*$")
_ADDENDA_HEADING_RE = re.compile(r"^##\s+부칙\s*$")
# 항 marker: **①** … **⑳** (㉑…㊿ and <21> never occur in this corpus but are accepted).
_CIRCLED = "\u2460-\u2473\u3251-\u325f\u32b1-\u32bf"  # ①-⑳, ㉑-㉟, ㊱-㊿
_PARAGRAPH_RE = re.compile(rf"^\s*\*\*\s*([{_CIRCLED}]|<\d+>)\s*\*\*\s*(.*)$")

# Amendment notes: <개정 2012.12.11, 2020.1.29>, <신설 …>, <전문개정 …>, <본조신설 …>,
# <제목개정 …>, <종전 제3조는 제4조로 이동 <2010.1.1>>, the bare date after 삭제 (<2008.2.29>)
# and the law.go.kr bracket form [본조신설 2014.3.24] / [종전 제5조는 … 이동 <…>].
_DATE = r"\d{4}\s*[.ㆍ]\s*\d{1,2}\s*[.ㆍ]\s*\d{1,2}\.?"
_NOTE_RES = (
    re.compile(r"\s*<\s*종전[^<>]*(?:<[^<>]*>[^<>]*)*>"),
    re.compile(r"\s*<\s*[가-힣]{0,6}(?:개정|신설|이동|삭제)(?:[\s\d.,ㆍ][^<>]*)?>"),
    re.compile(rf"\s*<\s*{_DATE}(?:\s*,\s*{_DATE})*\s*>"),
    re.compile(r"\s*\[\s*(?:[가-힣]{0,6}(?:개정|신설)|종전|시행일)[^\[\]]*\]"),
)
_IMG_TAG_RE = re.compile(r"<img\b[^>]*>", re.I)
_IMG_CLOSE_RE = re.compile(r"</img\s*>", re.I)
_IMAGE_PLACEHOLDER = "(표: 원문 이미지 참조)"
_MD_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
_BOLD_RE = re.compile(r"\*\*(.+?)\*\*")
_SPACES_RE = re.compile(r"[ \t\u00a0\u3000]+")

_BOX_CHARS = "│┃┌┐└┘├┤┬┴┼─━┏┓┗┛┣┫┳┻╋┠┨┯┷┿═║╔╗╚╝╠╣╦╩╬"
_TABLE_LINE_RE = re.compile(rf"^\s*(?:[{_BOX_CHARS}|]|\+[-=+])")
_CELL_SPLIT_RE = re.compile(r"[│┃|║]")
_BOX_ONLY_RE = re.compile(rf"^[\s{_BOX_CHARS}\-=+]*$")

# A deleted 항/호/목 once the marker is unescaped: "③ 삭제", "3. 삭제", "다. 삭제", "1) 삭제".
_DELETED_ITEM_RE = re.compile(rf"^(?:[{_CIRCLED}]|<\d+>|\d+(?:의\d+)?\.|[가-힣](?:의\d+)?\.|\d+\)|[가-힣]\))\s*삭제$")
_DELETED = "삭제"  # what a deleted article's body reads once its date note is gone

# 부칙
_ADDENDUM_HEADER_RE = re.compile(
    r"^부칙\s*(?:\(.*\))?\s*<\s*(?:제\s*)?(?P<no>[^,<>]*?)\s*호?\s*,\s*"
    rf"(?P<date>{_DATE})\s*>\s*$"
)
_ADDENDUM_ARTICLE_RE = re.compile(
    r"^(?:제\\)?제(?P<num>\d+)조(?:의(?P<sub>\d+))?"
    r"(?:\s*\((?P<title>[^()]*(?:\([^()]*\)[^()]*)*)\)(?=\s|$|[①-⑳<])"
    r"|\s+(?:생략|삭제)"
    r"|\s*(?:부터|내지|및|ㆍ|,)\s*제(?P<end>\d+)조(?:의\d+)?(?:까지)?\s*(?:를|을)?\s*(?:각각\s*)?생략)"
)
_BROKEN_ARTICLE_PREFIX_RE = re.compile(r"^제\\(?=제\d+조)")
_REPLACEMENT_INTRO_RE = re.compile(r"다음과\s*같이\s*(?:신설)?한다\.?\s*$")
_AMENDMENT_INTRO_RE = re.compile(r"다음과\s*같이\s*개정한다")
_AMENDMENT_TITLE_RE = re.compile(r"의\s*(?:폐지\s*및\s*)?개정(?:등)?(?:\s*및\s*.*)?$")
_AMENDMENTS_OMITTED = "(다른 법령 개정 내용 생략)"

_REQUIRED_KEYS = ("제목", "법령ID", "법령MST")


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def is_statute_file(path: Path) -> bool:
    """True when ``path`` is Markdown whose YAML front matter has a ``법령MST`` key.

    Only the first few KiB are read; 법령MST comes second in the front matter.
    """
    if path.suffix.lower() not in (".md", ".markdown"):
        return False
    try:
        with path.open("rb") as f:
            head = f.read(_HEAD_BYTES).decode("utf-8-sig", errors="ignore")
    except OSError:
        return False
    lines = head.splitlines()
    if not lines or lines[0].strip() != "---":
        return False
    for line in lines[1:]:
        if line.strip() == "---":
            return False
        if _MST_KEY_RE.match(line):
            return True
    return False


def parse_statute(path: Path, settings: ConnectorSettings) -> Document:
    """Parse one statute file; raises :class:`ParseError` with a one-line Korean reason."""
    resolved = path.resolve()
    try:
        size_mb = resolved.stat().st_size / (1024 * 1024)
        if size_mb > settings.max_file_mb:
            raise ParseError(
                f"법령 파일이 너무 큽니다({size_mb:.1f}MB, 한도 {settings.max_file_mb:g}MB): {resolved.name}"
            )
        text = resolved.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ParseError(f"법령 파일이 UTF-8 텍스트가 아닙니다: {resolved.name}") from e
    except OSError as e:
        raise ParseError(f"법령 파일을 읽을 수 없습니다: {resolved.name}") from e
    return parse_statute_text(text, str(resolved), settings)


def parse_statute_text(text: str, source: str, settings: ConnectorSettings) -> Document:
    """Parse statute Markdown held in memory; ``source`` is recorded as the Document's source."""
    meta, body = _split_front_matter(text, source)
    title = _clean_inline(str(meta["제목"]))
    body_lines, addenda_lines = _split_addenda(body.splitlines())

    sections = _parse_body(title, body_lines)
    if not sections:
        raise ParseError(f"법령 본문에서 조문을 찾을 수 없습니다: {_short(source)}")
    sections.extend(_parse_addenda(title, addenda_lines, settings.statute_addenda))

    agencies = _as_list(meta.get("소관부처"))
    return Document(
        doc_id="statute:" + _law_id(meta, text),
        source=source,
        title=title,
        sections=sections,
        agency=agencies[0] if agencies else "",
        doc_type="statute",
        access=AccessLevel.PUBLIC,
        allowed_agencies=[],
        effective_date=_as_date(meta.get("시행일자"), "시행일자", source),
        source_url=_as_str(meta.get("출처")) or None,
        extra={
            "law_kind": _as_str(meta.get("법령구분")),
            "mst": _as_str(meta.get("법령MST")),
            "promulgated": _iso(_as_date(meta.get("공포일자"), "공포일자", source)),
            "promulgation_no": _as_str(meta.get("공포번호")),
            "status": _as_str(meta.get("상태")),
            "co_agencies": ",".join(agencies[1:]),
        },
    )


# --------------------------------------------------------------------------------------------
# Front matter
# --------------------------------------------------------------------------------------------


def _split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER_RE.match(text)
    if not match:
        raise ParseError(f"법령 파일의 YAML 머리말(--- … ---)이 없거나 닫히지 않았습니다: {_short(source)}")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as e:
        raise ParseError(f"법령 파일의 YAML 머리말을 해석할 수 없습니다: {_short(source)}") from e
    if not isinstance(meta, dict):
        raise ParseError(f"법령 파일의 YAML 머리말이 키-값 형식이 아닙니다: {_short(source)}")
    missing = [k for k in _REQUIRED_KEYS if meta.get(k) in (None, "")]
    if missing:
        raise ParseError(f"법령 파일의 YAML 머리말에 필수 항목이 없습니다({', '.join(missing)}): {_short(source)}")
    return meta, text[match.end() :]


def _law_id(meta: dict[str, Any], text: str) -> str:
    """법령ID as written: an unquoted ID would lose its leading zeros in YAML, so re-read it."""
    value = meta["법령ID"]
    if isinstance(value, str):
        return value.strip()
    raw = _RAW_LAW_ID_RE.search(text)
    return raw.group(1) if raw else str(value)


def _as_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value).strip()


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [s for s in (_as_str(v) for v in items) if s]


def _as_date(value: Any, key: str, source: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y.%m.%d", "%Y.%m.%d."):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ParseError(f"법령 파일의 {key} 값이 날짜가 아닙니다({text}): {_short(source)}")


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def _short(source: str) -> str:
    """File name plus its folder (the law's name) for messages."""
    parts = Path(source).parts
    return "/".join(parts[-2:]) if parts else source


# --------------------------------------------------------------------------------------------
# Text cleaning
# --------------------------------------------------------------------------------------------


def _strip_notes(text: str) -> str:
    for pattern in _NOTE_RES:
        text = pattern.sub("", text)
    return text


def _clean_inline(text: str) -> str:
    """Decode entities and Markdown, drop amendment notes, images -> placeholder, squash spaces."""
    text = html.unescape(text)
    text = _IMG_TAG_RE.sub(_IMAGE_PLACEHOLDER, text)
    text = _IMG_CLOSE_RE.sub("", text)
    text = _strip_notes(text)
    text = _MD_ESCAPE_RE.sub(r"\1", text)
    text = _BOLD_RE.sub(r"\1", text)
    return _SPACES_RE.sub(" ", text).strip()


def _table_row(line: str) -> str:
    """A box-drawn table line as ``cell | cell``; "" for borders and empty rows."""
    if _BOX_ONLY_RE.match(line):
        return ""
    cells = [_clean_inline(c) for c in _CELL_SPLIT_RE.split(line)]
    cells = [c for c in cells if c and not _BOX_ONLY_RE.match(c)]
    return " | ".join(cells)


def _clean_body_line(line: str) -> str:
    if _TABLE_LINE_RE.match(line):
        return _table_row(line)
    return _clean_inline(line)


def _clean_addendum_line(line: str) -> str:
    """Addenda keep no tables or images: only their prose is useful."""
    if _TABLE_LINE_RE.match(line):
        return ""
    line = _IMG_CLOSE_RE.sub("", _IMG_TAG_RE.sub("", line))
    line = _BROKEN_ARTICLE_PREFIX_RE.sub("", line.strip())
    return _clean_inline(line)


# --------------------------------------------------------------------------------------------
# Body articles
# --------------------------------------------------------------------------------------------


@dataclass
class _RawArticle:
    label: str  # "제15조", "제83조의2"
    title: str | None
    heading_path: list[str]
    lines: list[str] = field(default_factory=list)


def _split_addenda(lines: list[str]) -> tuple[list[str], list[str]]:
    for i, line in enumerate(lines):
        if _ADDENDA_HEADING_RE.match(line):
            return lines[:i], lines[i + 1 :]
    return lines, []


def _parse_body(law_title: str, lines: list[str]) -> list[Section]:
    """Body articles in file order. An article heading repeated in one file (none in the corpus;
    law.go.kr can print an article's current and future wording) is merged into one Section so
    that a citation anchor always names exactly one Section."""
    sections: dict[str, Section] = {}
    for raw in _collect_articles(lines):
        section = _article_section(law_title, raw)
        if section is None:
            continue
        if section.anchor in sections:
            sections[section.anchor].blocks.extend(section.blocks)
        else:
            sections[section.anchor] = section
    return list(sections.values())


def _collect_articles(lines: list[str]) -> list[_RawArticle]:
    """Group body lines under their ``#####`` article heading, tracking 장/절 headings."""
    articles: list[_RawArticle] = []
    headings: dict[int, str] = {}  # level -> text, for levels 2 (장), 3 (절), 4
    current: _RawArticle | None = None
    for line in lines:
        article = _ARTICLE_HEADING_RE.match(line)
        if article:
            title = _clean_inline(article.group(2)) if article.group(2) else None
            path = [headings[level] for level in sorted(headings)]
            current = _RawArticle(article.group(1), title or None, path)
            articles.append(current)
            continue
        heading = _HEADING_RE.match(line)
        if heading:
            level = len(heading.group(1))
            headings = {k: v for k, v in headings.items() if k < level}
            if 2 <= level <= 4:
                headings[level] = _clean_inline(heading.group(2))
            current = None
            continue
        if current is not None:
            current.lines.append(line)
    return articles


def _article_section(law_title: str, raw: _RawArticle) -> Section | None:
    """One body article; None for deleted articles and empty untitled headings. A definition
    article gets one block per defined term; every article records the articles it cites."""
    blocks = _paragraph_blocks(raw.lines)
    if not blocks or [b.text for b in blocks] == [_DELETED]:
        return None
    anchor = f"{law_title} {raw.label}"
    if is_definition_article(raw.title):
        blocks = [piece for block in blocks for piece in split_definitions(block)]
    text = "\n".join(b.text for b in blocks)
    return Section(
        anchor=anchor,
        blocks=blocks,
        title=raw.title,
        heading_path=raw.heading_path,
        refs=[r for r in references(text, law_title) if r != anchor],
    )


def _paragraph_number(marker: str) -> int:
    if marker.startswith("<"):
        return int(marker[1:-1])
    code = ord(marker)
    if 0x2460 <= code <= 0x2473:
        return code - 0x2460 + 1
    if 0x3251 <= code <= 0x325F:
        return code - 0x3251 + 21
    return code - 0x32B1 + 36


def _paragraph_blocks(lines: list[str]) -> list[Block]:
    """One Block per 항 (label "제N항"); 호/목 lines join the 항 they follow.

    A deleted 항 ("③ 삭제") is dropped together with anything under it; deleted 호/목 lines are
    dropped. Text before the first 항 marker (an article without 항) is a block labelled None.
    """
    blocks: list[tuple[str | None, list[str]]] = []
    dropping = False
    for line in lines:
        paragraph = _PARAGRAPH_RE.match(line)
        if paragraph:
            marker = paragraph.group(1)
            text = _clean_inline(f"{marker} {paragraph.group(2)}")
            dropping = bool(_DELETED_ITEM_RE.match(text))
            if not dropping:
                blocks.append((f"제{_paragraph_number(marker)}항", [text]))
            continue
        text = _clean_body_line(line)
        if not text or dropping or _DELETED_ITEM_RE.match(text):
            continue
        if not blocks:
            blocks.append((None, []))
        blocks[-1][1].append(text)
    return [Block(text="\n".join(texts), label=label) for label, texts in blocks if texts]


# --------------------------------------------------------------------------------------------
# 부칙 (addenda)
# --------------------------------------------------------------------------------------------


@dataclass
class _Addendum:
    number: str  # "17979"
    date_text: str  # "2021.3.23"
    date: date | None
    order: int
    lines: list[str] = field(default_factory=list)

    @property
    def anchor_suffix(self) -> str:
        if not self.number:  # text under "## 부칙" before (or without) any header line
            return "부칙"
        return f"부칙 <제{self.number}호, {self.date_text}>"


@dataclass
class _AddendumArticle:
    label: str | None  # "제1조"; None for text before the first article
    title: str | None
    lines: list[str] = field(default_factory=list)
    amending: bool = False  # carries amendments of other laws ("… 일부를 다음과 같이 개정한다.")

    def __post_init__(self) -> None:
        self.amending = _is_amendment_title(self.title)

    def add(self, line: str) -> None:
        self.lines.append(line)
        if not self.amending and _AMENDMENT_INTRO_RE.search(line):
            self.amending = True


def _parse_addenda(law_title: str, lines: list[str], mode: str) -> list[Section]:
    if mode == "none":
        return []
    addenda = _collect_addenda(lines)
    if mode == "latest" and addenda:
        addenda = [max(addenda, key=lambda a: (a.date or date.min, a.order))]
    sections = []
    for addendum in addenda:
        blocks = _addendum_blocks(addendum.lines)
        if blocks:
            sections.append(
                Section(
                    anchor=f"{law_title} {addendum.anchor_suffix}",
                    blocks=blocks,
                    title="부칙",
                    heading_path=["부칙"],
                )
            )
    return sections


def _parse_dotted_date(text: str) -> date | None:
    parts = [p for p in re.split(r"[.ㆍ\s]+", text) if p]
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except (ValueError, IndexError):
        return None


def _collect_addenda(lines: list[str]) -> list[_Addendum]:
    addenda: list[_Addendum] = []
    for line in lines:
        header = _ADDENDUM_HEADER_RE.match(line.strip())
        if header:
            addenda.append(_addendum_from_header(header, order=len(addenda)))
        elif addenda:
            addenda[-1].lines.append(line)
        elif line.strip():  # text under "## 부칙" before any header line
            addenda.append(_Addendum(number="", date_text="", date=None, order=0, lines=[line]))
    return addenda


def _addendum_from_header(header: re.Match[str], order: int) -> _Addendum:
    date_text = re.sub(r"\s+", "", header.group("date")).replace("ㆍ", ".").rstrip(".")
    return _Addendum(
        number=header.group("no").strip(),
        date_text=date_text,
        date=_parse_dotted_date(date_text),
        order=order,
    )


def _addendum_blocks(raw_lines: list[str]) -> list[Block]:
    lines = [t for t in (_clean_addendum_line(line) for line in raw_lines) if t]
    blocks = []
    for article in _split_addendum_articles(lines):
        text = "\n".join(_drop_amendments(article))
        if text:
            blocks.append(Block(text=text, label=article.label))
    return blocks


def _split_addendum_articles(lines: list[str]) -> list[_AddendumArticle]:
    """Split an addendum's lines into its articles (``제1조(시행일) …``).

    Amended text of other laws often holds lines that look like articles (``제41조(수입대체경비) …``
    after "제41조를 다음과 같이 한다."); see :func:`_starts_article` for how they are told apart.
    """
    articles = [_AddendumArticle(None, None)]
    last_key = (0, 0)
    previous = ""
    for line in lines:
        match = _ADDENDUM_ARTICLE_RE.match(line)
        current = articles[-1]
        if match:
            key = (int(match.group("num")), int(match.group("sub") or 0))
            if _starts_article(key, last_key, previous, current.amending):
                label = f"제{key[0]}조" + (f"의{key[1]}" if key[1] else "")
                current = _AddendumArticle(label, match.group("title"))
                articles.append(current)
                last_key = (int(match.group("end")), 0) if match.group("end") else key
        current.add(line)
        previous = line
    return [a for a in articles if a.lines]


def _starts_article(key: tuple[int, int], last_key: tuple[int, int], previous: str, amending: bool) -> bool:
    """Whether an article-looking line opens the addendum's next article.

    Addendum article numbers only grow (the data skips omitted ones: 제1조 then 제5조);
    replacement text follows a "…다음과 같이 (신설)한다." line; and inside an article that
    amends other laws only the very next number (제6조 -> 제7조 / 제6조의2) ends the amendments.
    """
    if key <= last_key or _REPLACEMENT_INTRO_RE.search(previous):
        return False
    if amending:
        return key in ((last_key[0] + 1, 0), (last_key[0], last_key[1] + 1))
    return True


def _is_amendment_title(title: str | None) -> bool:
    return bool(title and _AMENDMENT_TITLE_RE.search(title.strip()))


def _drop_amendments(article: _AddendumArticle) -> list[str]:
    """Replace the amendments of other laws an article carries by a short note.

    An article titled "(다른 법률의 개정)" keeps its first line; any other keeps its lines up to
    the first "… 일부를 다음과 같이 개정한다." line.
    """
    lines = article.lines
    cut: int | None
    if _is_amendment_title(article.title):
        cut = 0
    else:
        cut = next((i for i, line in enumerate(lines) if _AMENDMENT_INTRO_RE.search(line)), None)
    if cut is None:
        return lines
    kept = lines[: cut + 1]
    if len(lines) > cut + 1 or _AMENDMENT_INTRO_RE.search(lines[cut]):
        kept.append(_AMENDMENTS_OMITTED)
    return kept
