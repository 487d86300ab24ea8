"""A statute's own definitions (정의 articles): one citable piece per defined term.

An article titled "정의" / "용어의 정의" lists its terms as 호 items::

    이 법에서 사용하는 용어의 뜻은 다음과 같다.
    1. "개인정보"란 살아 있는 개인에 관한 정보로서 … 말한다.
      가. 성명, 주민등록번호 …
    1의2. "가명처리"란 개인정보의 일부를 삭제하거나 … 처리하는 것을 말한다.

Each item (with its 목 lines) becomes its own Block labelled "제N호" / "제N호의M", standalone
(the chunker never packs it with another) and carrying the term it defines. A question in
everyday words ("이름은 지우고 주민번호는 코드로 바꾸는 걸 뭐라고 하나요?") then meets the one
definition that answers it instead of a long article, and the term bridges everyday words to
the law's vocabulary at query time.
"""

from __future__ import annotations

import re

from connectors.types import Block

_TITLE_RE = re.compile(r"^(?:용어의\s*)?정의$")
_ITEM_RE = re.compile(r"^(?P<num>\d+)(?:의(?P<sub>\d+))?\.\s+(?P<text>.+)$")
_TERM_RE = re.compile(r"^[\"“'‘「]\s*(?P<term>[^\"”'’」]{1,40}?)\s*[\"”'’」]\s*(?:이)?(?:란|라\s*함은|이라\s*함은)")


def is_definition_article(title: str | None) -> bool:
    return bool(title and _TITLE_RE.match(title.strip()))


def definition_term(item_text: str) -> str | None:
    """The term an item defines (``"가명처리"란 …`` -> 가명처리), or None."""
    m = _TERM_RE.match(item_text.strip())
    return " ".join(m.group("term").split()) if m else None


def split_definitions(block: Block) -> list[Block]:
    """One 항 of a definition article as its intro (joined to the first item) and one standalone
    Block per defined item; a 항 that lists no defined terms comes back unchanged."""
    items: list[tuple[str, str | None, list[str]]] = []  # (label, term, lines)
    intro: list[str] = []
    for line in block.text.split("\n"):
        m = _ITEM_RE.match(line.strip())
        if m:
            label = f"제{m.group('num')}호" + (f"의{m.group('sub')}" if m.group("sub") else "")
            if block.label:
                label = f"{block.label} {label}"
            items.append((label, definition_term(m.group("text")), [line]))
        elif items:
            items[-1][2].append(line)
        else:
            intro.append(line)
    if not any(term for _, term, _ in items):
        return [block]
    return [
        Block(text="\n".join((intro + lines) if i == 0 else lines), label=label, standalone=True, term=term)
        for i, (label, term, lines) in enumerate(items)
    ]
