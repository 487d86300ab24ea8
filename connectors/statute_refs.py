"""Cross-references between statute articles: "법 제27조에 따른", "같은 법 제5조", "「국가공무원법」
제78조", "영 제3조", "제15조제1항" -> the anchors of the articles they name.

A Korean statute family is an act (법률), its enforcement decree (시행령, "영") and its rules
(시행규칙, "규칙"). Inside a decree, "법" is the act it implements; inside rules, "법" is the act
and "영" the decree. "같은 법" / "같은 영" repeat the law named last. A bare "제N조" names an
article of the same law, unless it continues a list that started with another law ("법 제15조
및 제17조"). Ranges ("제3조부터 제7조까지") name every article between, up to a bound.

The anchors have the form the statute connector gives sections ("개인정보 보호법 시행령 제23조"),
so a reference is a link to an indexed section when that law is in the corpus; references to
laws outside it are kept too (harmless: they match nothing).
"""

from __future__ import annotations

import re

ACT_SUFFIXES = (" 시행령", " 시행규칙")
_MAX_RANGE = 12  # a longer "제N조부터 제M조까지" range names a whole chapter: endpoints only

_ARTICLE = r"제\s*(?P<num>\d+)\s*조(?:\s*의\s*(?P<sub>\d+))?"
_REF_RE = re.compile(
    r"(?:「(?P<named>[^」]{2,80})」\s*|(?P<same>같은\s*(?:법\s*시행령|법\s*시행규칙|법|영|규칙))\s*"
    r"|(?<![가-힣])(?P<this>이\s*)?(?P<short>법|영|규칙)\s+)?"
    + _ARTICLE
    + r"(?:\s*(?P<range>부터|내지|~)\s*제\s*(?P<end>\d+)\s*조(?:\s*의\s*\d+)?)?"
)
# Text allowed between two references of one list ("법 제15조제1항 및 제17조"): 항/호/목 parts,
# list words and punctuation only.
_NAMED_RE = re.compile(r"「(?P<named>[^」]{2,80})」")
_CONTINUATION_RE = re.compile(
    r"^(?:\s|제\s*\d+\s*(?:항|호|목)(?:\s*의\s*\d+)?|\d+\s*(?:항|호)|[가-힣]\s*목|및|또는|ㆍ|,|·|와|과|이나|나|본문|단서|후단|전단|각\s*호(?:\s*외의\s*부분)?)*$"
)


def family(title: str) -> tuple[str, str, str]:
    """(act, decree, rules) titles of the statute family ``title`` belongs to."""
    act = title
    for suffix in ACT_SUFFIXES:
        if title.endswith(suffix):
            act = title[: -len(suffix)]
            break
    return act, f"{act} 시행령", f"{act} 시행규칙"


def _law_of_short(word: str, this: bool, title: str) -> str:
    act, decree, rules = family(title)
    if this:  # "이 법", "이 영", "이 규칙": the law itself
        return title
    return {"법": act, "영": decree, "규칙": rules}[word]


def _label(num: str, sub: str | None) -> str:
    return f"제{int(num)}조" + (f"의{int(sub)}" if sub else "")


def references(text: str, title: str) -> list[str]:
    """The anchors of the articles ``text`` (part of the law titled ``title``) refers to, in
    order of first mention, without duplicates."""
    found: dict[str, None] = {}
    named = [(n.start(), " ".join(n.group("named").split())) for n in _NAMED_RE.finditer(text)]
    prev_law: str | None = None
    prev_end = -1
    for m in _REF_RE.finditer(text):
        if m.group("named"):
            law = " ".join(m.group("named").split())
        elif m.group("same"):
            # "같은 법" repeats the law named last before it ("같은 영": that law's decree)
            last = next((name for pos, name in reversed(named) if pos < m.start()), title)
            act, decree, rules = family(last)
            same = "".join(m.group("same").split())
            law = {"같은법": last, "같은영": decree, "같은규칙": rules, "같은법시행령": decree}.get(same, rules)
        elif m.group("short"):
            law = _law_of_short(m.group("short"), bool(m.group("this")), title)
        elif prev_law is not None and _CONTINUATION_RE.match(text[prev_end : m.start()]):
            law = prev_law
        else:
            law = title
        num, sub = m.group("num"), m.group("sub")
        labels = [_label(num, sub)]
        end = m.group("end")
        if end is not None:
            lo, hi = int(num), int(end)
            if 0 < hi - lo <= _MAX_RANGE:
                labels = [_label(str(n), None) for n in range(lo, hi + 1)]
                if sub:
                    labels[0] = _label(num, sub)
            else:
                labels.append(_label(end, None))
        for label in labels:
            found[f"{law} {label}"] = None
        prev_law, prev_end = law, m.end()
    return list(found)
